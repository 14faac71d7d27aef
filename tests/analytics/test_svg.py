"""The SVG drawings: well-formed, labelled for screen readers, labels escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from bot.analytics import svg

NS = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script> & "quotes"'


def test_stacked_bars_are_well_formed_and_escape_every_label() -> None:
    drawing = svg.stacked_bars(
        "c1",
        f"Title {HOSTILE}",
        f"Desc {HOSTILE}",
        ["2026-03-01", "2026-03-02"],
        [svg.Series(HOSTILE, [2, 0], "#0072B2"), svg.Series("b", [1, 3], "#E69F00")],
    )
    assert "<script" not in drawing
    root = ET.fromstring(drawing)  # raises if a label broke the markup
    assert root.get("role") == "img" and root.get("aria-labelledby") == "c1-title c1-desc"
    assert root.find(f"{NS}title").text == f"Title {HOSTILE}"
    assert root.find(f"{NS}desc").text == f"Desc {HOSTILE}"
    bars = root.findall(f".//{NS}rect[@class='bar']")
    assert [b.find(f"{NS}title").text for b in bars] == [
        f"2026-03-01: {HOSTILE} 2",
        "2026-03-01: b 1",
        "2026-03-02: b 3",
    ]
    # Bars are in proportion: the axis (230 px) goes up to the largest total, 3, in whole steps.
    heights = [float(b.get("height")) for b in bars]
    assert heights == [153.3, 76.7, 230.0]
    ticks = [t.text for t in root.findall(f"{NS}text")][:4]
    assert ticks == ["0", "1", "2", "3"]
    legend = [t.text for t in root.findall(f".//{NS}g[@class='legend-item']/{NS}text")]
    assert legend == [HOSTILE, "b"]


def test_an_empty_chart_says_so() -> None:
    drawing = svg.stacked_bars("c2", "t", "d", ["2026-03-01"], [svg.Series("a", [0], "#000")])
    root = ET.fromstring(drawing)
    assert not root.findall(f".//{NS}rect[@class='bar']")
    assert "Nothing in this period" in drawing
    assert "Nothing in this period" in svg.horizontal_bars("c3", "t", "d", [])


def test_horizontal_bars_write_each_figure() -> None:
    drawing = svg.horizontal_bars(
        "c4", "t", "d", [(HOSTILE, 4.0, "4 min", "#b00020"), ("none", None, "no data", "#000")]
    )
    root = ET.fromstring(drawing)
    texts = [t.text for t in root.findall(f"{NS}text")]
    assert texts == [HOSTILE, "4 min", "none", "no data"]
    (bar,) = root.findall(f".//{NS}rect[@class='bar']")
    assert bar.find(f"{NS}title").text == f"{HOSTILE}: 4 min"


def test_axis_steps_are_round() -> None:
    assert svg._axis(3, whole=True) == (3, 1)
    assert svg._axis(17, whole=True) == (20, 5)
    assert svg._axis(230, whole=True) == (300, 100)
    assert svg._axis(0, whole=True) == (1, 1)

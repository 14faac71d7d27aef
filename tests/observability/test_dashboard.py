"""The Grafana dashboard (docs/grafana/meso-dashboard.json) queries only metrics the code
exports, and shows every one of them: the two cannot drift apart."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from bot.observability.metrics import COLLECTED_NAMES, INSTRUMENTS, exported_series
from bot.paths import PROJECT_ROOT

DASHBOARD = PROJECT_ROOT / "docs" / "grafana" / "meso-dashboard.json"
PROMETHEUS_OWN = {"up"}  # series Prometheus itself adds to every scrape target
PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
    "and", "or", "unless", "inf", "nan",
}  # fmt: skip

STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
MATCHERS = re.compile(r"\{[^{}]*\}")
GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
RANGE = re.compile(r"\[[^\[\]]*\]")
IDENTIFIER = re.compile(r"(?<![\w.])([a-zA-Z_:][\w:]*)(\s*\()?")


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (functions, keywords, labels, strings,
    ranges and numbers left out)."""
    text = STRING.sub('""', expr.replace("$__rate_interval", "5m"))
    text = GROUPING.sub(" ", MATCHERS.sub(" ", RANGE.sub(" ", text)))
    return {
        name
        for name, call in IDENTIFIER.findall(text)
        if not call and name.lower() not in PROMQL_WORDS and not re.fullmatch(r"\d\w*", name)
    }


def targets(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if "expr" in node:
            yield node
        for value in node.values():
            yield from targets(value)
    elif isinstance(node, list):
        for value in node:
            yield from targets(value)


@pytest.fixture(scope="module")
def expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["title"] and dashboard["panels"]
    found = [t["expr"] for t in targets(dashboard)]
    assert found
    return found


def test_metric_names_are_found_in_promql() -> None:
    expr = (
        "histogram_quantile(0.95, sum by (le, channel) (rate(meso_message_seconds_bucket"
        '{channel=~"rest|kiosk"}[$__rate_interval]))) / on (job) group_left up offset 5m'
    )
    assert metric_names(expr) == {"meso_message_seconds_bucket", "up"}


def test_every_queried_metric_is_exported(expressions: list[str]) -> None:
    known = exported_series() | PROMETHEUS_OWN
    unknown = {name: e for e in expressions for name in metric_names(e) if name not in known}
    assert unknown == {}


def test_every_metric_has_a_panel(expressions: list[str]) -> None:
    queried = {name for e in expressions for name in metric_names(e)}
    families = [f.name for m in INSTRUMENTS for f in m.describe()] + list(COLLECTED_NAMES)
    missing = [f for f in families if not any(q == f or q.startswith(f + "_") for q in queried)]
    assert missing == []


def test_every_panel_uses_the_datasource_variable() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}" and "datasource" in variables

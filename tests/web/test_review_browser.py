"""The review queue in real headless Chromium: a clinician signs in, filters the queue, labels a
message the assistant was unsure about, exports, and the NLU training data then holds it.
Screenshots: test-artifacts/browser/review-*.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from playwright.sync_api import Page, expect
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

from bot.datafiles import read_nlu_examples
from bot.review import capture
from bot.review.export import ExportTargets
from bot.storage.db import Database
from bot.web.clinician.review import EXPORT_TARGETS_KEY
from tests.support.browser import ARTIFACTS, Screenshots, Shot
from tests.support.clinician_browser import sign_in
from tests.support.review_export import export_targets

pytestmark = pytest.mark.browser

QUESTION = "what does a round of the hair jabs set me back"
HOSTILE = "<img src=x onerror=alert(1)> is this the <b>same</b> as botox?"


@pytest.fixture
def targets(tmp_path: Path) -> ExportTargets:
    return export_targets(tmp_path)


@pytest.fixture
def app_keys(targets: ExportTargets) -> dict[web.AppKey[Any], Any]:
    return {EXPORT_TARGETS_KEY: targets}


@pytest.fixture
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1024, "height": 900}}


@pytest.fixture
def screenshots() -> Screenshots:
    return Screenshots(ARTIFACTS / "browser", "review-", full_page=True)


def _capture(db: Database, conversation: str, text: str, outcome: str, ranking: list) -> None:
    """What the actions do: the real decision (review_case) and the real write."""
    message = {
        "text": text,
        "message_id": f"{conversation}-1",
        "intent": ranking[0],
        "intent_ranking": ranking,
        "language": {"code": "en", "reply": "en"},
    }
    case = capture.review_case(conversation, message, outcome)  # type: ignore[arg-type]
    assert case is not None
    assert capture.record_case(db, case)


def test_a_label_exported_from_the_queue_is_in_the_nlu_data(
    clinician_url: str, staff_db: Database, page: Page, targets: ExportTargets, shot: Shot
) -> None:
    fallback = [
        {"name": "nlu_fallback", "confidence": 0.25},
        {"name": "ask_cost", "confidence": 0.21},
        {"name": "ask_hair_growth", "confidence": 0.18},
    ]
    _capture(staff_db, "conv-1", QUESTION, "clarify", fallback)
    _capture(
        staff_db, "conv-2", HOSTILE, "out_of_scope", [{"name": "out_of_scope", "confidence": 0.7}]
    )
    console: list[str] = []
    dialogs: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    page.goto(f"{clinician_url}/clinician/review")
    expect(page).to_have_url(f"{clinician_url}/clinician/login?next=%2Fclinician%2Freview")
    sign_in(page)
    expect(page).to_have_url(f"{clinician_url}/clinician/review")
    expect(page.get_by_role("heading", level=1)).to_have_text("Review queue")
    expect(page.locator(".queue .review-item")).to_have_count(2)
    expect(page.locator(".queue .review-item blockquote").nth(1)).to_have_text(HOSTILE)
    shot(page, "1-queue")

    page.get_by_label("Reason").select_option("clarify")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(f"{clinician_url}/clinician/review?reason=clarify&language=")
    item = page.locator(".queue .review-item")
    expect(item).to_have_count(1)
    expect(item.locator("blockquote")).to_have_text(QUESTION)
    expect(item.locator(".did")).to_contain_text("ask cost 21%")
    item.get_by_label("Right answer").select_option("topic:ask_cost")
    item.get_by_role("button", name="Save label").click()
    expect(page.get_by_role("status")).to_have_text("Label saved.")
    expect(page.locator(".queue .review-item")).to_have_count(0)
    expect(page.locator(".review-export")).to_contain_text("1 labelled message waiting")
    page.get_by_text("Labelled, not yet exported").click()
    labelled = page.locator(".waiting .review-item")
    expect(labelled.locator("blockquote")).to_have_text(QUESTION)
    expect(labelled.get_by_label("Change label")).to_have_value("topic:ask_cost")
    shot(page, "2-labelled")

    page.get_by_role("button", name="Export labels").click()
    expect(page.get_by_role("status")).to_have_text("Exported 1 example(s): 1 in nlu.yml.")
    expect(page.locator(".review-export")).to_contain_text("0 labelled messages waiting")
    shot(page, "3-exported")

    nlu_file = targets.nlu_dir / "nlu.yml"
    assert ("ask_cost", QUESTION) in read_nlu_examples(nlu_file)
    rasa_data = RasaYAMLReader().read(nlu_file)
    assert [(m.get("intent"), m.get("text")) for m in rasa_data.intent_examples] == [
        ("ask_cost", QUESTION)
    ]
    written = nlu_file.read_text(encoding="utf-8")
    assert "conv-1" not in written and "conv-2" not in written

    page.get_by_role("link", name="Audit trail").click()
    expect(page.locator("table.audit")).to_contain_text("review label")
    expect(page.locator("table.audit")).to_contain_text("review export")
    assert dialogs == []
    assert [text for text in console if "Content Security Policy" in text] == []

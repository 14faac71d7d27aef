"""The review queue over HTTP (/clinician/review): a real aiohttp server on 127.0.0.1 and a real
database (SQLite and PostgreSQL). Patient text only behind sign-in; labels audited; invalid
labels refused with a reason; the export button writes the training files."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from markupsafe import escape

from bot.datafiles import read_nlu_examples
from bot.review import queue
from bot.review.export import ExportTargets
from bot.storage.db import Database
from bot.web.clinician.accounts import create_staff_user
from bot.web.clinician.review import EXPORT_TARGETS_KEY
from bot.web.settings import WebSettings
from tests.review.test_export import add_item
from tests.support.review_export import export_targets
from tests.web.test_clinician import FAST, PASSWORD, USER, audit_rows, build_app, hidden_csrf, login

HOSTILE = "<script>alert('x')</script> how much is it for the <b>scalp</b>?"


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    create_staff_user(database, USER, PASSWORD)
    yield database
    database.dispose()


@pytest.fixture
def targets(tmp_path: Path) -> ExportTargets:
    return export_targets(tmp_path)


@pytest.fixture
async def client(db: Database, targets: ExportTargets) -> AsyncIterator[TestClient]:
    app = build_app(db, FAST, WebSettings())
    app[EXPORT_TARGETS_KEY] = targets
    client = TestClient(TestServer(app))
    await client.start_server()
    yield client
    await client.close()


@pytest.fixture
async def staff(client: TestClient) -> TestClient:
    assert (await login(client, USER, PASSWORD)).status == 303
    return client


async def _page(client: TestClient, url: str = "/clinician/review") -> str:
    response = await client.get(url)
    assert response.status == 200
    return await response.text()


async def test_the_queue_needs_a_signed_in_clinician(client: TestClient, db: Database) -> None:
    item = add_item(db, "SECRET patient question about prices")
    response = await client.get("/clinician/review", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/clinician/login?next=%2Fclinician%2Freview"
    assert "SECRET" not in await response.text()
    for url in (f"/clinician/review/items/{item}/label", "/clinician/review/export"):
        response = await client.post(url, data={"choice": "out_of_scope"}, allow_redirects=False)
        assert response.status in (303, 403), url
        assert "SECRET" not in await response.text()
    assert queue.list_items(db).total == 1  # nothing labelled


async def test_a_post_without_the_csrf_token_changes_nothing(
    staff: TestClient, db: Database
) -> None:
    item = add_item(db, "a question")
    response = await staff.post(
        f"/clinician/review/items/{item}/label", data={"choice": "out_of_scope"}
    )
    assert response.status == 403
    assert queue.list_items(db).total == 1


async def test_list_shows_text_as_text_with_filters_and_pages(
    staff: TestClient, db: Database
) -> None:
    add_item(db, HOSTILE, reason="low_confidence")
    for n in range(queue.PER_PAGE + 2):
        add_item(db, f"question number {n}", reason="clarify", message=f"m{n}")
    add_item(db, "كم سعر الجلسة", reason="out_of_scope", language="ar")
    body = await _page(staff)
    assert str(escape(HOSTILE)) in body
    assert "<script>alert" not in body
    assert "Page 1 of 2" in body and 'rel="next"' in body
    assert "conv-secret-42" not in body  # the conversation id is never shown
    second = await _page(staff, "/clinician/review?page=2")
    assert "question number 26" in second and "Page 2 of 2" in second
    arabic = await _page(staff, "/clinician/review?language=ar")
    assert "كم سعر الجلسة" in arabic and "question number" not in arabic
    low = await _page(staff, "/clinician/review?reason=low_confidence")
    assert "scalp" in low and "question number" not in low
    odd = await _page(staff, "/clinician/review?reason=<x>&page=-3")  # bad filters are ignored
    assert "Page 1 of 2" in odd


async def test_labelling_is_saved_audited_and_bad_labels_are_refused(
    staff: TestClient, db: Database
) -> None:
    item = add_item(db, "can i go swimming after")
    token = hidden_csrf(await _page(staff))
    url = f"/clinician/review/items/{item}/label"
    refused = await staff.post(url, data={"csrf_token": token, "choice": "topic:ask_spaceflight"})
    assert refused.status == 400
    text = await refused.text()
    assert "Not saved: &#39;ask_spaceflight&#39; is not an intent of the assistant" in text
    assert 'role="alert"' in text
    missing = await staff.post(url, data={"csrf_token": token, "choice": "missed_symptom:"})
    assert missing.status == 400 and "how severe" in await missing.text()
    assert queue.list_items(db).total == 1

    saved = await staff.post(
        url,
        data={"csrf_token": token, "choice": "topic:ask_aftercare", "reason": "clarify"},
        allow_redirects=False,
    )
    assert saved.status == 303
    assert saved.headers["Location"] == "/clinician/review?reason=clarify&done=labelled"
    assert queue.list_items(db).total == 0
    (entry,) = audit_rows(db, queue.REVIEW_LABEL)
    assert entry.actor == USER and entry.detail == f"review item {item}: topic ask_aftercare"
    assert "Label saved." in await _page(staff, saved.headers["Location"])
    gone = await staff.post(
        "/clinician/review/items/999999/label", data={"csrf_token": token, "choice": "out_of_scope"}
    )
    assert gone.status == 404


async def test_export_button_writes_the_training_files(
    staff: TestClient, db: Database, targets: ExportTargets
) -> None:
    question = add_item(db, "is there a student discount")
    symptom = add_item(db, "the spots on my scalp are weeping yellow stuff", conversation="c9")
    token = hidden_csrf(await _page(staff))
    for item, choice in ((question, "topic:ask_cost"), (symptom, "missed_symptom:urgent")):
        response = await staff.post(
            f"/clinician/review/items/{item}/label",
            data={"csrf_token": token, "choice": choice},
            allow_redirects=False,
        )
        assert response.status == 303
    assert "2 labelled messages waiting for export" in await _page(staff)
    response = await staff.post("/clinician/review/export", data={"csrf_token": token})
    assert response.status == 200
    body = await response.text()
    assert "Exported 2 example(s): 1 in nlu.yml, 1 in the triage regression set." in body
    assert "0 labelled messages waiting for export" in body
    assert ("ask_cost", "is there a student discount") in read_nlu_examples(
        targets.nlu_dir / "nlu.yml"
    )
    assert "weeping yellow stuff" in targets.triage_file.read_text(encoding="utf-8")
    again = await staff.post("/clinician/review/export", data={"csrf_token": token})
    assert "Exported 0 example(s): nothing new." in await again.text()
    assert len(audit_rows(db, queue.REVIEW_EXPORT)) == 1  # an empty export records nothing


async def test_a_label_can_be_changed_until_it_is_exported(staff: TestClient, db: Database) -> None:
    item = add_item(db, "how soon can i swim")
    token = hidden_csrf(await _page(staff))
    url = f"/clinician/review/items/{item}/label"
    await staff.post(url, data={"csrf_token": token, "choice": "topic:ask_downtime"})
    body = await _page(staff)
    assert "Labelled, not yet exported" in body and "how soon can i swim" in body
    assert '<option value="topic:ask_downtime" selected>' in body
    await staff.post(url, data={"csrf_token": token, "choice": "topic:ask_aftercare"})
    assert '<option value="topic:ask_aftercare" selected>' in await _page(staff)
    assert [e.detail for e in audit_rows(db, queue.REVIEW_LABEL)] == [
        f"review item {item}: topic ask_downtime",
        f"review item {item}: topic ask_aftercare",
    ]
    for bad in ("0x10", "9" * 30, "-1"):
        response = await staff.post(
            f"/clinician/review/items/{bad}/label",
            data={"csrf_token": token, "choice": "out_of_scope"},
        )
        assert response.status == 404, bad


async def test_an_export_that_cannot_write_says_so_and_keeps_the_labels(
    staff: TestClient, db: Database, targets: ExportTargets
) -> None:
    targets.nlu_dir.parent.mkdir(parents=True, exist_ok=True)
    targets.nlu_dir.write_text("a file where the folder should be")
    item = add_item(db, "do you have parking")
    queue.label_item(db, item, USER, "topic", "ask_consultation")
    token = hidden_csrf(await _page(staff))
    response = await staff.post("/clinician/review/export", data={"csrf_token": token})
    assert response.status == 500
    body = await response.text()
    assert "The export did not finish:" in body and "could not be written" in body
    assert "The labels are kept" in body
    assert queue.list_items(db, reviewed=True).total == 1
    targets.nlu_dir.unlink()
    again = await staff.post("/clinician/review/export", data={"csrf_token": token})
    assert "Exported 1 example(s): 1 in nlu.yml." in await again.text()

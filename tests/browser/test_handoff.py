"""Live handoff in real Chromium against the real system (`rasa_stack`: Rasa with its socket.io
and WhatsApp channels, the action server, the web server, the worker): a clinician on a ticket
page and a patient in the widget chat through a handoff, with an emergency sent during it; and
the WhatsApp side of a handoff against the fake Graph API."""

from __future__ import annotations

import contextlib
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from bot.clinic import clinic_config
from bot.readiness import wait_until
from bot.serve import Stack
from bot.storage.db import Database
from bot.storage.models import AuditEntry, HandoffMessage, Ticket
from bot.web.clinician.accounts import AccountError, create_staff_user
from tests.channels import whatsapp_fakes as wa
from tests.support.browser import Shot, new_page
from tests.support.clinician_browser import PASSWORD, sign_in

from .chatpage import ANSWER_WAIT_MS, PageWatch, Widget

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

NURSE = "nurse.anna"
DOCTOR = "dr.bose"


@pytest.fixture(scope="module")
def stack_db(rasa_stack: Stack) -> Iterator[Database]:
    db = Database(rasa_stack.database_url)
    for user in (NURSE, DOCTOR):
        with contextlib.suppress(AccountError):  # made by an earlier test of this session
            create_staff_user(db, user, PASSWORD)
    yield db
    db.dispose()


def _clinician(browser: Browser, site: str, user: str) -> Page:
    page = new_page(browser, viewport={"width": 1024, "height": 1280})
    page.goto(f"{site}/clinician/login")
    sign_in(page, user)
    expect(page).to_have_url(f"{site}/clinician")
    return page


def _ticket_of(db: Database, conversation_id: str, timeout: float = 60.0) -> str:
    def find() -> str | None:
        with db.session() as session:
            return session.execute(
                select(Ticket.id).where(Ticket.conversation_id == conversation_id).limit(1)
            ).scalar()

    return wait_until(find, timeout, f"a ticket for {conversation_id}", interval=0.3)


def _audit(db: Database, ticket_id: str) -> list[str]:
    with db.session() as session:
        return list(
            session.execute(
                select(AuditEntry.action)
                .where(AuditEntry.ticket_id == ticket_id)
                .order_by(AuditEntry.id)
            ).scalars()
        )


def test_clinician_and_widget_patient_through_a_handoff_with_an_emergency(
    rasa_stack: Stack,
    stack_db: Database,
    browser: Browser,
    page: Page,
    watch: PageWatch,
    shot: Shot,
) -> None:
    site = rasa_stack.web_url
    clinic = clinic_config()
    widget = Widget(page).open(site)
    report = widget.ask("my cheek has been red and hot since the session and it is spreading")
    expect(report).to_have_attribute("data-kind", "escalation")
    conversation = widget.session_id()
    ticket_id = _ticket_of(stack_db, conversation)

    nurse = _clinician(browser, site, NURSE)
    nurse.goto(f"{site}/clinician/tickets/{ticket_id}")
    panel = nurse.locator("#handoff")
    expect(panel.locator(".handoff-holder")).to_contain_text("Nobody holds this conversation")
    panel.get_by_role("button", name="Take the conversation").click()
    expect(panel.locator(".handoff-holder")).to_contain_text(
        "You hold this conversation", timeout=ANSWER_WAIT_MS
    )

    # The patient is told who joined, in the chat, at once.
    joined = page.locator(".meso-bot[data-kind='handoff']")
    expect(joined.first).to_contain_text(
        f"Nurse Anna from the {clinic.name} team has joined", timeout=ANSWER_WAIT_MS
    )
    expect(panel.locator(".handoff-line.from-clinician").first).to_have_attribute(
        "data-delivery", "delivered", timeout=ANSWER_WAIT_MS
    )

    # A second clinician is told who holds it; nothing changes.
    doctor = _clinician(browser, site, DOCTOR)
    doctor.goto(f"{site}/clinician/tickets/{ticket_id}")
    expect(doctor.locator(".handoff-holder")).to_contain_text(f"{NURSE} holds this conversation")
    expect(doctor.get_by_role("button", name="Take the conversation")).to_have_count(0)
    doctor.locator("#handoff").scroll_into_view_if_needed()
    shot(doctor, "1-second-clinician-sees-the-holder")
    doctor.context.close()

    # The clinician writes; HTML typed by her arrives as text.
    hostile = "Hello, I'm here. <b>Is it warm</b> to touch? <script>alert(1)</script>"
    panel.get_by_label("Message to the patient (website chat)").fill(hostile)
    panel.get_by_role("button", name="Send to the patient").click()
    from_nurse = page.locator(".meso-bot[data-kind='handoff']").nth(1)
    expect(from_nurse).to_contain_text(f"Nurse Anna: {hostile}", timeout=ANSWER_WAIT_MS)
    assert from_nurse.locator("b, script").count() == 0
    expect(from_nurse.locator(".meso-sr")).to_have_text("The clinic team said: ")
    from_nurse.scroll_into_view_if_needed()
    shot(page, "2-patient-sees-the-nurse")

    # A question while she holds the chat: the assistant stays quiet, the clinician sees it live.
    before = page.locator(".meso-bot").count()
    page.locator(".meso-input").fill("how much does mesotherapy cost <i>really</i>?")
    page.locator(".meso-input").press("Enter")
    patient_lines = panel.locator(".handoff-line.from-patient")
    expect(patient_lines.last).to_contain_text(
        "how much does mesotherapy cost <i>really</i>?", timeout=ANSWER_WAIT_MS
    )
    assert patient_lines.last.locator("i").count() == 0
    patient_lines.last.scroll_into_view_if_needed()
    shot(nurse, "3-clinician-sees-the-question")

    # An emergency during the handoff: the instruction at once, and the clinician sees it too.
    page.locator(".meso-input").fill("now my lips are swelling and I can't breathe")
    page.locator(".meso-input").press("Enter")
    banner = page.locator(".meso-esc-emergency").first  # the instruction, then the reference
    expect(banner).to_be_visible(timeout=ANSWER_WAIT_MS)
    expect(banner.locator("a.meso-call")).to_have_attribute(
        "href", f"tel:{clinic.emergency_number}"
    )
    # Nothing answered the cost question: every bot message since is the emergency's.
    kinds = page.locator(".meso-bot").evaluate_all("els => els.map(e => e.dataset.kind)")
    assert "answer" not in kinds[before:], kinds
    expect(patient_lines.last).to_contain_text("I can't breathe", timeout=ANSWER_WAIT_MS)
    expect(panel.locator(".handoff-line.from-assistant").first).to_contain_text(
        clinic.emergency_number, timeout=ANSWER_WAIT_MS
    )
    page.locator(".meso-bot").last.scroll_into_view_if_needed()
    shot(page, "4-patient-emergency-during-handoff")
    panel.locator(".handoff-line").last.scroll_into_view_if_needed()
    shot(nurse, "5-clinician-sees-the-emergency")
    panel.evaluate("el => el.scrollIntoView()")  # the panel from its heading down
    shot(nurse, "readme_handoff")

    # Hand back: the patient is told, and the assistant answers questions again.
    panel.get_by_role("button", name="Hand back to the assistant").click()
    expect(panel.locator(".handoff-holder")).to_contain_text("Nobody holds this conversation")
    expect(page.locator(".meso-bot[data-kind='handoff']").last).to_contain_text(
        "the assistant is answering again", timeout=ANSWER_WAIT_MS
    )
    answer = widget.ask("how much does mesotherapy cost")
    expect(answer).to_have_attribute("data-kind", "answer")
    answer.scroll_into_view_if_needed()
    shot(page, "6-assistant-answers-again")

    actions = _audit(stack_db, ticket_id)
    assert {"handoff_taken", "handoff_message", "handoff_returned"} <= set(actions), actions
    assert watch.errors == [] and watch.dialogs == []

    # The patient has left: a message to them is kept and shown as not delivered.
    page.close()
    panel.get_by_role("button", name="Take the conversation").click()
    panel.get_by_label("Message to the patient (website chat)").fill("Are you still there?")
    panel.get_by_role("button", name="Send to the patient").click()
    last = panel.locator(".handoff-line.from-clinician").last
    expect(last).to_have_attribute("data-delivery", "undelivered", timeout=ANSWER_WAIT_MS)
    expect(last).to_contain_text("Are you still there?")
    expect(last).to_contain_text("Not delivered: the patient has left the chat")
    last.scroll_into_view_if_needed()
    shot(nurse, "7-patient-has-left")
    nurse.context.close()


def _post_whatsapp(stack: Stack, phone: str, text: str) -> None:
    body = wa.encode(wa.notification([wa.text_message(phone, text)], phone_for_contacts=phone))
    request = urllib.request.Request(
        f"{stack.rasa_url}/webhooks/whatsapp/webhook", data=body, headers=wa.signed_headers(body)
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def _sent_to(graph: wa.FakeGraph, phone: str) -> list[Any]:
    return [c for c in graph.sent if c.body.get("to") == phone]


def test_whatsapp_side_of_a_handoff_with_the_fake_graph_api(
    rasa_stack: Stack,
    stack_db: Database,
    whatsapp_graph: wa.FakeGraph,
    browser: Browser,
    shot: Shot,
) -> None:
    site, graph = rasa_stack.web_url, whatsapp_graph
    phone = "15550009876"
    _post_whatsapp(
        rasa_stack, phone, "there is pus coming from the injection spots since yesterday"
    )
    wait_until(lambda: _sent_to(graph, phone), 60, "the escalation on WhatsApp", interval=0.3)
    with stack_db.session() as session:
        ticket_id, conversation = session.execute(
            select(Ticket.id, Ticket.conversation_id)
            .where(Ticket.channel == "whatsapp")
            .order_by(Ticket.created_at.desc())
            .limit(1)
        ).one()
    assert phone not in conversation  # the pseudonym, never the number

    nurse = _clinician(browser, site, NURSE)
    nurse.goto(f"{site}/clinician/tickets/{ticket_id}")
    panel = nurse.locator("#handoff")
    panel.get_by_role("button", name="Take the conversation").click()
    wait_until(
        lambda: any("has joined" in c.text for c in _sent_to(graph, phone)),
        30,
        "the joined notice on WhatsApp",
        interval=0.3,
    )

    # A message over WhatsApp's 4096-character limit goes out split, as replies are.
    long_message = " ".join(["Please keep the area clean and dry."] * 150)
    assert len(long_message) > 4096
    panel.get_by_label("Message to the patient (WhatsApp)").fill(long_message)
    panel.get_by_role("button", name="Send to the patient").click()
    expect(panel.locator(".handoff-line.from-clinician").last).to_have_attribute(
        "data-delivery", "delivered", timeout=30_000
    )
    pieces = [c.text for c in _sent_to(graph, phone) if "keep the area clean" in c.text]
    assert len(pieces) == 2 and all(len(p) <= 4096 for p in pieces), [len(p) for p in pieces]
    assert "".join(pieces).replace("\n", " ").count("Please keep the area clean") == 150

    # The patient answers on WhatsApp: it appears in the thread live; the assistant stays quiet.
    calls_before = len(_sent_to(graph, phone))
    _post_whatsapp(rasa_stack, phone, "ok thank you, <b>how long</b> until it heals?")
    expect(panel.locator(".handoff-line.from-patient").last).to_contain_text(
        "ok thank you, <b>how long</b> until it heals?", timeout=30_000
    )
    time.sleep(2)  # nothing can be waited for: the assistant must not answer at all
    assert len(_sent_to(graph, phone)) == calls_before

    # The 24-hour window has closed: the approved template goes instead, the line says so.
    graph.fail_next(400, code=131047)
    panel.get_by_label("Message to the patient (WhatsApp)").fill("Are you still there?")
    panel.get_by_role("button", name="Send to the patient").click()
    last = panel.locator(".handoff-line.from-clinician").last
    expect(last).to_have_attribute("data-delivery", "template", timeout=30_000)
    expect(last).to_contain_text("approved template was sent")
    template = clinic_config().whatsapp_template
    assert any(
        c.body.get("type") == "template" and c.body["template"]["name"] == template
        for c in _sent_to(graph, phone)
    )
    last.scroll_into_view_if_needed()
    shot(nurse, "1-whatsapp-thread")

    panel.get_by_role("button", name="Hand back to the assistant").click()
    wait_until(
        lambda: any("answering again" in c.text for c in _sent_to(graph, phone)),
        30,
        "the hand-back notice on WhatsApp",
        interval=0.3,
    )
    with stack_db.session() as session:
        kept = session.execute(
            select(HandoffMessage.delivery).where(HandoffMessage.conversation_id == conversation)
        ).scalars()
        assert "template" in list(kept)
    nurse.context.close()


@pytest.fixture
def staff_users() -> dict[str, str]:
    return {NURSE: "staff"}


def test_a_kiosk_ticket_says_there_is_no_way_back_and_shows_the_front_desk(
    clinician_url: str, staff_db: Database, browser: Browser, shot: Shot
) -> None:
    """No stack needed: the web app alone, on SQLite, with one kiosk ticket."""
    from bot.storage.models import utcnow
    from bot.web.ui_texts import ui_texts

    with staff_db.session() as session:
        ticket = Ticket(
            channel="kiosk",
            conversation_id="kiosk-session",
            message_id="m1",
            severity="urgent",
            symptoms=["redness"],
            trigger_text="my cheek is red and hot <b>since the session</b>",
            transcript=[],
            created_at=utcnow(),
        )
        session.add(ticket)
        session.flush()
        ticket_id = ticket.id
    nurse = _clinician(browser, clinician_url, NURSE)
    nurse.goto(f"{clinician_url}/clinician/tickets/{ticket_id}")
    panel = nurse.locator("#handoff")
    expect(panel).to_contain_text("The kiosk has no return channel")
    front_desk = ui_texts().texts["en"]["kiosk_alert"]
    expect(panel.locator("q")).to_have_text(front_desk)
    expect(panel.locator("textarea, button")).to_have_count(0)  # no reply form, no take
    panel.evaluate("el => el.scrollIntoView()")
    shot(nurse, "1-kiosk-ticket")
    nurse.context.close()

"""Which bot message carries the privacy notice (bot/rasa/notice.py), on real Rasa trackers: the
first reply of a session, once, read back from the tracker's own events (so a restarted server or
another replica, which loads the tracker from the store, knows it was shown), never on an
emergency's messages; and the notice's words and numbers (bot/replies/notice.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

from bot.clinic import load_clinic
from bot.datafiles import DataFileError
from bot.paths import CLINIC_CONFIG
from bot.rasa.notice import attach_privacy_notice
from bot.replies.notice import (
    UnsafePolicyUrl,
    notice_language,
    notice_text,
    notice_texts,
    privacy_notice,
    safe_policy_url,
)
from bot.replies.reply import Escalation, Reply

CLINIC = load_clinic()


def _uttered(reply: Reply) -> BotUttered:
    message = reply.rasa_message()
    return BotUttered(text=message.pop("text"), data=message)


def _answer(lang: str = "en") -> BotUttered:
    return _uttered(Reply("chitchat", "Hello! Ask me anything about mesotherapy.", lang=lang))


def _emergency() -> BotUttered:
    escalation = Escalation("emergency", None, "112", CLINIC.phone)
    return _uttered(Reply("escalation", "Call 112 now.", escalation=escalation))


def _tracker(written_in: str = "en", *events: Event) -> DialogueStateTracker:
    parse_data: dict[str, Any] = {
        "intent": {"name": "greet", "confidence": 1.0},
        "language": {"code": written_in, "reply": "en"},
    }
    return DialogueStateTracker.from_events(
        "patient",
        [
            ActionExecuted("action_session_start"),
            SessionStarted(),
            ActionExecuted(ACTION_LISTEN_NAME),
            *events,
            UserUttered("hello", parse_data=parse_data),
        ],
    )


def _notice(event: Event) -> dict[str, Any] | None:
    assert isinstance(event, BotUttered)
    return event.data["custom"]["meso"].get("notice")


def _log(tracker: DialogueStateTracker, events: list[Event]) -> None:
    for event in events:
        tracker.update(event)


def _reloaded(tracker: DialogueStateTracker) -> DialogueStateTracker:
    """The tracker as another process gets it from the tracker store: from its stored events."""
    stored = tracker.current_state(EventVerbosity.ALL)["events"]
    return DialogueStateTracker.from_dict("patient", stored)


def test_the_first_reply_carries_the_notice_once_per_session() -> None:
    tracker = _tracker()
    events: list[Event] = [_answer()]
    attach_privacy_notice(tracker, "utter_greet", events)
    notice = _notice(events[0])
    assert notice is not None and notice["lang"] == "en"
    assert notice["policy_url"] == CLINIC.privacy.policy_url
    assert f"{CLINIC.privacy.conversation_retention_days} days" in notice["text"]
    assert f"{CLINIC.privacy.transcript_retention_days} days" in notice["text"]
    assert events[0].text.startswith("Hello!")  # the reply first, then the notice
    assert events[0].text.endswith(f"Privacy policy: {CLINIC.privacy.policy_url}")
    _log(tracker, events)

    # The next turn, in this process or another one that loaded the stored tracker: no notice.
    for later in (tracker, _reloaded(tracker)):
        later.update(UserUttered("and the cost?", parse_data={"intent": {"name": "ask_cost"}}))
        following: list[Event] = [_answer()]
        attach_privacy_notice(later, "action_answer_topic", following)
        assert _notice(following[0]) is None
        attach_privacy_notice(later, ACTION_LISTEN_NAME, [])

    # A new session (expired, restarted, or a new conversation id) shows it again.
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    fresh: list[Event] = [_answer()]
    attach_privacy_notice(tracker, "utter_greet", fresh)
    assert _notice(fresh[0]) is not None


def test_only_the_first_of_a_turns_replies_carries_it() -> None:
    tracker = _tracker()
    events: list[Event] = [_answer(), _answer()]
    attach_privacy_notice(tracker, "action_answer_topic", events)
    assert _notice(events[0]) is not None and _notice(events[1]) is None


def test_an_emergency_instruction_stands_alone_and_the_notice_follows() -> None:
    tracker = _tracker()
    instruction: list[Event] = [_emergency()]
    attach_privacy_notice(tracker, "utter_emergency", instruction)
    assert _notice(instruction[0]) is None and len(instruction) == 1
    assert "Privacy" not in instruction[0].text
    _log(tracker, instruction)
    reference: list[Event] = [_emergency()]  # the ticket reference: still the emergency
    attach_privacy_notice(tracker, "action_escalate", reference)
    assert _notice(reference[0]) is None
    _log(tracker, reference)

    end_of_turn: list[Event] = []
    attach_privacy_notice(tracker, ACTION_LISTEN_NAME, end_of_turn)
    [notice] = end_of_turn
    assert isinstance(notice, BotUttered)
    assert notice.data["custom"]["meso"]["kind"] == "notice"
    assert notice.data["custom"]["meso"]["body"] == ""
    assert _notice(notice) is not None and notice.text.startswith("Your privacy:")
    _log(tracker, end_of_turn)
    again: list[Event] = []
    attach_privacy_notice(_reloaded(tracker), ACTION_LISTEN_NAME, again)
    assert again == []


def test_a_turn_without_replies_adds_nothing() -> None:
    events: list[Event] = []
    attach_privacy_notice(_tracker(), ACTION_LISTEN_NAME, events)
    assert events == []


@pytest.mark.parametrize(
    ("reply_lang", "written_in", "expected", "phrase"),
    [
        ("en", "en", "en", '"delete my data"'),
        ("en", "hinglish", "hinglish", '"mera data delete karo"'),
        ("hi", "hi", "hi", '"मेरा डेटा मिटाओ"'),
        ("ar", "ar", "ar", '"احذف بياناتي"'),
    ],
)
def test_the_notice_is_in_the_patients_language(
    reply_lang: str, written_in: str, expected: str, phrase: str
) -> None:
    tracker = _tracker(written_in)
    events: list[Event] = [_answer(reply_lang)]
    attach_privacy_notice(tracker, "utter_greet", events)
    notice = _notice(events[0])
    assert notice is not None and notice["lang"] == expected
    assert phrase in notice["text"]
    assert str(CLINIC.privacy.conversation_retention_days) in notice["text"]
    assert notice["link_label"] == notice_texts(expected)["link_label"]


def test_notice_language_falls_back_to_english() -> None:
    assert notice_language("en", "arabizi") == "en"
    assert notice_language("fr", None) == "en"
    assert notice_language("hi", "hinglish") == "hi"  # a chosen language wins


def test_the_numbers_and_the_link_follow_clinic_yml(tmp_path: Path) -> None:
    data = yaml.safe_load(CLINIC_CONFIG.read_text())
    data["privacy"] = {
        "policy_url": "https://clinic.example/our-privacy",
        "conversation_retention_days": 31,
        "transcript_retention_days": 730,
    }
    path = tmp_path / "clinic.yml"
    path.write_text(yaml.safe_dump(data))
    clinic = load_clinic(path)
    for lang in ("en", "hinglish", "hi", "ar"):
        notice = privacy_notice(lang, clinic)
        assert "31" in notice.text and "730" in notice.text, lang
        assert "90" not in notice.text and "365" not in notice.text, lang
        assert notice.policy_url == "https://clinic.example/our-privacy"


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "ftp://x.example/p", "https://", "https://a.example/\"'<b>"]
)
def test_an_unsafe_policy_url_is_refused(url: str) -> None:
    with pytest.raises(UnsafePolicyUrl):
        safe_policy_url(url)
    # and a notice carrying one (from anywhere) is shown without a link
    assert notice_text({"text": "Kept 90 days.", "link_label": "Policy", "policy_url": url}) == (
        "Kept 90 days."
    )


def test_a_policy_url_that_is_not_http_fails_the_clinic_check(tmp_path: Path) -> None:
    data = yaml.safe_load(CLINIC_CONFIG.read_text())
    data["privacy"]["policy_url"] = "javascript:alert(1)"
    path = tmp_path / "clinic.yml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(DataFileError, match="policy_url"):
        load_clinic(path)


def test_a_failing_notice_never_costs_the_reply(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Fix 7 of bot/rasa/patches.py: the reply is logged and sent without its notice."""
    from types import SimpleNamespace

    from rasa.core.actions.action import ActionBotResponse
    from rasa.core.policies.policy import PolicyPrediction
    from rasa.shared.core.domain import Domain

    from bot.rasa import notice as rasa_notice
    from bot.rasa import patches

    def unreadable(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("data/privacy_notice.yml unreadable")

    monkeypatch.setattr(rasa_notice, "privacy_notice", unreadable)
    tracker = _tracker()
    events: list[Event] = [_answer()]
    processor = SimpleNamespace(domain=Domain.empty())
    prediction = PolicyPrediction([], "RulePolicy")
    patches._log_action_with_notice(
        processor,  # type: ignore[arg-type]
        tracker,
        ActionBotResponse("utter_greet"),
        events,
        prediction,
    )
    assert _notice(events[0]) is None and events[0].text.startswith("Hello!")
    assert tracker.events[-1] is events[0]  # logged on the tracker, so sent
    assert "privacy notice: not attached" in caplog.text


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        (
            "text: Kept for {retention} days, ask us to remove it.\nlink_label: Policy\n",
            "{retention}",
        ),
        ("text: Kept for {conversation_days} days, ask us to remove it.\n", "link_label"),
        ("text: Kept.\nlink_label: Policy\n", "too short"),
    ],
)
def test_a_broken_notice_file_is_refused_naming_file_and_fault(
    tmp_path: Path, content: str, complaint: str
) -> None:
    from bot.replies.notice import read_notice_texts

    path = tmp_path / "privacy_notice.yml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataFileError, match="privacy_notice.yml") as error:
        read_notice_texts(path)
    assert complaint in str(error.value)

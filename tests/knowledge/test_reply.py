"""The reply type enforces the evidence note and sources on every path."""

from __future__ import annotations

import pytest

from bot.evidence.notes import BenefitClaimDetector, EvidenceNote, MissingEvidenceNote
from bot.replies.reply import Button, Citation, Escalation, MissingSources, Reply

CITATION = Citation(id="s", title="A source", file="000.txt", kind="clinic_marketing")
NOTE = EvidenceNote("general", "There are few good-quality studies of this treatment.")


def test_efficacy_reply_without_note_cannot_exist() -> None:
    with pytest.raises(MissingEvidenceNote):
        Reply(
            kind="answer", body="It works.", topic="results", efficacy=True, citations=(CITATION,)
        )


def test_a_reply_stating_a_benefit_needs_a_note_even_if_not_marked() -> None:
    detector = BenefitClaimDetector(("regrow",))
    with pytest.raises(MissingEvidenceNote):
        Reply(kind="chitchat", body="It will regrow your hair!", benefit_detector=detector)
    ok = Reply(kind="chitchat", body="It will regrow your hair!", benefit_detector=detector,
               evidence_note=NOTE)  # fmt: skip
    assert ok.envelope()["disclaimer"] == NOTE.text


def test_an_answer_needs_sources() -> None:
    with pytest.raises(MissingSources):
        Reply(kind="answer", body="Costs vary.", topic="cost")


def test_one_message_carries_text_with_note_and_sources_and_the_envelope() -> None:
    reply = Reply(kind="answer", body="Body", topic="results", efficacy=True,
                  evidence_note=NOTE, citations=(CITATION,))  # fmt: skip
    message = reply.rasa_message()
    assert message.keys() == {"text", "custom"}  # no buttons: no "buttons" key
    assert message["text"] == f"Body\n\nEvidence note: {NOTE.text}\n\nSources: A source (000.txt)"
    meso = message["custom"]["meso"]
    assert meso["kind"] == "answer" and meso["topic"] == "results" and meso["efficacy"] is True
    assert meso["disclaimer"] == NOTE.text and meso["sources"] == ["s"]
    assert meso["escalation"] is None


def test_envelope_fields() -> None:
    reply = Reply(kind="chitchat", body="Hi", buttons=(Button("Cost", "/ask_cost"),), lang="hi",
                  knowledge_version="kb-7")  # fmt: skip
    envelope = reply.envelope()
    assert envelope.keys() == {
        "kind", "topic", "efficacy", "disclaimer", "sources", "citations", "escalation", "body",
        "buttons", "lang", "knowledge_version",
    }  # fmt: skip
    assert envelope["lang"] == "hi" and envelope["knowledge_version"] == "kb-7"
    assert Reply(kind="chitchat", body="Hi").envelope()["knowledge_version"] is None
    message = reply.rasa_message()
    assert message["buttons"] == envelope["buttons"] == [{"title": "Cost", "payload": "/ask_cost"}]
    assert message["custom"] == {"meso": envelope}


def test_escalation_reply_needs_details() -> None:
    with pytest.raises(ValueError):
        Reply(kind="escalation", body="Call now")
    esc = Escalation(severity="emergency", ticket="t1", emergency_number="112", clinic_phone="+91")
    reply = Reply(kind="escalation", body="Call now", escalation=esc)
    assert reply.envelope()["escalation"] == {
        "severity": "emergency", "ticket": "t1", "reference": None,
        "emergency_number": "112", "clinic_phone": "+91",
    }  # fmt: skip

"""`Reply`: one assistant answer, its sources, its evidence note and any escalation.

Contract for every channel: a reply is ONE bot message, `Reply.rasa_message()`, carrying both
`text` (plain text that already contains the evidence note and the sources, so a text-only client
never drops them), any `buttons`, and `custom: {"meso": envelope}` with the structured parts rich
channels render from. Channels keep that message whole (bot/channels/output.py).

The constructor enforces the promises: an efficacy reply or one that states a benefit cannot
exist without its evidence note, and an answer cannot exist without sources.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from bot.evidence.notes import BenefitClaimDetector, EvidenceNote, MissingEvidenceNote
from bot.replies.texts import reply_texts
from bot.triage.result import Severity

# "notice": the privacy notice as a message of its own, after an emergency (bot/replies/notice.py)
ReplyKind = Literal["answer", "escalation", "out_of_scope", "clarify", "chitchat", "notice"]


class MissingSources(ValueError):
    """An answer was built without the sources its facts come from."""


@dataclass(frozen=True)
class Citation:
    id: str
    title: str
    file: str
    kind: str

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "title": self.title, "file": self.file, "kind": self.kind}


@dataclass(frozen=True)
class Button:
    title: str
    payload: str

    def as_dict(self) -> dict[str, str]:
        return {"title": self.title, "payload": self.payload}


@dataclass(frozen=True)
class Escalation:
    """`ticket` is the full id; `reference` the short form a patient can quote on the phone."""

    severity: Severity
    ticket: str | None
    emergency_number: str
    clinic_phone: str
    reference: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "ticket": self.ticket,
            "reference": self.reference,
            "emergency_number": self.emergency_number,
            "clinic_phone": self.clinic_phone,
        }


@dataclass(frozen=True)
class Reply:
    kind: ReplyKind
    body: str
    topic: str | None = None
    efficacy: bool = False
    evidence_note: EvidenceNote | None = None
    citations: tuple[Citation, ...] = ()
    escalation: Escalation | None = None
    buttons: tuple[Button, ...] = ()
    lang: str = "en"  # the language the body is written in
    knowledge_version: str | None = None  # the knowledge snapshot this reply was built from
    benefit_detector: BenefitClaimDetector | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        states_benefit = self.benefit_detector is not None and self.benefit_detector.states_benefit(
            self.body
        )
        if (self.efficacy or states_benefit) and self.evidence_note is None:
            why = "is about efficacy" if self.efficacy else "states a benefit"
            raise MissingEvidenceNote(
                f"reply for topic {self.topic!r} {why} but has no evidence note"
            )
        if self.kind == "answer" and not self.citations:
            raise MissingSources(f"answer for topic {self.topic!r} has no sources")
        if self.kind == "escalation" and self.escalation is None:
            raise ValueError("an escalation reply needs its escalation details")

    @property
    def disclaimer(self) -> str | None:
        return self.evidence_note.text if self.evidence_note else None

    def envelope(self) -> dict[str, Any]:
        """The `meso` envelope: the contract every channel renders from."""
        return {
            "kind": self.kind,
            "topic": self.topic,
            "efficacy": self.efficacy or self.evidence_note is not None,
            "disclaimer": self.disclaimer,
            "sources": [c.id for c in self.citations],
            "citations": [c.as_dict() for c in self.citations],
            "escalation": self.escalation.as_dict() if self.escalation else None,
            "body": self.body,
            "buttons": [b.as_dict() for b in self.buttons],
            "lang": self.lang,
            "knowledge_version": self.knowledge_version,
        }

    def plain_text(self) -> str:
        """Body, evidence note and sources as one text, for channels that show only text."""
        frame = reply_texts(self.lang).frame  # the labels, in the body's language
        parts = [self.body]
        if self.evidence_note:
            parts.append(f"{frame['evidence_note']} {self.evidence_note.text}")
        if self.citations:
            titles = "; ".join(f"{c.title} ({c.file})" for c in self.citations)
            parts.append(f"{frame['sources']} {titles}")
        return "\n\n".join(parts)

    def rasa_message(self) -> dict[str, Any]:
        """The one Rasa bot message for this reply: `text` (`plain_text()`), `buttons` when there
        are any, and `custom: {"meso": envelope}`. Keys are those of a Rasa response and of
        `dispatcher.utter_message(text=, buttons=, json_message=)`."""
        message: dict[str, Any] = {"text": self.plain_text()}
        if self.buttons:
            message["buttons"] = [b.as_dict() for b in self.buttons]
        message["custom"] = {"meso": self.envelope()}
        return message

"""The triage result: the contract between the detection pipeline, Rasa, and escalation.

It travels inside Rasa's parse data as `message["triage"]` (see `as_dict`/`from_dict`), so the
action server and the event broker read exactly what the NLU component decided.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

# The one definition of the severity levels, least severe first.
Severity = Literal["routine", "urgent", "emergency"]
SEVERITIES: tuple[Severity, ...] = get_args(Severity)
MOST_SEVERE_FIRST: tuple[Severity, ...] = SEVERITIES[::-1]
SEVERITY_ORDER: dict[str, int] = {level: rank for rank, level in enumerate(SEVERITIES, 1)}

# Why a mention does or does not count as the user's own current symptom.
MentionStatus = Literal[
    "affirmed",  # the user's own current symptom
    "other_present",  # someone the user is with now: still escalated
    "negated",  # "no swelling"
    "hypothetical",  # "what if I get a fever"
    "risk_question",  # "can it cause swelling?"
    "other_absent",  # someone else, not with the user now ("my friend had bruising last year")
    "historical",  # long past and resolved
    "figurative",  # said of an everyday cause: "I can't breathe from all the work"
    "treatment_goal",  # a condition people come to have treated, not tied to a treatment they had
]
ESCALATED_STATUSES = frozenset({"affirmed", "other_present"})


@dataclass(frozen=True)
class SymptomMention:
    text: str
    concept: str  # e.g. "breathing_difficulty", "swelling"
    start: int
    end: int
    status: MentionStatus
    modifiers: tuple[str, ...] = ()  # e.g. ("spreading", "worsening")

    @property
    def escalates(self) -> bool:
        return self.status in ESCALATED_STATUSES

    def as_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "concept": self.concept,
            "start": self.start,
            "end": self.end,
            "status": self.status,
            "modifiers": list(self.modifiers),
        }


@dataclass(frozen=True)
class TriageResult:
    """`severity` is None when nothing escalates; `rules` are the ids of the rules that fired."""

    severity: Severity | None
    mentions: tuple[SymptomMention, ...] = ()
    rules: tuple[str, ...] = field(default=())
    # Which detectors escalated: "rules", "statistical" (both, or neither when not escalated).
    caught_by: tuple[str, ...] = ()
    # The statistical detector's vote ({"report": p, "emergency": p, "severity": ...}), if run.
    detector: dict[str, Any] | None = None
    language: str | None = None  # bot.language code of the message (en, hinglish, hi, ...)
    reply_language: str | None = None  # the language the patient is answered in
    # A cry for help that names no symptom ("help", "ambulance", "🆘"); never set on escalation.
    help_request: bool = False

    @property
    def escalate(self) -> bool:
        return self.severity is not None

    @property
    def symptoms(self) -> list[str]:
        """Concepts of the escalated mentions, in order, without repeats."""
        seen: dict[str, None] = {}
        for m in self.mentions:
            if m.escalates:
                seen.setdefault(m.concept, None)
        return list(seen)

    def as_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "mentions": [m.as_dict() for m in self.mentions],
            "rules": list(self.rules),
            "caught_by": list(self.caught_by),
            "detector": self.detector,
            "language": self.language,
            "reply_language": self.reply_language,
            "help_request": self.help_request,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> TriageResult:
        if not data:
            return cls(severity=None)
        return cls(
            severity=data.get("severity"),
            mentions=tuple(
                SymptomMention(
                    text=m["text"],
                    concept=m["concept"],
                    start=m["start"],
                    end=m["end"],
                    status=m["status"],
                    modifiers=tuple(m.get("modifiers", ())),
                )
                for m in data.get("mentions", ())
            ),
            rules=tuple(data.get("rules", ())),
            caught_by=tuple(data.get("caught_by", ())),
            detector=data.get("detector"),
            language=data.get("language"),
            reply_language=data.get("reply_language"),
            help_request=bool(data.get("help_request")),
        )


def higher(a: Severity | None, b: Severity | None) -> Severity | None:
    """The more severe of two levels (None is lowest)."""
    if a is None:
        return b
    if b is None:
        return a
    return a if SEVERITY_ORDER[a] >= SEVERITY_ORDER[b] else b

"""meso_mention_status: decides whose symptom each mention is and whether it is real and current.

Reads the ConText categories on each entity (`Span._.modifiers`) and applies the ordered entries
of data/triage/statuses.yml; the first that applies sets `Span._.status`, else "affirmed".
Before that, `carry_across_lists` passes chosen categories along a list of mentions
("no fever or pain": the negation reaches "pain" too).
"""

from dataclasses import dataclass

from spacy.language import Language
from spacy.tokens import Doc, Span

from bot.datafiles import load_checked
from bot.triage.result import ESCALATED_STATUSES, MentionStatus

from . import extensions
from .files import data_path


@dataclass(frozen=True)
class StatusRule:
    """One entry of statuses.yml; `concepts`, when given, limits it to mentions of those."""

    status: MentionStatus
    when_any: frozenset[str]
    when_all: frozenset[str]
    unless_any: frozenset[str]
    concepts: frozenset[str] = frozenset()

    def applies(self, categories: set[str], concept: str) -> bool:
        if self.concepts and concept not in self.concepts:
            return False
        if self.unless_any & categories:
            return False
        if self.when_all:
            return self.when_all <= categories
        return bool(self.when_any & categories)


@dataclass(frozen=True)
class ListCarry:
    """Which categories a mention passes to the next one when only `joiners` stand between them
    (never to a `never_to` concept)."""

    joiners: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    never_to: frozenset[str] = frozenset()

    def carried(self, doc: Doc, before: Span, after: Span, categories: set[str]) -> set[str]:
        """The categories of `before` (given) that `after` also gets."""
        between = doc[before.end : after.start]
        if not len(between) or before.sent != after.sent or after.label_ in self.never_to:
            return set()
        if any(token.norm_ not in self.joiners for token in between):
            return set()
        return categories & self.categories


@dataclass(frozen=True)
class TreatmentGoals:
    """Concepts that escalate only when the document ties something to a treatment: a ConText
    cue of a `linked_by` category anywhere in it (earlier messages included)."""

    concepts: frozenset[str] = frozenset()
    linked_by: frozenset[str] = frozenset()

    def linked(self, doc: Doc) -> bool:
        return any(m.category in self.linked_by for m in extensions.context_modifiers(doc))


class MentionStatusResolver:
    """Sets `Span._.status` on every symptom entity."""

    def __init__(
        self,
        name: str,
        rules: list[StatusRule],
        carries: tuple[ListCarry, ...] = (),
        goals: TreatmentGoals | None = None,
    ) -> None:
        self.name = name
        self.rules = rules
        self.carries = carries
        self.goals = goals or TreatmentGoals()

    def status(self, categories: set[str], concept: str) -> MentionStatus:
        for rule in self.rules:
            if rule.applies(categories, concept):
                return rule.status
        return "affirmed"

    def __call__(self, doc: Doc) -> Doc:
        previous: tuple[Span, set[str]] | None = None
        linked: bool | None = None  # looked up once, for the first treatment-goal mention
        for ent in doc.ents:
            categories = {modifier.category for modifier in ent._.modifiers}
            if previous is not None:
                for carry in self.carries:
                    categories |= carry.carried(doc, previous[0], ent, previous[1])
            status = self.status(categories, ent.label_)
            if ent.label_ in self.goals.concepts and status in ESCALATED_STATUSES:
                linked = self.goals.linked(doc) if linked is None else linked
                status = status if linked else "treatment_goal"
            ent._.set(extensions.SPAN_STATUS, status)
            previous = (ent, categories)
        return doc


@Language.factory("meso_mention_status", default_config={"statuses_path": None})
def make_mention_status(
    nlp: Language, name: str, statuses_path: str | None
) -> MentionStatusResolver:
    data = load_checked(data_path(statuses_path, "statuses.yml"), "triage_statuses")
    rules = [
        StatusRule(
            status=entry["status"],
            when_any=frozenset(entry.get("when_any", ())),
            when_all=frozenset(entry.get("when_all", ())),
            unless_any=frozenset(entry.get("unless_any", ())),
            concepts=frozenset(entry.get("concepts", ())),
        )
        for entry in data["statuses"]
    ]
    entries = data.get("carry_across_lists") or []
    carries = tuple(
        ListCarry(
            joiners=frozenset(word.lower() for word in entry["joiners"]),
            categories=frozenset(entry["categories"]),
            never_to=frozenset(entry.get("never_to", ())),
        )
        # one entry alone: the form of files written before lists of entries
        for entry in ([entries] if isinstance(entries, dict) else entries)
    )
    goals = data.get("treatment_goals") or {}
    return MentionStatusResolver(
        name,
        rules,
        carries,
        TreatmentGoals(
            concepts=frozenset(goals.get("concepts", ())),
            linked_by=frozenset(goals.get("linked_by", ())),
        ),
    )

"""meso_mention_status: decides whose symptom each mention is and whether it is real and current.

Reads the ConText categories on each entity (`Span._.modifiers`) and applies the ordered entries
of data/triage/statuses.yml; the first that applies sets `Span._.status`, else "affirmed".
"""

from dataclasses import dataclass

from spacy.language import Language
from spacy.tokens import Doc

from bot.datafiles import load_checked
from bot.triage.result import MentionStatus

from . import extensions
from .files import data_path


@dataclass(frozen=True)
class StatusRule:
    status: MentionStatus
    when_any: frozenset[str]
    when_all: frozenset[str]
    unless_any: frozenset[str]

    def applies(self, categories: set[str]) -> bool:
        if self.unless_any & categories:
            return False
        if self.when_all:
            return self.when_all <= categories
        return bool(self.when_any & categories)


class MentionStatusResolver:
    """Sets `Span._.status` on every symptom entity."""

    def __init__(self, name: str, rules: list[StatusRule]) -> None:
        self.name = name
        self.rules = rules

    def status(self, categories: set[str]) -> MentionStatus:
        for rule in self.rules:
            if rule.applies(categories):
                return rule.status
        return "affirmed"

    def __call__(self, doc: Doc) -> Doc:
        for ent in doc.ents:
            categories = {modifier.category for modifier in ent._.modifiers}
            ent._.set(extensions.SPAN_STATUS, self.status(categories))
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
        )
        for entry in data["statuses"]
    ]
    return MentionStatusResolver(name, rules)

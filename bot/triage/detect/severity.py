"""meso_severity: grades the message from its escalating mentions with data/triage/rules.yml.

Only mentions whose status escalates (the user's own current symptom, or that of someone with
them now) count. A rule fires for such a mention when its concept is listed and, if the rule
names modifiers, the mention carries one of them. The highest severity fired wins; the result
is `Doc._.triage`, a TriageResult. Loading checks the rules against the symptom and modifier
files: an unknown concept or modifier, or a concept without any rule, is a DataFileError.
"""

from dataclasses import dataclass
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc

from bot.datafiles import DataFileError, load_checked
from bot.triage.result import SEVERITY_ORDER, Severity, SymptomMention, TriageResult

from . import extensions
from .files import data_path


@dataclass(frozen=True)
class SeverityRule:
    id: str
    severity: Severity
    rationale: str
    concepts: frozenset[str]
    modifiers: frozenset[str] = frozenset()

    def fires(self, mention: SymptomMention) -> bool:
        if mention.concept not in self.concepts:
            return False
        return not self.modifiers or bool(self.modifiers.intersection(mention.modifiers))


def check_rules(
    rules: list[SeverityRule], concepts: set[str], modifiers: set[str], path: Path
) -> None:
    """Raise DataFileError (naming rules.yml and the rule) when the files do not fit together."""
    seen_ids: set[str] = set()
    for rule in rules:
        if rule.id in seen_ids:
            raise DataFileError(path, "duplicate rule id", rule.id)
        seen_ids.add(rule.id)
        if unknown := sorted(rule.concepts - concepts):
            raise DataFileError(path, f"unknown concepts {unknown} (not in symptoms.yml)", rule.id)
        if unknown := sorted(rule.modifiers - modifiers):
            raise DataFileError(
                path, f"unknown modifiers {unknown} (not in modifiers.yml)", rule.id
            )
    # Every concept needs a rule without modifier conditions, so any escalating mention grades.
    covered = set().union(*(rule.concepts for rule in rules if not rule.modifiers))
    if missing := sorted(concepts - covered):
        raise DataFileError(path, f"concepts without a rule free of modifier conditions: {missing}")


class SeverityGrader:
    """Sets `Doc._.triage` from the entities, their statuses and their modifiers."""

    def __init__(self, name: str, rules: list[SeverityRule]) -> None:
        self.name = name
        # Highest severity first, so the fired ids read from the most serious reason down.
        self.rules = sorted(rules, key=lambda r: -SEVERITY_ORDER[r.severity])

    def grade(self, mentions: tuple[SymptomMention, ...]) -> TriageResult:
        fired: dict[str, SeverityRule] = {}
        for mention in mentions:
            if mention.escalates:
                for rule in self.rules:
                    if rule.fires(mention):
                        fired.setdefault(rule.id, rule)
        severity = max(
            (rule.severity for rule in fired.values()),
            key=SEVERITY_ORDER.__getitem__,
            default=None,
        )
        ordered = [rule.id for rule in self.rules if rule.id in fired]
        return TriageResult(severity=severity, mentions=mentions, rules=tuple(ordered))

    def __call__(self, doc: Doc) -> Doc:
        mentions = tuple(
            SymptomMention(
                text=ent.text,
                concept=ent.label_,
                start=ent.start_char,
                end=ent.end_char,
                status=ent._.get(extensions.SPAN_STATUS),
                modifiers=ent._.get(extensions.SPAN_MODIFIERS),
            )
            for ent in doc.ents
        )
        doc._.set(extensions.DOC_TRIAGE, self.grade(mentions))
        return doc


@Language.factory(
    "meso_severity",
    default_config={"rules_path": None, "symptoms_path": None, "modifiers_path": None},
)
def make_severity_grader(
    nlp: Language,
    name: str,
    rules_path: str | None,
    symptoms_path: str | None,
    modifiers_path: str | None,
) -> SeverityGrader:
    path = data_path(rules_path, "rules.yml")
    data = load_checked(path, "triage_rules")
    symptoms = load_checked(data_path(symptoms_path, "symptoms.yml"), "triage_symptoms")
    modifiers = load_checked(data_path(modifiers_path, "modifiers.yml"), "triage_modifiers")
    rules = [
        SeverityRule(
            id=r["id"],
            severity=r["severity"],
            rationale=r["rationale"],
            concepts=frozenset(r["concepts"]),
            modifiers=frozenset(r.get("modifiers", ())),
        )
        for r in data["rules"]
    ]
    check_rules(rules, set(symptoms["concepts"]), set(modifiers["modifiers"]), path)
    return SeverityGrader(name, rules)

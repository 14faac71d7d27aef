"""meso_context: medspaCy's ConText, configured from data/triage/context_rules.yml.

ConText attaches to each symptom entity the cues whose reach covers it (`Span._.modifiers`, each
with a `category` such as NEGATED_EXISTENCE or OTHER_PERSON); meso_mention_status turns those
categories into a status. Cues are matched on NORM, like the symptoms.
"""

from typing import Any

from medspacy.common.medspacy_matcher import MedspacyMatcher
from medspacy.common.util import prune_overlapping_matches
from medspacy.context import ConText, ConTextRule
from spacy.language import Language
from spacy.schemas import validate_token_pattern
from spacy.tokens import Doc
from spacy.vocab import Vocab

from bot.datafiles import DataFileError, load_checked

from .anchored import AnchoredMatcher
from .files import data_path
from .languages import language_entries, languages_dir
from .lexicon import MATCH_ATTR, phrase_norms


def _rule(entry: dict[str, Any], path: Any) -> ConTextRule:
    pattern = entry.get("pattern")
    if isinstance(pattern, list):
        errors = validate_token_pattern(pattern)
        if errors:
            raise DataFileError(
                path, f"invalid token pattern: {'; '.join(errors)}", entry["literal"]
            )
    return ConTextRule.from_dict(entry)


def _normalised(nlp: Language, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`entries` with each literal as the NORM text a message carrying it has (one batch)."""
    norms = phrase_norms(nlp, [entry["literal"] for entry in entries])
    return [{**entry, "literal": norm} for entry, norm in zip(entries, norms, strict=True)]


class CueMatcher:
    """ConText's cue matcher, pruned so that every rule matching the winning words is kept, with
    its token patterns in an AnchoredMatcher (each tried only where its words occur).

    medspaCy keeps the longest of overlapping cue matches ("no history of" over "history of"),
    which is wanted; but of two rules matching the very same words it keeps one, a pattern rule
    before a literal, so a broad pattern ("X to" as a figure of speech) silently switched off
    every literal it also covered ("hua to": if it happens). Here both apply.
    """

    def __init__(self, matcher: MedspacyMatcher, vocab: Vocab) -> None:
        self._matcher = matcher
        # medspaCy 1.2 has no public setters after construction; no rule is added yet
        matcher._prune = False
        matcher._MedspacyMatcher__matcher = AnchoredMatcher(vocab)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._matcher, name)

    def __call__(self, doc: Doc) -> list[tuple[int, int, int]]:
        matches = self._matcher(doc)
        if not matches:
            return matches
        kept = {(start, end) for _, start, end in prune_overlapping_matches(list(matches))}
        return [match for match in matches if (match[1], match[2]) in kept]


class MentionContext:
    """Runs ConText on a Doc that has symptom entities; a Doc without any is left as it is
    (ConText's cost grows with cues times cues, so a long text of cue words alone stays cheap)."""

    def __init__(self, name: str, context: ConText) -> None:
        self.name = name
        self.context = context

    def __call__(self, doc: Doc) -> Doc:
        return self.context(doc) if doc.ents else doc


@Language.factory("meso_context", default_config={"context_path": None, "languages_path": None})
def make_context(
    nlp: Language, name: str, context_path: str | None, languages_path: str | None
) -> MentionContext:
    path = data_path(context_path, "context_rules.yml")
    data = load_checked(path, "triage_context")
    added = language_entries(languages_dir(languages_path, path.parent))
    context = ConText(
        nlp,
        name=name,
        rules=None,
        phrase_matcher_attr=MATCH_ATTR,
        terminating_types=data.get("terminating_types"),
        span_attrs=None,  # statuses come from the categories, see meso_mention_status
    )
    context._ConText__matcher = CueMatcher(context._ConText__matcher, nlp.vocab)  # type: ignore[attr-defined]
    # Cue literals are matched on NORM, so they are normalised like the text.
    entries = [*data["context_rules"], *added.context_rules]
    context.add([_rule(entry, path) for entry in _normalised(nlp, entries)])
    return MentionContext(name, context)

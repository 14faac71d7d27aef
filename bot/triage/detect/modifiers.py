"""meso_modifiers: finds severity modifiers ("spreading", "hot to touch", "won't stop") and attaches
their names to symptom entities as `Span._.severity_modifiers`.

A modifier applies to the symptoms in its own sentence; in a sentence without a symptom, to every
symptom in the message ("My cheek is red. It is getting worse."). A modifier preceded closely by a
cancel cue ("not spreading", "if it gets worse"), or inside a negated symptom ("दर्द बिल्कुल नहीं", no
pain at all), does not count. Lists: data/triage/modifiers.yml.
"""

from collections import defaultdict

from spacy.language import Language
from spacy.tokens import Doc, Span

from bot.datafiles import load_checked
from bot.language import normalise_word

from . import extensions
from .files import data_path
from .languages import language_entries, languages_dir, with_languages
from .lexicon import LexiconMatcher


class ModifierFinder:
    """Sets `Span._.severity_modifiers` (sorted modifier names) on every symptom entity."""

    def __init__(
        self, name: str, matcher: LexiconMatcher, cancel_cues: frozenset[str], cancel_window: int
    ) -> None:
        self.name = name
        self.matcher = matcher
        self.cancel_cues = cancel_cues
        self.cancel_window = cancel_window

    @property
    def names(self) -> tuple[str, ...]:
        return self.matcher.labels

    def cancelled(self, match: Span) -> bool:
        before = match.doc[max(0, match.start - self.cancel_window) : match.start]
        return any(token.norm_ in self.cancel_cues for token in before)

    def __call__(self, doc: Doc) -> Doc:
        ents = doc.ents
        if not ents:
            return doc
        by_sentence: dict[int, list[Span]] = defaultdict(list)
        for ent in ents:
            by_sentence[ent.sent.start].append(ent)
        negated = [ent for ent in ents if ent._.get(extensions.SPAN_STATUS) == "negated"]
        found: dict[tuple[int, int], set[str]] = defaultdict(set)
        for match in self.matcher.spans(doc):
            if self.cancelled(match) or _inside_any(match, negated):
                continue
            targets = by_sentence.get(match.sent.start) or ents
            for ent in targets:
                found[ent.start, ent.end].add(match.label_)
        for ent in ents:
            names = found.get((ent.start, ent.end))
            if names:
                ent._.set(extensions.SPAN_MODIFIERS, tuple(sorted(names)))
        return doc


def _inside_any(match: Span, ents: list[Span]) -> bool:
    """Whether `match` lies within one of `ents`: "pain" of a negated "no pain at all" says
    nothing painful about the other symptoms of its sentence."""
    return any(ent.start <= match.start and match.end <= ent.end for ent in ents)


@Language.factory("meso_modifiers", default_config={"modifiers_path": None, "languages_path": None})
def make_modifier_finder(
    nlp: Language, name: str, modifiers_path: str | None, languages_path: str | None
) -> ModifierFinder:
    path = data_path(modifiers_path, "modifiers.yml")
    data = load_checked(path, "triage_modifiers")
    added = language_entries(languages_dir(languages_path, path.parent))
    cancel = data.get("cancel") or {"window": 0, "cues": []}
    cues = [*cancel["cues"], *added.cancel_cues]
    return ModifierFinder(
        name,
        LexiconMatcher(
            nlp, with_languages(data["modifiers"], added.modifiers, path, "modifiers"), path
        ),
        cancel_cues=frozenset(normalise_word(c) for c in cues),
        cancel_window=cancel["window"],
    )

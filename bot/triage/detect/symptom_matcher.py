"""meso_symptom_matcher: finds symptom mentions in lay language and sets them as doc.ents.

Each entity's label is a concept from data/triage/symptoms.yml ("swelling", "lip_swelling").
Overlapping matches keep the longest ("lips are swelling" is lip_swelling, not swelling); a stop
phrase ("red wine", "pain relief") hides any symptom it overlaps.
"""

from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import filter_spans

from bot.datafiles import load_checked

from .files import data_path
from .languages import language_entries, languages_dir, with_languages
from .lexicon import LexiconMatcher

STOP_LABEL = "STOP_PHRASE"  # concept names are lower case, so this cannot clash


class SymptomMatcher:
    """Sets doc.ents to the non-overlapping symptom mentions, labelled with their concept."""

    def __init__(self, name: str, matcher: LexiconMatcher) -> None:
        self.name = name
        self.matcher = matcher

    @property
    def concepts(self) -> tuple[str, ...]:
        return tuple(label for label in self.matcher.labels if label != STOP_LABEL)

    def __call__(self, doc: Doc) -> Doc:
        kept = filter_spans(self.matcher.spans(doc))
        doc.ents = [span for span in kept if span.label_ != STOP_LABEL]
        return doc


@Language.factory(
    "meso_symptom_matcher", default_config={"symptoms_path": None, "languages_path": None}
)
def make_symptom_matcher(
    nlp: Language, name: str, symptoms_path: str | None, languages_path: str | None
) -> SymptomMatcher:
    path = data_path(symptoms_path, "symptoms.yml")
    data = load_checked(path, "triage_symptoms")
    added = language_entries(languages_dir(languages_path, path.parent))
    concepts = with_languages(data["concepts"], added.concepts, path, "concepts")
    stops = [*(data.get("stop_phrases") or []), *added.stop_phrases]
    entries = {STOP_LABEL: {"phrases": stops}, **concepts}
    return SymptomMatcher(name, LexiconMatcher(nlp, entries, path))

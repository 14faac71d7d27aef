"""meso_normaliser: puts a clean, lower-case, spelling-corrected form of each word in Token.norm_.

Later components match on NORM, so "SWOLEN", "swolen" and "swollen" read the same. spaCy's own
norms already expand contractions ("can't"/"cant" -> "can not"); this adds the clinic's
`variants` ("im" -> "i am") and bounded typo correction towards the words of the lexicon files.
spaCy's contraction exceptions only exist in lower and title case, so the factory adds their
upper-case forms to the tokenizer ("I CANT BREATHE" splits like "I cant breathe").
"""

from spacy.language import Language
from spacy.symbols import NORM, ORTH
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc

from bot.datafiles import load_checked

from .files import data_path
from .lexicon import entry_words
from .typos import TypoCorrector


class SpellingNormaliser:
    """Rewrites Token.norm_ through the variant table, then the typo corrector."""

    def __init__(self, name: str, variants: dict[str, str], corrector: TypoCorrector) -> None:
        self.name = name
        self.variants = {k.lower(): v.lower() for k, v in variants.items()}
        self.corrector = corrector

    def __call__(self, doc: Doc) -> Doc:
        for token in doc:
            norm = token.norm_
            fixed = self.variants.get(norm) or self.corrector.correct(norm)
            if fixed and fixed != norm:
                token.norm_ = fixed
        return doc


def add_upper_case_exceptions(tokenizer: Tokenizer) -> None:
    """Give every lower-case contraction exception ("cant" -> "ca" + "nt") its upper-case form."""
    for text, pieces in list(tokenizer.rules.items()):
        upper = text.upper()
        if len(pieces) < 2 or text != text.lower() or upper == text or upper in tokenizer.rules:
            continue
        case = [{ORTH: p[ORTH].upper(), NORM: p.get(NORM, p[ORTH].lower())} for p in pieces]
        tokenizer.add_special_case(upper, case)


@Language.factory(
    "meso_normaliser",
    default_config={"spelling_path": None, "symptoms_path": None, "modifiers_path": None},
)
def make_normaliser(
    nlp: Language,
    name: str,
    spelling_path: str | None,
    symptoms_path: str | None,
    modifiers_path: str | None,
) -> SpellingNormaliser:
    add_upper_case_exceptions(nlp.tokenizer)
    spelling = load_checked(data_path(spelling_path, "spelling.yml"), "triage_spelling")
    symptoms = load_checked(data_path(symptoms_path, "symptoms.yml"), "triage_symptoms")
    modifiers = load_checked(data_path(modifiers_path, "modifiers.yml"), "triage_modifiers")
    entries = [*symptoms["concepts"].values(), *modifiers["modifiers"].values()]
    typos = spelling["typos"]
    corrector = TypoCorrector(
        vocabulary=entry_words(entries),
        known=spelling.get("known_words") or (),
        edit_limits=[(e["min_length"], e["edits"]) for e in typos["edits"]],
        same_first_letter=typos.get("same_first_letter", True),
    )
    return SpellingNormaliser(name, spelling.get("variants") or {}, corrector)

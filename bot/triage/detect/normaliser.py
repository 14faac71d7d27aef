"""meso_normaliser: puts a clean, lower-case, spelling-corrected form of each word in Token.norm_.

Later components match on NORM, so "SWOLEN", "swolen" and "swollen" read the same. spaCy's own
norms already expand contractions ("can't"/"cant" -> "can not"); this folds script variants
(bot.language.normalise: Devanagari nukta, Arabic letter forms and diacritics, "helppp"), then
applies the clinic's `variants` ("im" -> "i am"), strips the affixes a language file lists when
the bare word is a lexicon word (Arabic "وشفايفي" reads "شفايفي"), and corrects typos within a
bounded distance of the words of the lexicon files.
spaCy's contraction exceptions only exist in lower and title case, so the factory adds their
upper-case forms to the tokenizer ("I CANT BREATHE" splits like "I cant breathe"), keeps whole
the spelling file's `whole_words` that one of those exceptions would split, and keeps whole the
Arabizi words whose ending spaCy's English suffixes would split off as a unit ("ta7t").
"""

import re
from collections.abc import Iterable

from spacy.language import Language
from spacy.symbols import NORM, ORTH
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc

from bot.datafiles import load_checked
from bot.language import normalise_word

from .files import data_path
from .languages import LanguageEntries, language_entries, languages_dir
from .lexicon import entry_words
from .typos import TypoCorrector


class AffixStripper:
    """Finds the lexicon word inside a word that carries listed prefixes and suffixes."""

    def __init__(
        self, vocabulary: frozenset[str], prefixes: tuple[str, ...], suffixes: tuple[str, ...]
    ) -> None:
        self.vocabulary = vocabulary
        self.prefixes = prefixes
        self.suffixes = suffixes

    def strip(self, word: str) -> str | None:
        """The vocabulary word left after removing at most one prefix and one suffix, or None."""
        heads = [word] + [word[len(p) :] for p in self.prefixes if word.startswith(p)]
        for head in heads:
            if len(head) < 2:
                continue
            if head in self.vocabulary and head != word:
                return head
            for suffix in self.suffixes:
                bare = head[: -len(suffix)]
                if head.endswith(suffix) and len(bare) >= 2 and bare in self.vocabulary:
                    return bare
        return None


class SpellingNormaliser:
    """Rewrites Token.norm_: script folding, the variant table, affixes, then typos."""

    def __init__(
        self,
        name: str,
        variants: dict[str, str],
        corrector: TypoCorrector,
        affixes: AffixStripper | None = None,
    ) -> None:
        self.name = name
        self.variants = {normalise_word(k): v.lower() for k, v in variants.items()}
        self.corrector = corrector
        self.affixes = affixes

    def normal_form(self, norm: str) -> str:
        folded = normalise_word(norm)
        if folded in self.variants:
            return self.variants[folded]
        if self.affixes is not None and folded not in self.affixes.vocabulary:
            stripped = self.affixes.strip(folded)
            if stripped:
                return stripped
        return self.corrector.correct(folded) or folded

    def __call__(self, doc: Doc) -> Doc:
        for token in doc:
            fixed = self.normal_form(token.norm_)
            if fixed != token.norm_:
                token.norm_ = fixed
        return doc


def keep_whole(tokenizer: Tokenizer, words: Iterable[str]) -> None:
    """Let each of `words` (in lower, upper and title case) stay one token."""
    for word in words:
        for form in {word, word.upper(), word.title()}:
            tokenizer.add_special_case(form, [{ORTH: form}])


def keep_digit_words(tokenizer: Tokenizer) -> None:
    """Split a unit off a number ("5km", "38c") but not off a word that has letters before its
    digit: Arabizi writes sounds with digits, and "ta7t" (under), "sma3t" (I heard) and "ma3ha"
    (with her) end in what spaCy's English suffixes take for units ("t", "ha")."""
    search = tokenizer.suffix_search
    if search is None:
        return

    def suffix_search(text: str) -> re.Match[str] | None:
        match = search(text)
        if match is None or not match.group().isalpha() or match.start() < 2:
            return match
        before = text[: match.start()]
        return None if before[-1].isdigit() and any(c.isalpha() for c in before) else match

    tokenizer.suffix_search = suffix_search


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
    default_config={
        "spelling_path": None,
        "symptoms_path": None,
        "modifiers_path": None,
        "languages_path": None,
    },
)
def make_normaliser(
    nlp: Language,
    name: str,
    spelling_path: str | None,
    symptoms_path: str | None,
    modifiers_path: str | None,
    languages_path: str | None,
) -> SpellingNormaliser:
    add_upper_case_exceptions(nlp.tokenizer)
    spelling_file = data_path(spelling_path, "spelling.yml")
    spelling = load_checked(spelling_file, "triage_spelling")
    keep_whole(nlp.tokenizer, spelling.get("whole_words") or ())
    keep_digit_words(nlp.tokenizer)
    symptoms = load_checked(data_path(symptoms_path, "symptoms.yml"), "triage_symptoms")
    modifiers = load_checked(data_path(modifiers_path, "modifiers.yml"), "triage_modifiers")
    added: LanguageEntries = language_entries(languages_dir(languages_path, spelling_file.parent))
    english = [*symptoms["concepts"].values(), *modifiers["modifiers"].values()]
    others = [
        *added.concepts.values(),
        *added.modifiers.values(),
        {"phrases": [rule["literal"] for rule in added.context_rules]},
    ]
    vocabulary = frozenset(entry_words([*english, *others]))
    typos = spelling["typos"]
    # Typos are corrected towards English words only: the other languages' spellings are too
    # short and too free ("dard" is one edit from "dare"), so their files list the spellings.
    corrector = TypoCorrector(
        vocabulary=entry_words(english),
        known=[*(spelling.get("known_words") or ()), *added.known_words, *vocabulary],
        edit_limits=[(e["min_length"], e["edits"]) for e in typos["edits"]],
        same_first_letter=typos.get("same_first_letter", True),
    )
    affixes = (
        AffixStripper(vocabulary, added.prefixes, added.suffixes)
        if added.prefixes or added.suffixes
        else None
    )
    variants = {**(spelling.get("variants") or {}), **added.variants}
    return SpellingNormaliser(name, variants, corrector, affixes)

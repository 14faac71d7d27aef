"""Language identification: script shares, then py3langid for Latin script, plus the Hinglish and
Arabizi signals of data/languages.yml (py3langid knows neither)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from bot.datafiles import DataFileError, load_checked, read_nlu_examples
from bot.paths import DATA_DIR

from .normalise import normalise_word, script_shares, split_words

LANGUAGES_FILE = DATA_DIR / "languages.yml"
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.UNICODE)
# A word that mixes Latin letters with the digits Arabizi uses for Arabic sounds ("3ndi", "7ar").
_DIGIT_WORD = re.compile(r"^(?=.*[a-z])(?=.*[235679])[a-z235679']+$")


@dataclass(frozen=True)
class LanguageGuess:
    """`code`: en, hinglish, hi, ar, arabizi, "unknown" (no words) or another language's ISO
    code; `reply`: the language to answer in; `supported`: whether the assistant knows it."""

    code: str
    reply: str
    supported: bool


@dataclass(frozen=True)
class Variety:
    """A Latin-script variety py3langid does not know. `markers` are its listed words;
    `vocabulary` the words of its training questions that English ones never use, weaker
    evidence (short words such as "ne" are also French), so they only add to the count."""

    name: str
    reply: str
    markers: frozenset[str]
    digit_words: bool
    vocabulary: frozenset[str] = frozenset()

    def hits(self, words: list[str], with_vocabulary: bool = True) -> int:
        """Listed markers, Arabizi digit words and (unless told not to) vocabulary words among
        `words`."""
        count = self.marked(words)
        if with_vocabulary and self.vocabulary:
            count += sum(w in self.vocabulary and w not in self.markers for w in words)
        return count

    def marked(self, words: list[str]) -> int:
        """Listed markers (and, if the variety uses them, digit words) among `words`."""
        count = sum(w in self.markers for w in words)
        if self.digit_words:
            count += sum(bool(_DIGIT_WORD.match(w)) and w not in self.markers for w in words)
        return count


@dataclass(frozen=True)
class LanguageSettings:
    replies: tuple[str, ...]
    script_languages: dict[str, str]
    min_script_share: float
    min_markers: int
    other_min_probability: float
    other_min_words: int
    varieties: tuple[Variety, ...]
    english_words: frozenset[str] = frozenset()
    english_min_share: float = 1.0
    candidates: tuple[str, ...] = ()
    names: dict[str, str] = field(default_factory=dict)  # each language's name for itself
    right_to_left: tuple[str, ...] = ()
    choosing: dict[str, Any] = field(default_factory=dict)  # see bot/language/choice.py
    questions: dict[str, Any] = field(default_factory=dict)  # see bot/replies/standard.py
    grammar_words: dict[str, frozenset[str]] = field(default_factory=dict)
    mixed_min_grammar_words: int = 0  # 0: below min_script_share the script never decides

    def script_grammar(self, text: str, shares: dict[str, float]) -> LanguageGuess | None:
        """A message with some letters of a script's language, below `min_script_share`, whose
        grammar is in that language ("infection या allergy होने का chance होता है?"): at least
        `mixed_min_grammar_words` of its grammar words, and more than the English grammar words
        and the Latin-script varieties' markers together ("कल रात से बुखार hai, aur ..." is
        Hinglish). None when no script decides."""
        present = [c for s, c in self.script_languages.items() if shares.get(s, 0.0) > 0.0]
        if not self.mixed_min_grammar_words or not present:
            return None
        words = [normalise_word(w) for w in split_words(text)]
        others = self._grammar_words_of(self.replies[0], words)
        others += sum(v.marked(words) for v in self.varieties)
        for code in present:
            ours = self._grammar_words_of(code, words)
            if ours >= self.mixed_min_grammar_words and ours > others:
                return LanguageGuess(code, code, code in self.replies)
        return None

    def _grammar_words_of(self, code: str, words: list[str]) -> int:
        return sum(w in self.grammar_words.get(code, ()) for w in words)

    def grammar_of_mixed(self, text: str, code: str) -> LanguageGuess:
        """A message that mixes Latin letters with the script of `code`: in `code` when it has
        more of that language's grammar words than of English ones, otherwise English."""
        default = self.replies[0]
        words = [normalise_word(w) for w in split_words(text)]
        if self._grammar_words_of(code, words) > self._grammar_words_of(default, words):
            return LanguageGuess(code, code, code in self.replies)
        return LanguageGuess(default, default, True)

    def looks_english(self, words: list[str]) -> bool:
        if not self.english_words or not words:
            return False
        known = sum(w in self.english_words for w in words)
        return known / len(words) >= self.english_min_share

    @classmethod
    def from_data(cls, data: dict[str, Any], base: Path = DATA_DIR) -> LanguageSettings:
        vocabulary = data.get("english_vocabulary")
        english = _vocabulary(base / vocabulary) if vocabulary else frozenset()
        return cls(
            replies=tuple(data["replies"]),
            script_languages=dict(data["script_languages"]),
            min_script_share=data["min_script_share"],
            min_markers=data["min_markers"],
            other_min_probability=data["other_min_probability"],
            other_min_words=data["other_min_words"],
            varieties=_varieties(data["varieties"], base, english),
            english_words=english,
            english_min_share=data.get("english_min_share", 1.0),
            candidates=tuple(data.get("candidates") or ()),
            names=dict(data.get("names") or {}),
            right_to_left=tuple(data.get("right_to_left") or ()),
            choosing=dict(data.get("choosing") or {}),
            questions=dict(data.get("questions") or {}),
            grammar_words={
                code: frozenset(normalise_word(w) for w in words)
                for code, words in (data.get("grammar_words") or {}).items()
            },
            mixed_min_grammar_words=data.get("mixed_min_grammar_words", 0),
        )


def _varieties(entries: dict[str, Any], base: Path, english: frozenset[str]) -> tuple[Variety, ...]:
    """The varieties of data/languages.yml. A variety's vocabulary leaves out English words and
    every other variety's markers ("wala" is Hinglish and Arabizi)."""
    markers = {
        name: frozenset(normalise_word(w) for w in entry["markers"])
        for name, entry in entries.items()
    }
    return tuple(
        Variety(
            name=name,
            reply=entry["reply"],
            markers=markers[name],
            digit_words=entry.get("digit_words", False),
            vocabulary=_vocabulary(base / entry["vocabulary"])
            - english
            - frozenset().union(*(m for other, m in markers.items() if other != name))
            if "vocabulary" in entry
            else frozenset(),
        )
        for name, entry in entries.items()
    )


# Intents of the NLU file whose examples are not English the assistant answers.
_NOT_ENGLISH_INTENTS = frozenset({"out_of_scope"})


def _vocabulary(path: Path) -> frozenset[str]:
    """The lower-case words of the examples of a Rasa NLU file (the English, or the Hinglish,
    the assistant is trained on), out-of-scope examples left out (they include other languages)."""
    return frozenset(
        normalise_word(word)
        for intent, example in read_nlu_examples(path)
        if intent not in _NOT_ENGLISH_INTENTS
        for word in _WORD.findall(example)
        if not word.isdigit()
    )


@cache
def language_settings(path: Path = LANGUAGES_FILE) -> LanguageSettings:
    settings = LanguageSettings.from_data(load_checked(path, "languages"), path.parent)
    try:
        _identifier(settings.candidates)
    except ValueError as exc:  # py3langid names the unknown code
        raise DataFileError(path, f"candidates: {exc}") from exc
    return settings


@cache
def _identifier(candidates: tuple[str, ...] = ()) -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_pickled_model(MODEL_FILE, norm_probs=True)
    if candidates:
        identifier.set_languages(list(candidates))
    return identifier


def latin_language(text: str, candidates: tuple[str, ...] = ()) -> tuple[str, float]:
    """py3langid's best guess for `text` (among `candidates`, if given) and its probability."""
    code, probability = _identifier(candidates).classify(text)
    return str(code), float(probability)


def identify(text: str | None, settings: LanguageSettings | None = None) -> LanguageGuess:
    """The language of a patient message (see LanguageGuess)."""
    if settings is None:
        # The language, intake and triage components each ask about the same message.
        return _identify_with_default_settings(text or "")
    return _identify(text, settings)


@lru_cache(maxsize=256)
def _identify_with_default_settings(text: str) -> LanguageGuess:
    return _identify(text, language_settings())


def _identify(text: str | None, settings: LanguageSettings) -> LanguageGuess:
    text = text or ""
    default = settings.replies[0]
    shares = script_shares(text)
    if not shares:
        return LanguageGuess("unknown", default, False)
    for script, code in settings.script_languages.items():
        if shares.get(script, 0.0) >= settings.min_script_share:
            return LanguageGuess(code, code, code in settings.replies)
    by_grammar = settings.script_grammar(text, shares)
    if by_grammar is not None:
        return by_grammar
    if shares.get("other", 0.0) > 0.5:
        code, _ = latin_language(text, settings.candidates)
        return LanguageGuess(code, default, False)
    words = [normalise_word(w) for w in _WORD.findall(text)]
    code, probability = latin_language(text, settings.candidates)
    # Listed markers rank first ("kam jalsa lil sha3ar" has Hinglish vocabulary words, but an
    # Arabizi digit word); vocabulary words decide between varieties with as many markers, and
    # count only when py3langid does not take the text for English (English words the Hinglish
    # questions use but the English ones do not, "hope", "doing", must not make Hinglish).
    scored = sorted(
        (
            (v.marked(words), v.hits(words, with_vocabulary=code != default), v)
            for v in settings.varieties
        ),
        key=lambda p: (-p[0], -p[1]),
    )
    if scored and scored[0][1]:
        marked, hits, variety = scored[0]
        if hits >= settings.min_markers or (code != default and marked):
            return LanguageGuess(variety.name, variety.reply, True)
    if (
        code != default
        and code not in settings.replies
        and not settings.looks_english(words)
        and probability >= settings.other_min_probability
        and len(words) >= settings.other_min_words
    ):
        # Mixed scripts py3langid takes for another language of the same script ("क्या
        # mesotherapy FDA approved है" for Marathi): its grammar words decide (grammar_words).
        for script, script_code in settings.script_languages.items():
            if shares.get(script, 0.0) > 0.0:
                return settings.grammar_of_mixed(text, script_code)
        return LanguageGuess(code, default, False)
    return LanguageGuess(default, default, True)

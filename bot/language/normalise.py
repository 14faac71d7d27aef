"""Script normalisation for matching: one spelling for the many ways a word is typed.

- Devanagari: nukta dropped (ज़ reads ज), chandrabindu reads anusvara, zero-width joiners removed.
- Arabic: diacritics and tatweel removed; alef, yeh, teh marbuta, waw/yeh hamza and the Persian
  and Urdu letter forms folded to one letter each; Arabic-Indic digits read as 0-9.
- Any script: a letter repeated three or more times reads once ("helppp", "الحقوووني"); a
  repeated Devanagari vowel sign reads once ("रहीीी").
The result is for matching only; nothing shown to a person is normalised.
"""

from __future__ import annotations

import re
import unicodedata

# Precomposed nukta letters (क़ ख़ ग़ ज़ ड़ ढ़ फ़ य़) decompose to letter + nukta.
_NUKTA_LETTERS = {chr(c): unicodedata.normalize("NFD", chr(c))[0] for c in range(0x0958, 0x0960)}
_ARABIC_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed]")
_FOLD = str.maketrans(
    {
        "\u0640": None,  # tatweel
        "\u200c": None,  # zero-width non-joiner
        "\u200d": None,  # zero-width joiner
        "\u0901": "\u0902",  # chandrabindu -> anusvara
        "\u093c": None,  # nukta
        **dict.fromkeys("أإآٱ", "ا"),
        "ى": "ي",
        "ئ": "ي",
        "ؤ": "و",
        "ة": "ه",
        "ک": "ك",  # Persian/Urdu kaf
        "ی": "ي",  # Persian/Urdu yeh
        "ے": "ي",
        "ہ": "ه",
        "ۀ": "ه",
        "ھ": "ه",
        "؟": "?",
        "،": ",",
        "؛": ";",
        **{chr(0x0660 + d): str(d) for d in range(10)},  # Arabic-Indic digits
        **{chr(0x06F0 + d): str(d) for d in range(10)},  # Persian digits
        **{chr(0x0966 + d): str(d) for d in range(10)},  # Devanagari digits
        **_NUKTA_LETTERS,
    }
)
_REPEATS = re.compile(r"([^\W\d_])\1{2,}", re.UNICODE)
# Devanagari vowel signs and other marks are never doubled in a real word ("रहीीी").
_REPEATED_MARKS = re.compile("([\u0900-\u0903\u093a-\u094f\u0951-\u0957\u0962\u0963])\\1+")


def normalise_word(word: str) -> str:
    """`word` lower-cased and folded as the module docstring says."""
    folded = _ARABIC_DIACRITICS.sub("", word.lower().translate(_FOLD))
    return _REPEATED_MARKS.sub(r"\1", _REPEATS.sub(r"\1", folded))


def normalise_text(text: str) -> str:
    """Every word of `text` normalised; white space and punctuation kept."""
    folded = _ARABIC_DIACRITICS.sub("", text.translate(_FOLD))
    return _REPEATED_MARKS.sub(r"\1", _REPEATS.sub(r"\1", folded))


def script_of(char: str) -> str:
    """'latin', 'devanagari', 'arabic' or 'other' for a letter."""
    if char.isascii():
        return "latin"
    name = unicodedata.name(char, "")
    for script in ("LATIN", "DEVANAGARI", "ARABIC"):
        if name.startswith(script):
            return script.lower()
    return "other"


def script_shares(text: str) -> dict[str, float]:
    """The share of the letters of `text` in each script (empty when there are no letters)."""
    counts: dict[str, int] = {}
    total = 0
    for char in text:
        if char.isalpha() or unicodedata.category(char) == "Mn":
            script = script_of(char)
            counts[script] = counts.get(script, 0) + 1
            total += 1
    return {script: n / total for script, n in counts.items()} if total else {}


def split_words(text: str) -> list[str]:
    """The words of `text`, split at white space, punctuation and symbols only. Not a \\w regex:
    Devanagari vowel signs and viramas are combining marks, not "word" characters, and would cut
    "धन्यवाद" into three."""
    return "".join(" " if unicodedata.category(c)[0] in "PS" else c for c in text).split()

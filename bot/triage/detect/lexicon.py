"""Labelled phrases and token patterns from a data file, matched on the NORM attribute.

Shared by the symptom matcher (labels are concepts) and the modifier finder (labels are
modifier names). NORM holds the lower-cased word after spelling normalisation, so "CANT BREATH",
"can't breathe" and "cant breathe" all read "can not breath(e)".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span

from bot.datafiles import DataFileError
from bot.language import normalise_text

from .anchored import AnchoredMatcher

MATCH_ATTR = "NORM"
NORMALISER = "meso_normaliser"  # the component that writes NORM (normaliser.py)
_WORD_KEYS = ("NORM", "LOWER", "ORTH", "TEXT")


def phrase_docs(nlp: Language, phrases: Iterable[str]) -> list[Doc]:
    """`phrases` tokenised and normalised as a message is, so a phrase matches on NORM whatever
    spelling the data file used ("mawad" as well as its variant "mawaad")."""
    docs = list(nlp.tokenizer.pipe([normalise_text(p).lower() for p in phrases]))
    if NORMALISER in nlp.pipe_names:
        normaliser = nlp.get_pipe(NORMALISER)
        docs = [normaliser(doc) for doc in docs]
    return docs


def phrase_norms(nlp: Language, phrases: Iterable[str]) -> list[str]:
    """The NORM text a message with each of `phrases` carries: for matchers that take strings
    (ConText)."""
    return [" ".join(token.norm_ for token in doc) for doc in phrase_docs(nlp, phrases)]


class LexiconMatcher:
    """Finds every phrase and pattern of `entries` (label -> {phrases, patterns}) in a Doc."""

    def __init__(
        self, nlp: Language, entries: Mapping[str, Mapping[str, Any]], source: Path
    ) -> None:
        self.labels = tuple(entries)
        self._phrases = PhraseMatcher(nlp.vocab, attr=MATCH_ATTR)
        self._patterns = AnchoredMatcher(nlp.vocab, validate=True)
        for label, entry in entries.items():
            if entry.get("phrases"):
                self._phrases.add(label, phrase_docs(nlp, entry["phrases"]))
            if entry.get("patterns"):
                try:
                    self._patterns.add(label, entry["patterns"])
                except (ValueError, TypeError) as exc:  # spaCy names the bad token attribute
                    raise DataFileError(source, f"invalid token pattern: {exc}", label) from exc

    def spans(self, doc: Doc) -> list[Span]:
        """All matches, overlapping ones included, as labelled spans."""
        matches = self._phrases(doc) + self._patterns(doc)
        return [Span(doc, start, end, label=match_id) for match_id, start, end in matches]


def entry_words(entries: Iterable[Mapping[str, Any]]) -> set[str]:
    """The plain words of the entries' phrases and patterns (vocabulary for typo correction)."""
    words: set[str] = set()
    for entry in entries:
        for phrase in entry.get("phrases") or ():
            words.update(normalise_text(phrase).lower().split())
        for pattern in entry.get("patterns") or ():
            for token in pattern:
                for key in _WORD_KEYS:
                    words.update(_strings(token.get(key)))
    return {w for w in words if w and not any(ch in w for ch in ".,?!;:")}


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value.lower()]
    if isinstance(value, dict):
        return [v.lower() for v in value.get("IN", ()) if isinstance(v, str)]
    return []

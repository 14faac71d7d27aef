"""A token-pattern matcher that tries a pattern only on the messages where it can match.

spaCy's Matcher tries every pattern from every token, and each `IN`, `NOT_IN` or `REGEX` test is a
Python call, so its cost grows with the patterns times the tokens: the cue and symptom patterns of
five languages cost several milliseconds per message though a message holds one language's words.
Most patterns have a token that must be there and can only be one of a few words ("pehle" or
"pahle"); such a pattern is kept in a small matcher of its own, run only when one of those words is
in the message. The matches are the ones one spaCy Matcher holding every pattern finds, sorted by
where they end, where they start and the order their keys were added.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from spacy.matcher import Matcher
from spacy.tokens import Doc
from spacy.vocab import Vocab

Match = tuple[int, int, int]
OnMatch = Callable[[Matcher, Doc, int, list[Match]], Any] | None

# Token attributes whose literal value a pattern can require, and how a Doc's token gives it.
_LITERAL_ATTRS: Mapping[str, str] = {
    "NORM": "norm_",
    "LOWER": "lower_",
    "ORTH": "text",
    "TEXT": "text",
}
_REQUIRED_OPS = (None, "1", "+")


def anchor(pattern: list[dict[str, Any]]) -> tuple[str, frozenset[str]] | None:
    """The attribute and the fewest words one of which a Doc must hold for `pattern` to match
    (from a token the pattern cannot skip), or None when no token pins a word."""
    best: tuple[str, frozenset[str]] | None = None
    for token in pattern:
        if token.get("OP") not in _REQUIRED_OPS:
            continue
        for attr, value in token.items():
            if attr not in _LITERAL_ATTRS:
                continue
            if isinstance(value, str):
                words = frozenset((value,))
            elif isinstance(value, dict) and set(value) == {"IN"}:
                words = frozenset(v for v in value["IN"] if isinstance(v, str))
            else:
                continue
            if words and (best is None or len(words) < len(best[1])):
                best = (attr, words)
    return best


class AnchoredMatcher:
    """The part of spaCy's Matcher interface the triage uses (`add`, `len`, call), with each
    anchored pattern tried only on Docs that hold one of its anchor words."""

    def __init__(self, vocab: Vocab, validate: bool = False) -> None:
        self._vocab = vocab
        self._validate = validate
        self._free = Matcher(vocab, validate=validate)  # patterns without an anchor
        self._groups: list[Matcher] = []
        self._group_of: dict[tuple[str, frozenset[str]], int] = {}
        self._index: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        self._order: dict[int, int] = {}  # match id -> position of its key among the added keys

    def __len__(self) -> int:
        return len(self._order)

    def add(
        self, key: str, patterns: Iterable[list[dict[str, Any]]], on_match: OnMatch = None
    ) -> None:
        """Add `patterns` under `key`, as `Matcher.add` does; spaCy validates each pattern as it
        goes into its matcher, so a bad one raises (and the triage pipeline does not build)."""
        self._order.setdefault(self._vocab.strings.add(key), len(self._order))
        for pattern in patterns:
            found = anchor(pattern)
            if found is None:
                self._free.add(key, [pattern], on_match=on_match)
                continue
            if found not in self._group_of:
                self._group_of[found] = len(self._groups)
                self._groups.append(Matcher(self._vocab, validate=self._validate))
                attr, words = found
                for word in words:
                    self._index[attr][word].append(self._group_of[found])
            self._groups[self._group_of[found]].add(key, [pattern], on_match=on_match)

    def __call__(self, doc: Doc) -> list[Match]:
        groups: set[int] = set()
        for attr, by_word in self._index.items():
            reader = _LITERAL_ATTRS[attr]
            for value in {getattr(token, reader) for token in doc}:
                groups.update(by_word.get(value, ()))
        matches = set(self._free(doc))
        for group in groups:
            matches.update(self._groups[group](doc))
        return sorted(matches, key=lambda m: (m[2], m[1], self._order[m[0]]))

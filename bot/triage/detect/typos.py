"""Bounded, fast correction of misspelt words towards a fixed vocabulary (no spaCy here).

Uses a deletion index (the SymSpell idea): a word and a vocabulary entry within k edits share a
string obtained by deleting at most k letters from each, so candidates are found by dictionary
look-ups instead of comparing against every entry; the optimal-string-alignment distance then
confirms them. Results are memoised per word, so a long message costs one look-up per distinct word.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import combinations


def osa_distance(a: str, b: str, limit: int) -> int:
    """Edit distance counting adjacent swaps; anything above `limit` comes back as limit+1."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def _deletions(word: str, depth: int) -> set[str]:
    found = {word}
    for k in range(1, min(depth, len(word) - 1) + 1):
        for idx in combinations(range(len(word)), k):
            found.add("".join(c for i, c in enumerate(word) if i not in idx))
    return found


class TypoCorrector:
    """Maps a word that is not in `vocabulary` and not in `known` to its nearest vocabulary word.

    `edit_limits` is [(min_length, edits)]: a word of at least min_length letters may be corrected
    by up to `edits` edits (the largest applicable entry wins); shorter words are never corrected.
    """

    def __init__(
        self,
        vocabulary: Iterable[str],
        known: Iterable[str] = (),
        edit_limits: Iterable[tuple[int, int]] = ((4, 1),),
        same_first_letter: bool = True,
        cache_size: int = 50_000,
    ) -> None:
        self.vocabulary = frozenset(w.lower() for w in vocabulary if w.isalpha())
        self.known = frozenset(w.lower() for w in known) | self.vocabulary
        self.edit_limits = sorted(edit_limits)
        self.same_first_letter = same_first_letter
        self.max_edits = max((e for _, e in self.edit_limits), default=0)
        # A longer word cannot be within the allowed edits of any entry (and bounds the work).
        self.longest = max(map(len, self.vocabulary), default=0) + self.max_edits
        self._index: dict[str, set[str]] = {}
        for word in self.vocabulary:
            for key in _deletions(word, self.max_edits):
                self._index.setdefault(key, set()).add(word)
        self._cache: dict[str, str | None] = {}
        self._cache_size = cache_size

    def edits_allowed(self, word: str) -> int:
        allowed = 0
        for min_length, edits in self.edit_limits:
            if len(word) >= min_length:
                allowed = edits
        return allowed

    def correct(self, word: str) -> str | None:
        """The vocabulary word `word` is a misspelling of, or None (known, too short, no match)."""
        word = word.lower()
        if word in self._cache:
            return self._cache[word]
        result = self._lookup(word)
        if len(self._cache) >= self._cache_size:
            self._cache.clear()
        self._cache[word] = result
        return result

    def _lookup(self, word: str) -> str | None:
        if word in self.known or not word.isalpha() or len(word) > self.longest:
            return None
        limit = self.edits_allowed(word)
        if limit == 0:
            return None
        candidates: set[str] = set()
        for key in _deletions(word, limit):
            candidates |= self._index.get(key, set())
        best: tuple[int, int, str] | None = None
        for cand in candidates:
            if self.same_first_letter and cand[0] != word[0]:
                continue
            dist = osa_distance(word, cand, limit)
            if dist <= limit:
                rank = (dist, abs(len(cand) - len(word)), cand)
                best = rank if best is None or rank < best else best
        return best[2] if best else None

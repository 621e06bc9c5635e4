"""Carry a span of an old revision's text over to a new revision.

1. exact: a word-level diff maps both ends and the text between is unchanged;
2. search: the coded text occurs once in the new text (or several times, and one
   occurrence is clearly nearest to where the diff puts it);
3. fuzzy: rapidfuzz finds one strong (>= 90/100), clearly best alignment, for spans
   long enough to judge;
otherwise the span cannot be placed with confidence and the caller flags it.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from difflib import SequenceMatcher

from qcode.errors import InputError
from qcode.locate import find_quote

_TOKENS = re.compile(r"\w+|\s+|[^\w\s]", re.UNICODE)
MIN_FUZZY_CHARS = 12


@dataclass
class Placement:
    start: int
    end: int
    method: str  # exact | search | fuzzy
    score: float = 100.0


def _tokens(text: str) -> tuple[list[str], list[int]]:
    tokens, starts = [], []
    for match in _TOKENS.finditer(text):
        tokens.append(match.group())
        starts.append(match.start())
    return tokens, starts


class Anchorer:
    def __init__(self, old: str, new: str, windows: list[tuple[int, int]] | None = None):
        self.old, self.new, self.windows = old, new, windows
        old_tokens, old_starts = _tokens(old)
        new_tokens, new_starts = _tokens(new)
        # character map: old offset -> new offset, for characters in unchanged tokens
        self.map = [-1] * len(old)
        matcher = SequenceMatcher(None, old_tokens, new_tokens, autojunk=False)
        for block in matcher.get_matching_blocks():
            for k in range(block.size):
                o, n = old_starts[block.a + k], new_starts[block.b + k]
                for offset in range(len(old_tokens[block.a + k])):
                    self.map[o + offset] = n + offset
        self._mapped = [i for i, m in enumerate(self.map) if m >= 0]

    def predict(self, offset: int) -> int | None:
        """Where *offset* probably is in the new text: its own or the nearest mapping."""
        if not self._mapped:
            return None
        i = bisect_left(self._mapped, offset)
        nearest = min((self._mapped[j] for j in (i - 1, i) if 0 <= j < len(self._mapped)),
                      key=lambda k: abs(k - offset))
        return max(0, min(len(self.new), self.map[nearest] + (offset - nearest)))

    def place(self, start: int, end: int) -> Placement | None:
        piece = self.old[start:end]
        if not piece:
            return None
        ns, last = self.map[start], self.map[end - 1]
        if ns >= 0 and last >= 0 and self.new[ns:last + 1] == piece:
            return Placement(ns, last + 1, "exact")
        found = self._search(piece, start)
        if found is not None:
            return found
        if len(piece.strip()) < MIN_FUZZY_CHARS:
            return None
        try:
            hit = find_quote(self.new, piece, self.windows)
        except InputError:
            return None
        method = "search" if self.new[hit.start:hit.end] == piece else "fuzzy"
        return Placement(hit.start, hit.end, method, hit.score)

    def _search(self, piece: str, old_start: int) -> Placement | None:
        hits, at = [], self.new.find(piece)
        while at >= 0 and len(hits) < 50:
            hits.append(at)
            at = self.new.find(piece, at + 1)
        if len(hits) == 1:
            return Placement(hits[0], hits[0] + len(piece), "search")
        predicted = self.predict(old_start)
        if len(hits) < 2 or predicted is None:
            return None
        hits.sort(key=lambda h: abs(h - predicted))
        first, second = (abs(h - predicted) for h in hits[:2])
        if first <= 200 and second >= 2 * first + len(piece):
            return Placement(hits[0], hits[0] + len(piece), "search")
        return None

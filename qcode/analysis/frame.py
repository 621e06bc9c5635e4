"""The codings in scope as numpy columns, for the counting commands (stats, crosstab,
cooccur).

Counting 90,000 codings one Python object at a time, and reading every transcript to
count coded words, took seconds; here one query fills integer columns, speakers come
from the turn table and words from the word index (qcode.store.words), so no
transcript is read.
"""

from __future__ import annotations

import json
from functools import cached_property

import numpy as np

from qcode.analysis.scope import Scope, codings_in_scope

COLUMNS = ("document", "revision", "start", "end", "code", "coder")
_SHIFT = np.int64(1) << 32  # revision and offset in one sortable key


class CodingFrame:
    def __init__(self, db, rows: list[tuple]) -> None:
        """*rows*: (document, revision, start, end, code, coder) per coding."""
        self.db = db
        data = np.array(rows, dtype=np.int64).reshape(-1, len(COLUMNS))
        self.document, self.revision, self.start, self.end, self.code, self.coder = data.T

    @classmethod
    def load(cls, db, scope: Scope) -> CodingFrame:
        sql, params = codings_in_scope(db, scope, joins=None)
        # three packed columns instead of six: half the time to fetch 90,000 codings
        sql = ("SELECT c.revision_id * 4294967296 + c.start, c.\"end\", "
               "c.code_id * 4294967296 + c.coder_id " + sql)
        packed = np.array(db.execute(sql, params).fetchall(), dtype=np.int64).reshape(-1, 3)
        frame = cls.__new__(cls)
        frame.db = db
        frame.revision, frame.start = np.divmod(packed[:, 0], _SHIFT)
        frame.end = packed[:, 1]
        frame.code, frame.coder = np.divmod(packed[:, 2], _SHIFT)
        document_of = db.execute("SELECT id, document_id FROM revisions").fetchall()
        lookup = np.zeros(max((r for r, _ in document_of), default=0) + 1, dtype=np.int64)
        for revision, document in document_of:
            lookup[revision] = document
        frame.document = lookup[frame.revision]
        return frame

    def __len__(self) -> int:
        return len(self.code)

    @cached_property
    def revisions_json(self) -> str:
        """The revisions with codings in scope, as a JSON list for ``json_each(?)``."""
        return json.dumps(np.unique(self.revision).tolist())

    @cached_property
    def span(self) -> np.ndarray:
        """Per coding, a number shared by the codings of the same span (one sort, once)."""
        order = np.lexsort((self.end, self.start, self.revision))
        changed = np.ones(len(self), dtype=bool)
        if len(self) > 1:
            r, s, e = self.revision[order], self.start[order], self.end[order]
            changed[1:] = (r[1:] != r[:-1]) | (s[1:] != s[:-1]) | (e[1:] != e[:-1])
        out = np.empty(len(self), dtype=np.int64)
        out[order] = np.cumsum(changed)
        return out

    def excerpts(self, mask) -> int:
        """Distinct coded spans (the same span coded twice counts once)."""
        return len(np.unique(self.span[mask]))

    def documents(self, mask) -> int:
        return len(np.unique(self.document[mask]))

    def speakers(self, mask) -> int:
        found = self.speaker[mask]
        return len(np.unique(found[found >= 0]))

    @cached_property
    def speaker(self) -> np.ndarray:
        """Per coding, the speaker id of the turn it starts in (-1: none)."""
        out = np.full(len(self), -1, dtype=np.int64)
        if not len(self):
            return out
        # two columns, the key packed in SQL: half the Python objects of three
        turns = np.array(self.db.execute(
            "SELECT revision_id * 4294967296 + start, coalesce(speaker_id, -1) FROM segments "
            "WHERE kind = 'turn' AND revision_id IN (SELECT value FROM json_each(?)) "
            "ORDER BY revision_id, start", [self.revisions_json]).fetchall(),
            dtype=np.int64).reshape(-1, 2)
        if not len(turns):
            return out
        keys = self.revision * _SHIFT + self.start
        index = np.searchsorted(turns[:, 0], keys, "right") - 1
        valid = index >= 0
        valid[valid] = (turns[index[valid], 0] // _SHIFT) == self.revision[valid]
        out[valid] = turns[index[valid], 1]
        return out

    @cached_property
    def _words(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(per coding, its revision's base offset; word starts; word ends) with all the
        revisions laid end to end, one character apart, so their spans never touch."""
        unique, inverse = np.unique(self.revision, return_inverse=True)
        rows = self.db.execute(
            "SELECT revision_id, length, starts, ends FROM revision_words WHERE revision_id IN "
            "(SELECT value FROM json_each(?)) ORDER BY revision_id",
            [self.revisions_json]).fetchall()
        lengths = np.array([row[1] + 1 for row in rows], dtype=np.int64)
        bases = np.concatenate([[0], np.cumsum(lengths)[:-1]]) if rows else lengths
        base = dict(zip((row[0] for row in rows), bases.tolist(), strict=True))
        offsets = np.array([base.get(int(r), 0) for r in unique], dtype=np.int64)[inverse]
        if not rows:
            return offsets, np.zeros(0, np.int64), np.zeros(0, np.int64)
        counts = [len(row[2]) // 4 for row in rows]
        shift = np.repeat(bases, counts)
        starts = np.frombuffer(b"".join(row[2] for row in rows), dtype="<u4") + shift
        ends = np.frombuffer(b"".join(row[3] for row in rows), dtype="<u4") + shift
        return offsets, starts, ends

    @cached_property
    def _positions(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Codings in position order, with their global start and end, the number of
        words ending at or before the start, and of words starting before the end."""
        offsets, word_starts, word_ends = self._words
        a, b = self.start + offsets, self.end + offsets
        order = np.argsort(a, kind="stable")
        return (order, a, b, np.searchsorted(word_ends, a, "right"),
                np.searchsorted(word_starts, b, "left"))

    def words(self, mask) -> int:
        """Words in the union of the coded spans (overlapping codings count once); a word
        counts when any of its characters is coded, as ``text[a:b].split()`` would."""
        if not mask.any():
            return 0
        order, a, b, ended_before, started_before = self._positions
        chosen = order[mask[order]]  # the masked codings, already in position order
        a, b = a[chosen], b[chosen]
        reach = np.maximum.accumulate(b)
        new = np.ones(len(a), dtype=bool)
        new[1:] = a[1:] > reach[:-1]
        firsts = np.flatnonzero(new)
        lasts = np.append(firsts[1:] - 1, len(a) - 1)
        # word counts grow with the position, so the furthest end has the largest count
        inside = (np.maximum.accumulate(started_before[chosen])[lasts]
                  - ended_before[chosen][firsts])
        return int(np.maximum(inside, 0).sum())

    def group_of_documents(self, value_of: dict[int, str], values: list[str],
                           missing: str) -> np.ndarray:
        """Per coding, the index in *values* of its document's value."""
        if not len(self):
            return np.zeros(0, dtype=np.int64)
        index = {v: i for i, v in enumerate(values)}
        documents, inverse = np.unique(self.document, return_inverse=True)
        per_document = np.array([index[value_of.get(int(d), missing)] for d in documents],
                                dtype=np.int64)
        return per_document[inverse]

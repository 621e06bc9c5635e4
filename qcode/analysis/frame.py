"""The codings in scope as numpy columns, for the counting commands (stats, crosstab,
cooccur).

Counting 90,000 codings one Python object at a time, and reading every transcript to
count coded words, took seconds; here one query fills integer columns, and speakers,
sentences and words come from the per-revision indexes (qcode.store.words), so no
transcript is read.
"""

from __future__ import annotations

import json
from functools import cached_property

import numpy as np

from qcode.analysis.scope import Scope, codings_in_scope
from qcode.store.words import sentence_rows, turn_rows

COLUMNS = ("document", "revision", "start", "end", "code", "coder")
_SHIFT = np.int64(1) << 32  # revision and offset in one sortable key
_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.int64)


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
        turns, _, speakers = self.turns
        if not len(turns):
            return out
        keys = self.revision * _SHIFT + self.start
        index = np.searchsorted(turns, keys, "right") - 1
        valid = index >= 0
        valid[valid] = (turns[index[valid]] // _SHIFT) == self.revision[valid]
        out[valid] = speakers[index[valid]]
        return out

    @cached_property
    def _positions(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Codings in position order, with their global start and end (the revisions'
        word bitmaps laid end to end), the number of words ending at or before the start,
        and of words starting before the end."""
        rows = self.db.execute(
            "SELECT revision_id, nonspace FROM revision_words WHERE revision_id IN "
            "(SELECT value FROM json_each(?)) ORDER BY revision_id",
            [self.revisions_json]).fetchall()
        # a clear byte first: a revision without an index maps there, with no words
        nonspace = np.frombuffer(b"\0" + b"".join(row[1] for row in rows), dtype=np.uint8)
        sizes = np.array([len(row[1]) for row in rows], dtype=np.int64)
        first_byte = np.zeros(int(self.revision.max(initial=0)) + 1, dtype=np.int64)
        first_byte[[row[0] for row in rows]] = np.cumsum(sizes) - sizes + 1
        base = first_byte[self.revision] * 8
        a, b = self.start + base, self.end + base
        a[base == 0] = b[base == 0] = 0
        # bit i of *starts*: a word starts at i (i is not whitespace, i - 1 is)
        before = (nonspace << 1) | np.concatenate([[0], nonspace[:-1] >> 7]).astype(np.uint8)
        starts = nonspace & ~before
        counted = np.concatenate([[0], np.cumsum(_POPCOUNT[starts], dtype=np.int64)])

        def starts_before(p: np.ndarray) -> np.ndarray:
            return counted[p >> 3] + _POPCOUNT[starts[p >> 3] & ((1 << (p & 7)) - 1)]

        def inside_word(p: np.ndarray) -> np.ndarray:
            return (nonspace[p >> 3] >> (p & 7)) & 1

        # words starting before a, less the one a cuts through (a - 1 and a in one word)
        straddled = inside_word(np.maximum(a - 1, 0)) & inside_word(a) & (a > 0)
        order = np.argsort(a, kind="stable")
        return order, a, b, starts_before(a) - straddled, starts_before(b)

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

    @cached_property
    def sentences(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The sentences of the revisions in scope; see `sentence_spans`."""
        return sentence_spans(self.db, self.revisions_json)

    @cached_property
    def turns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(starts, ends, speaker ids) of the turns of the revisions in scope, sorted;
        starts and ends as revision id * 2**32 + offset, speaker -1 when unknown."""
        rows = turn_rows(self.db, self.revisions_json)
        starts, ends, counts = _offsets(rows)
        speakers = np.frombuffer(b"".join(row[3] for row in rows), dtype="<i4").astype(np.int64)
        return starts, ends, speakers

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


def sentence_spans(db, revisions_json: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(starts, ends, numbers) of the sentences of the revisions in *revisions_json*,
    sorted; starts and ends as revision id * 2**32 + offset. From the sentence index
    (qcode.store.words): one row per revision instead of one per sentence."""
    starts, ends, counts = _offsets(sentence_rows(db, revisions_json))
    numbers = np.arange(1, len(starts) + 1) - np.repeat(np.cumsum(counts) - counts, counts)
    return starts, ends, numbers


def _offsets(rows: list[tuple]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of (revision id, starts, ends, ...) laid end to end: global starts and ends
    (revision id * 2**32 + offset) and the number of spans per row."""
    counts = np.array([len(row[1]) // 4 for row in rows], dtype=np.int64)
    base = np.repeat(np.array([row[0] for row in rows], dtype=np.int64) * _SHIFT, counts)
    starts = np.frombuffer(b"".join(row[1] for row in rows), dtype="<u4") + base
    ends = np.frombuffer(b"".join(row[2] for row in rows), dtype="<u4") + base
    return starts, ends, counts

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
from qcode.store.connection import db_errors
from qcode.store.words import blob_rows, sentence_rows, turn_rows

COLUMNS = ("document", "revision", "start", "end", "code", "coder")
_SHIFT = np.int64(1) << 32  # revision and offset in one sortable key
_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.int64)


class CodingFrame:
    """The codings in scope as int64 columns: id, document, revision, start, end, code and
    coder, in no particular order."""

    def __init__(self, db, rows: list[tuple]) -> None:
        """*rows*: (document, revision, start, end, code, coder) per coding."""
        self.db = db
        data = np.array(rows, dtype=np.int64).reshape(-1, len(COLUMNS))
        self.document, self.revision, self.start, self.end, self.code, self.coder = data.T
        self.id = np.full(len(data), -1, dtype=np.int64)
        self._derived = None  # (words before start, before end, speaker) per coding

    @classmethod
    def load(cls, db, scope: Scope) -> CodingFrame:
        frame = cls.__new__(cls)
        frame.db = db
        frame._derived = None
        server = on_postgres(db)
        if scope.origin or (server and "codings" not in server_memo(db)
                            and (scope.where or scope.document or scope.code or scope.coders)):
            # only the codings in scope: on the server, unless its codings were read already
            columns = _fetch_columns(db, *codings_in_scope(db, scope, joins=None))
        else:  # on the server without the derived columns, which not every command needs
            columns = coding_columns(db, derived=not server)
            keep = _in_scope(db, scope, columns)
            if keep is not None:
                columns = columns[:, keep]
            if not server:
                frame._derived = columns[6:]
        frame.id, frame.revision, frame.start, frame.end, frame.code, frame.coder = columns[:6]
        frame.document = _document_of(db)[frame.revision]
        return frame

    def __len__(self) -> int:
        return len(self.code)

    @cached_property
    def revisions_json(self) -> str:
        """The revisions with codings in scope, as a JSON list for ``json_each(?)``."""
        return json.dumps(unique(self.revision).tolist())

    @cached_property
    def span(self) -> np.ndarray:
        """Per coding, a number shared by the codings of the same span, from 0 (one sort,
        once; none when the frame came from the cached copy, which keeps the numbers)."""
        if self._derived is not None:
            return self._derived[3]
        where = self.revision * _SHIFT + self.start
        order = np.lexsort((self.end, where))
        changed = np.ones(len(self), dtype=bool)
        if len(self) > 1:
            w, e = where[order], self.end[order]
            changed[1:] = (w[1:] != w[:-1]) | (e[1:] != e[:-1])
        out = np.empty(len(self), dtype=np.int64)
        out[order] = np.cumsum(changed) - 1
        return out

    @cached_property
    def _speaker_number(self) -> np.ndarray:
        """Per coding, its speaker's id + 1 (0: none)."""
        return self.speaker + 1

    def excerpts(self, mask) -> int:
        """Distinct coded spans (the same span coded twice counts once)."""
        return _distinct(self.span, mask)

    def documents(self, mask) -> int:
        return _distinct(self.document, mask)

    def speakers(self, mask) -> int:
        return _distinct(self._speaker_number, mask, skip_zero=True)

    @cached_property
    def speaker(self) -> np.ndarray:
        """Per coding, the speaker id of the turn it starts in (-1: none)."""
        if self._derived is not None:
            return self._derived[2]
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
        """See `_positions_from_bitmaps`; from the cached copy's word counts when the frame
        came from it (the positions are then revision id * 2**32 + offset)."""
        if self._derived is None:
            return self._positions_from_bitmaps()
        a, b = self.revision * _SHIFT + self.start, self.revision * _SHIFT + self.end
        # the copy is in position order (and so is any part of it)
        return np.arange(len(a)), a, b, self._derived[0], self._derived[1]

    def _positions_from_bitmaps(self) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                               np.ndarray, np.ndarray]:
        """Codings in position order, with their global start and end (the revisions'
        word bitmaps laid end to end), and two word counts comparable between codings of
        one stretch of overlapping codings: of the words ending at or before the start,
        and of the words starting before the end.

        Only the bitmap bytes under some coding are counted (a tenth of the text, not one
        pass over all of it): the counts are local to each stretch of overlapping codings
        of the whole frame, which holds every stretch of any subset of them."""
        rows = blob_rows(self.db, "SELECT revision_id, nonspace FROM revision_words WHERE "
                         "revision_id IN (SELECT value FROM json_each(?)) ORDER BY revision_id",
                         [self.revisions_json])
        # a clear byte before each revision and after the last: a revision without an
        # index maps to the first, with no words; no word or stretch runs from one
        # revision into the next, so a revision's counts come out the same with any
        # other revisions beside it (what lets the cached copy be patched one revision
        # at a time: `patched_copy`)
        nonspace = np.frombuffer(b"".join(b"\0" + row[1] for row in rows) + b"\0",
                                 dtype=np.uint8)
        sizes = np.array([len(row[1]) + 1 for row in rows], dtype=np.int64)
        first_byte = np.zeros(int(self.revision.max(initial=0)) + 1, dtype=np.int64)
        first_byte[[row[0] for row in rows]] = np.cumsum(sizes) - sizes + 1
        del rows
        base = first_byte[self.revision] * 8
        a, b = self.start + base, self.end + base
        a[base == 0] = b[base == 0] = 0
        order = np.argsort(a, kind="stable")
        sa, sb = a[order], b[order]
        # stretches of overlapping (or touching) codings, in position order
        reach = np.maximum.accumulate(sb)
        new = np.ones(len(sa), dtype=bool)
        new[1:] = sa[1:] > reach[:-1]
        firsts = np.flatnonzero(new)
        stretch = np.cumsum(new) - 1
        # the bytes of each stretch, and the one before (for a start on a byte boundary)
        lo = np.maximum((sa[firsts] >> 3) - 1, 0)
        hi = reach[np.append(firsts[1:] - 1, len(sa) - 1)] >> 3
        width = hi - lo + 1
        offset = np.cumsum(width) - width
        index = np.repeat(lo - offset, width) + np.arange(int(width.sum()))

        def word_starts(k: np.ndarray) -> np.ndarray:
            """Bit i of byte k set: a word starts there (i is not whitespace, i - 1 is)."""
            left = (nonspace[np.maximum(k - 1, 0)] >> 7) * (k > 0)
            here = nonspace[k]
            return here & ~((here << 1) | left.astype(np.uint8))

        counted = np.concatenate([[0], np.cumsum(_POPCOUNT[word_starts(index)])])
        del index

        def starts_before(p: np.ndarray) -> np.ndarray:
            k = p >> 3
            return (counted[offset[stretch] + k - lo[stretch]]
                    + _POPCOUNT[word_starts(k) & ((1 << (p & 7)) - 1)])

        def inside_word(p: np.ndarray) -> np.ndarray:
            return (nonspace[p >> 3] >> (p & 7)) & 1

        # words starting before a, less the one a cuts through (a - 1 and a in one word)
        straddled = inside_word(np.maximum(sa - 1, 0)) & inside_word(sa) & (sa > 0)
        ended_before = np.empty(len(a), dtype=np.int64)
        started_before = np.empty(len(a), dtype=np.int64)
        ended_before[order] = starts_before(sa) - straddled
        started_before[order] = starts_before(sb)
        return order, a, b, ended_before, started_before

    def words(self, mask) -> int:
        """Words in the union of the coded spans (overlapping codings count once); a word
        counts when any of its characters is coded, as ``text[a:b].split()`` would.
        *mask*: a boolean mask or the ascending indices of the codings."""
        chosen = np.flatnonzero(mask) if mask.dtype == bool else mask
        if not len(chosen):
            return 0
        order, a, b, ended_before, started_before = self._positions
        if self._derived is None:  # into position order (stable: as order[mask[order]])
            chosen = chosen[np.argsort(a[chosen], kind="stable")]
        a, b = a[chosen], b[chosen]
        reach = np.maximum.accumulate(b)
        new = np.ones(len(a), dtype=bool)
        new[1:] = a[1:] > reach[:-1]
        firsts = np.flatnonzero(new)
        # within a stretch the counts grow with the position: the furthest end counts most
        inside = (np.maximum.reduceat(started_before[chosen], firsts)
                  - ended_before[chosen][firsts])
        return int(np.maximum(inside, 0).sum())

    @cached_property
    def sentences(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The sentences of the revisions in scope; see `sentence_spans` (no numbers)."""
        return sentence_spans(self.db, self.revisions_json, numbers=False)

    @cached_property
    def turns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(starts, ends, speaker ids) of the turns of the revisions in scope, sorted;
        starts and ends as revision id * 2**32 + offset, speaker -1 when unknown."""
        return turn_spans(self.db, self.revisions_json)

    def group_of_documents(self, value_of: dict[int, str], values: list[str],
                           missing: str) -> np.ndarray:
        """Per coding, the index in *values* of its document's value."""
        if not len(self):
            return np.zeros(0, dtype=np.int64)
        index = {v: i for i, v in enumerate(values)}
        documents = unique(self.document)
        per_document = np.zeros(int(documents[-1]) + 1, dtype=np.int64)
        per_document[documents] = [index[value_of.get(d, missing)] for d in documents.tolist()]
        return per_document[self.document]


def unique(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` by sorting: numpy 2.3+ finds the distinct values of a plain
    ``np.unique`` call by hashing, which on a million int64 keys takes 60 times as long."""
    ordered = np.sort(values, axis=None)
    keep = np.ones(len(ordered), dtype=bool)
    keep[1:] = ordered[1:] != ordered[:-1]
    return ordered[keep]


def _distinct(numbers: np.ndarray, mask, *, skip_zero: bool = False) -> int:
    """How many distinct values *numbers* (small, from 0: ids) has under *mask*:
    counting in bins costs no sort (a tenth of ``np.unique``'s time)."""
    counts = np.bincount(numbers[mask])
    return int(np.count_nonzero(counts[1:] if skip_zero else counts))


def sentence_spans(db, revisions_json: str, *, numbers: bool = True
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(starts, ends, numbers) of the sentences of the revisions in *revisions_json*,
    sorted; starts and ends as revision id * 2**32 + offset; numbers (from 1 in each
    revision) only when asked for, else None. From the sentence index
    (qcode.store.words): one row per revision instead of one per sentence."""
    starts, ends, counts = _offsets(_index_rows(db, sentence_rows, revisions_json))
    if not numbers:
        return starts, ends, None
    return starts, ends, (np.arange(1, len(starts) + 1)
                          - np.repeat(np.cumsum(counts) - counts, counts))


def turn_spans(db, revisions_json: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(starts, ends, speaker ids) of the turns of the revisions in *revisions_json*,
    sorted; starts and ends as revision id * 2**32 + offset, speaker -1 when unknown."""
    rows = _index_rows(db, turn_rows, revisions_json)
    starts, ends, _ = _offsets(rows)
    speakers = np.frombuffer(b"".join(row[3] for row in rows), dtype="<i4").astype(np.int64)
    return starts, ends, speakers


def _index_rows(db, read, revisions_json: str) -> list[tuple]:
    """``read(db, revisions_json)`` (`sentence_rows`, `turn_rows`): on PostgreSQL kept in
    `server_memo` per revision, so that only the revisions not read yet are fetched (a
    report's co-occurrence and agreement read the same sentences)."""
    if not on_postgres(db):
        return read(db, revisions_json)
    held = server_memo(db).setdefault(read.__name__, {})
    wanted = sorted(json.loads(revisions_json))
    missing = [r for r in wanted if r not in held]
    if missing:
        held.update(dict.fromkeys(missing))  # None: a revision without an index
        held.update((row[0], row) for row in read(db, json.dumps(missing)))
    return [held[r] for r in wanted if held[r] is not None]


def laid_end_to_end(rows: list[tuple]) -> np.ndarray:
    """The offsets of rows of (revision id, offsets, ...) laid end to end, as revision id *
    2**32 + offset (sorted when the rows are in revision order)."""
    counts = np.array([len(row[1]) // 4 for row in rows], dtype=np.int64)
    base = np.repeat(np.array([row[0] for row in rows], dtype=np.int64) * _SHIFT, counts)
    return np.frombuffer(b"".join(row[1] for row in rows), dtype="<u4") + base


def _offsets(rows: list[tuple]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of (revision id, starts, ends, ...) laid end to end: global starts and ends
    (revision id * 2**32 + offset) and the number of spans per row."""
    counts = np.array([len(row[1]) // 4 for row in rows], dtype=np.int64)
    base = np.repeat(np.array([row[0] for row in rows], dtype=np.int64) * _SHIFT, counts)
    starts = np.frombuffer(b"".join(row[1] for row in rows), dtype="<u4") + base
    ends = np.frombuffer(b"".join(row[2] for row in rows), dtype="<u4") + base
    return starts, ends, counts


def server_memo(db) -> dict:
    """On PostgreSQL, what this process read from the server while it sees the same state
    of the project: kept while the snapshot (``pg_current_snapshot()``, which moves when
    any transaction that wrote commits) and this connection's own changes are the same;
    empty after either moves. So a report's sections, in one read snapshot, fetch every
    coding once, not four times."""
    key = (db.execute("SELECT pg_current_snapshot()::text").fetchone()[0],
           db.conn.total_changes)
    held = db.__dict__.get("_server_memo")
    if held is None or held[0] != key:
        held = db.__dict__["_server_memo"] = (key, {})
    return held[1]


def _read_only(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def on_postgres(db) -> bool:
    """Whether *db* is a project on a PostgreSQL server (read without touching the
    connection's sqlite-utils fallback, whose import costs 0.1 s)."""
    dialect = vars(db).get("dialect")
    return getattr(dialect, "name", "sqlite") == "postgresql"


# the columns of coding_columns: the codings' own, then derived from their revisions
# (immutable), so cached with them: the word counts of `CodingFrame._positions` (comparable
# within a stretch of overlapping codings) and the speaker id of the turn each starts in
_CACHED = ("id", "revision", "start", "end", "code", "coder", "words_before_start",
           "words_before_end", "speaker", "span")
_FORMAT = b"qcode-codings-4\n"  # the cached blob's first bytes; then int32 columns
_I4 = np.dtype("<i4")


def coding_columns(db, *, derived: bool = False) -> np.ndarray:
    """Every coding as integer columns (see _CACHED; without *derived*, maybe only the
    first six; int32 and read-only when read from the copy), in position order (revision,
    start, end, id): from the cached copy (migration m005) when no coding has changed
    since it was written, else fetched and, when the write lock is free at once, cached
    for the next command."""
    if on_postgres(db):
        memo = server_memo(db)
        if "codings" not in memo:
            memo["codings"] = _read_only(np.stack(_fetch_columns(db, "FROM codings c", [])))
        return _with_derived(db, memo["codings"], derived)
    try:
        copy = current_copy(db)
    except db_errors("OperationalError"):  # a database without the cache tables
        return _with_derived(db, np.stack(_fetch_columns(db, "FROM codings c", [])), derived)
    if copy is not None:
        return copy
    conn = db.conn
    if conn.in_transaction:  # inside the caller's transaction: read, never write
        return _with_derived(db, np.stack(_fetch_columns(db, "FROM codings c", [])), derived)
    conn.execute("BEGIN")  # the version and the codings from one snapshot
    try:
        version = db.execute("SELECT version FROM codings_version").fetchone()[0]
        columns = patched_copy(db)
        if columns is not None:
            return columns
        columns = _with_derived(db, np.stack(_fetch_columns(db, "FROM codings c", [])), True)
    finally:
        conn.execute("COMMIT")
    if not columns.size or (columns.min() >= -2**31 and columns.max() < 2**31):
        _store_cache(db, version, _FORMAT + columns.astype(_I4).tobytes())
    return columns


def current_copy(db) -> np.ndarray | None:
    """The cached copy of `coding_columns` (all of _CACHED) when no coding has changed
    since it was written, else None; it never fetches nor writes. On a database without
    the cache tables (SQLite's OperationalError) it raises."""
    version = db.execute("SELECT version FROM codings_version").fetchone()[0]
    held = db.__dict__.get("_coding_columns")  # this process read them already (report)
    if held is not None and held[0] == version:
        return held[1]
    row = db.execute("SELECT v.version, c.version, c.columns FROM codings_version v "
                     "LEFT JOIN codings_cache c ON c.id = 1").fetchone()
    if row[1] == row[0] and row[2][:len(_FORMAT)] == _FORMAT:
        # int32 as stored (read-only): converting 9,000,000 values to int64 costs 0.3 s
        columns = np.frombuffer(row[2], dtype=_I4, offset=len(_FORMAT)).reshape(
            len(_CACHED), -1)
        db.__dict__["_coding_columns"] = (row[0], columns)
        return columns
    return None


PATCH_LIMIT = 20_000  # codings changed since the copy was written that it is patched for


def patched_copy(db) -> np.ndarray | None:
    """The cached copy brought up to date in memory, when few codings have changed since
    it was written (``codings_touched``, migration m007, lists them): their rows are
    fetched by id and the derived columns recomputed for the revisions they were or are
    in, the rest kept. Rewriting the 36 MB copy and fetching 900,000 codings took a
    second of the first command after any change at 10,000 transcripts; this fetches a
    handful. The copy on disk is left as it is (the list of changes is its delta) until
    the list grows past PATCH_LIMIT, when the next command rebuilds it. None when it
    cannot be patched: no copy, a copy older than the list, too many changes. Read in the
    caller's snapshot; kept for this process's next reads, as `current_copy` keeps it."""
    row = db.execute("SELECT v.version, c.version, c.columns FROM codings_version v "
                     "JOIN codings_cache c ON c.id = 1").fetchone()
    if row is None or row[2][:len(_FORMAT)] != _FORMAT:
        return None
    version, row = row[0], row[1:]
    changed = [i for (i,) in db.execute("SELECT DISTINCT coding_id FROM codings_touched "
                                        "WHERE version > ?", [row[0]])]
    if not changed or len(changed) > PATCH_LIMIT:  # no list: changed before there was one
        return None
    old = np.frombuffer(row[1], dtype=_I4, offset=len(_FORMAT)).reshape(len(_CACHED), -1)
    new = np.stack(_fetch_columns(db, "FROM codings c WHERE c.id IN (SELECT value FROM "
                                  "json_each(?))", [json.dumps(changed)]))
    gone = np.isin(old[0], np.array(changed, dtype=np.int64))
    redo = np.isin(old[1], np.union1d(old[1, gone], new[1]))  # their revisions, whole
    part = np.concatenate([old[:6, redo & ~gone].astype(np.int64), new], axis=1)
    part = part[:, np.lexsort((part[0], part[3], part[2], part[1]))]  # position order
    part = _with_derived(db, part, True)
    if part.size and (part.min() < -2**31 or part.max() >= 2**31):
        return None
    kept = old[:, ~redo]
    columns = np.insert(kept, np.searchsorted(kept[1], part[1], "left"), part.astype(_I4),
                        axis=1)
    # the span numbers are the whole copy's: renumbered (position order is span order)
    revision, start, end = columns[1], columns[2], columns[3]
    new_span = np.ones(columns.shape[1], dtype=bool)
    new_span[1:] = ((revision[1:] != revision[:-1]) | (start[1:] != start[:-1])
                    | (end[1:] != end[:-1]))
    columns[_CACHED.index("span")] = np.cumsum(new_span) - 1
    columns.setflags(write=False)
    db.__dict__["_coding_columns"] = (version, columns)
    return columns


def _with_derived(db, columns: np.ndarray, derived: bool) -> np.ndarray:
    """*columns* (the first six of _CACHED) and, if *derived*, the other three."""
    if not derived:
        return columns
    frame = CodingFrame.__new__(CodingFrame)
    frame.db, frame._derived = db, None
    frame.id, frame.revision, frame.start, frame.end, frame.code, frame.coder = columns
    if not len(frame):
        return np.zeros((len(_CACHED), 0), dtype=np.int64)
    _, _, _, ended_before, started_before = frame._positions
    return np.concatenate([columns, [ended_before, started_before, frame.speaker,
                                     frame.span]])


def _store_cache(db, version: int, blob: bytes) -> None:
    """Write the cached copy unless a writer holds the lock (never wait for one) or the
    codings changed meanwhile; a database that cannot be written is simply not cached."""
    conn = db.conn
    try:
        timeout = conn.execute("PRAGMA busy_timeout").fetchone()[0]
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                if conn.execute("SELECT version FROM codings_version").fetchone()[0] == version:
                    conn.execute("INSERT OR REPLACE INTO codings_cache (id, version, columns) "
                                 "VALUES (1, ?, ?)", [version, blob])
                    conn.execute("DELETE FROM codings_touched WHERE version <= ?", [version])
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(timeout)}")
    except db_errors():
        pass


def _fetch_columns(db, sql: str, params: list) -> tuple[np.ndarray, ...]:
    """(id, revision, start, end, code, coder) of the codings ``SELECT … {sql}`` finds, in
    position order (revision, start, end, id). Each row fetched costs Python about as much
    whatever it holds, so the six are packed in as few integers as fit, and read straight
    into an array (`fetch_integers`): every coding of a 10,000-transcript project
    (900,000) in 0.6 s instead of 1.1 s."""
    widths = _widths(db) if sql == "FROM codings c" and not params else None
    if widths is not None:  # in two: the position (revision, start, end), and id, code, coder
        id_bits, revision_bits, start_bits, end_bits, code_bits, coder_bits = widths
        select = [f"c.revision_id * {1 << (start_bits + end_bits)} + c.start * "
                  f"{1 << end_bits} + c.\"end\"", f"c.id * {1 << (code_bits + coder_bits)} + "
                  f"c.code_id * {1 << coder_bits} + c.coder_id"]
    else:  # in four: ids and offsets below 2**31 (as the cached copy's int32 need)
        select = ["c.id", "c.revision_id * 4294967296 + c.start", "c.\"end\"",
                  "c.code_id * 4294967296 + c.coder_id"]
    packed = fetch_integers(db, select, sql, params)
    if widths is not None:
        packed = packed[np.lexsort((packed[:, 1], packed[:, 0]))]  # by position, then id
        revision, start, end = _split(packed[:, 0], start_bits, end_bits)
        ident, code, coder = _split(packed[:, 1], code_bits, coder_bits)
        return ident, revision, start, end, code, coder
    packed = packed[np.lexsort((packed[:, 0], packed[:, 2], packed[:, 1]))]  # by position
    revision, start = np.divmod(packed[:, 1], _SHIFT)
    code, coder = np.divmod(packed[:, 3], _SHIFT)
    return packed[:, 0], revision, start, packed[:, 2], code, coder


def fetch_integers(db, expressions: list[str], sql: str, params: list) -> np.ndarray:
    """``SELECT {expressions} {sql}`` (integer expressions) as an int64 array, a row per
    row found. On PostgreSQL in one row: every row's integers as one big-endian bytea (row
    by row, psycopg spends 1.5 microseconds of Python on each: 0.1 s of `stats` at 1,000
    transcripts); on SQLite read straight into the array, never kept as tuples."""
    from itertools import chain

    if on_postgres(db):
        blob = blob_rows(db, "SELECT string_agg(" + " || ".join(f"int8send({e})" for e in
                                                               expressions)
                         + ", ''::bytea) " + sql, params)[0][0]
        packed = np.frombuffer(blob or b"", dtype=">i8").astype(np.int64)
    else:
        packed = np.fromiter(chain.from_iterable(db.execute(
            "SELECT " + ", ".join(expressions) + " " + sql, params)), np.int64)
    return packed.reshape(-1, len(expressions))


def _widths(db) -> list[int] | None:
    """The bits that the largest id, revision, start, end, code and coder of all codings
    take, when they fit in two integers, revision, start and end in one, id, code and
    coder in the other (else None): the ids' maxima from their indexes, start's and end's
    in one scan."""
    top = [db.execute(f"SELECT max({column}) FROM codings").fetchone()[0]
           for column in ("id", "revision_id", "code_id", "coder_id")]
    start, end = db.execute("SELECT max(start), max(\"end\") FROM codings").fetchone()
    if top[0] is None:
        return None
    ident, revision, code, coder = (int(value).bit_length() for value in top)
    widths = [ident, revision, int(start).bit_length(), int(end).bit_length(), code, coder]
    fits = sum(widths[1:4]) <= 62 and widths[0] + widths[4] + widths[5] <= 62
    return widths if fits and min(top) > 0 else None


def _split(packed: np.ndarray, middle_bits: int, low_bits: int) -> tuple[np.ndarray, ...]:
    """The three fields of high * 2**(middle+low) + middle * 2**low + low."""
    return (packed >> (middle_bits + low_bits), (packed >> low_bits) & ((1 << middle_bits) - 1),
            packed & ((1 << low_bits) - 1))


def _in_scope(db, scope: Scope, columns: np.ndarray) -> np.ndarray | None:
    """Which of *columns* (from `coding_columns`) the scope keeps (None: all), by the
    filters of ``codings_in_scope`` except --origin (for which the frame uses that)."""
    from qcode.analysis.scope import documents_in_scope
    from qcode.codes import descendants, resolve_code

    keep = None

    def narrow(values: np.ndarray, wanted: list[int]) -> None:
        nonlocal keep
        found = np.isin(values, np.array(wanted, dtype=np.int64))
        keep = found if keep is None else keep & found

    if scope.where or scope.document:
        narrow(_document_of(db)[columns[1]], documents_in_scope(db, scope))
    if scope.code:
        code_id = resolve_code(db, scope.code)["id"]
        narrow(columns[4], descendants(db, code_id) if scope.children else [code_id])
    if scope.coders:
        narrow(columns[5], [r[0] for r in db.execute(
            f"SELECT id FROM coders WHERE name IN ({','.join('?' * len(scope.coders))})",
            list(scope.coders))])
    return keep


def _document_of(db) -> np.ndarray:
    """Per revision id, its document's id."""
    document_of = db.execute("SELECT id, document_id FROM revisions").fetchall()
    lookup = np.zeros(max((r for r, _ in document_of), default=0) + 1, dtype=np.int64)
    if document_of:
        revisions, documents = np.array(document_of, dtype=np.int64).T
        lookup[revisions] = documents
    return lookup

"""The codings an analysis looks at, chosen by the filters every analysis command shares:
--code (with --children), --where on document attributes, --coder, --doc, --origin."""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass, field

from qcode.documents import Filter, attributes_of, resolve_document
from qcode.store.connection import read_snapshot

ORIGINS = ("manual", "suggestion", "import", "auto")  # auto: `qcode tag auto`


@dataclass
class Scope:
    code: str | None = None
    children: bool = False
    where: list[Filter] = field(default_factory=list)
    coders: list[str] = field(default_factory=list)
    document: str | None = None
    origin: str | None = None


@dataclass
class Excerpt:
    id: int
    document_id: int
    document: str
    revision_id: int
    start: int
    end: int
    code_id: int
    code: str
    coder: str
    origin: str
    created: str
    memo: str | None
    run_id: int | None = None  # the suggestion run an accepted suggestion came from
    text: str = ""
    speaker: str | None = None
    segment: int | None = None
    before: str = ""  # context sentences, when asked for
    after: str = ""


def documents_in_scope(db, scope: Scope) -> list[int]:
    where, params = _document_clause(db, scope)
    return [r[0] for r in db.execute(f"SELECT d.id FROM documents d{where} ORDER BY d.name",
                                     params)]


def _document_clause(db, scope: Scope) -> tuple[str, list]:
    parts, params = [], []
    for flt in scope.where:
        sql, values = flt.sql()
        parts.append(sql)
        params += values
    if scope.document:
        parts.append("d.id = ?")
        params.append(resolve_document(db, scope.document)["id"])
    return (" WHERE " + " AND ".join(parts) if parts else ""), params


ALL_JOINS = ("JOIN documents d ON d.id = c.document_id JOIN codes g ON g.id = c.code_id "
             "JOIN coders k ON k.id = c.coder_id")


def codings_in_scope(db, scope: Scope, *, joins: str | None = ALL_JOINS) -> tuple[str, list]:
    """``FROM codings c … WHERE …`` for the codings in scope. With ``joins=None`` only the
    joins the filters need (documents ``d`` for --where/--doc, coders ``k`` for --coder):
    fetching 90,000 codings costs twice as much through three joins."""
    from qcode.coding import coding_clauses

    where, params = _document_clause(db, scope)
    clauses = [where[len(" WHERE "):]] if where else []
    if scope.where:
        # the documents first (one attribute test per document, not one per coding)
        clauses = ["c.document_id IN (SELECT value FROM json_each(?))"]
        params = [json.dumps(documents_in_scope(db, scope))]
    more, values = coding_clauses(db, code=scope.code, children=scope.children,
                                  coders=scope.coders, origin=scope.origin)
    clauses += more
    if joins is None:
        joins = ("JOIN documents d ON d.id = c.document_id " if where else "") + (
            "JOIN coders k ON k.id = c.coder_id" if scope.coders else "")
    return (f"FROM codings c {joins}"
            + (" WHERE " + " AND ".join(clauses) if clauses else "")), params + values


def count_excerpts(db, scope: Scope) -> int:
    """How many codings are in scope."""
    sql, params = codings_in_scope(db, scope)
    return db.execute("SELECT count(*) " + sql, params).fetchone()[0]


def excerpts(db, scope: Scope, *, with_text: bool = True, limit: int | None = None,
             context: int = 0, ids: list[int] | None = None) -> list[Excerpt]:
    """The codings in scope (the first *limit* of them, in document order; only those
    with these *ids*, if given) with (unless *with_text* is false) their text, speaker
    and sentence number, and *context* sentences before and after."""
    columns = excerpts_as_columns(db, scope, with_text=with_text, limit=limit,
                                  context=context, ids=ids)
    return [Excerpt(*values) for values in zip(*columns.values())]


def excerpts_as_columns(db, scope: Scope, *, with_text: bool = True,
                        limit: int | None = None, context: int = 0,
                        ids: list[int] | None = None) -> dict[str, list]:
    """What `excerpts` finds, as one list per field of Excerpt (in its order), an item per
    excerpt: 130,000 excerpts cost a tenth of a second less as columns than as objects,
    and their names, codes and coders are looked up once each, not fetched per row.
    Read in one snapshot on SQLite (a coding deleted meanwhile leaves no row behind)."""
    with read_snapshot(db):
        names = dict(db.execute("SELECT id, name FROM documents").fetchall())
        paths = dict(db.execute("SELECT id, path FROM codes").fetchall())
        found = _codings_from_copy(db, scope, names, paths, limit, ids)
        if found is None:
            found = _codings_queried(db, scope, limit, ids)
        (coding, document, revision, start, end, code, coder, origin, created,
         run) = found
        coders = dict(db.execute("SELECT id, name FROM coders").fetchall())
        memos: dict[int, list[str]] = {}
        for coding_id, text in db.execute("SELECT coding_id, text FROM memos WHERE coding_id "
                                          "IS NOT NULL ORDER BY coding_id, id"):
            memos.setdefault(coding_id, []).append(text)
        memo = {coding_id: " | ".join(texts) for coding_id, texts in memos.items()}
        n = len(coding)
        columns = {"id": coding, "document_id": document,
                   "document": list(map(names.__getitem__, document)), "revision_id": revision,
                   "start": start, "end": end, "code_id": code,
                   "code": list(map(paths.__getitem__, code)),
                   "coder": list(map(coders.__getitem__, coder)), "origin": origin,
                   "created": created, "memo": list(map(memo.get, coding)), "run_id": run,
                   "text": [""] * n, "speaker": [None] * n, "segment": [None] * n,
                   "before": [""] * n, "after": [""] * n}
        if with_text and n:
            _attach_text(db, columns, context)
    return columns


def _codings_queried(db, scope: Scope, limit: int | None, ids: list[int] | None
                     ) -> list[list]:
    """(id, document, revision, start, end, code, coder, origin, created, run) of the
    codings in scope, a list each, in excerpt order: by document name, start, end, code
    path and id."""
    joins = "JOIN documents d ON d.id = c.document_id JOIN codes g ON g.id = c.code_id"
    if scope.coders:
        joins += " JOIN coders k ON k.id = c.coder_id"
    sql, params = codings_in_scope(db, scope, joins=joins)
    if ids is not None:
        sql += (" AND " if " WHERE " in sql else " WHERE ") + (
            "c.id IN (SELECT value FROM json_each(?))")
        params = [*params, json.dumps(ids)]
    rows = db.execute(
        "SELECT c.id, c.document_id, c.revision_id, c.start, c.\"end\", c.code_id, c.coder_id, "
        "c.origin, c.created, c.run_id " + sql
        + " ORDER BY d.name, c.start, c.\"end\", g.path, c.id"
        + (" LIMIT ?" if limit is not None else ""),
        params + ([limit] if limit is not None else [])).fetchall()
    return list(map(list, zip(*rows, strict=True))) if rows else [[] for _ in range(10)]


def _codings_from_copy(db, scope: Scope, names: dict[int, str], paths: dict[int, str],
                       limit: int | None, ids: list[int] | None) -> list[list] | None:
    """What `_codings_queried` finds, from the analyses' cached copy of the codings
    (qcode.analysis.frame), current or patched: chosen, placed in order and sorted by
    numpy, with only origin, creation time and run read from the table, by id. At 10,000
    transcripts (900,000 codings, 130,000 in scope) the query reads 450,000 rows and
    fetches ten values of each that it keeps; this reads a third of that. None where
    there is no copy to use (PostgreSQL, none written yet, too many codings changed since)
    or with --origin (not in the copy)."""
    import numpy as np

    from qcode.analysis.frame import (_document_of, _in_scope, current_copy, on_postgres,
                                      patched_copy)
    from qcode.store.connection import db_errors

    if scope.origin or on_postgres(db):
        return None
    try:
        copy = current_copy(db)
        if copy is None:  # a few codings changed since it was written
            copy = patched_copy(db)
    except db_errors("OperationalError"):  # a database without the cache tables
        return None
    if copy is None:
        return None
    keep = _in_scope(db, scope, copy[:6])
    if ids is not None:
        chosen = np.isin(copy[0], np.array(ids, dtype=np.int64))
        keep = chosen if keep is None else keep & chosen
    coding, revision, start, end, code, coder = copy[:6] if keep is None else copy[:6, keep]
    document = _document_of(db)[revision]
    order = np.lexsort((coding, _ranks(paths)[code], end, start, _ranks(names)[document]))
    if limit is not None:
        order = order[:limit]
    coding = coding[order]
    by_id = np.argsort(coding)  # ids are distinct
    rows = db.execute("SELECT origin, created, run_id FROM codings WHERE id IN (SELECT value "
                      "FROM json_each(?)) ORDER BY id", [json.dumps(coding[by_id].tolist())]
                      ).fetchall()
    place = np.argsort(by_id).tolist()  # of each excerpt, its row's place in id order
    strings = [list(map(values.__getitem__, place))
               for values in (zip(*rows, strict=True) if rows else ((), (), ()))]
    return [coding.tolist(), document[order].tolist(), *(
        values[order].tolist() for values in (revision, start, end, code, coder)), *strings]


def _ranks(labels: dict[int, str]):
    """Per id (an index into the array), the place of its label in label order, as
    SQLite's ORDER BY has it (code points; equal labels share a place)."""
    import numpy as np

    place = {label: i for i, label in enumerate(sorted(set(labels.values())))}
    ranks = np.zeros(max(labels, default=0) + 1, dtype=np.int64)
    ranks[list(labels)] = [place[label] for label in labels.values()]
    return ranks


def _attach_text(db, columns: dict[str, list], context: int) -> None:
    """Text, sentence number, speaker and context of each excerpt (*columns* of
    `excerpts_as_columns`). The sentence each starts in and the speaker of that sentence
    are found for all at once by numpy, in the sentence and turn indexes laid end to end
    (qcode.analysis.frame); the texts are read one revision at a time, each once, and the
    excerpts of a revision sliced together by ``map`` (no Python code per excerpt)."""
    import numpy as np

    from qcode.analysis.frame import _SHIFT, laid_end_to_end
    from qcode.store.words import read_sentences

    revision = np.array(columns["revision_id"], dtype=np.int64)
    start = np.array(columns["start"], dtype=np.int64)
    per_revision = Counter(columns["revision_id"])
    revisions = json.dumps(sorted(per_revision))
    base = revision * _SHIFT
    # the sentence each starts in, from 1 (0: before the first)
    sentence_starts = laid_end_to_end(db.execute(
        "SELECT revision_id, starts FROM revision_sentences WHERE revision_id IN (SELECT value "
        "FROM json_each(?)) ORDER BY revision_id", [revisions]).fetchall())
    first_sentence = np.searchsorted(sentence_starts, base, "left")
    number = np.searchsorted(sentence_starts, base + start, "right") - first_sentence
    # the speaker of that sentence: of the turn its start lies in (none before the
    # first sentence, so before every turn)
    rows = db.execute("SELECT revision_id, starts, speakers FROM revision_turns WHERE "
                      "revision_id IN (SELECT value FROM json_each(?)) ORDER BY revision_id",
                      [revisions]).fetchall()
    turn_starts = laid_end_to_end(rows)
    turn_speakers = np.frombuffer(b"".join(row[2] for row in rows), dtype="<i4")
    del rows
    at = sentence_starts[np.maximum(first_sentence + number - 1, 0)] if len(
        sentence_starts) else base
    first_turn = np.searchsorted(turn_starts, base, "left")
    turn = np.searchsorted(turn_starts, at, "right") - first_turn  # from 1 (0: none)
    turn[number == 0] = 0
    speaker_id = np.full(len(revision), -1, dtype=np.int64)
    if len(turn_speakers):
        speaker_id[turn > 0] = turn_speakers[(first_turn + turn - 1)[turn > 0]]
    names = dict(db.execute("SELECT id, name FROM speakers").fetchall())
    columns["speaker"] = list(map(names.get, speaker_id.tolist()))
    columns["segment"] = [value or None for value in number.tolist()]
    order = np.argsort(revision, kind="stable").tolist()  # by revision
    begin, finish = _take(columns["start"], order), _take(columns["end"], order)
    sentences = read_sentences(db, revisions) if context else {}
    text = []
    first = 0
    # one text at a time: holding them all (150 MB at 10,000 transcripts) costs more to
    # allocate than to read
    for revision_id, whole in db.execute("SELECT id, text FROM revisions WHERE id IN (SELECT "
                                         "value FROM json_each(?)) ORDER BY id", [revisions]):
        last = first + per_revision[revision_id]
        at, to = begin[first:last], finish[first:last]
        text += map(whole.__getitem__, map(slice, at, to))
        if context:
            starts, ends = sentences.get(revision_id, ((), ()))
            for i, s, e in zip(order[first:last], at, to, strict=True):
                head = bisect_right(ends, s)  # first sentence ending after the start
                tail = bisect_left(starts, e)  # first sentence starting at/after the end
                columns["before"][i] = " ".join(whole[a:b] for a, b in zip(
                    starts[max(0, head - context):head], ends[max(0, head - context):head],
                    strict=True))
                columns["after"][i] = " ".join(whole[a:b] for a, b in zip(
                    starts[tail:tail + context], ends[tail:tail + context], strict=True))
        first = last
    placed = np.empty(len(text), dtype=object)
    placed[order] = text
    columns["text"] = placed.tolist()


def _take(values: list, indices: list[int]) -> list:
    return [values[i] for i in indices]


def with_attributes(db, document_ids: list[int]) -> dict[int, dict[str, str]]:
    """The attributes of these documents (each once, however many excerpts it has)."""
    return attributes_of(db, sorted(set(document_ids)))

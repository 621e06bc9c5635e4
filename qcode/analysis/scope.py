"""The codings an analysis looks at, chosen by the filters every analysis command shares:
--code (with --children), --where on document attributes, --coder, --doc, --origin."""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from collections import Counter
from itertools import repeat
from dataclasses import dataclass, field

from qcode.documents import Filter, attributes_of, resolve_document

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
    and their names, codes and coders are looked up once each, not fetched per row."""
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
    (coding, document, revision, start, end, code, coder, origin, created,
     run) = map(list, zip(*rows, strict=True)) if rows else ([] for _ in range(10))
    names = dict(db.execute("SELECT id, name FROM documents").fetchall())
    paths = dict(db.execute("SELECT id, path FROM codes").fetchall())
    coders = dict(db.execute("SELECT id, name FROM coders").fetchall())
    memos: dict[int, list[str]] = {}
    for coding_id, text in db.execute("SELECT coding_id, text FROM memos WHERE coding_id IS "
                                      "NOT NULL ORDER BY coding_id, id"):
        memos.setdefault(coding_id, []).append(text)
    memo = {coding_id: " | ".join(texts) for coding_id, texts in memos.items()}
    n = len(rows)
    columns = {"id": coding, "document_id": document,
               "document": list(map(names.__getitem__, document)), "revision_id": revision,
               "start": start, "end": end, "code_id": code,
               "code": list(map(paths.__getitem__, code)),
               "coder": list(map(coders.__getitem__, coder)), "origin": origin,
               "created": created, "memo": list(map(memo.get, coding)), "run_id": run,
               "text": [""] * n, "speaker": [None] * n, "segment": [None] * n,
               "before": [""] * n, "after": [""] * n}
    if with_text and rows:
        _attach_text(db, columns, context)
    return columns


def _attach_text(db, columns: dict[str, list], context: int) -> None:
    """Text, sentence number, speaker and context of each excerpt (*columns* of
    `excerpts_as_columns`), from one query each for the sentence index and the turn index
    (qcode.store.words), and the texts read one revision at a time, each once. The
    excerpts of a revision are taken together, by ``map`` (no Python code per excerpt):
    a third of the time of a loop."""
    from qcode.store.words import read_sentences, read_turns

    revision = columns["revision_id"]
    order = sorted(range(len(revision)), key=revision.__getitem__)  # by revision
    start, end = _take(columns["start"], order), _take(columns["end"], order)
    text, segment, speaker = [], [], []
    per_revision = Counter(revision)
    revisions = json.dumps(sorted(per_revision))
    sentences = read_sentences(db, revisions)
    turns = read_turns(db, revisions)
    names = dict(db.execute("SELECT id, name FROM speakers").fetchall())
    first = 0
    # one text at a time: holding them all (150 MB at 10,000 transcripts) costs more to
    # allocate than to read
    for revision_id, whole in db.execute("SELECT id, text FROM revisions WHERE id IN (SELECT "
                                         "value FROM json_each(?)) ORDER BY id", [revisions]):
        last = first + per_revision[revision_id]
        starts, ends = sentences.get(revision_id, ((), ()))
        turn_starts, speakers = turns.get(revision_id, ((), ()))
        at, to = start[first:last], end[first:last]
        text += map(whole.__getitem__, map(slice, at, to))
        # the sentence each starts in, from 1 (0: before the first)
        numbers = list(map(bisect_right, repeat(starts), at))
        segment += numbers
        # the speaker of that sentence: of the turn its start lies in (-1: before the
        # first sentence, so before every turn)
        who = [None, *map(names.get, speakers)]  # by turn number, from 1
        speaker += map(who.__getitem__, map(bisect_right, repeat(turn_starts), map(
            [-1, *starts].__getitem__, numbers)))
        if context:
            for i, s, e in zip(range(first, last), at, to, strict=True):
                head = bisect_right(ends, s)  # first sentence ending after the start
                tail = bisect_left(starts, e)  # first sentence starting at/after the end
                columns["before"][i] = " ".join(whole[a:b] for a, b in zip(
                    starts[max(0, head - context):head], ends[max(0, head - context):head],
                    strict=True))
                columns["after"][i] = " ".join(whole[a:b] for a, b in zip(
                    starts[tail:tail + context], ends[tail:tail + context], strict=True))
        first = last
    back = sorted(range(len(order)), key=order.__getitem__)  # revision order -> theirs
    columns["text"], columns["speaker"] = _take(text, back), _take(speaker, back)
    columns["segment"] = [number or None for number in _take(segment, back)]
    if context:
        columns["before"], columns["after"] = (_take(columns["before"], back),
                                               _take(columns["after"], back))


def _take(values: list, indices: list[int]) -> list:
    return [values[i] for i in indices]


def with_attributes(db, document_ids: list[int]) -> dict[int, dict[str, str]]:
    """The attributes of these documents (each once, however many excerpts it has)."""
    return attributes_of(db, sorted(set(document_ids)))

"""Codings: apply and remove codes on spans of a transcript, list them, bulk-import them.

Every function that writes runs in its own transaction and records what it did in the
change log under one batch id, which is what `undo` reverts.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from qcode import faults
from qcode.codes import descendants, resolve_code
from qcode.documents import resolve_document
from qcode.errors import InputError, NotFoundError, QcodeError, read_utf8
from qcode.locate import Located, find_quote, parse_span, segment_span
from qcode.store import transaction
from qcode.store.records import check_changed, coder_id, log_change, now


def new_batch() -> str:
    return str(uuid.uuid4())


def sentence_windows(db, revision_id: int) -> list[tuple[int, int]]:
    """Each sentence and each pair of neighbouring sentences: where a quote may lie."""
    spans = db.execute("SELECT start, \"end\" FROM segments WHERE revision_id = ? AND "
                       "kind = 'sentence' ORDER BY number", [revision_id]).fetchall()
    return [*spans, *((a[0], b[1]) for a, b in zip(spans, spans[1:], strict=False))]


def locate(db, doc: dict, *, segment: int | None = None, span: str | None = None,
           quote: str | None = None) -> Located:
    """Exactly one of *segment*, *span*, *quote* picks the text to code."""
    given = [x for x in (segment, span, quote) if x is not None]
    if len(given) != 1:
        raise InputError("tag", "give exactly one of --segment, --span or --quote")
    if segment is not None:
        return segment_span(db, doc["revision_id"], segment)
    if span is not None:
        return parse_span(span, doc["text"])
    return find_quote(doc["text"], quote, sentence_windows(db, doc["revision_id"]))


@dataclass
class AddResult:
    coding_id: int
    created: bool
    located: Located | None = None


def _row(db, coding_id: int) -> dict:
    return next(db.query("SELECT * FROM codings WHERE id = ?", [coding_id]))


def insert_coding(db, *, document_id: int, revision_id: int, start: int, end: int,
                  code_id: int, coder: int, origin: str = "manual", run_id: int | None = None,
                  memo: str | None = None, batch: str) -> AddResult:
    """Insert inside the caller's transaction; an identical coding is not duplicated."""
    existing = db.execute(
        "SELECT id FROM codings WHERE revision_id = ? AND start = ? AND \"end\" = ? "
        "AND code_id = ? AND coder_id = ?", [revision_id, start, end, code_id, coder]).fetchone()
    if existing:
        return AddResult(existing[0], False)
    coding_id = db.execute(
        "INSERT INTO codings (document_id, revision_id, start, \"end\", code_id, coder_id, "
        "origin, run_id, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [document_id, revision_id, start, end, code_id, coder, origin, run_id, now()]).lastrowid
    log_change(db, "add", "coding", coding_id, coder=coder, after=_row(db, coding_id),
               batch=batch)
    if memo:
        from qcode.memos import insert_memo

        insert_memo(db, target="coding", coding_id=coding_id, document_id=document_id,
                    text=memo, coder=coder, batch=batch)
    return AddResult(coding_id, True)


def add_coding(db, document: str, code: str, *, coder: str, segment: int | None = None,
               span: str | None = None, quote: str | None = None, memo: str | None = None,
               origin: str = "manual") -> AddResult:
    """Apply *code* to the text of *document* picked by segment, span or quote."""
    with transaction(db):
        doc = resolve_document(db, document)
        code_row = resolve_code(db, code)
        located = locate(db, doc, segment=segment, span=span, quote=quote)
        result = insert_coding(db, document_id=doc["id"], revision_id=doc["revision_id"],
                               start=located.start, end=located.end, code_id=code_row["id"],
                               coder=coder_id(db, coder), origin=origin, memo=memo,
                               batch=new_batch())
    result.located = located
    return result


def delete_coding(db, coding_id: int, *, coder: int, batch: str) -> dict:
    """Delete inside the caller's transaction; its memos are logged, then removed."""
    row = _row(db, coding_id)
    for memo in db.query("SELECT * FROM memos WHERE coding_id = ?", [coding_id]):
        log_change(db, "remove", "memo", memo["id"], coder=coder, before=dict(memo), batch=batch)
    db.execute("DELETE FROM memos WHERE coding_id = ?", [coding_id])
    check_changed(db, db.execute("DELETE FROM codings WHERE id = ?", [coding_id]), "coding",
                  coding_id)
    log_change(db, "remove", "coding", coding_id, coder=coder, before=row, batch=batch)
    return row


def remove_codings(db, ids: list[int], *, coder: str) -> int:
    """Remove codings by id, all in one transaction (unknown ids are an error)."""
    with transaction(db):
        found = {r[0] for r in db.execute(
            f"SELECT id FROM codings WHERE id IN ({','.join('?' * len(ids))})", ids)}
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFoundError(f"no coding with id {', '.join(map(str, missing))}")
        who, batch = coder_id(db, coder), new_batch()
        for coding_id in ids:
            delete_coding(db, coding_id, coder=who, batch=batch)
    return len(ids)


def find_codings(db, document: str, code: str, *, coder: str | None = None,
                 segment: int | None = None, span: str | None = None,
                 quote: str | None = None) -> list[int]:
    """Ids of codings of *code* in *document* overlapping the picked text."""
    doc = resolve_document(db, document)
    code_row = resolve_code(db, code)
    located = locate(db, doc, segment=segment, span=span, quote=quote)
    sql = ("SELECT c.id FROM codings c JOIN coders k ON k.id = c.coder_id WHERE c.revision_id = ? "
           "AND c.code_id = ? AND c.start < ? AND c.\"end\" > ?")
    params = [doc["revision_id"], code_row["id"], located.end, located.start]
    if coder:
        sql += " AND k.name = ?"
        params.append(coder)
    return [r[0] for r in db.execute(sql, params)]


@dataclass
class CodingFilter:
    document: str | None = None
    code: str | None = None
    children: bool = False
    coder: str | None = None
    origin: str | None = None
    where: list = field(default_factory=list)  # qcode.documents.Filter on attributes


def coding_clauses(db, *, code: str | None = None, children: bool = False,
                   coders: list[str] | tuple = (), origin: str | None = None
                   ) -> tuple[list[str], list]:
    """SQL conditions (on codings ``c`` and coders ``k``) for the filters shared by
    `tag list` and the analysis commands: a code (with its sub-codes), coders, origin."""
    where, params = [], []
    if code:
        code_id = resolve_code(db, code)["id"]
        ids = descendants(db, code_id) if children else [code_id]
        where.append(f"c.code_id IN ({','.join('?' * len(ids))})")
        params += ids
    if coders:
        where.append(f"k.name IN ({','.join('?' * len(coders))})")
        params += list(coders)
    if origin:
        where.append("(c.origin = ? OR c.origin LIKE ? || ':%')")
        params += [origin, origin]
    return where, params


def list_codings(db, flt: CodingFilter | None = None) -> list[dict]:
    flt = flt or CodingFilter()
    where, params = coding_clauses(db, code=flt.code, children=flt.children,
                                   coders=[flt.coder] if flt.coder else (), origin=flt.origin)
    if flt.document:
        where.append("c.document_id = ?")
        params.append(resolve_document(db, flt.document)["id"])
    for attribute in flt.where:
        clause, values = attribute.sql()
        where.append(clause)
        params += values
    sql = ("SELECT c.id, d.name AS document, c.start, c.\"end\", g.path AS code, "
           "k.name AS coder, c.origin, c.needs_review, c.created, c.revision_id, "
           "(SELECT group_concat(m.text, ' | ') FROM memos m WHERE m.coding_id = c.id) AS memo "
           "FROM codings c JOIN documents d ON d.id = c.document_id "
           "JOIN codes g ON g.id = c.code_id JOIN coders k ON k.id = c.coder_id"
           + (" WHERE " + " AND ".join(where) if where else "")
           + " ORDER BY d.name, c.start, c.\"end\", g.path, c.id")
    rows = [dict(r) for r in db.query(sql, params)]
    if not rows:
        return rows
    from bisect import bisect_right

    from qcode.store.words import read_sentences

    revisions = sorted({row["revision_id"] for row in rows})
    texts = dict(db.execute("SELECT id, text FROM revisions WHERE id IN "
                            "(SELECT value FROM json_each(?))", [json.dumps(revisions)]))
    sentences = read_sentences(db, json.dumps(revisions))
    for row in rows:
        revision = row["revision_id"]
        row["text"] = texts[revision][row["start"]:row["end"]]
        row["needs_review"] = bool(row["needs_review"])
        # the sentence the coding starts in, numbered as `qcode show` numbers them
        row["segment"] = bisect_right(sentences.get(revision, ((), ()))[0], row["start"]) or None
    return rows


# -- bulk import -------------------------------------------------------------------------


@dataclass
class TagImportResult:
    added: int = 0
    duplicates: int = 0
    problems: list[str] = field(default_factory=list)


def _read_rows(path: Path) -> list[tuple[int, dict]]:
    text = read_utf8(path, "a codings file")
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        rows = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    item = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(path, f"invalid JSON: {exc.msg}", line=number) from None
                if not isinstance(item, dict):
                    raise InputError(path, "each line must be a JSON object", line=number)
                rows.append((number, item))
        return rows
    if path.suffix.lower() != ".csv":
        raise InputError(path, "expected a .csv or .jsonl file")
    csv.field_size_limit(max(len(text), 131072))
    reader = csv.DictReader(io.StringIO(text))
    try:
        return [(reader.line_num, {k.strip().lower(): v for k, v in row.items() if k})
                for row in reader]
    except csv.Error as exc:
        raise InputError(path, f"malformed CSV: {exc}", line=reader.line_num) from None


def _number(value, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise QcodeError(f"{name} must be a whole number, not {value!r}") from None


def import_codings(db, path: str | Path, *, default_coder: str, dry_run: bool = False
                   ) -> TagImportResult:
    """All-or-nothing: every row is placed first; if any cannot be, nothing is written
    and the result lists each problem with its line."""
    path = Path(path)
    rows = _read_rows(path)
    result = TagImportResult()
    with transaction(db):
        planned = []
        for line, row in rows:
            try:
                document = str(row.get("document") or "").strip()
                code = str(row.get("code") or "").strip()
                if not document or not code:
                    raise QcodeError("needs a document and a code")
                doc = resolve_document(db, document)
                code_row = resolve_code(db, code)
                start, end = _number(row.get("start"), "start"), _number(row.get("end"), "end")
                span = f"{start}:{end}" if start is not None or end is not None else None
                located = locate(db, doc, segment=_number(row.get("segment"), "segment"),
                                 span=span, quote=(row.get("quote") or None))
                planned.append((doc, code_row, located,
                                str(row.get("coder") or "").strip() or default_coder,
                                row.get("memo") or None))
            except QcodeError as exc:
                result.problems.append(f"{path}:{line}: {exc}")
        if result.problems:
            return result  # nothing was written
        if dry_run:
            result.added = len(planned)
            return result
        batch = new_batch()
        for doc, code_row, located, coder, memo in planned:
            added = insert_coding(db, document_id=doc["id"], revision_id=doc["revision_id"],
                                  start=located.start, end=located.end, code_id=code_row["id"],
                                  coder=coder_id(db, coder), origin=f"import:{path.name}",
                                  memo=memo, batch=batch)
            result.added += added.created
            result.duplicates += not added.created
        faults.point("tag-import")
    return result

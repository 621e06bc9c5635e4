"""Memos on the project, a document, a code or a coding."""

from __future__ import annotations

from qcode.errors import InputError, NotFoundError, QcodeError
from qcode.store import transaction
from qcode.store.records import check_changed, coder_id, log_change, now

TARGETS = ("project", "document", "code", "coding")


def insert_memo(db, *, target: str, text: str, coder: int, batch: str, title: str = "",
                document_id: int | None = None, code_id: int | None = None,
                coding_id: int | None = None, revision_id: int | None = None,
                start: int | None = None, end: int | None = None) -> int:
    """Insert inside the caller's transaction. A memo with *revision_id*, *start* and
    *end* is anchored to that passage (re-anchored when the transcript is revised)."""
    if not text.strip():
        raise InputError("memo", "the memo is empty")
    stamp = now()
    memo_id = db.execute(
        "INSERT INTO memos (target, document_id, code_id, coding_id, revision_id, start, \"end\", "
        "coder_id, title, text, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [target, document_id, code_id, coding_id, revision_id, start, end, coder, title, text,
         stamp, stamp]).lastrowid
    log_change(db, "add", "memo", memo_id, coder=coder,
               after=next(db.query("SELECT * FROM memos WHERE id = ?", [memo_id])), batch=batch)
    return memo_id


def add_memo(db, text: str, *, coder: str, title: str = "", document: str | None = None,
             code: str | None = None, coding: int | None = None,
             span: tuple[int, int] | None = None, place: dict | None = None) -> int:
    """A memo on the coding, else the code, else the document, else the project. With
    *span* (offsets in the document's current revision) a document memo is on that
    passage; *place* picks the passage as `qcode tag add` does ({"segment": N},
    {"span": "START:END"} or {"quote": "text"})."""
    from qcode.coding import new_batch
    from qcode.codes import resolve_code
    from qcode.documents import resolve_document

    with transaction(db):
        ids: dict = {}
        if coding is not None:
            row = db.execute("SELECT document_id FROM codings WHERE id = ?", [coding]).fetchone()
            if row is None:
                raise NotFoundError(f"no coding with id {coding}")
            target, ids = "coding", {"coding_id": coding, "document_id": row[0]}
        elif code:
            target, ids = "code", {"code_id": resolve_code(db, code)["id"]}
            if document:
                ids["document_id"] = resolve_document(db, document)["id"]
        elif document:
            doc = resolve_document(db, document)
            target, ids = "document", {"document_id": doc["id"]}
            if place:
                from qcode.coding import locate

                located = locate(db, doc, **place)
                span = (located.start, located.end)
            if span is not None:
                start, end = span
                length = db.execute("SELECT length(text) FROM revisions WHERE id = ?",
                                    [doc["revision_id"]]).fetchone()[0]
                if not 0 <= start < end <= length:
                    raise QcodeError(f"span {start}:{end} is not inside the text of "
                                     f"{doc['name']}")
                ids.update(revision_id=doc["revision_id"], start=start, end=end)
        else:
            target = "project"
        if place and target != "document":
            raise QcodeError("--segment, --span and --quote place a memo on a passage of "
                             "a document: give --doc (and no --code or --coding)")
        return insert_memo(db, target=target, text=text, title=title,
                           coder=coder_id(db, coder), batch=new_batch(), **ids)


def edit_memo(db, memo_id: int, text: str, *, coder: str, title: str | None = None) -> None:
    from qcode.coding import new_batch

    if not text.strip():
        raise InputError("memo", "the memo is empty (remove it with `qcode memo rm`)")
    with transaction(db):
        before = get_memo(db, memo_id, raw=True)
        changes = {"text": text, "updated": now()}
        if title is not None:
            changes["title"] = title
        check_changed(db, db.execute(
            "UPDATE memos SET " + ", ".join(f"{column} = ?" for column in changes)
            + " WHERE id = ?", [*changes.values(), memo_id]), "memo", memo_id)
        log_change(db, "edit", "memo", memo_id, coder=coder_id(db, coder),
                   before={k: before[k] for k in changes}, after=changes, batch=new_batch())


def remove_memo(db, memo_id: int, *, coder: str) -> None:
    from qcode.coding import new_batch

    with transaction(db):
        before = get_memo(db, memo_id, raw=True)
        check_changed(db, db.execute("DELETE FROM memos WHERE id = ?", [memo_id]), "memo",
                      memo_id)
        log_change(db, "remove", "memo", memo_id, coder=coder_id(db, coder), before=before,
                   batch=new_batch())


_SELECT = (
    "SELECT m.id, m.target, d.name AS document, g.path AS code, m.coding_id AS coding, "
    "k.name AS coder, m.title, m.text, m.needs_review, m.created, m.updated, "
    "m.revision_id, r.number AS revision, m.start, m.\"end\", "
    "(SELECT number FROM current_revisions WHERE document_id = m.document_id) AS current_number "
    "FROM memos m "
    "LEFT JOIN documents d ON d.id = m.document_id LEFT JOIN codes g ON g.id = "
    "coalesce(m.code_id, (SELECT code_id FROM codings WHERE id = m.coding_id)) "
    "LEFT JOIN coders k ON k.id = m.coder_id "
    "LEFT JOIN revisions r ON r.id = m.revision_id AND m.start IS NOT NULL")


class Passages:
    """The text and sentence starts of some revisions, read in two queries, to say of a
    passage what it says and which sentence it starts in (as `qcode show` numbers them)."""

    def __init__(self, db, revisions):
        import json

        from qcode.store.words import read_sentences

        ids = json.dumps(sorted(set(revisions)))
        self.texts = dict(db.execute("SELECT id, text FROM revisions WHERE id IN "
                                     "(SELECT value FROM json_each(?))", [ids]).fetchall())
        self.sentences = read_sentences(db, ids) if self.texts else {}

    def text(self, revision: int, start: int, end: int) -> str:
        return self.texts[revision][start:end]

    def sentence(self, revision: int, start: int) -> int | None:
        from bisect import bisect_right

        return bisect_right(self.sentences.get(revision, ((), ()))[0], start) or None


def _placed(db, rows: list[dict]) -> list[dict]:
    """Where each memo on a passage is: ``revision`` (its number), ``start``, ``end``,
    ``sentence`` (the one it starts in, numbered as `qcode show` numbers them, in that
    revision), ``passage`` (its text) and ``current`` (whether that is the document's
    current revision: a passage that could not be re-anchored stays on an earlier one,
    flagged). All None for other memos."""
    passages = Passages(db, [r["revision_id"] for r in rows if r["revision"] is not None])
    for row in rows:
        revision_id, current = row.pop("revision_id"), row.pop("current_number")
        row["needs_review"] = bool(row["needs_review"])
        if row["revision"] is None:
            row.update(revision=None, start=None, end=None, sentence=None, passage=None,
                       current=None)
            continue
        row["sentence"] = passages.sentence(revision_id, row["start"])
        row["passage"] = passages.text(revision_id, row["start"], row["end"])
        row["current"] = row["revision"] == current
    return rows


def get_memo(db, memo_id: int, *, raw: bool = False) -> dict:
    """The memo; unless *raw*, with names for its document, code and coder and, for a
    memo on a passage, where that passage is (see _placed)."""
    sql = "SELECT * FROM memos WHERE id = ?" if raw else _SELECT + " WHERE m.id = ?"
    row = next(db.query(sql, [memo_id]), None)
    if row is None:
        raise NotFoundError(f"no memo with id {memo_id}")
    return dict(row) if raw else _placed(db, [dict(row)])[0]


def list_memos(db, *, document: str | None = None, code: str | None = None,
               target: str | None = None) -> list[dict]:
    from qcode.codes import resolve_code
    from qcode.documents import resolve_document

    where, params = [], []
    if document:
        where.append("m.document_id = ?")
        params.append(resolve_document(db, document)["id"])
    if code:
        code_id = resolve_code(db, code)["id"]
        where.append("(m.code_id = ? OR m.coding_id IN (SELECT id FROM codings WHERE code_id = ?))")
        params += [code_id, code_id]
    if target:
        where.append("m.target = ?")
        params.append(target)
    sql = _SELECT + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY m.id"
    return _placed(db, [dict(r) for r in db.query(sql, params)])

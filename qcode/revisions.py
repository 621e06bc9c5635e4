"""New revisions of a transcript (corrected transcription, anonymised names) that keep
every coding, memo and suggestion: each is re-anchored to the new text or, where that
cannot be done with confidence, flagged ``needs_review`` on its old revision — never
deleted."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from qcode import faults
from qcode.anchor import Anchorer
from qcode.documents import resolve_document
from qcode.errors import InputError
from qcode.ingest.importer import ImportOptions, parse_file, sha256, store_segments
from qcode.ingest.model import ParsedDocument
from qcode.ingest.segment import split_sentences
from qcode.store import transaction
from qcode.store.records import coder_id, log_change, now

# (table, entity name in the change log, extra condition)
_ANCHORED = (("codings", "coding", ""), ("suggestions", "suggestion", ""),
             ("memos", "memo", " AND start IS NOT NULL"))


@dataclass
class Moved:
    entity: str
    id: int
    method: str  # exact | search | fuzzy | flagged
    old: tuple[int, int]
    new: tuple[int, int] | None
    score: float = 100.0


@dataclass
class UpdateResult:
    document: str
    revision: int
    unchanged: bool = False
    moved: list[Moved] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for item in self.moved:
            out[item.method] = out.get(item.method, 0) + 1
        return out

    @property
    def flagged(self) -> list[Moved]:
        return [m for m in self.moved if m.method == "flagged"]


def parse_revision(path: Path, name: str, options: ImportOptions) -> ParsedDocument:
    documents = parse_file(path, name, options)
    if len(documents) != 1:
        raise InputError(path, f"holds {len(documents)} documents; a revision is one document")
    return documents[0]


def update_document(db, document: str, path: str | Path, *, options: ImportOptions,
                    coder: str, note: str = "") -> UpdateResult:
    """Store *path* as the next revision of *document* and re-anchor what points into it."""
    path = Path(path)
    current = resolve_document(db, document)
    parsed = parse_revision(path, current["name"], options)
    return revise(db, current, parsed, source=str(path), options=options, coder=coder,
                  note=note or f"updated from {path.name}")


def revise(db, current: dict, parsed: ParsedDocument, *, source: str,
           options: ImportOptions, coder: str, note: str, backup: bool = True,
           anchorer=None) -> UpdateResult:
    """Store *parsed* as the next revision of the document *current* (as
    resolve_document gives it), re-anchoring codings, suggestions and memos (with
    *anchorer*, when the caller knows exactly how offsets move, else through a diff)."""
    digest = sha256(parsed.text)
    if parsed.text == current["text"]:
        return UpdateResult(current["name"], current["revision"], unchanged=True)
    sentences = split_sentences(parsed.text, parsed.turns,
                                current["language"] or options.default_language)
    anchorer = anchorer or Anchorer(current["text"], parsed.text,
                                    search_windows([(s, e) for _, s, e in sentences]))
    if backup:
        from qcode.store.backup import auto_backup

        auto_backup(db, f"before update of {current['name']}")
    with transaction(db):
        latest = resolve_document(db, current["name"])  # re-read under the write lock
        if latest["revision_id"] != current["revision_id"]:
            raise InputError(source, "the document changed while this update was prepared; "
                             "run it again")
        number = latest["revision"] + 1
        revision_id = db.execute(
            "INSERT INTO revisions (document_id, number, text, sha256, encoding, note, created) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [latest["id"], number, parsed.text, digest, parsed.encoding, note,
             now()]).lastrowid
        store_segments(db, revision_id, parsed, sentences)
        who = coder_id(db, coder)
        from qcode.coding import new_batch

        batch = new_batch()
        result = UpdateResult(latest["name"], number)
        for table, entity, extra in _ANCHORED:
            rows = db.execute(f"SELECT id, start, \"end\" FROM {table} WHERE revision_id = ?"
                              f"{extra}", [latest["revision_id"]]).fetchall()
            for row_id, start, end in rows:
                result.moved.append(_move(db, table, entity, row_id, start, end, anchorer,
                                          revision_id, who, batch))
        log_change(db, "revise", "document", latest["id"], coder=who, batch=batch,
                   before={"revision": latest["revision"]},
                   after={"revision": number, "sha256": digest, "source": source,
                          **result.counts()})
        faults.point("doc-update")
    return result


def search_windows(sentences: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Where a fuzzy search for a moved passage looks: each sentence and each pair."""
    return sentences + [(a[0], b[1]) for a, b in zip(sentences, sentences[1:], strict=False)]


def revision_windows(db, revision_id: int) -> list[tuple[int, int]]:
    """search_windows of a stored revision."""
    from qcode.store.words import read_sentences

    starts, ends = read_sentences(db, json.dumps([revision_id]))[revision_id]
    return search_windows(list(zip(starts, ends, strict=True)))


def _move(db, table, entity, row_id, start, end, anchorer, revision_id, who, batch) -> Moved:
    placed = anchorer.place(start, end) if end > start else None
    if placed is None:
        db.execute(f"UPDATE {table} SET needs_review = 1 WHERE id = ?", [row_id])
        log_change(db, "flag", entity, row_id, coder=who, batch=batch,
                   before={"needs_review": 0}, after={"needs_review": 1})
        return Moved(entity, row_id, "flagged", (start, end), None)
    db.execute(f"UPDATE {table} SET revision_id = ?, start = ?, \"end\" = ? WHERE id = ?",
               [revision_id, placed.start, placed.end, row_id])
    if table == "suggestions":  # and onto the new revision's sentence, not the old one's
        db.execute("UPDATE suggestions SET segment_id = (SELECT id FROM segments WHERE "
                   "revision_id = ? AND kind = 'sentence' AND start < ? AND \"end\" > ? "
                   "ORDER BY min(\"end\", ?) - max(start, ?) DESC, number LIMIT 1) WHERE id = ?",
                   [revision_id, placed.end, placed.start, placed.end, placed.start, row_id])
    log_change(db, "reanchor", entity, row_id, coder=who, batch=batch,
               after={"revision_id": revision_id, "start": placed.start, "end": placed.end,
                      "method": placed.method, "score": placed.score},
               before={"start": start, "end": end})
    return Moved(entity, row_id, placed.method, (start, end), (placed.start, placed.end),
                 placed.score)


def history(db, document: str) -> list[dict]:
    doc = resolve_document(db, document)
    rows = []
    for row in db.query(
            "SELECT r.id, r.number, r.created, r.sha256, r.encoding, r.note, r.text, "
            "(SELECT count(*) FROM codings c WHERE c.revision_id = r.id) AS codings, "
            "(SELECT count(*) FROM codings c WHERE c.revision_id = r.id AND c.needs_review != 0) "
            "AS needs_review FROM revisions r WHERE r.document_id = ? ORDER BY r.number",
            [doc["id"]]):
        row = dict(row)
        text = row.pop("text")
        row.update(characters=len(text), words=len(text.split()), sha256=row["sha256"][:12])
        rows.append(row)
    return rows

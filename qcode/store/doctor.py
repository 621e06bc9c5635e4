"""Integrity checks: SQLite's own, then qcode's invariants (see ARCHITECTURE.md)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from qcode.store.migrations import MIGRATIONS, schema_version
from qcode.store.words import nonspace_bitmap, sentence_offsets, turn_offsets


@dataclass
class Problem:
    check: str
    message: str


# (check name, SQL returning one row per fault, message template over the row)
_SQL_CHECKS = [
    ("segment offsets",
     "SELECT s.id, s.kind, s.number, d.name FROM segments s JOIN revisions r ON r.id = s.revision_id "
     "JOIN documents d ON d.id = r.document_id WHERE s.\"end\" > length(r.text) OR s.start < 0 "
     "OR s.start >= s.\"end\"",
     "segment {1} {2} of {3!r} lies outside its text"),
    ("sentences in turns",
     "SELECT s.id, s.number, d.name FROM segments s JOIN segments t ON t.id = s.turn_id "
     "JOIN revisions r ON r.id = s.revision_id JOIN documents d ON d.id = r.document_id "
     "WHERE s.start < t.start OR s.\"end\" > t.\"end\" OR t.revision_id != s.revision_id",
     "sentence {1} of {2!r} is not inside its turn"),
    ("coding offsets",
     "SELECT c.id, d.name FROM codings c JOIN revisions r ON r.id = c.revision_id "
     "JOIN documents d ON d.id = c.document_id WHERE c.\"end\" > length(r.text) "
     "OR r.document_id != c.document_id",
     "coding {0} in {1!r} lies outside its text"),
    ("suggestion offsets",
     "SELECT g.id, d.name FROM suggestions g JOIN revisions r ON r.id = g.revision_id "
     "JOIN documents d ON d.id = g.document_id WHERE g.\"end\" > length(r.text) OR g.start < 0 "
     "OR g.start > g.\"end\" OR r.document_id != g.document_id",
     "suggestion {0} in {1!r} lies outside its text"),
    ("suggestions on their sentences",
     "SELECT g.id, d.name FROM suggestions g JOIN segments s ON s.id = g.segment_id "
     "JOIN documents d ON d.id = g.document_id WHERE s.revision_id != g.revision_id",
     "suggestion {0} in {1!r} points at a sentence of another revision"),
    ("memo offsets",
     "SELECT m.id FROM memos m JOIN revisions r ON r.id = m.revision_id "
     "WHERE m.start IS NOT NULL AND (m.start < 0 OR m.\"end\" > length(r.text) OR m.start > m.\"end\")",
     "memo {0} points outside its text"),
    ("documents have text",
     "SELECT d.id, d.name FROM documents d WHERE NOT EXISTS "
     "(SELECT 1 FROM revisions r WHERE r.document_id = d.id)",
     "document {1!r} has no revision"),
    ("code paths",
     "SELECT c.id, c.path FROM codes c LEFT JOIN codes p ON p.id = c.parent_id "
     "WHERE c.path != CASE WHEN p.id IS NULL THEN c.name ELSE p.path || '/' || c.name END",
     "code {1!r} does not match its parent and name"),
    ("active codes have active parents",
     "SELECT c.path FROM codes c JOIN codes p ON p.id = c.parent_id "
     "WHERE c.status = 'active' AND p.status != 'active'",
     "active code {0!r} has a retired parent"),
    ("merged codes point to active codes",
     "SELECT c.path FROM codes c LEFT JOIN codes t ON t.id = c.merged_into_id "
     "WHERE c.status = 'merged' AND (t.id IS NULL OR t.status != 'active')",
     "code {0!r} was merged into a code that is not active"),
    ("codings on old revisions are flagged",
     "SELECT c.id, d.name FROM codings c JOIN documents d ON d.id = c.document_id "
     "WHERE c.revision_id != (SELECT id FROM current_revisions r WHERE r.document_id = "
     "c.document_id) AND c.needs_review = 0",
     "coding {0} in {1!r} is on an earlier revision but not flagged for review"),
    ("accepted suggestions have their coding",
     "SELECT g.id FROM suggestions g WHERE g.status = 'accepted' AND NOT EXISTS "
     "(SELECT 1 FROM codings c WHERE c.id = g.coding_id)",
     "suggestion {0} was accepted but its coding is gone"),
]


def check(db) -> list[Problem]:
    """Every fault found, or an empty list for a healthy project."""
    problems = []
    if not db.on_postgres:  # a server checks its pages and enforces foreign keys itself
        result = [row[0] for row in db.execute("PRAGMA quick_check").fetchall()]
        if result != ["ok"]:
            problems += [Problem("sqlite quick_check", line) for line in result[:20]]
            return problems  # the rest would read a damaged file
        for table, rowid, parent, _ in db.execute("PRAGMA foreign_key_check").fetchall():
            problems.append(Problem("foreign keys", f"{table} row {rowid} points to a missing "
                                    f"{parent} row"))
    if schema_version(db) != len(MIGRATIONS):
        problems.append(Problem("schema", f"schema version {schema_version(db)}, "
                                f"expected {len(MIGRATIONS)}"))
    for name, sql, template in _SQL_CHECKS:
        for row in db.execute(sql).fetchall():
            problems.append(Problem(name, template.format(*row)))
    for number, text, digest, doc, length, nonspace in db.execute(
            "SELECT r.number, r.text, r.sha256, d.name, w.length, w.nonspace FROM revisions r "
            "JOIN documents d ON d.id = r.document_id "
            "LEFT JOIN revision_words w ON w.revision_id = r.id"):
        if hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest() != digest:
            problems.append(Problem("text checksums",
                                    f"revision {number} of {doc!r} does not match its sha256"))
        if (length, nonspace) != (len(text), nonspace_bitmap(text)):
            problems.append(Problem("word index", f"revision {number} of {doc!r} has a missing "
                                    "or wrong word index (word counts in stats would be off)"))
    problems += _segment_indexes(db)
    return problems


def _segment_indexes(db) -> list[Problem]:
    spans: dict[tuple[str, int], list[tuple]] = {}
    for kind, revision, *span in db.execute(
            "SELECT kind, revision_id, start, \"end\", speaker_id FROM segments "
            "ORDER BY revision_id, kind, number"):
        spans.setdefault((kind, revision), []).append(span if kind == "turn" else span[:2])
    problems = []
    for revision, number, doc, s_starts, s_ends, *turns in db.execute(
            "SELECT r.id, r.number, d.name, s.starts, s.ends, t.starts, t.ends, t.speakers "
            "FROM revisions r JOIN documents d ON d.id = r.document_id "
            "LEFT JOIN revision_sentences s ON s.revision_id = r.id "
            "LEFT JOIN revision_turns t ON t.revision_id = r.id"):
        if (s_starts, s_ends) != sentence_offsets(spans.get(("sentence", revision), [])):
            problems.append(Problem("sentence index", f"revision {number} of {doc!r} has a "
                                    "missing or wrong sentence index (agreement and "
                                    "co-occurrence by sentence would be off)"))
        if tuple(turns) != turn_offsets(spans.get(("turn", revision), [])):
            problems.append(Problem("turn index", f"revision {number} of {doc!r} has a "
                                    "missing or wrong turn index (speaker counts would be off)"))
    return problems
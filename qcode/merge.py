"""`qcode merge OTHER`: bring another qcode project's work into this one.

Team members code copies of the same project on their own machines; the lead merges
them. OTHER (a project folder, its qcode.db, or a .qdpx) is read without changing it
and written through the same path as every project import (qcode.interop.qdpx_import):
documents matched by content hash, then by name (a name with other text is a conflict,
listed and skipped); codes by GUID, then path; coders by name. Nothing here is
overwritten or deleted unless `--prefer theirs` resolves a conflicting definition or
attribute. Codings are never merged into one another: each coder's stay theirs, and a
coding already here (same place, code and coder) is not added again, so merging twice
adds nothing. A backup is taken first; the merge is one transaction.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from qcode.errors import QcodeError
from qcode.interop.qdpx import derived_guid
from qcode.interop.qdpx_import import Project, Selection, Source


def read_qcode(path: str | Path) -> Project:
    """Another qcode project (a folder or its database), read-only."""
    path = Path(path).expanduser()
    database = path / "qcode.db" if path.is_dir() else path
    if not database.is_file():
        raise QcodeError(f"{path}: not a qcode project (no qcode.db)")
    from qcode.interop.sqlite_files import read_only
    from qcode.store.connection import Database

    # not immutable: the other project is in WAL mode, its last commits may be in the WAL
    with read_only(database, "qcode", {"documents", "revisions", "codes", "codings",
                                       "coders"}, immutable=False) as (conn, _):
        return _read(Database(conn), database)


def _read(db, database: Path) -> Project:
    from qcode.interop.codebook import project_codes, to_nodes

    coders = {cid: name for cid, name in db.execute("SELECT id, name FROM coders")}
    user = {cid: derived_guid("coder", name) for cid, name in coders.items()}
    users = {user[cid]: name for cid, name in coders.items()}
    rows = project_codes(db)
    code_guid = {r["id"]: r["guid"] for r in rows}
    nodes = to_nodes(rows)
    notes: dict = {}

    def note(memo_id, title, text, coder_id, created) -> str:
        key = derived_guid("memo", database.name, memo_id, created)
        notes[key] = (title or "", text, user.get(coder_id), created)
        return key

    memos = db.execute("SELECT id, target, document_id, code_id, coding_id, coder_id, title, "
                       "text, created FROM memos ORDER BY id").fetchall()
    coding_notes = defaultdict(list)
    document_notes = defaultdict(list)
    code_notes = defaultdict(list)
    project_notes = []
    for memo_id, target, document_id, code_id, coding_id, coder_id, title, text, created \
            in memos:
        key = note(memo_id, title, text, coder_id, created)
        if target == "coding" and coding_id:
            coding_notes[coding_id].append(key)
        elif target == "document" and document_id:
            document_notes[document_id].append(key)
        elif target == "code" and code_id in code_guid:
            code_notes[code_guid[code_id]].append(key)
        else:
            project_notes.append(key)
    for top in nodes:
        for _, node in top.walk():
            node.notes = code_notes.get(node.guid, [])
    attributes = defaultdict(dict)
    for document_id, key, value, kind in db.execute(
            "SELECT document_id, key, value, type FROM attributes"):
        if value is not None:
            attributes[document_id][key] = (value, kind)
    sources = []
    for document_id, name, revision_id, text, sha, created in db.execute(
            "SELECT d.id, d.name, r.id, r.text, r.sha256, d.created FROM documents d JOIN "
            "current_revisions r ON r.document_id = d.id ORDER BY d.name").fetchall():
        source = Source(derived_guid("source", sha, name), name, text, [],
                        attributes[document_id], document_notes[document_id], created)
        spans: dict[tuple[int, int], Selection] = {}
        for coding_id, start, end, code_id, coder_id, origin, created_at in db.execute(
                "SELECT id, start, \"end\", code_id, coder_id, origin, created FROM codings "
                "WHERE revision_id = ? ORDER BY start, \"end\", id", [revision_id]):
            if code_id not in code_guid:
                continue
            if (start, end) not in spans:
                spans[(start, end)] = Selection(start, end, [], user.get(coder_id),
                                                created_at, [])
                source.selections.append(spans[(start, end)])
            spans[(start, end)].codings.append((code_guid[code_id], user.get(coder_id),
                                                created_at, coding_notes[coding_id], origin))
        sources.append(source)
    return Project("qcode", users, nodes, sources, notes, project_notes)


def read_other(path: str | Path) -> Project:
    """A qcode project folder or database, or a REFI-QDA .qdpx."""
    path = Path(path).expanduser()
    if path.suffix.lower() == ".qdpx":
        from qcode.interop.qdpx_import import read_project

        return read_project(path)
    return read_qcode(path)


def merge(db, other: str | Path, *, codebook_path: Path, coder: str, prefer: str = "ours",
          dry_run: bool = False, speaker_pattern: str | None = None,
          default_language: str = "en"):
    from qcode.interop.qdpx_import import import_parsed

    if prefer not in ("ours", "theirs"):
        raise QcodeError("--prefer is ours or theirs")
    here = db.execute("PRAGMA database_list").fetchone()[2]
    other_path = Path(other).expanduser()
    target = other_path / "qcode.db" if other_path.is_dir() else other_path
    if target.exists() and here and Path(here).resolve() == target.resolve():
        raise QcodeError(f"{other}: that is this project")
    return import_parsed(db, read_other(other), other, codebook_path=codebook_path,
                         coder=coder, speaker_pattern=speaker_pattern,
                         default_language=default_language, merge=True, prefer=prefer,
                         dry_run=dry_run)


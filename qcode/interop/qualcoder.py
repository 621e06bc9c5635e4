"""`qcode import qualcoder PATH.qda`: a QualCoder project (a folder holding the SQLite
database ``data.qda``).

What comes over: text sources (``source.fulltext``; images, audio and video are left
out and reported), the code tree (categories become parent codes; a code's or category's
memo becomes its description, as QualCoder's own REFI-QDA export does; colours kept),
text codings with their owners as coders and their memos, file and case attributes,
source memos, annotations and journals as memos. QualCoder counts offsets in code
points of ``fulltext``, like Python.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from qcode.codebook.model import GUID_NAMESPACE
from qcode.errors import InteropError
from qcode.interop.qdpx_import import Project, Selection, Source
from qcode.interop.refi import CodeNode
from qcode.interop.sqlite_files import read_only

NEEDED = {"source", "code_name", "code_text"}
ATTRIBUTE_KINDS = {"numeric": "number", "character": "text"}


def _key(*parts) -> str:
    return str(uuid.uuid5(GUID_NAMESPACE, "qualcoder " + " ".join(map(str, parts))))


def read_qualcoder(path: str | Path) -> Project:
    path = Path(path)
    database = path / "data.qda" if path.is_dir() else path
    if not database.is_file():
        raise InteropError(f"{path}: not a QualCoder project (no data.qda)")
    with read_only(database, "QualCoder", NEEDED) as (db, tables):
        return _read(db, tables)


def _read(db, tables: set[str]) -> Project:
    users: dict[str, str] = {}

    def user(owner: str | None) -> str | None:
        if not owner:
            return None
        users[_key("owner", owner)] = owner
        return _key("owner", owner)

    codes, code_guid = _code_tree(db, tables)
    notes: dict = {}

    def note(key: str, title: str, text: str | None, owner=None, date=None) -> list[str]:
        if not text or not text.strip():
            return []
        notes[key] = (title, text.strip(), user(owner), date)
        return [key]

    sources: list[Source] = []
    by_id: dict[int, Source] = {}
    skipped = 0
    for fid, name, fulltext, memo, owner, date in db.execute(
            "SELECT id, name, fulltext, memo, owner, date FROM source ORDER BY id").fetchall():
        if fulltext is None or not str(fulltext).strip():
            skipped += 1
            continue
        source = Source(_key("source", fid), (name or f"source {fid}").strip(), fulltext, [],
                        created=_date(date))
        source.notes = note(_key("source memo", fid), "memo", memo, owner, _date(date))
        sources.append(source)
        by_id[fid] = source
    spans: dict[tuple[int, int, int], Selection] = {}
    for cid, fid, pos0, pos1, owner, date, memo in db.execute(
            "SELECT cid, fid, pos0, pos1, owner, date, memo FROM code_text "
            "ORDER BY fid, pos0, pos1, cid").fetchall():
        if fid not in by_id or cid not in code_guid or pos0 is None or pos1 is None:
            continue
        key = (fid, int(pos0), int(pos1))
        if key not in spans:
            spans[key] = Selection(int(pos0), int(pos1), [], user(owner), _date(date), [])
            by_id[fid].selections.append(spans[key])
        memo_notes = note(_key("coding memo", cid, fid, pos0, pos1, owner), "memo", memo,
                          owner, _date(date))
        spans[key].codings.append((code_guid[cid], user(owner), _date(date), memo_notes))
    if "annotation" in tables:
        for anid, fid, pos0, pos1, memo, owner, date in db.execute(
                "SELECT anid, fid, pos0, pos1, memo, owner, date FROM annotation").fetchall():
            if fid in by_id and pos0 is not None and pos1 is not None:
                keys = note(_key("annotation", anid), "annotation", memo, owner, _date(date))
                by_id[fid].selections.append(Selection(int(pos0), int(pos1), [], user(owner),
                                                       _date(date), keys))
    _attributes(db, tables, by_id)
    project_notes = []
    if "journal" in tables:
        for jid, name, entry, date, owner in db.execute(
                "SELECT jid, name, jentry, date, owner FROM journal ORDER BY jid").fetchall():
            project_notes += note(_key("journal", jid), name or "journal", entry, owner,
                                  _date(date))
    if "project" in tables:
        row = db.execute("SELECT memo FROM project").fetchone()
        if row:
            project_notes += note(_key("project memo"), "project memo", row[0])
    project = Project("QualCoder", users, codes, sources, notes, project_notes)
    project.skipped = ["image, audio or video"] * skipped  # type: ignore[attr-defined]
    return project


def _date(value: str | None) -> str | None:
    return value.replace(" ", "T") if value else None


def _code_tree(db, tables: set[str]) -> tuple[list[CodeNode], dict[int, str]]:
    """Categories as parent codes, codes under their category; memos as descriptions."""
    categories = db.execute("SELECT catid, name, memo, supercatid FROM code_cat ORDER BY "
                            "name").fetchall() if "code_cat" in tables else []
    parents = {c[0]: c[3] for c in categories}
    nodes: dict[int, CodeNode] = {}
    top: list[CodeNode] = []

    def path_of(catid: int | None, seen=()) -> list[str]:
        if catid is None or catid not in parents or catid in seen:
            return []
        name = next(c[1] for c in categories if c[0] == catid)
        return [*path_of(parents[catid], (*seen, catid)), name]

    for catid, name, memo, _ in categories:
        nodes[catid] = CodeNode(name, str(uuid.uuid5(GUID_NAMESPACE, "/".join(path_of(catid)))),
                                (memo or "").strip())
    for catid, node in nodes.items():
        parent = parents[catid]
        (nodes[parent].children if parent in nodes and parent != catid else top).append(node)
    code_guid: dict[int, str] = {}
    for cid, name, memo, catid, color in db.execute(
            "SELECT cid, name, memo, catid, color FROM code_name ORDER BY name").fetchall():
        path = "/".join([*path_of(catid), name])
        node = CodeNode(name, str(uuid.uuid5(GUID_NAMESPACE, path)), (memo or "").strip(),
                        color if color and len(color) == 7 and color.startswith("#") else None)
        (nodes[catid].children if catid in nodes else top).append(node)
        code_guid[cid] = node.guid
    return top, code_guid


def _attributes(db, tables: set[str], by_id: dict[int, Source]) -> None:
    """File attributes on their source; case attributes on the sources of the case."""
    if "attribute" not in tables:
        return
    kinds = {}
    if "attribute_type" in tables:
        kinds = {n: ATTRIBUTE_KINDS.get((v or "").lower(), "text") for n, v in
                 db.execute("SELECT name, valuetype FROM attribute_type")}
    files_of_case: dict[int, set[int]] = {}
    if "case_text" in tables:
        for caseid, fid in db.execute("SELECT caseid, fid FROM case_text"):
            files_of_case.setdefault(caseid, set()).add(fid)
    for name, attr_type, value, owner_id in db.execute(
            "SELECT name, attr_type, value, id FROM attribute ORDER BY attr_type DESC, name"):
        if value is None or str(value).strip() == "" or not name:
            continue
        targets = [owner_id] if attr_type == "file" else sorted(files_of_case.get(owner_id, ()))
        for fid in targets:
            if fid in by_id:
                by_id[fid].attributes.setdefault(name, (str(value).strip(),
                                                        kinds.get(name, "text")))

"""`qcode import taguette FILE.sqlite3`: a Taguette project database.

Taguette keeps each document as HTML and a highlight's offsets as UTF-8 *byte* offsets
into the document's text: tags count nothing, and an entity such as ``&lt;`` counts as
the one character it stands for (checked against Taguette's own export of a real
project). The HTML becomes text here (a paragraph or line break ends a line) and every
byte offset is mapped to the character it falls on. Tags are dotted paths
(``emotion.anxiety``), which become a tree; the coder of a highlight comes from
Taguette's command log, else the project's only member.
"""

from __future__ import annotations

import html
import json
import re
import uuid
from bisect import bisect_left, bisect_right
from pathlib import Path

from qcode.codebook.model import GUID_NAMESPACE
from qcode.errors import InteropError
from qcode.interop.qdpx_import import Project, Selection, Source
from qcode.interop.refi import CodeNode
from qcode.interop.sqlite_files import read_only

_TOKEN = re.compile(r"(<[^>]*>)|(&#?\w+;)|([^<&]+)|(.)", re.S)
_LINE_ENDS = re.compile(r"</(p|div|h[1-6]|li|tr|blockquote|pre)\s*>|<br\s*/?>", re.I)
NEEDED = {"documents", "tags", "highlights", "highlight_tags", "projects"}


def html_to_text(markup: str) -> tuple[str, list[int], list[int]]:
    """(text, byte offsets, text offsets): the text Taguette's offsets count, as plain
    text, with the byte offset of each character boundary beside its text offset."""
    out: list[str] = []
    units, chars = [0], [0]
    u = 0
    pending = False  # a paragraph or line ended: start a new line before more text

    def emit(ch: str) -> None:
        nonlocal pending
        if pending and out and out[-1] != "\n" and ch != "\n":
            out.append("\n")  # counts no bytes in Taguette's offsets
            units.append(units[-1])
            chars.append(len(out))
        pending = False
        out.append(ch)
        units.append(u)
        chars.append(len(out))

    for match in _TOKEN.finditer(markup):
        tag, entity, text, other = match.groups()
        if tag is not None:
            pending = pending or bool(_LINE_ENDS.fullmatch(tag))
        elif entity is not None:
            character = html.unescape(entity)
            u += len(character.encode("utf-8", "surrogatepass"))
            emit(character)
        else:
            for ch in text if text is not None else other:
                u += len(ch.encode("utf-8", "surrogatepass"))
                if ch == "\r":
                    continue  # a CR counts its byte but is not kept (CRLF -> LF)
                emit("\n" if ch in "\x0c\u2028\u2029" else ch)
    return "".join(out), units, chars


def _at(units: list[int], chars: list[int], offset: int, *, end: bool = False) -> int:
    """The character at a byte offset. Line breaks qcode adds count no bytes, so an
    offset can sit on both sides of one: a start goes after it, an end before it."""
    if end:
        i = bisect_left(units, offset)
        if i < len(units) and units[i] == offset:
            return chars[i]
    return chars[max(bisect_right(units, offset) - 1, 0)]


def read_taguette(path: str | Path, project: str | None = None) -> Project:
    path = Path(path)
    if not path.is_file():
        raise InteropError(f"{path}: no such file")
    with read_only(path, "Taguette", NEEDED) as (db, _):
        return _read(db, path, project)


def _read(db, path: Path, wanted: str | None) -> Project:
    projects = db.execute("SELECT id, name, description FROM projects ORDER BY id").fetchall()
    if wanted is not None:
        projects = [p for p in projects if str(p[0]) == wanted or p[1] == wanted]
    if len(projects) != 1:
        names = ", ".join(f"{p[0]}: {p[1]!r}" for p in db.execute(
            "SELECT id, name FROM projects ORDER BY id")) or "no project"
        if wanted is None:
            raise InteropError(f"{path}: choose one Taguette project with --taguette-project "
                               f"(the file holds {names})")
        raise InteropError(f"{path}: no Taguette project {wanted!r} (the file holds {names})")
    project_id, project_name, description = projects[0]
    members = [r[0] for r in db.execute("SELECT user_login FROM project_members WHERE "
                                        "project_id = ?", [project_id])] \
        if "project_members" in _tables(db) else []
    user_guid = lambda login: str(uuid.uuid5(GUID_NAMESPACE, f"taguette user {login}"))  # noqa: E731
    users = {user_guid(login): login for login in members}
    authors, dates = _highlight_log(db, project_id)
    for login in set(authors.values()):
        users[user_guid(login)] = login
    fallback = members[0] if len(members) == 1 else None

    codes, by_tag = _tag_tree(db, project_id)
    notes: dict = {}
    if description and description.strip():
        notes[str(uuid.uuid5(GUID_NAMESPACE, f"taguette project {project_id}"))] = (
            project_name, description.strip(), None, None)
    sources = []
    tags_of: dict[int, list[int]] = {}
    for highlight, tag in db.execute(
            "SELECT ht.highlight_id, ht.tag_id FROM highlight_tags ht JOIN highlights h ON "
            "h.id = ht.highlight_id JOIN documents d ON d.id = h.document_id WHERE "
            "d.project_id = ? ORDER BY ht.highlight_id, ht.tag_id", [project_id]):
        tags_of.setdefault(highlight, []).append(tag)
    for doc_id, name, doc_description, contents, created in db.execute(
            "SELECT id, name, description, contents, created FROM documents WHERE "
            "project_id = ? ORDER BY id", [project_id]).fetchall():
        text, units, chars = html_to_text(contents)
        source = Source(str(uuid.uuid5(GUID_NAMESPACE, f"taguette document {doc_id}")),
                        name.strip() or f"document {doc_id}", text, [], created=created)
        for highlight, start, end in db.execute(
                "SELECT id, start_offset, end_offset FROM highlights WHERE document_id = ? "
                "ORDER BY start_offset, id", [doc_id]):
            login = authors.get(highlight, fallback)
            user = user_guid(login) if login else None
            codings = [(by_tag[t], user, dates.get(highlight), []) for t in
                       tags_of.get(highlight, []) if t in by_tag]
            source.selections.append(Selection(
                _at(units, chars, start), _at(units, chars, end, end=True), codings, user,
                dates.get(highlight), []))
        if doc_description and doc_description.strip():
            key = str(uuid.uuid5(GUID_NAMESPACE, f"taguette description {doc_id}"))
            notes[key] = ("description", doc_description.strip(), None, created)
            source.notes.append(key)
        sources.append(source)
    return Project("Taguette", users, codes, sources, notes, list(notes)[:1] if description
                   and description.strip() else [])


def _tables(db) -> set[str]:
    return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def _highlight_log(db, project_id: int) -> tuple[dict[int, str], dict[int, str]]:
    """Who added each highlight, and when, from Taguette's command log."""
    authors: dict[int, str] = {}
    dates: dict[int, str] = {}
    if "commands" not in _tables(db):
        return authors, dates
    for login, date, payload in db.execute(
            "SELECT user_login, date, payload FROM commands WHERE project_id = ? AND "
            "payload LIKE '%highlight_add%' ORDER BY id", [project_id]):
        try:
            data = json.loads(payload)
            highlight = abs(int(data["highlight_id"]))
        except (ValueError, KeyError, TypeError):
            continue
        if data.get("type") == "highlight_add" and highlight not in authors:
            authors[highlight] = login
            dates[highlight] = date.replace(" ", "T") if date else date
    return authors, dates


def _tag_tree(db, project_id: int) -> tuple[list[CodeNode], dict[int, str]]:
    """The tags as a tree (dotted paths split), and each tag id's code GUID."""
    top: list[CodeNode] = []
    made: dict[str, CodeNode] = {}
    by_tag: dict[int, str] = {}
    for tag_id, tag_path, description in db.execute(
            "SELECT id, path, description FROM tags WHERE project_id = ? ORDER BY path",
            [project_id]):
        parts = [p.strip() for p in tag_path.split(".") if p.strip()] or [tag_path]
        for depth in range(1, len(parts) + 1):
            key = "/".join(parts[:depth])
            if key not in made:
                made[key] = CodeNode(parts[depth - 1], str(uuid.uuid5(GUID_NAMESPACE, key)))
                (made["/".join(parts[:depth - 1])].children if depth > 1 else top).append(
                    made[key])
        node = made["/".join(parts)]
        node.description = (description or "").strip()
        by_tag[tag_id] = node.guid
    return top, by_tag

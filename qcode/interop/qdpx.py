"""REFI-QDA projects (.qdpx): a zip with project.qde (XML) and the sources.

Export writes what another program needs to carry on the coding: the coders as Users,
the codebook, each transcript's current revision as UTF-8 text in ``sources/``,
selections with code-point offsets and their codings (coder and date), attributes as
Variables and one Case per document, memos as Notes.

GUIDs of things qcode has no GUID for are derived from what they are (a transcript's
sha256, a coder's name, a coding's place, code and coder), so exporting the same project
twice gives the same GUIDs, and programs that merge by GUID see the same objects.
"""

from __future__ import annotations

import re
import uuid
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree.ElementTree import Element, SubElement, tostring

from qcode import __version__
from qcode.errors import QcodeError
from qcode.export.files import atomic_output
from qcode.interop.codebook import project_codes, to_nodes
from qcode.interop.refi import PROJECT_NS, CodeNode, code_element, scrub
from qcode.store.records import now

# uuid5 namespace for the GUIDs qcode derives (see the module docstring)
NAMESPACE = uuid.UUID("0b6f3c1e-7d55-4a3c-9e2b-5a1f4f0c2d7e")
VARIABLE_TYPES = {"text": "Text", "integer": "Integer", "number": "Float", "date": "Date",
                  "boolean": "Boolean"}
VALUE_ELEMENTS = {"Text": "TextValue", "Integer": "IntegerValue", "Float": "FloatValue",
                  "Date": "DateValue", "Boolean": "BooleanValue"}
_VALID = {"Integer": re.compile(r"[+-]?\d+"), "Float": re.compile(r"[+-]?(\d+\.?\d*|\.\d+)"),
          "Date": re.compile(r"\d{4}-\d{2}-\d{2}"), "Boolean": re.compile(r"true|false|0|1")}


def derived_guid(*parts) -> str:
    return str(uuid.uuid5(NAMESPACE, "\x1f".join(str(p) for p in parts)))


@dataclass
class ProjectExport:
    path: Path
    documents: int = 0
    codes: int = 0
    codings: int = 0
    memos: int = 0
    warnings: list[str] = field(default_factory=list)


def export_project(db, path: str | Path, *, name: str, force: bool = False) -> ProjectExport:
    path = Path(path)
    if path.suffix.lower() != ".qdpx":
        raise QcodeError(f"{path}: a REFI-QDA project file ends in .qdpx")
    result = ProjectExport(path)
    xml, sources = build_project(db, name, result)
    with atomic_output(path, force=force, mode="wb") as f:
        with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("project.qde", xml)
            for guid, text in sources:
                archive.writestr(f"sources/{guid}.txt", text.encode("utf-8", "surrogatepass"))
    return result


def build_project(db, name: str, result: ProjectExport) -> tuple[bytes, list[tuple[str, str]]]:
    """(project.qde, [(source GUID, text)])."""
    stamp = now()
    coders = {cid: (n, derived_guid("coder", n))
              for cid, n in db.execute("SELECT id, name FROM coders ORDER BY name")}
    root = Element("Project", {"xmlns": PROJECT_NS, "name": name,
                               "origin": f"qcode {__version__}", "creationDateTime": stamp})
    if coders:
        users = SubElement(root, "Users")
        for _, (coder, guid) in sorted(coders.items(), key=lambda kv: kv[1][0]):
            SubElement(users, "User", {"guid": guid, "name": coder})

    rows = project_codes(db)
    code_guid = {r["id"]: r["guid"] for r in rows}
    memos = _memos(db)
    notes_of_code = defaultdict(list)
    for memo in memos:
        if memo["target"] == "code" and memo["code_id"] in code_guid:
            notes_of_code[code_guid[memo["code_id"]]].append(memo["guid"])
    if rows:
        codes = SubElement(SubElement(root, "CodeBook"), "Codes")
        for node in to_nodes(rows):
            _code(codes, node, notes_of_code)
    result.codes = len(rows)

    documents = db.execute(
        "SELECT d.id, d.name, r.id, r.text, r.sha256, d.created FROM documents d "
        "JOIN current_revisions r ON r.document_id = d.id ORDER BY d.name").fetchall()
    source_guid = {doc_id: derived_guid("source", sha, doc_name)
                   for doc_id, doc_name, _, _, sha, _ in documents}
    _variables_and_cases(db, root, source_guid)

    sources_element = SubElement(root, "Sources") if documents else None
    sources = []
    codings = _codings(db, result)
    for doc_id, doc_name, revision, text, _, created in documents:
        guid = source_guid[doc_id]
        source = SubElement(sources_element, "TextSource", {
            "guid": guid, "name": doc_name, "plainTextPath": f"internal://{guid}.txt",
            "creationDateTime": created})
        for (start, end), items in sorted(codings.get(revision, {}).items()):
            first = items[0]
            selection = SubElement(source, "PlainTextSelection", {
                "guid": derived_guid("selection", guid, start, end), "name": text[start:end][:60],
                "startPosition": str(start), "endPosition": str(end),
                "creatingUser": coders[first["coder_id"]][1],
                "creationDateTime": first["created"]})
            for item in items:
                if item["code_id"] not in code_guid:
                    continue
                coding = SubElement(selection, "Coding", {
                    "guid": item["guid"], "creatingUser": coders[item["coder_id"]][1],
                    "creationDateTime": item["created"]})
                SubElement(coding, "CodeRef", {"targetGUID": code_guid[item["code_id"]]})
                for memo in memos:
                    if memo["target"] == "coding" and memo["coding_id"] == item["id"]:
                        SubElement(coding, "NoteRef", {"targetGUID": memo["guid"]})
                result.codings += 1
        on_document = [m for m in memos if m["target"] == "document"
                       and m["document_id"] == doc_id]
        for memo in on_document:  # a memo on a passage: a selection with its note only
            if memo["revision_id"] == revision and memo["start"] is not None:
                attributes = {
                    "guid": derived_guid("memo selection", memo["guid"]),
                    "name": text[memo["start"]:memo["end"]][:60],
                    "startPosition": str(memo["start"]), "endPosition": str(memo["end"]),
                    "creationDateTime": memo["created"]}
                if memo["coder_id"] in coders:
                    attributes["creatingUser"] = coders[memo["coder_id"]][1]
                selection = SubElement(source, "PlainTextSelection", attributes)
                SubElement(selection, "NoteRef", {"targetGUID": memo["guid"]})
        for memo in on_document:  # on the whole document, or left on an earlier revision
            if memo["revision_id"] != revision or memo["start"] is None:
                SubElement(source, "NoteRef", {"targetGUID": memo["guid"]})
        sources.append((guid, text))
    result.documents = len(documents)

    if memos:
        notes = SubElement(root, "Notes")
        for memo in memos:
            note = SubElement(notes, "Note", {"guid": memo["guid"], "name": memo["title"]
                                              or memo["text"][:60],
                                              "creationDateTime": memo["created"]})
            if memo["coder_id"] in coders:
                note.set("creatingUser", coders[memo["coder_id"]][1])
            SubElement(note, "PlainTextContent").text = memo["text"]
        result.memos = len(memos)
    for memo in memos:
        if memo["target"] == "project":
            SubElement(root, "NoteRef", {"targetGUID": memo["guid"]})
    if scrub(root):
        result.warnings.append("characters XML cannot hold (control characters) in names or "
                               "memos were written as U+FFFD; the transcripts are unchanged")
    xml = b'<?xml version="1.0" encoding="utf-8"?>\n' + tostring(root, encoding="utf-8",
                                                                  xml_declaration=False)
    return xml, sources


def _code(parent: Element, node: CodeNode, notes: dict[str, list[str]]) -> None:
    """A <Code> as in the codebook, with NoteRefs for its memos (after the description,
    before the sub-codes, as the schema orders them)."""
    element = code_element(parent, CodeNode(node.name, node.guid, node.description,
                                            node.color, node.include, node.exclude,
                                            node.examples))
    for target in notes.get(node.guid, []):
        SubElement(element, "NoteRef", {"targetGUID": target})
    for sub in node.children:
        _code(element, sub, notes)


def _codings(db, result: ProjectExport) -> dict[int, dict[tuple[int, int], list[dict]]]:
    """Codings on current revisions, by revision and span, each with its GUID."""
    out: dict[int, dict[tuple[int, int], list[dict]]] = defaultdict(lambda: defaultdict(list))
    rows = db.execute(
        "SELECT c.id, c.revision_id, c.start, c.\"end\", c.code_id, c.coder_id, c.created, "
        "g.guid, k.name, r.sha256 FROM codings c JOIN current_revisions r ON "
        "r.id = c.revision_id JOIN codes g ON g.id = c.code_id JOIN coders k ON "
        "k.id = c.coder_id ORDER BY c.revision_id, c.start, c.\"end\", c.id").fetchall()
    for cid, revision, start, end, code, coder, created, code_guid, coder_name, sha in rows:
        out[revision][(start, end)].append({
            "id": cid, "code_id": code, "coder_id": coder, "created": created,
            "guid": derived_guid("coding", sha, start, end, code_guid, coder_name)})
    old = db.execute("SELECT count(*) FROM codings c WHERE c.revision_id NOT IN "
                     "(SELECT id FROM current_revisions)").fetchone()[0]
    if old:
        result.warnings.append(f"{old} coding(s) on earlier revisions of transcripts are not "
                               "exported (only each transcript's current text is)")
    inactive = db.execute("SELECT count(*) FROM codings c JOIN codes g ON g.id = c.code_id "
                          "WHERE g.status != 'active'").fetchone()[0]
    if inactive:
        result.warnings.append(f"{inactive} coding(s) of retired codes are not exported")
    return out


def _memos(db) -> list[dict]:
    memos = []
    for row in db.query("SELECT id, target, document_id, code_id, coding_id, coder_id, title, "
                        "text, created, revision_id, start, \"end\" FROM memos ORDER BY id"):
        memo = dict(row)
        memo["guid"] = derived_guid("memo", memo["id"], memo["created"])
        memos.append(memo)
    return memos


def _variables_and_cases(db, root: Element, source_guid: dict[int, str]) -> None:
    """One Variable per attribute key, one Case per document with its values."""
    values = db.execute("SELECT a.document_id, a.key, a.value, a.type FROM attributes a "
                        "JOIN documents d ON d.id = a.document_id ORDER BY d.name, a.key"
                        ).fetchall()
    if not values:
        return
    kinds: dict[str, set[str]] = defaultdict(set)
    for _, key, value, kind in values:
        refi = VARIABLE_TYPES.get(kind, "Text")
        if value is not None and refi in _VALID and not _VALID[refi].fullmatch(str(value)):
            refi = "Text"
        kinds[key].add(refi)
    types = {key: found.pop() if len(found) == 1 else "Text" for key, found in kinds.items()}
    variables = SubElement(root, "Variables")
    for key in sorted(types):
        SubElement(variables, "Variable", {"guid": derived_guid("variable", key), "name": key,
                                           "typeOfVariable": types[key]})
    names = dict(db.execute("SELECT id, name FROM documents").fetchall())
    cases = SubElement(root, "Cases")
    per_document = defaultdict(list)
    for doc_id, key, value, _ in values:
        per_document[doc_id].append((key, value))
    for doc_id, items in per_document.items():
        case = SubElement(cases, "Case", {"guid": derived_guid("case", names[doc_id]),
                                          "name": names[doc_id]})
        for key, value in items:
            if value is None:
                continue
            item = SubElement(case, "VariableValue")
            SubElement(item, "VariableRef", {"targetGUID": derived_guid("variable", key)})
            text = str(value)
            if types[key] == "Boolean":
                text = {"1": "true", "0": "false"}.get(text, text)
            SubElement(item, VALUE_ELEMENTS[types[key]]).text = text
        if doc_id in source_guid:
            SubElement(case, "SourceRef", {"targetGUID": source_guid[doc_id]})


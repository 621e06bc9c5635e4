"""`qcode import project IN.qdpx`: a REFI-QDA project from NVivo (Windows and Mac),
ATLAS.ti, MAXQDA, QualCoder, Taguette, `qc` or qcode into this project. The readers of
Taguette and QualCoder projects (qcode.interop.taguette, .qualcoder) fill the same
`Project` and are written by the same `import_parsed`.

The archive is read in memory (qcode.interop.archive), project.qde through defusedxml.
Offsets are converted at the border (qcode.interop.offsets) and checked: the result says
how many codings start and end on word boundaries. The codes are merged into the YAML
codebook (as `qcode import codebook --merge` does) and everything else is written to
the database in one transaction; the YAML file is replaced only after that commits.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from qcode import faults
from qcode.errors import InputError, InteropError
from qcode.export.files import atomic_output
from qcode.interop import offsets
from qcode.interop.archive import Archive
from qcode.interop.codebook import merge_codes, render_yaml
from qcode.interop.refi import CodeNode, child, children, guid, local, read_codes
from qcode.store.records import now

LOW_SHARE = 0.9  # warn when fewer codings than this sit on word boundaries
VARIABLE_KINDS = {"Integer": "integer", "Float": "number", "Boolean": "boolean",
                  "Date": "date", "DateTime": "date"}


@dataclass
class Selection:
    start: int
    end: int
    codings: list[tuple[str, str | None, str | None, list[str]]]  # code, user, date, notes
    user: str | None
    created: str | None
    notes: list[str]


@dataclass
class Decision:
    """A suggestion accepted or rejected in another qcode project (merge only)."""
    start: int
    end: int
    code: str  # GUID
    score: float
    suggester: str
    rationale: str
    status: str  # accepted | rejected
    user: str | None  # who decided (user GUID)
    decided_at: str | None
    created: str
    coding: tuple[int, int, str, str | None] | None  # the accepted coding: start, end, code, user
    evidence: str = "[]"  # JSON: the patterns and words behind it (qcode schema 4 and later)


@dataclass
class Source:
    guid: str
    name: str
    raw: str  # the text as the producer had it (line breaks as shipped)
    selections: list[Selection]
    attributes: dict[str, tuple[str, str]] = field(default_factory=dict)  # key: (value, type)
    notes: list[str] = field(default_factory=list)
    created: str | None = None
    history: list[str] = field(default_factory=list)  # sha256 of earlier revisions (qcode)
    decisions: list[Decision] = field(default_factory=list)  # decided suggestions (qcode)
    # codings left on earlier revisions for review (qcode): sha256 of that revision, its
    # number there, and (start, end, code, user, created, origin) of each
    earlier: list[tuple[str, int, list[tuple]]] = field(default_factory=list)
    # memos on a passage left on earlier revisions for review (qcode): sha256 and number
    # of that revision, and (start, end, note key) of each
    earlier_notes: list[tuple[str, int, list[tuple]]] = field(default_factory=list)


@dataclass
class Project:
    origin: str
    users: dict[str, str]
    codes: list[CodeNode]
    sources: list[Source]
    notes: dict[str, tuple[str, str, str | None, str | None]]  # guid: title, text, user, date
    project_notes: list[str]


@dataclass
class SourceReport:
    name: str
    convention: str
    codings: int
    on_boundaries: float
    status: str  # added | existing


@dataclass
class ProjectImport:
    path: Path
    origin: str
    sources: list[SourceReport] = field(default_factory=list)
    codes_added: list[str] = field(default_factory=list)
    codings: int = 0
    memos: int = 0
    coders: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    backup: Path | None = None  # taken first when the project already had data
    conflicts: list[str] = field(default_factory=list)
    attributes: int = 0  # attribute values added to documents the project had
    decisions: int = 0  # suggestion decisions added (merge)
    revised: list[str] = field(default_factory=list)  # documents whose text was reconciled
    dry_run: bool = False
    changed: bool = True  # False when a merge found nothing to add (and rolled back)

    @property
    def share(self) -> float:
        total = sum(s.codings for s in self.sources)
        return (sum(s.codings * s.on_boundaries for s in self.sources) / total) if total else 1.0


# -- reading ----------------------------------------------------------------------------

def read_project(path: str | Path) -> Project:
    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    archive = Archive(path)
    try:
        if not archive.has("project.qde"):
            raise InteropError(f"{archive.path}: no project.qde in the archive (not a REFI-QDA "
                               "project)")
        try:
            root = ElementTree.fromstring(archive.read("project.qde"))
        except DefusedXmlException as exc:
            raise InteropError(f"{archive.path}: project.qde refused: it uses "
                               f"{type(exc).__name__} (entities or external references)"
                               ) from None
        except ElementTree.ParseError as exc:
            raise InteropError(f"{archive.path}: project.qde is not well-formed XML: {exc}"
                               ) from None
        if local(root.tag) != "Project":
            raise InteropError(f"{archive.path}: project.qde has <{local(root.tag)}>, not "
                               "<Project>")
        where = f"{archive.path}: project.qde"
        users = {guid(u.get("guid"), f"{where}: user: "): (u.get("name") or "").strip()
                 for u in _all(root, "Users", "User")}
        book = child(root, "CodeBook")
        codes_element = child(book, "Codes") if book is not None else None
        codes = read_codes(codes_element, where) if codes_element is not None else []
        variables = {guid(v.get("guid"), f"{where}: variable: "):
                     ((v.get("name") or "").strip(), v.get("typeOfVariable") or "Text")
                     for v in _all(root, "Variables", "Variable")}
        sources = [_source(archive, element, where, variables)
                   for element in _all(root, "Sources", "TextSource")]
        skipped = [local(e.tag) for e in (child(root, "Sources") or [])
                   if local(e.tag) != "TextSource"]
        _cases(root, sources, variables, where)
        notes = {}
        for note in _all(root, "Notes", "Note"):
            text = _note_text(archive, note, where)
            notes[guid(note.get("guid"), f"{where}: note: ")] = (
                note.get("name") or "", text, note.get("creatingUser"),
                note.get("creationDateTime"))
        project_notes = [guid(r.get("targetGUID"), f"{where}: ")
                         for r in children(root, "NoteRef")]
        project = Project(root.get("origin") or "", users, codes, sources, notes, project_notes)
        project.skipped = skipped  # type: ignore[attr-defined]
        return project
    finally:
        archive.close()


def _all(root, section: str, name: str) -> list:
    holder = child(root, section)
    return children(holder, name) if holder is not None else []


def _source(archive: Archive, element, where: str, variables: dict) -> Source:
    name = (element.get("name") or "").strip() or element.get("guid")
    here = f"source {name!r}"
    raw = None
    content = child(element, "PlainTextContent")
    if content is not None and content.text:
        raw = content.text
    elif element.get("plainTextPath"):
        plain = element.get("plainTextPath")
        try:
            raw = _decode(archive.source(plain, here), f"{archive.path}: {plain}")
        except InteropError as exc:
            if "refused" in str(exc) or not element.get("richTextPath"):
                raise
    if raw is None and element.get("richTextPath"):
        raw = _docx_text(archive.source(element.get("richTextPath"), here),
                         f"{archive.path}: {element.get('richTextPath')}")
    if raw is None:
        raise InteropError(f"{where}: {here} has no text (no PlainTextContent, "
                           "plainTextPath or .docx)")
    source = Source(guid(element.get("guid"), f"{where}: {here}: "), name, raw,
                    [], created=element.get("creationDateTime"))
    impossible = []
    for selection in children(element, "PlainTextSelection"):
        try:
            start = int(selection.get("startPosition"))
            end = int(selection.get("endPosition"))
        except (TypeError, ValueError):
            raise InteropError(f"{where}: {here}: selection {selection.get('guid')!r} has no "
                               "whole-number startPosition/endPosition") from None
        if start < 0 or end < start:  # a damaged or hand-edited file: no guessing
            impossible.append(f"{selection.get('guid')} ({start}-{end}: "
                              + ("a negative position" if min(start, end) < 0
                                 else "ends before it starts") + ")")
            continue
        codings = []
        for coding in children(selection, "Coding"):
            ref = child(coding, "CodeRef")
            if ref is None:
                continue
            codings.append((guid(ref.get("targetGUID"), f"{where}: {here}: "),
                            coding.get("creatingUser"), coding.get("creationDateTime"),
                            [r.get("targetGUID") for r in children(coding, "NoteRef")]))
        source.selections.append(Selection(
            start, end, codings, selection.get("creatingUser"),
            selection.get("creationDateTime"),
            [r.get("targetGUID") for r in children(selection, "NoteRef")]))
    if impossible:
        raise InteropError(f"{where}: {here}: {len(impossible)} selection(s) with impossible "
                           f"offsets, nothing imported: {'; '.join(impossible[:10])}"
                           + (" …" if len(impossible) > 10 else ""))
    source.notes = [r.get("targetGUID") for r in children(element, "NoteRef")]
    source.attributes.update(_values(element, variables))
    return source


def _values(element, variables: dict) -> dict[str, tuple[str, str]]:
    out = {}
    for value in children(element, "VariableValue"):
        ref = child(value, "VariableRef")
        if ref is None:
            continue
        try:
            name, kind = variables.get(guid(ref.get("targetGUID")), ("", "Text"))
        except InteropError:
            continue
        data = [c for c in value if local(c.tag) != "VariableRef"]
        if name and data and data[0].text is not None:
            out[name] = (data[0].text.strip(), VARIABLE_KINDS.get(kind, "text"))
    return out


def _cases(root, sources: list[Source], variables: dict, where: str) -> None:
    """A Case's variable values become attributes of the sources it refers to (or of the
    source of the same name)."""
    by_guid = {s.guid: s for s in sources}
    by_name = {s.name: s for s in sources}
    for case in _all(root, "Cases", "Case"):
        values = _values(case, variables)
        targets = []
        for ref in children(case, "SourceRef"):
            try:
                found = by_guid.get(guid(ref.get("targetGUID")))
            except InteropError:
                found = None
            if found:
                targets.append(found)
        if not targets and case.get("name") in by_name:
            targets = [by_name[case.get("name")]]
        for source in targets:
            for key, value in values.items():
                source.attributes.setdefault(key, value)


def _decode(data: bytes, where: str) -> str:
    from qcode.ingest.decode import decode

    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text, _ = decode(data, where)
        except InputError as exc:
            raise InteropError(str(exc)) from None
        return text


def _docx_text(data: bytes, where: str) -> str:
    from qcode.ingest.readers import read_docx

    try:
        documents = read_docx(Path(where), data, "source", None)
    except InputError as exc:
        raise InteropError(str(exc)) from None
    return documents[0].text


def _note_text(archive: Archive, note, where: str) -> str:
    content = child(note, "PlainTextContent")
    if content is not None and content.text:
        return content.text
    if note.get("plainTextPath"):
        return _decode(archive.source(note.get("plainTextPath"), "note"), where)
    return ""


# -- writing ----------------------------------------------------------------------------

def import_project(db, path: str | Path, *, codebook_path: Path, coder: str,
                   speaker_pattern: str | None = None, default_language: str = "en"
                   ) -> ProjectImport:
    return import_parsed(db, read_project(path), path, codebook_path=codebook_path,
                         coder=coder, speaker_pattern=speaker_pattern,
                         default_language=default_language)


class _DryRun(Exception):
    """Raised inside the transaction to roll back a dry run."""


class _Unchanged(Exception):
    """Raised inside the transaction to roll back a merge that adds nothing."""


def _adds_anything(result: ProjectImport, prefer: str) -> bool:
    return bool(result.codings or result.memos or result.attributes or result.decisions
                or result.codes_added or result.revised
                or any(s.status == "added" for s in result.sources)
                or (prefer == "theirs" and result.conflicts))


def import_parsed(db, project: Project, path: str | Path, *, codebook_path: Path, coder: str,
                  speaker_pattern: str | None = None, default_language: str = "en",
                  merge: bool = False, prefer: str = "ours", dry_run: bool = False
                  ) -> ProjectImport:
    """Write a project read from any program (REFI-QDA, Taguette, QualCoder, another
    qcode project) into this one: the codes into the YAML codebook, the rest in one
    transaction. With *merge*, a document of the same name but other text is a conflict
    listed and skipped (not an error), and attribute values that differ are conflicts
    resolved by *prefer*. *dry_run* does everything, reports it and rolls it back."""
    from qcode.codebook.model import codebook_from_text
    from qcode.codebook.sync import sync
    from qcode.safeyaml import load_file
    from qcode.store import transaction

    result = ProjectImport(Path(path), project.origin or "unknown program", dry_run=dry_run)
    for kind in sorted(set(getattr(project, "skipped", []))):
        result.warnings.append(f"{kind} sources are not imported (qcode holds text only)")
    data = load_file(codebook_path).data if codebook_path.exists() else {}
    data = data if isinstance(data, dict) else {}
    data.setdefault("name", Path(path).stem)
    data["codes"] = data.get("codes") or []
    result.codes_added, paths_of = merge_codes(data["codes"], project.codes, result.warnings,
                                               conflicts=result.conflicts, prefer=prefer)
    text = render_yaml(data, header=f"# Codebook for qcode (codes merged from "
                                    f"{Path(path).name}, {result.origin}).\n")
    codebook = codebook_from_text(text, str(codebook_path))
    prepared = [_prepare(source, project.origin, result, speaker_pattern, default_language)
                for source in project.sources]
    if not dry_run and db.execute(
            "SELECT EXISTS (SELECT 1 FROM documents) OR EXISTS (SELECT 1 FROM codes)"
            ).fetchone()[0]:
        from qcode.store.backup import auto_backup

        # not pruned yet: a merge that adds nothing removes it again, older ones intact
        # (on a server too for a merge, the lead's: a file's worth of the team's work)
        result.backup = auto_backup(db, f"before import of {Path(path).name}", prune=False,
                                    on_server=merge)
    try:
        with transaction(db):
            sync(db, codebook, coder=coder)
            code_ids = {g: db.execute("SELECT id FROM codes WHERE path = ? AND status = "
                                      "'active'", [p]).fetchone()[0]
                        for g, p in paths_of.items()}
            _write(db, project, prepared, code_ids, coder, result, merge=merge, prefer=prefer)
            faults.point("project-import")
            if dry_run:
                raise _DryRun
            if merge and not _adds_anything(result, prefer):
                raise _Unchanged
    except _DryRun:
        return result
    except _Unchanged:  # merged before: no change, no log entry, no backup
        result.changed = False
        if result.backup:
            result.backup.unlink(missing_ok=True)
            result.backup = None
        return result
    finally:
        if result.backup and result.backup.exists():
            from qcode.store.backup import prune_backups

            prune_backups(result.backup.parent)
    if codebook_path.exists() and result.codes_added:
        shutil.copy2(codebook_path, codebook_path.with_name(codebook_path.name + ".bak"))
    with atomic_output(codebook_path, force=True) as f:
        f.write(text)
    low = [s for s in result.sources if s.codings and s.on_boundaries < LOW_SHARE]
    for s in low:
        result.warnings.append(f"{s.name}: only {s.on_boundaries:.0%} of its {s.codings} "
                               f"codings start and end on word boundaries ({s.convention}); "
                               "check a few against the other program")
    return result


def _prepare(source: Source, origin: str, result: ProjectImport, speaker_pattern,
             default_language):
    """Parse and segment outside the write lock; convert the offsets."""
    from qcode.ingest.importer import document_language, sha256
    from qcode.labels import cleaned

    where = str(result.path)
    source.name = (cleaned(source.name, "source name", where, result.warnings)
                   or f"source {source.guid[:8]}")
    source.attributes = {
        cleaned(k, "attribute name", where, result.warnings):
            (cleaned(v, f"attribute {k!r} value", where, result.warnings), kind)
        for k, (v, kind) in source.attributes.items()}
    from qcode.ingest.readers import _plain
    from qcode.ingest.segment import split_sentences

    text = offsets.stored_text(source.raw)
    spans = [(s.start, s.end) for s in source.selections]
    convention, mapping, share = offsets.choose(source.raw, text, spans, origin)
    placed = []
    for selection in source.selections:
        start, end = mapping(selection.start), mapping(selection.end)
        if start == end:
            result.warnings.append(f"{source.name}: selection {selection.start}-{selection.end} "
                                   "is empty; skipped")
            continue
        if not 0 <= start < end <= len(text):
            result.warnings.append(f"{source.name}: selection {selection.start}-{selection.end} "
                                   f"lies outside the text ({len(text)} characters); skipped")
            continue
        placed.append((start, end, selection))
    try:
        doc = _plain(Path(source.name), source.name, text, "qdpx", "utf-8", {},
                     speaker_pattern)
    except InputError:
        raise InteropError(f"{result.path}: source {source.name!r} has no text") from None
    language, said = document_language(doc.text, source.name, where,
                                       source.attributes.get("language", ("",))[0],
                                       default_language)
    result.warnings += said
    sentences = split_sentences(doc.text, doc.turns, language)
    report = SourceReport(source.name, convention, sum(len(s.codings) for _, _, s in placed),
                          share, "added")
    result.sources.append(report)
    return source, doc, sentences, language, sha256(doc.text), placed, report


def _write(db, project: Project, prepared, code_ids: dict[str, int], coder: str,
           result: ProjectImport, *, merge: bool = False, prefer: str = "ours") -> None:
    from qcode.ingest.importer import _store
    from qcode.store.records import coder_id, log_change

    importer = coder_id(db, coder)
    coders: dict[str | None, int] = {}
    named: dict[int, str] = {}  # coder id -> their name in the other project
    first_new = db.execute("SELECT coalesce(max(id), 0) FROM codings").fetchone()[0]

    def who(user: str | None) -> int:
        try:
            key = guid(user) if user else None
        except InteropError:
            key = None
        if key not in coders:
            name = project.users.get(key or "", "") if key else ""
            if key and not name:
                name = f"user-{key[:8]}"
            coders[key] = coder_id(db, name) if name else importer
            if name:
                named[coders[key]] = name
        return coders[key]

    stamp = now()
    origin = f"import:{(project.origin or 'REFI-QDA')[:60]}"
    memo_targets: list[tuple[str, dict]] = []
    for source, doc, sentences, language, digest, placed, report in prepared:
        found = db.execute("SELECT r.document_id, r.id FROM revisions r JOIN current_revisions c "
                           "ON c.id = r.id WHERE r.sha256 = ?", [digest]).fetchone()
        placer = None
        if found:
            document_id, revision_id = found
            report.status = "existing"
            if merge:
                _merge_attributes(db, document_id, source, result, prefer)
        elif merge and db.execute("SELECT 1 FROM documents WHERE name = ?",
                                  [source.name]).fetchone():
            from qcode.merge import reconcile

            placer = reconcile(db, source, doc, digest, result, prefer=prefer, coder=coder,
                               language=language)
            document_id, revision_id = placer.document_id, placer.revision_id
            report.status = "revised"
            _merge_attributes(db, document_id, source, result, prefer)
        else:
            if db.execute("SELECT 1 FROM documents WHERE name = ?", [source.name]).fetchone():
                raise InteropError(f"{result.path}: source {source.name!r}: the project has a "
                                   "document of that name with different text; nothing was "
                                   "imported")
            attributes = {k: v for k, (v, _) in source.attributes.items()}
            _store(db, doc, result.path, attributes, language, sentences, digest, importer)
            document_id, revision_id = db.execute(
                "SELECT d.id, r.id FROM documents d JOIN current_revisions r ON "
                "r.document_id = d.id WHERE d.name = ?", [source.name]).fetchone()
        for note in source.notes:
            memo_targets.append((note, {"target": "document", "document_id": document_id}))
        for start, end, selection in placed:
            if not selection.codings:  # notes on a passage: memos on it, where it is here
                spot = (placer.place(start, end, count=False) if placer
                        else (revision_id, start, end, 0))
                memo_targets += [(note, _on_passage(document_id, spot, source, doc.text[
                    start:end], result)) for note in selection.notes]
                continue
            spot = placer.place(start, end) if placer else (revision_id, start, end, 0)
            for code, user, created, notes, *kind in selection.codings:
                if code not in code_ids:
                    result.warnings.append(f"{source.name}: a coding refers to code {code}, "
                                           "which the codebook does not have; skipped")
                    continue
                if spot is None:
                    continue  # counted by the placer, reported with the document
                key = [*spot[:3], code_ids[code], who(user or selection.user)]
                cursor = db.execute(
                    "INSERT OR IGNORE INTO codings (document_id, revision_id, start, \"end\", "
                    "code_id, coder_id, origin, needs_review, created) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [document_id, *key, kind[0] if kind else origin, spot[3],
                     created or selection.created or stamp])
                if cursor.rowcount:
                    result.codings += 1
                    coding_id = cursor.lastrowid
                else:  # imported before (or coded the same way here): its memos go to it
                    coding_id = db.execute(
                        "SELECT id FROM codings WHERE revision_id = ? AND start = ? AND "
                        "\"end\" = ? AND code_id = ? AND coder_id = ?", key).fetchone()[0]
                for note in notes + selection.notes:
                    memo_targets.append((note, {"target": "coding", "coding_id": coding_id,
                                                "document_id": document_id}))
        if source.earlier:
            from qcode.merge import merge_earlier

            merge_earlier(db, source, document_id, code_ids, who, result)
        if source.earlier_notes:
            from qcode.merge import earlier_memo_targets

            memo_targets += earlier_memo_targets(db, source, document_id, result)
        if source.decisions:
            from qcode.merge import merge_decisions

            merge_decisions(db, source, document_id, placer, revision_id, code_ids, who,
                            result)
        if placer:
            placer.report(result)
    for top in project.codes:
        for _, node in top.walk():
            for note in node.notes:
                if node.guid in code_ids:
                    memo_targets.append((note, {"target": "code",
                                                "code_id": code_ids[node.guid]}))
    for note in project.project_notes:
        memo_targets.append((note, {"target": "project"}))
    referenced = {_guid_or_none(note) for note, _ in memo_targets}
    memo_targets += [(note, {"target": "project"}) for note in project.notes
                     if note not in referenced]
    for note, target in memo_targets:
        key = _guid_or_none(note)
        if key not in project.notes:
            continue
        title, text, user, created = project.notes[key]
        if not text.strip():
            continue
        # imported before (or written here): the same text on the same thing; for a memo
        # on a passage, on the same passage or (merged before passages were kept) on none
        same = ("SELECT 1 FROM memos WHERE text = ? AND target = ? AND coalesce(document_id, "
                "0) = ? AND coalesce(coding_id, 0) = ? AND coalesce(code_id, 0) = ?")
        params = [text, target["target"], target.get("document_id") or 0,
                  target.get("coding_id") or 0, target.get("code_id") or 0]
        if "start" in target:
            same += " AND (start IS NULL OR (revision_id = ? AND start = ? AND \"end\" = ?))"
            params += [target["revision_id"], target["start"], target["end"]]
        if db.execute(same, params).fetchone():
            continue
        db.execute("INSERT INTO memos (target, document_id, code_id, coding_id, revision_id, "
                   "start, \"end\", needs_review, coder_id, title, text, created, updated) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   [target["target"], target.get("document_id"), target.get("code_id"),
                    target.get("coding_id"), target.get("revision_id"), target.get("start"),
                    target.get("end"), target.get("needs_review", 0), who(user), title, text,
                    created or stamp, stamp])
        result.memos += 1
    # the coders named are those whose codings were added (not everyone the other side has)
    result.coders = [named[cid] for cid, in db.execute(
        "SELECT coder_id FROM codings WHERE id > ? GROUP BY coder_id ORDER BY min(id)",
        [first_new]) if cid in named]
    log_change(db, "import", "project", None, coder=importer,
               after={"file": str(result.path), "origin": result.origin,
                      "codings": result.codings, "memos": result.memos,
                      "decisions": result.decisions, "revised": result.revised,
                      "sources": [s.name for s in result.sources]})


def _on_passage(document_id: int, spot: tuple | None, source: Source, passage: str,
                result: ProjectImport) -> dict:
    """Where a memo on a passage goes: on the passage at *spot* (revision, start, end,
    needs_review), or, when it has no place in this project's text, on the document
    (said in the warnings: the memo is kept, its passage is not)."""
    if spot is None:
        quote = " ".join(passage.split())
        quote = quote if len(quote) <= 60 else quote[:59].rstrip() + "…"
        result.warnings.append(f"document {source.name!r}: a memo on their passage “{quote}”, "
                               "which has no place in our text, is merged as a memo on the "
                               "document")
        return {"target": "document", "document_id": document_id}
    revision, start, end, flagged = spot
    return {"target": "document", "document_id": document_id, "revision_id": revision,
            "start": start, "end": end, "needs_review": flagged}


def _merge_attributes(db, document_id: int, source: Source, result: ProjectImport,
                      prefer: str) -> None:
    from qcode.ingest.attributes import typed

    ours = dict(db.execute("SELECT key, value FROM attributes WHERE document_id = ?",
                           [document_id]).fetchall())
    for key, (value, _) in source.attributes.items():
        text, kind = typed(value)
        if key not in ours:
            db.execute("INSERT INTO attributes (document_id, key, value, type) VALUES "
                       "(?, ?, ?, ?)", [document_id, key, text, kind])
            result.attributes += 1
        elif ours[key] != text:
            result.conflicts.append(f"document {source.name!r}: attribute {key} is "
                                    f"{ours[key]!r} here, {text!r} there"
                                    + (" (theirs taken)" if prefer == "theirs" else
                                       " (ours kept)"))
            if prefer == "theirs":
                db.execute("UPDATE attributes SET value = ?, type = ? WHERE document_id = ? "
                           "AND key = ?", [text, kind, document_id, key])


def _guid_or_none(value: str | None) -> str | None:
    try:
        return guid(value)
    except InteropError:
        return None

"""`qcode merge OTHER`: bring another qcode project's work into this one.

Team members code copies of the same project on their own machines; the lead merges
them. OTHER (a project folder, its qcode.db, or a .qdpx) is read without changing it
and written through the same path as every project import (qcode.interop.qdpx_import):
documents matched by content hash, then by name; codes by GUID, then path; coders by
name. Nothing here is overwritten or deleted unless `--prefer theirs` resolves a
conflicting definition or attribute. Codings are never merged into one another: each
coder's stay theirs, and a coding already here (same place, code and coder) is not added
again, so merging twice adds nothing. A backup is taken first; the merge is one
transaction.

A document matched by name whose text differs goes through the revision mechanism
(qcode.revisions): when their text is one of our earlier revisions, their codings are
re-anchored to our current text; when our text is one of their earlier revisions, their
text becomes our next revision (our codings re-anchored) and theirs go onto it; when the
texts have diverged, ours is kept (``--prefer theirs`` takes theirs) and their codings
are re-anchored. What cannot be placed with confidence is flagged for review on the
revision it was made on, or, where this project does not have that revision, listed
and left out.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from qcode.errors import QcodeError
from qcode.interop.qdpx import derived_guid
from qcode.interop.qdpx_import import Decision, Project, ProjectImport, Selection, Source


def read_qcode(path: str | Path, key=None) -> Project:
    """Another qcode project (a folder or its database), read-only; an encrypted one
    with *key* (copies of a project share its key)."""
    path = Path(path).expanduser()
    database = path / "qcode.db" if path.is_dir() else path
    if not database.is_file():
        raise QcodeError(f"{path}: not a qcode project (no qcode.db)")
    from qcode.interop.sqlite_files import read_only
    from qcode.store.connection import Database

    with read_only(database, "qcode", {"documents", "revisions", "codes", "codings",
                                       "coders"}, key=key) as (conn, _):
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
                       "text, created, revision_id, start, \"end\" FROM memos ORDER BY id"
                       ).fetchall()
    current = dict(db.execute("SELECT document_id, id FROM current_revisions").fetchall())
    coding_notes = defaultdict(list)
    document_notes = defaultdict(list)
    passage_notes = defaultdict(list)  # memos on a passage of the current revision
    earlier_notes = defaultdict(lambda: defaultdict(list))  # ... left on an earlier one
    code_notes = defaultdict(list)
    project_notes = []
    for memo_id, target, document_id, code_id, coding_id, coder_id, title, text, created, \
            revision_id, start, end in memos:
        key = note(memo_id, title, text, coder_id, created)
        if target == "coding" and coding_id:
            coding_notes[coding_id].append(key)
        elif target == "document" and document_id and start is not None and revision_id:
            # a passage memo goes as REFI-QDA has it: a selection with a note, no coding
            if revision_id == current.get(document_id):
                passage_notes[document_id].append(
                    Selection(start, end, [], user.get(coder_id), created, [key]))
            else:
                earlier_notes[document_id][revision_id].append((start, end, key))
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
    history = defaultdict(list)
    for document_id, sha in db.execute("SELECT document_id, sha256 FROM revisions "
                                       "ORDER BY document_id, number"):
        history[document_id].append(sha)
    sources = []
    for document_id, name, revision_id, text, sha, created in db.execute(
            "SELECT d.id, d.name, r.id, r.text, r.sha256, d.created FROM documents d JOIN "
            "current_revisions r ON r.document_id = d.id ORDER BY d.name").fetchall():
        source = Source(derived_guid("source", sha, name), name, text, [],
                        attributes[document_id], document_notes[document_id], created,
                        history[document_id][:-1], _decisions(db, revision_id, code_guid, user),
                        _earlier(db, document_id, revision_id, code_guid, user),
                        _earlier_notes(db, earlier_notes[document_id]))
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
        source.selections += passage_notes[document_id]
        sources.append(source)
    return Project("qcode", users, nodes, sources, notes, project_notes)


def _earlier_notes(db, by_revision: dict[int, list[tuple]]) -> list:
    """Passage memos a revision left on an earlier revision (flagged for review), as
    (sha256 of that revision, its number, [(start, end, note key)])."""
    out = []
    for revision_id, rows in sorted(by_revision.items()):
        sha, number = db.execute("SELECT sha256, number FROM revisions WHERE id = ?",
                                 [revision_id]).fetchone()
        out.append((sha, number, rows))
    return out


def _earlier(db, document_id: int, revision_id: int, code_guid: dict, user: dict) -> list:
    """Codings a revision left on an earlier revision, flagged for review."""
    by_revision: dict[tuple[str, int], list[tuple]] = defaultdict(list)
    for sha, number, start, end, code_id, coder_id, created, origin in db.execute(
            "SELECT r.sha256, r.number, c.start, c.\"end\", c.code_id, c.coder_id, c.created, "
            "c.origin FROM codings c JOIN revisions r ON r.id = c.revision_id WHERE "
            "c.document_id = ? AND c.revision_id != ? ORDER BY r.number, c.start, c.id",
            [document_id, revision_id]):
        if code_id in code_guid:
            by_revision[(sha, number)].append((start, end, code_guid[code_id],
                                               user.get(coder_id), created, origin))
    return [(sha, number, rows) for (sha, number), rows in by_revision.items()]


def _decisions(db, revision_id: int, code_guid: dict, user: dict) -> list[Decision]:
    """The suggestions on *revision_id* a coder accepted or rejected (pending ones are
    not merged: `qcode suggest` makes them again)."""
    out = []
    has_evidence = any(r[1] == "evidence" for r in db.execute("PRAGMA table_info(suggestions)"))
    evidence = "s.evidence" if has_evidence else "'[]'"
    for row in db.query(
            f"SELECT {evidence} AS evidence, "
            "s.start, s.\"end\", s.code_id, s.score, s.suggester, s.rationale, s.status, "
            "s.decided_by, s.decided_at, s.created, c.start AS c_start, c.\"end\" AS c_end, "
            "c.code_id AS c_code, c.coder_id AS c_coder FROM suggestions s LEFT JOIN codings c "
            "ON c.id = s.coding_id WHERE s.revision_id = ? AND s.status != 'pending' "
            "ORDER BY s.start, s.\"end\", s.id", [revision_id]):
        if row["code_id"] not in code_guid:
            continue
        coding = None
        if row["c_start"] is not None and row["c_code"] in code_guid:
            coding = (row["c_start"], row["c_end"], code_guid[row["c_code"]],
                      user.get(row["c_coder"]))
        out.append(Decision(row["start"], row["end"], code_guid[row["code_id"]], row["score"],
                            row["suggester"], row["rationale"], row["status"],
                            user.get(row["decided_by"]), row["decided_at"], row["created"],
                            coding, row["evidence"]))
    return out


def read_other(path: str | Path, key=None) -> Project:
    """A qcode project folder or database, or a REFI-QDA .qdpx."""
    path = Path(path).expanduser()
    if path.suffix.lower() == ".qdpx":
        from qcode.interop.qdpx_import import read_project

        return read_project(path)
    return read_qcode(path, key)


def merge(db, other: str | Path, *, codebook_path: Path, coder: str, prefer: str = "ours",
          dry_run: bool = False, speaker_pattern: str | None = None,
          default_language: str = "en"):
    from qcode.interop.qdpx_import import import_parsed

    if prefer not in ("ours", "theirs"):
        raise QcodeError("--prefer is ours or theirs")
    other_path = Path(other).expanduser()
    if db.on_postgres:
        _check_lead(db)
        if db.home is not None and other_path.resolve() == Path(db.home).resolve():
            raise QcodeError(f"{other}: that is this project")
        here = None  # the project has no file of its own that OTHER could be
    else:
        here = db.execute("PRAGMA database_list").fetchone()[2]
    target = other_path / "qcode.db" if other_path.is_dir() else other_path
    if target.exists() and here and Path(here).resolve() == target.resolve():
        raise QcodeError(f"{other}: that is this project")
    if other_path.is_dir() and not target.exists() and _on_a_server(other_path):
        raise QcodeError(f"{other}: that project is on a PostgreSQL server (no qcode.db): "
                         "teammates share it directly; to merge it, merge a copy of it "
                         "(`qcode backup -o FILE` in it) or its .qdpx export")
    return import_parsed(db, read_other(other, db.key), other, codebook_path=codebook_path,
                         coder=coder, speaker_pattern=speaker_pattern,
                         default_language=default_language, merge=True, prefer=prefer,
                         dry_run=dry_run)


def _on_a_server(folder: Path) -> bool:
    from qcode.config import CONFIG_NAME, load_config

    try:
        return bool((folder / CONFIG_NAME).is_file()
                    and load_config(folder / CONFIG_NAME).database)
    except QcodeError:
        return False  # not readable as a project: read_qcode says what it is not


def _check_lead(db) -> None:
    """Merging into a shared project writes documents, codes and other coders' work:
    the project lead's or owner's, not a coder's (whose rights would refuse it halfway)."""
    from qcode.store.team import require_lead

    require_lead(db, "merging into a shared project adds documents, codes and other "
                 "coders' work, which")

# -- a document whose text differs on the two sides --------------------------------------


@dataclass
class Placer:
    """Where their codings and decisions on one document go in this project."""
    document: str
    document_id: int
    revision_id: int  # this project's current revision of the document
    anchorer: object | None  # qcode.anchor.Anchorer from their text; None: offsets hold
    fallback: int | None  # our earlier revision equal to their text: unsure places go there
    how: str
    conflict: bool
    counts: dict[str, int] = field(default_factory=dict)
    _seen: dict = field(default_factory=dict)
    _counted: set = field(default_factory=set)

    def place(self, start: int, end: int, *, count: bool = True
              ) -> tuple[int, int, int, int] | None:
        """(revision, start, end, needs_review) for their span, or None if it cannot be
        placed with confidence and there is no revision of theirs here to flag it on.
        Each span is counted once for the report, unless *count* is false (a memo's
        passage, which is kept even where it has no place)."""
        if self.anchorer is None:
            return self.revision_id, start, end, 0
        if (start, end) not in self._seen:
            found = self.anchorer.place(start, end)
            if found:
                self._seen[(start, end)] = (self.revision_id, found.start, found.end, 0), \
                    found.method
            elif self.fallback:
                self._seen[(start, end)] = (self.fallback, start, end, 1), "flagged"
            else:
                self._seen[(start, end)] = None, "not placed"
        spot, method = self._seen[(start, end)]
        if count and (start, end) not in self._counted:
            self._counted.add((start, end))
            self.counts[method] = self.counts.get(method, 0) + 1
        return spot

    def report(self, result: ProjectImport) -> None:
        line = f"document {self.document!r}: {self.how}"
        if self.counts:
            line += f"; their passages (coded or decided): {_counted(self.counts)}"
        result.revised.append(self.document)
        (result.conflicts if self.conflict else result.warnings).append(line)


def _counted(counts: dict[str, int]) -> str:
    order = ["exact", "search", "fuzzy", "flagged", "not placed"]
    words = {"exact": "moved exactly", "search": "found by search", "fuzzy": "found fuzzily",
             "flagged": "flagged for review", "not placed": "not placed (left out)"}
    return ", ".join(f"{counts[k]} {words[k]}" for k in order if counts.get(k)) or "none"


def reconcile(db, source: Source, doc, digest: str, result: ProjectImport, *, prefer: str,
              coder: str, language: str) -> Placer:
    """Decide, for a document of the same name with other text, where their work goes
    (see the module's docstring); stores their text as a new revision when it is newer."""
    from qcode.anchor import Anchorer
    from qcode.documents import resolve_document
    from qcode.revisions import revision_windows

    current = resolve_document(db, source.name)
    ours = db.execute("SELECT sha256 FROM revisions WHERE id = ?",
                      [current["revision_id"]]).fetchone()[0]
    earlier = db.execute("SELECT id, number, text FROM revisions WHERE document_id = ? AND "
                         "sha256 = ? ORDER BY number DESC LIMIT 1",
                         [current["id"], digest]).fetchone()
    if earlier:
        anchorer = Anchorer(earlier[2], current["text"],
                            revision_windows(db, current["revision_id"]))
        return Placer(source.name, current["id"], current["revision_id"], anchorer,
                      earlier[0], f"their text is this project's revision {earlier[1]}, "
                      f"ours is revision {current['revision']}: their codings re-anchored",
                      conflict=False)
    newer = ours in source.history
    if newer or prefer == "theirs":
        from qcode.ingest.importer import ImportOptions
        from qcode.revisions import revise

        moved = revise(db, current, doc, source=str(result.path), coder=coder,
                       options=ImportOptions(default_language=language),
                       note=f"merged from {result.path.name}", backup=False)
        how = ("their text is a newer revision of ours" if newer else
               "the texts differ; theirs taken (--prefer theirs)")
        how += (f": stored as revision {moved.revision}; this project's codings, memos and "
                f"suggestions re-anchored ({_counted(moved.counts())})")
        latest = resolve_document(db, source.name)
        return Placer(source.name, current["id"], latest["revision_id"], None, None, how,
                      conflict=not newer)
    anchorer = Anchorer(doc.text, current["text"], revision_windows(db, current["revision_id"]))
    return Placer(source.name, current["id"], current["revision_id"], anchorer, None,
                  "same name, different text, and neither is a revision of the other: ours "
                  "kept (--prefer theirs takes theirs), their codings re-anchored",
                  conflict=True)


def merge_earlier(db, source: Source, document_id: int, code_ids: dict[str, int], who,
                  result: ProjectImport) -> None:
    """Their codings flagged for review on an earlier revision go, still flagged, onto
    our revision with the same text; where we have no such revision they are listed."""
    for sha, number, rows in source.earlier:
        ours = db.execute("SELECT id FROM revisions WHERE document_id = ? AND sha256 = ?",
                          [document_id, sha]).fetchone()
        if ours is None:
            result.conflicts.append(
                f"document {source.name!r}: {len(rows)} of their codings wait for review on "
                f"their revision {number}, which this project does not have; not merged")
            continue
        for start, end, code, user, created, origin in rows:
            if code not in code_ids:
                continue
            cursor = db.execute(
                "INSERT OR IGNORE INTO codings (document_id, revision_id, start, \"end\", "
                "code_id, coder_id, origin, needs_review, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)",
                [document_id, ours[0], start, end, code_ids[code], who(user), origin, created])
            result.codings += cursor.rowcount


def earlier_memo_targets(db, source: Source, document_id: int, result: ProjectImport
                         ) -> list[tuple[str, dict]]:
    """Where their passage memos flagged for review on an earlier revision go: still
    flagged, onto our revision with the same text, as their codings (merge_earlier);
    where we have no such revision, onto the document (listed: the memo is kept, its
    passage is not)."""
    targets = []
    for sha, number, rows in source.earlier_notes:
        ours = db.execute("SELECT id FROM revisions WHERE document_id = ? AND sha256 = ?",
                          [document_id, sha]).fetchone()
        if ours is None:
            result.warnings.append(
                f"document {source.name!r}: {len(rows)} of their memos on a passage wait for "
                f"review on their revision {number}, which this project does not have; "
                "merged as memos on the document")
        for start, end, key in rows:
            target = {"target": "document", "document_id": document_id}
            if ours:
                target.update(revision_id=ours[0], start=start, end=end, needs_review=1)
            targets.append((key, target))
    return targets


# -- suggestion decisions ------------------------------------------------------------------


def merge_decisions(db, source: Source, document_id: int, placer: Placer | None,
                    revision_id: int, code_ids: dict[str, int], who, result: ProjectImport
                    ) -> None:
    """Their accepted and rejected suggestions: a pending one here takes their decision,
    a missing one is added as decided (the suggester's model learns from both); one
    decided the other way here is a conflict, ours kept."""
    from qcode.store.records import now

    def spot(start, end):
        return placer.place(start, end) if placer else (revision_id, start, end, 0)

    run_id = None
    for decision in source.decisions:
        where = spot(decision.start, decision.end)
        if decision.code not in code_ids or where is None:
            continue
        revision, start, end, flagged = where
        code = code_ids[decision.code]
        coding = None
        if decision.coding:
            c_start, c_end, c_code, c_user = decision.coding
            c_where = spot(c_start, c_end)
            row = c_where and c_code in code_ids and db.execute(
                "SELECT id FROM codings WHERE revision_id = ? AND start = ? AND \"end\" = ? "
                "AND code_id = ? AND coder_id = ?",
                [*c_where[:3], code_ids[c_code], who(c_user)]).fetchone()
            coding = row[0] if row else None
        if decision.status == "accepted" and coding is None:
            continue  # its coding was not merged (see the warnings above)
        here = db.execute("SELECT id, status FROM suggestions WHERE revision_id = ? AND "
                          "start = ? AND \"end\" = ? AND code_id = ? ORDER BY id",
                          [revision, start, end, code]).fetchall()
        statuses = {status for _, status in here}
        if decision.status in statuses:
            continue  # decided the same way here (or merged before)
        decider = who(decision.user)
        pending = [sid for sid, status in here if status == "pending"]
        if pending:
            db.execute("UPDATE suggestions SET status = ?, decided_by = ?, decided_at = ?, "
                       "coding_id = ? WHERE id = ?",
                       [decision.status, decider, decision.decided_at or now(), coding,
                        pending[0]])
        elif here:
            result.conflicts.append(
                f"document {source.name!r}: a suggestion of code {decision.code} at "
                f"{start}-{end} is {here[0][1]} here, {decision.status} there (ours kept)")
            continue
        else:
            if run_id is None:
                run_id = _merge_run(db, result)
            db.execute("INSERT OR IGNORE INTO suggestions (run_id, document_id, revision_id, "
                       "start, \"end\", code_id, score, suggester, rationale, status, "
                       "decided_by, decided_at, coding_id, needs_review, created, evidence) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       [run_id, document_id, revision, start, end, code, decision.score,
                        decision.suggester, decision.rationale, decision.status, decider,
                        decision.decided_at or now(), coding, flagged, decision.created,
                        decision.evidence])
        result.decisions += 1


def _merge_run(db, result: ProjectImport) -> int:
    """The run that suggestions added by this merge belong to."""
    from qcode.store.records import now

    stamp = now()
    return db.execute("INSERT INTO runs (kind, params, status, started, finished, summary) "
                      "VALUES ('merge', ?, 'done', ?, ?, ?)",
                      [json.dumps({"from": str(result.path)}), stamp, stamp,
                       "suggestion decisions merged from another copy"]).lastrowid

"""Apply a codebook YAML to the store: add, update, rename, revive, merge, retire.

Codes keep their identity (row id and GUID) across renames, so codings follow them.
A code that disappears from the YAML is retired, never deleted; a code with
``merged_into`` hands its codings to the target and is marked merged.
The plan is computed and applied inside one ``BEGIN IMMEDIATE`` transaction.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field

from qcode import faults
from qcode.codebook.model import Codebook, FlatCode
from qcode.store import transaction
from qcode.store.records import coder_id, log_change, now

FIELDS = ("name", "description", "include", "exclude", "examples", "color", "key",
          "patterns", "exclude_patterns", "negated", "position")


@dataclass
class Change:
    action: str  # add | update | rename | revive | merge | retire
    path: str
    old_path: str | None = None
    fields: list[str] = field(default_factory=list)
    codings_moved: int = 0

    def describe(self) -> str:
        if self.action == "rename":
            extra = f" (also {', '.join(self.fields)})" if self.fields else ""
            return f"{self.old_path} -> {self.path}{extra}"
        if self.action == "update":
            return f"{self.path}: {', '.join(self.fields)}"
        if self.action == "merge":
            return f"{self.old_path} -> {self.path} ({self.codings_moved} codings)"
        return self.path


@dataclass
class SyncResult:
    changes: list[Change]
    version_id: int | None = None
    dry_run: bool = False

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for change in self.changes:
            out[change.action] = out.get(change.action, 0) + 1
        return out


def _row_values(code: FlatCode) -> dict:
    spec = code.spec
    return {
        "name": spec.name,
        "description": spec.description,
        "include": "\n".join(spec.include),
        "exclude": "\n".join(spec.exclude),
        "examples": json.dumps(spec.examples, ensure_ascii=False),
        "color": spec.color.lower() if spec.color else None,
        "key": spec.key,
        "patterns": _patterns_json(spec.patterns),
        "exclude_patterns": _patterns_json(spec.exclude_patterns),
        "negated": spec.negated,
        "position": code.position,
    }


def _patterns_json(patterns) -> str:
    """A list, or {language: list} for patterns given per language."""
    if isinstance(patterns, dict):
        if not any(patterns.values()):
            return "[]"
        return json.dumps({language: [_plain(p) for p in items]
                           for language, items in patterns.items()}, ensure_ascii=False)
    return json.dumps([_plain(p) for p in patterns], ensure_ascii=False)


def _plain(pattern):
    return pattern if isinstance(pattern, str) else pattern.model_dump(exclude_none=True)


@dataclass
class _Match:
    code: FlatCode
    row: dict | None  # existing store row, or None for a new code


def _match(codebook: Codebook, rows: list[dict]) -> tuple[list[_Match], list[dict]]:
    """Pair every YAML code with its store row; returns the pairs and unclaimed rows."""
    by_guid = {r["guid"]: r for r in rows}
    active_by_path = {r["path"]: r for r in rows if r["status"] == "active"}
    any_by_path: dict[str, dict] = {}
    for r in sorted(rows, key=lambda r: r["status"] != "active"):
        any_by_path.setdefault(r["path"], r)
    claimed: set[int] = set()
    pairs = []

    def claim(row):
        if row is not None and row["id"] not in claimed:
            claimed.add(row["id"])
            return row
        return None

    for code in codebook.codes:
        row = None
        if code.spec.guid:
            row = claim(by_guid.get(code.spec.guid))
        row = row or claim(active_by_path.get(code.path))
        for old in code.old_paths:
            row = row or claim(active_by_path.get(old))
        row = row or claim(any_by_path.get(code.path))
        for old in code.old_paths:
            row = row or claim(any_by_path.get(old))
        row = row or claim(by_guid.get(code.default_guid))
        pairs.append(_Match(code, row))
    unclaimed = [r for r in rows if r["id"] not in claimed and r["status"] == "active"]
    return pairs, unclaimed


def plan(db, codebook: Codebook) -> tuple[list[Change], list[_Match], list[dict]]:
    rows = [dict(r) for r in db.query("SELECT * FROM codes ORDER BY id")]
    path_of = {r["id"]: r["path"] for r in rows}
    pairs, unclaimed = _match(codebook, rows)
    changes = []
    for pair in pairs:
        code, row = pair.code, pair.row
        if code.spec.merged_into:
            if row is not None and row["status"] != "merged":
                moved = db.execute("SELECT count(*) FROM codings WHERE code_id = ?",
                                   [row["id"]]).fetchone()[0]
                changes.append(Change("merge", code.spec.merged_into, row["path"],
                                      codings_moved=moved))
            continue
        if row is None:
            changes.append(Change("add", code.path))
            continue
        values = _row_values(code)
        differs = [f for f in FIELDS if f != "position" and row[f] != values[f]]
        parent_moved = path_of.get(row["parent_id"]) != code.parent
        if row["status"] != "active":
            changes.append(Change("revive", code.path, row["path"], differs))
        elif row["path"] != code.path or parent_moved:
            changes.append(Change("rename", code.path, row["path"],
                                  [f for f in differs if f != "name"]))
        elif differs or row["position"] != values["position"]:
            if differs:
                changes.append(Change("update", code.path, fields=differs))
    for row in unclaimed:
        changes.append(Change("retire", row["path"]))
    return changes, pairs, unclaimed


def sync(db, codebook: Codebook, *, coder: str | None = None, dry_run: bool = False) -> SyncResult:
    if dry_run:
        changes, _, _ = plan(db, codebook)
        return SyncResult(changes, dry_run=True)
    if not db.conn.in_transaction and any(
            c.action in ("retire", "merge") for c in plan(db, codebook)[0]):
        from qcode.store.backup import auto_backup

        auto_backup(db, "before codebook sync")  # retiring or merging codes moves codings
    with transaction(db):
        changes, pairs, unclaimed = plan(db, codebook)
        who = coder_id(db, coder) if coder else None
        batch = str(uuid.uuid4())
        version_id = _record_version(db, codebook, changes)
        _apply(db, pairs, unclaimed, who, batch, version_id)
        faults.point("codebook-sync")
    return SyncResult(changes, version_id)


def _record_version(db, codebook: Codebook, changes: list[Change]) -> int:
    digest = hashlib.sha256(codebook.text.encode("utf-8")).hexdigest()
    last = db.execute("SELECT id, sha256 FROM codebook_versions ORDER BY id DESC LIMIT 1"
                      ).fetchone()
    if last and last[1] == digest and not changes:
        return last[0]
    summary = {c.action: 0 for c in changes}
    for c in changes:
        summary[c.action] += 1
    return db.execute(
        "INSERT INTO codebook_versions (sha256, source_path, yaml, summary, created) "
        "VALUES (?, ?, ?, ?, ?)",
        [digest, codebook.source, codebook.text, json.dumps(summary), now()]).lastrowid


def _apply(db, pairs: list[_Match], unclaimed: list[dict], who, batch, version_id) -> None:
    stamp = now()
    # 1. retire what disappeared, and move paths that change out of the way, so a swap
    #    of two names never trips the unique index on active paths.
    for row in unclaimed:
        db.execute("UPDATE codes SET status = 'retired', updated = ? WHERE id = ?",
                   [stamp, row["id"]])
        log_change(db, "retire", "code", row["id"], coder=who, before={"path": row["path"]},
                   batch=batch)
    for pair in pairs:
        if pair.row is not None and not pair.code.spec.merged_into \
                and pair.row["path"] != pair.code.path:
            db.execute("UPDATE codes SET path = ? WHERE id = ?",
                       [f"\x01moving\x01{pair.row['id']}", pair.row["id"]])
    # 2. add and update, parents first (YAML order), so parent ids exist.
    ids: dict[str, int] = {}
    for pair in pairs:
        if pair.code.spec.merged_into:
            continue
        code, row = pair.code, pair.row
        values = _row_values(code)
        values.update(path=code.path, parent_id=ids.get(code.parent) if code.parent else None,
                      status="active", merged_into_id=None, updated=stamp,
                      codebook_version_id=version_id)
        if row is None:
            guid = code.default_guid
            if db.execute("SELECT 1 FROM codes WHERE guid = ?", [guid]).fetchone():
                guid = str(uuid.uuid4())  # the path-derived GUID went with a renamed code
            values.update(guid=guid, created=stamp)
            ids[code.path] = db["codes"].insert(values).last_pk
            log_change(db, "add", "code", ids[code.path], coder=who,
                       after={"path": code.path, "guid": guid}, batch=batch)
        else:
            ids[code.path] = row["id"]
            before = {k: row[k] for k in values if k in row and row[k] != values[k]
                      and k not in ("updated", "codebook_version_id")}
            if before:
                db["codes"].update(row["id"], values)
                log_change(db, "update", "code", row["id"], coder=who, before=before,
                           after={k: values[k] for k in before}, batch=batch)
            elif row["position"] != values["position"]:
                db.execute("UPDATE codes SET position = ? WHERE id = ?",
                           [values["position"], row["id"]])
    # 3. merges: codings (and pending suggestions) move to the target code.
    for pair in pairs:
        target = pair.code.spec.merged_into
        if not target or pair.row is None or pair.row["status"] == "merged":
            continue
        _merge(db, pair.row, ids[target], who, batch, stamp)


def _merge(db, row: dict, target_id: int, who, batch, stamp) -> None:
    source_id = row["id"]
    # A coding identical to one the same coder already made with the target is folded
    # into it; the log keeps the row so the merge can be undone.
    duplicates = list(db.query(
        "SELECT s.* FROM codings s JOIN codings t ON t.revision_id = s.revision_id "
        "AND t.start = s.start AND t.\"end\" = s.\"end\" AND t.coder_id = s.coder_id "
        "AND t.code_id = ? WHERE s.code_id = ?", [target_id, source_id]))
    for dup in duplicates:
        db.execute("UPDATE memos SET coding_id = (SELECT id FROM codings WHERE revision_id = ? "
                   "AND start = ? AND \"end\" = ? AND coder_id = ? AND code_id = ?) "
                   "WHERE coding_id = ?", [dup["revision_id"], dup["start"], dup["end"],
                                           dup["coder_id"], target_id, dup["id"]])
        db.execute("DELETE FROM codings WHERE id = ?", [dup["id"]])
        log_change(db, "fold", "coding", dup["id"], coder=who, before=dup,
                   after={"code_id": target_id}, batch=batch)
    moved = db.execute("UPDATE codings SET code_id = ? WHERE code_id = ?",
                       [target_id, source_id]).rowcount
    # pending suggestions follow, except where the same one of the target exists already
    db.execute("UPDATE suggestions SET code_id = ? WHERE code_id = ? AND status = 'pending' "
               "AND NOT EXISTS (SELECT 1 FROM suggestions t WHERE t.code_id = ? AND "
               "t.run_id = suggestions.run_id AND t.revision_id = suggestions.revision_id AND "
               "t.start = suggestions.start AND t.\"end\" = suggestions.\"end\" AND "
               "t.suggester = suggestions.suggester)", [target_id, source_id, target_id])
    db.execute("UPDATE codes SET status = 'merged', merged_into_id = ?, updated = ? WHERE id = ?",
               [target_id, stamp, source_id])
    log_change(db, "merge", "code", source_id, coder=who, before={"path": row["path"]},
               after={"merged_into_id": target_id, "codings_moved": moved}, batch=batch)

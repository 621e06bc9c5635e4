"""Pseudonymising transcripts: find names for review, then replace them.

`scan` proposes names: speaker labels, capitalised words and phrases that are not at
the start of a sentence and never appear in lower case (so ordinary words are left
out), and, when the project names an installed spaCy model, its PERSON/ORG/place
entities. It writes a names file (YAML, ``real: pseudonym``) to review and edit.

`apply` replaces every listed name, as a whole word, in each transcript that has one:
one new revision per transcript, so codings, memos and suggestions follow the text
(qcode.revisions); the reasons and evidence of suggestions are pseudonymised too, and
trained models are removed (their vocabulary holds the transcripts' words: train again).
Earlier revisions of those transcripts still hold the real names;
unless told to keep them, their text is then removed (a revision nothing points to is
deleted), SQLite overwrites freed pages (secure_delete) and the write-ahead log is
truncated, so the old text does not linger in the files. Everything is one transaction.

`pseudonymize` does the same replacement on exported text only.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from qcode.errors import InputError, QcodeError

_CAPITALISED = re.compile(r"\b[A-ZА-ЯЁ][a-zа-яё]+(?:[ -][A-ZА-ЯЁ][a-zа-яё]+)*\b")
_SENTENCE_START = re.compile(r"(?:^|[.!?…:;]\s+|\n\s*|[\"«“(]\s*)$")
ENTITY_LABELS = {"PERSON", "PER", "ORG", "GPE", "LOC", "FAC", "NORP"}
# speaker labels that name a role, not a person
ROLES = {"interviewer", "respondent", "moderator", "participant", "speaker", "q", "a",
         "интервьюер", "респондент", "вопрос", "ответ", "модератор", "участник"}


@dataclass
class Candidate:
    name: str
    count: int
    documents: int
    why: str


def scan(db, *, model: str | None = None, language: str = "en") -> list[Candidate]:
    texts = db.execute("SELECT d.name, r.text FROM documents d JOIN current_revisions r ON "
                       "r.document_id = d.id ORDER BY d.name").fetchall()
    lower_words = Counter(w for _, text in texts for w in re.findall(r"\b[a-zа-яё]+\b", text))
    found: dict[str, Counter] = defaultdict(Counter)  # name -> documents
    why: dict[str, str] = {}
    for name, in db.execute("SELECT DISTINCT sp.name FROM speakers sp JOIN segments s ON "
                            "s.speaker_id = sp.id JOIN current_revisions r ON "
                            "r.id = s.revision_id").fetchall():
        if name.lower() not in ROLES and len(name) > 1:
            why[name] = "speaker"
    for document, text in texts:
        for match in _CAPITALISED.finditer(text):
            words = match.group().split()
            if _SENTENCE_START.search(text[max(0, match.start() - 3):match.start()]):
                while words and words[0].lower() in lower_words:
                    words = words[1:]  # "In November" at a sentence start: "November"
                if len(words) == len(match.group().split()) and len(words) == 1:
                    continue  # a capitalised first word says nothing on its own
            name = " ".join(words)
            ordinary = all(w.lower() in lower_words for w in re.split(r"[ -]", name or "x"))
            if not name or name.lower() in ROLES or ordinary:
                continue  # a role, or an ordinary word that also occurs in lower case
            found[name][document] += 1
            why.setdefault(name, "capitalised")
        for name in [n for n, w in why.items() if w == "speaker"]:
            hits = len(re.findall(rf"(?<!\w){re.escape(name)}(?!\w)", text))
            if hits:
                found[name][document] += hits
    if model:
        for name, document in _entities(texts, model, language):
            found[name][document] += 1
            why.setdefault(name, "entity")
    return sorted((Candidate(name, sum(docs.values()), len(docs), why[name])
                   for name, docs in found.items()), key=lambda c: (-c.count, c.name))


def _entities(texts, model: str, language: str):
    from qcode.nlp.pipeline import analyzer

    nlp = analyzer(language, model).nlp
    if "ner" not in nlp.pipe_names:
        return
    for document, text in texts:
        for ent in nlp(text).ents:
            if ent.label_ in ENTITY_LABELS:
                yield ent.text, document


def render_names(candidates: list[Candidate]) -> str:
    lines = ["# qcode anonymize: names found in the transcripts. Review every line:",
             "# keep the ones to replace (edit the pseudonym), delete the others, add any",
             "# that were missed. Then: qcode anonymize apply THIS-FILE",
             "# Keep this file as safe as the transcripts: it links names to pseudonyms.",
             "names:"]
    people = places = 0
    for c in candidates:
        if c.why == "speaker" or c.why == "capitalised":
            people += 1
            pseudonym = f"Person {people}"
        else:
            places += 1
            pseudonym = f"Name {places}"
        lines.append(f"  {_quote(c.name)}: {_quote(pseudonym)}  "
                     f"# {c.count} time(s) in {c.documents} document(s), {c.why}")
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def load_names(path: str | Path) -> dict[str, str]:
    from qcode.safeyaml import load_file

    doc = load_file(path)
    data = doc.data.get("names") if isinstance(doc.data, dict) else None
    if not isinstance(data, dict) or not data:
        raise InputError(path, "expected a mapping 'names:' of real name -> pseudonym")
    names = {}
    for real, pseudonym in data.items():
        line = doc.line_of(("names", real))
        if not isinstance(real, str) or not real.strip() or not isinstance(pseudonym, str):
            raise InputError(path, f"{real!r}: names and pseudonyms must be text", line=line)
        if real.strip() in pseudonym:
            raise InputError(path, f"{real!r}: the pseudonym contains the name itself",
                             line=line)
        names[real.strip()] = pseudonym.strip()
    return names


def _pattern(names: dict[str, str]) -> re.Pattern:
    return re.compile("|".join(rf"(?<!\w){re.escape(n)}(?!\w)"
                               for n in sorted(names, key=len, reverse=True)))


def pseudonymize(text: str, names: dict[str, str]) -> str:
    """Replace each name as a whole word, longest first (so 'Anna Ivanova' wins over
    'Anna')."""
    if not names:
        return text
    return _pattern(names).sub(lambda m: names[m.group()], text)


class Replacements:
    """Where offsets go when names are replaced: exactly, since every edit is known. A
    span keeps its ends outside replaced names; an end inside one moves to that
    pseudonym's edge. (The anchorer interface of qcode.revisions.)"""

    def __init__(self, text: str, names: dict[str, str]):
        self.edits = []  # (old start, old end, new start, new end)
        shift = 0
        for match in _pattern(names).finditer(text):
            new = names[match.group()]
            self.edits.append((match.start(), match.end(), match.start() + shift,
                               match.start() + shift + len(new)))
            shift += len(new) - (match.end() - match.start())

    def _map(self, offset: int, *, end: bool) -> int:
        shift = 0
        for old_start, old_end, new_start, new_end in self.edits:
            if old_start < offset < old_end:  # inside a name: to the pseudonym's edge
                return new_end if end else new_start
            if offset <= old_start:
                break
            shift = new_end - old_end
        return offset + shift

    def place(self, start: int, end: int):
        from qcode.anchor import Placement

        a, b = self._map(start, end=False), self._map(end, end=True)
        return Placement(a, b, "exact") if a < b else None


@dataclass
class ApplyResult:
    documents: list[str] = field(default_factory=list)
    replaced: int = 0
    flagged: int = 0
    purged: int = 0
    kept: list[str] = field(default_factory=list)  # revisions kept: something points there
    backup: Path | None = None
    memos: int = 0  # memos whose title or text held a name
    log_entries: int = 0  # change-log entries whose recorded values held a name
    suggestions: int = 0  # suggestions whose reasons quoted a name
    models: int = 0  # trained models removed: their vocabulary holds the transcripts' words
    swept: int = 0  # temporary folders of killed exports removed (qcode.export.files)


def apply(db, names: dict[str, str], *, coder: str, keep_history: bool = False,
          options=None) -> ApplyResult:
    from qcode.documents import resolve_document
    from qcode.ingest.importer import ImportOptions
    from qcode.ingest.readers import _plain
    from qcode.revisions import revise
    from qcode.store import transaction
    from qcode.store.backup import auto_backup

    options = options or ImportOptions()
    result = ApplyResult()
    if not names:
        return result
    targets = []
    for (name,) in db.execute("SELECT name FROM documents ORDER BY name").fetchall():
        current = resolve_document(db, name)
        new_text = pseudonymize(current["text"], names)
        if new_text != current["text"]:
            result.replaced += sum(len(re.findall(rf"(?<!\w){re.escape(n)}(?!\w)",
                                                  current["text"])) for n in names)
            parsed = _plain(Path(name), name, new_text, "anonymized", "utf-8", {},
                            options.speaker_pattern)
            targets.append((current, parsed))
    pattern = _pattern(names)
    memos = [(i, t, x) for i, t, x in db.execute("SELECT id, title, text FROM memos")
             if pattern.search(t) or pattern.search(x)]
    if not targets and not memos:
        return result
    result.backup = auto_backup(db, "before anonymize")
    with transaction(db):
        if memos:
            _pseudonymize_memos(db, memos, names, coder, result)
        for current, parsed in targets:
            revision = revise(db, current, parsed, source="qcode anonymize", options=options,
                              coder=coder, note="names replaced by qcode anonymize",
                              backup=False, anchorer=Replacements(current["text"], names))
            result.documents.append(current["name"])
            result.flagged += len(revision.flagged)
            if not keep_history:
                _purge_history(db, current["id"], result)
        _forget_speakers(db)
        _pseudonymize_suggestions(db, names, result)
        result.models = db.execute("DELETE FROM models").rowcount
        if not keep_history:
            _scrub_log(db, names, result)
    if not keep_history:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        from qcode.export.files import sweep_scratch

        result.swept = sweep_scratch()  # a killed export's temporary sheets hold real names
    return result


def _pseudonymize_suggestions(db, names: dict[str, str], result: ApplyResult) -> None:
    """A suggestion's reasons quote the text ("matched “Ivan Petrov”") and its evidence
    names the words that drove the model: both get the pseudonyms."""
    pattern = _pattern(names)
    for suggestion_id, rationale, evidence in db.execute(
            "SELECT id, rationale, evidence FROM suggestions").fetchall():
        if pattern.search(rationale) or pattern.search(evidence):
            db.execute("UPDATE suggestions SET rationale = ?, evidence = ? WHERE id = ?",
                       [pseudonymize(rationale, names), pseudonymize(evidence, names),
                        suggestion_id])
            result.suggestions += 1


def _purge_history(db, document_id: int, result: ApplyResult) -> None:
    """Delete the earlier revisions of a document that nothing points to any more."""
    rows = db.execute("SELECT r.id, r.number FROM revisions r WHERE r.document_id = ? AND "
                      "r.id != (SELECT id FROM current_revisions WHERE document_id = ?)",
                      [document_id, document_id]).fetchall()
    for revision_id, number in rows:
        used = db.execute(
            "SELECT (SELECT count(*) FROM codings WHERE revision_id = ?) + "
            "(SELECT count(*) FROM suggestions WHERE revision_id = ?) + "
            "(SELECT count(*) FROM memos WHERE revision_id = ?)",
            [revision_id] * 3).fetchone()[0]
        if used:
            name = db.execute("SELECT name FROM documents WHERE id = ?",
                              [document_id]).fetchone()[0]
            result.kept.append(f"{name} revision {number} ({used} flagged item(s) still on it)")
            continue
        db.execute("DELETE FROM run_items WHERE revision_id = ?", [revision_id])  # bookkeeping
        db.execute("DELETE FROM revisions WHERE id = ?", [revision_id])
        result.purged += 1


def _pseudonymize_memos(db, memos, names: dict[str, str], coder: str,
                        result: ApplyResult) -> None:
    """Names in memos (researchers write them too) are replaced in place; the log says
    that they were, not what they were."""
    from qcode.coding import new_batch
    from qcode.store.records import coder_id, log_change, now

    who, batch = coder_id(db, coder), new_batch()
    for memo_id, title, text in memos:
        db.execute("UPDATE memos SET title = ?, text = ?, updated = ? WHERE id = ?",
                   [pseudonymize(title, names), pseudonymize(text, names), now(), memo_id])
        log_change(db, "anonymize", "memo", memo_id, coder=who, batch=batch,
                   after={"names": "replaced"})
        result.memos += 1


def _scrub_log(db, names: dict[str, str], result: ApplyResult) -> None:
    """The change log records the values it changed (a memo's earlier text, a removed
    coding's memo): replace the names there too. The log is otherwise append-only; its
    guard is lifted for this one statement's duration, inside the transaction."""
    import json

    pattern = _pattern(names)

    def scrub(value):
        if isinstance(value, str):
            return pseudonymize(value, names)
        if isinstance(value, list):
            return [scrub(v) for v in value]
        if isinstance(value, dict):
            return {scrub(k): scrub(v) for k, v in value.items()}
        return value

    changed = []
    for entry_id, before, after in db.execute("SELECT id, before, after FROM changes"):
        if (before and pattern.search(before)) or (after and pattern.search(after)):
            changed.append([None if v is None else json.dumps(
                scrub(json.loads(v)), ensure_ascii=False, default=str)
                for v in (before, after)] + [entry_id])
    if not changed:
        return
    guard = db.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = "
                       "'changes_append_only_update'").fetchone()[0]
    db.execute("DROP TRIGGER changes_append_only_update")
    db.conn.executemany("UPDATE changes SET before = ?, after = ? WHERE id = ?", changed)
    db.execute(guard)
    result.log_entries = len(changed)


def _forget_speakers(db) -> None:
    db.execute("DELETE FROM speakers WHERE id NOT IN (SELECT speaker_id FROM segments WHERE "
               "speaker_id IS NOT NULL)")


def check_names_file(path: str | Path) -> None:
    if not Path(path).is_file():
        raise QcodeError(f"{path}: no such names file; make one with qcode anonymize scan")

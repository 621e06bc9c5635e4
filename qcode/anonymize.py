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
On a PostgreSQL server only the project's owner may apply it; afterwards every table is
rewritten into new files (VACUUM FULL), which leaves the server's write-ahead log, its
archives and backups to its administrator.

`pseudonymize` does the same replacement on exported text only.

Russian names change with their case: a name listed as "Иван Петрович Сидоров" is also
found as "Ивана Петровича Сидорова", "Ивану Петровичу Сидорову", … and a pseudonym
written in Cyrillic is put in the same case ("Петру Ильичу"); a Latin one stays as it is.
`scan` counts such forms under one name.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from qcode.errors import InputError, QcodeError, StoreError

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
    _fold_cases(found)
    return sorted((Candidate(name, sum(docs.values()), len(docs), why[name])
                   for name, docs in found.items()), key=lambda c: (-c.count, c.name))


def _fold_cases(found: dict[str, Counter]) -> None:
    """Count "Ивану Петровичу" under "Иван Петрович": the shortest form of a Russian
    name found takes in the others (apply replaces them all)."""
    for name in sorted(found, key=lambda n: (len(n), -sum(found[n].values()), n)):
        if name not in found:
            continue
        for form in {f for forms in case_forms(name).values() for f in forms} - {name}:
            if form in found:
                found[name].update(found.pop(form))


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


_CYRILLIC_WORD = re.compile(r"[А-ЯЁа-яё]+(?:-[А-ЯЁа-яё]+)*")
CASES = ("nom", "gen", "dat", "acc", "ins", "prep")
# first names that end like surnames (-ина, -ин) but decline like nouns
_FIRST_NAMES = {"марина", "галина", "ирина", "екатерина", "алина", "кристина", "полина",
                "нина", "регина", "карина", "валентина", "ангелина", "арина", "альбина",
                "зарина", "дина", "элина", "константин", "валентин", "вениамин", "мартин"}


_FLEETING = {"пётр": "петр", "павел": "павл", "лев": "льв"}  # a vowel lost in the other cases


def _declined(word: str) -> dict[str, list[str]]:
    """The case forms of one Russian name word (first name, patronymic or surname), the
    likeliest first; {} for a word that does not decline ("Шевченко") or is not
    Cyrillic. Rules by ending, as Russian grammar gives them for names."""
    if "-" in word:  # Петров-Водкин: each part
        parts = [_declined(p) or {c: [p] for c in CASES} for p in word.split("-")]
        return {c: ["-".join(p[c][0] for p in parts)] for c in CASES}
    low = word.lower()
    if not _CYRILLIC_WORD.fullmatch(word) or len(word) < 2:
        return {}

    def forms(stem: str, *endings) -> dict[str, list[str]]:
        return {case: [stem + e for e in (ending if isinstance(ending, tuple) else (ending,))]
                for case, ending in zip(CASES, ("", *endings), strict=True)}

    def both(first: dict, second: dict) -> dict[str, list[str]]:
        return {c: list(dict.fromkeys(first[c] + second[c])) for c in CASES}

    hard = low[-2:-1] in set("гкхжчшщ") if len(low) > 1 else False
    if low.endswith(("ович", "евич", "ич")):  # patronymic, and Сербич-like surnames
        out = forms(word, "а", "у", "а", "ем", "е")
    elif low.endswith(("овна", "евна", "ична", "инична")):
        out = forms(word[:-1], "ы", "е", "у", ("ой", "ою"), "е")
        out["nom"] = [word]
    elif low.endswith(("ский", "цкий", "ской")):
        out = forms(word[:-2], "ого", "ому", "ого", "им", "ом")
        out["nom"] = [word]
    elif low.endswith(("ская", "цкая")):
        out = forms(word[:-2], "ой", "ой", "ую", "ой", "ой")
        out["nom"] = [word]
    elif low.endswith(("ова", "ева", "ёва", "ина", "ына")) and len(low) > 4:
        surname = forms(word[:-1], "ой", "ой", "у", "ой", "ой")
        noun = forms(word[:-1], "ы", "е", "у", "ой", "е")
        out = both(noun, surname) if low in _FIRST_NAMES else both(surname, noun)
        out["nom"] = [word]
    elif low.endswith(("ов", "ев", "ёв", "ин", "ын")) and len(low) > 3:
        surname = forms(word, "а", "у", "а", "ым", "е")
        noun = forms(word, "а", "у", "а", "ом", "е")
        out = both(noun, surname) if low in _FIRST_NAMES else both(surname, noun)
    elif low.endswith("ия"):  # Мария
        out = forms(word[:-1], "и", "и", "ю", "ей", "и")
        out["nom"] = [word]
    elif low.endswith("я"):  # Наталья, Катя
        out = forms(word[:-1], "и", "е", "ю", "ей", "е")
        out["nom"] = [word]
    elif low.endswith("а"):  # Анна, Ольга, Никита, Саша
        out = forms(word[:-1], "и" if hard else "ы", "е", "у",
                    "ей" if low[-2:-1] in set("жчшщц") else "ой", "е")
        out["nom"] = [word]
    elif low.endswith("ий"):  # Юрий, Дмитрий
        out = forms(word[:-1], "я", "ю", "я", "ем", "и")
        out["nom"] = [word]
    elif low.endswith(("й", "ь")):  # Сергей, Игорь
        out = forms(word[:-1], "я", "ю", "я", "ем", "е")
        out["nom"] = [word]
    elif low[-1] in "бвгджзклмнпрстфхцчшщ":  # Иван, Олег, Борис; Пётр → Петра
        stem = _FLEETING.get(low, low)
        stem = word[0] + stem[1:] if word[0].isupper() else stem
        out = forms(stem, "а", "у", "а", "ем" if low[-1] in "жчшщц" else "ом", "е")
        out["nom"] = [word]
    else:
        return {}  # -о, -е, -и, -у, -ю: does not decline
    if word.isupper():
        out = {c: [f.upper() for f in v] for c, v in out.items()}
    return out


def case_forms(name: str) -> dict[str, list[str]]:
    """The forms of a Russian name (one or more words) in each case; {} unless every
    word is Cyrillic and at least one declines."""
    words = name.split()
    declined = [_declined(w) for w in words]
    if not words or not any(declined) or not all(_CYRILLIC_WORD.fullmatch(w) for w in words):
        return {}
    out = {}
    for case in CASES:
        variants = [""]
        for word, forms in zip(words, declined, strict=True):
            options = forms.get(case, [word]) if forms else [word]
            variants = [f"{v} {o}".strip() for v in variants for o in options][:16]
        out[case] = variants
    return out


def with_cases(names: dict[str, str]) -> dict[str, str]:
    """*names* and every case form of its Russian names, each to its pseudonym in that
    case (a Cyrillic pseudonym declined alike; any other unchanged). A form that is
    itself listed keeps its own pseudonym."""
    out = dict(names)
    for real, pseudonym in names.items():
        forms = case_forms(real)
        pseudonyms = case_forms(pseudonym)
        for case in CASES[1:]:
            for form in forms.get(case, []):
                out.setdefault(form, pseudonyms[case][0] if pseudonyms else pseudonym)
    return out


def _pattern(names: dict[str, str]) -> re.Pattern:
    return re.compile("|".join(rf"(?<!\w){re.escape(n)}(?!\w)"
                               for n in sorted(names, key=len, reverse=True)))


def pseudonymize(text: str, names: dict[str, str]) -> str:
    """Replace each name as a whole word, longest first (so 'Anna Ivanova' wins over
    'Anna'), Russian names in every case."""
    return _substitute(text, _expanded(tuple(names.items())))


@lru_cache(maxsize=8)
def _expanded(items: tuple) -> dict[str, str]:
    return with_cases(dict(items))


def _substitute(text: str, names: dict[str, str]) -> str:
    """Replace each of *names* (forms included) as a whole word, longest first."""
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

    if db.on_postgres:
        _check_owner(db)
    options = options or ImportOptions()
    result = ApplyResult()
    if not names:
        return result
    names = with_cases(names)
    targets = []
    for (name,) in db.execute("SELECT name FROM documents ORDER BY name").fetchall():
        current = resolve_document(db, name)
        new_text = _substitute(current["text"], names)
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
    result.backup = auto_backup(db, "before anonymize", on_server=True)
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
        if db.on_postgres:
            _rewrite_server_tables(db)
        else:
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
                       [_substitute(rationale, names), _substitute(evidence, names),
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
                   [_substitute(title, names), _substitute(text, names), now(), memo_id])
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
            return _substitute(value, names)
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
    if db.on_postgres:  # the owner's right; the table is locked until the transaction ends
        db.conn.raw.execute("ALTER TABLE changes DISABLE TRIGGER changes_append_only_update")
        db.conn.executemany("UPDATE changes SET before = ?, after = ? WHERE id = ?", changed)
        db.conn.raw.execute("ALTER TABLE changes ENABLE TRIGGER changes_append_only_update")
    else:
        guard = db.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = "
                           "'changes_append_only_update'").fetchone()[0]
        db.execute("DROP TRIGGER changes_append_only_update")
        db.conn.executemany("UPDATE changes SET before = ?, after = ? WHERE id = ?", changed)
        db.execute(guard)
    result.log_entries = len(changed)


def _check_owner(db) -> None:
    """On a server, anonymizing is the project owner's: it rewrites every teammate's
    transcripts and memos and the change log, and only the owner may lift the log's guard
    and rewrite the tables' files afterwards."""
    from qcode.store.team import require_owner

    require_owner(db, "may apply it", "anonymizing a shared project rewrites the whole "
                  "team's transcripts and change log; ")


def _rewrite_server_tables(db) -> None:
    """An updated or deleted row stays in the server's table files, as a dead row, until
    its space is reused. VACUUM FULL writes every table of the project (and its indexes
    and TOAST) into new files and removes the old ones, so the real names are no longer
    in the database's files. (Not in a transaction: each table is locked while it is
    rewritten. The write-ahead log, its archives and the server's backups are the
    administrator's, as `qcode anonymize apply` warns.)"""
    from qcode.store.postgres import driver

    for table in db.dialect.tables(db):
        try:
            db.conn.raw.execute(f'VACUUM (FULL, ANALYZE) "{table}"')  # statistics: new values
        except driver().Error as exc:
            why = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise StoreError(f"the names were replaced (committed), but table {table} could "
                             f"not be rewritten on the server ({why}): its files may still "
                             "hold the old text until the project's owner runs VACUUM FULL "
                             "on its tables (psql), when nobody is working in it") from None


def _forget_speakers(db) -> None:
    db.execute("DELETE FROM speakers WHERE id NOT IN (SELECT speaker_id FROM segments WHERE "
               "speaker_id IS NOT NULL)")


def check_names_file(path: str | Path) -> None:
    if not Path(path).is_file():
        raise QcodeError(f"{path}: no such names file; make one with qcode anonymize scan")

"""Auto-coding by structure: code every sentence (or turn, or whole document) that a
speaker said, that lies in an interviewer's or a respondent's turn, that belongs to a
document with some attributes, or whose words contain a phrase (compared by lemma, so
"trusting" finds "trust" and "trusted").

The criteria combine (all must hold). Everything is planned first; then, unless it is a
dry run, written in one transaction under one batch id, so `qcode undo` removes the
whole auto-coding at once. Codings are made by the current coder with origin
``auto:<what picked them>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from qcode.documents import Filter
from qcode.errors import InputError, NotFoundError

UNITS = ("sentence", "turn", "document")
ROLES = ("interviewer", "respondent")


@dataclass
class AutoRule:
    speaker: str | None = None
    role: str | None = None  # interviewer: the interviewer's turns; respondent: the others'
    where: list[Filter] = field(default_factory=list)
    search: str | None = None
    document: str | None = None
    unit: str = "sentence"

    def check(self) -> None:
        if self.unit not in UNITS:
            raise InputError("--unit", f"expected one of {', '.join(UNITS)}, got {self.unit!r}")
        if self.role is not None and self.role not in ROLES:
            raise InputError("--role", f"expected {' or '.join(ROLES)}, got {self.role!r}")
        if self.search is not None and not self.search.strip():
            raise InputError("--search", "the phrase is empty")
        if not (self.speaker or self.role or self.where or self.search):
            raise InputError("tag auto", "say what to code: --speaker, --role, --where or "
                             "--search (they combine)")
        if self.unit == "document" and (self.speaker or self.role):
            raise InputError("--unit", "document codes whole documents; --speaker and --role "
                             "pick turns or sentences (use --unit turn or sentence)")

    def origin(self) -> str:
        parts = [f"speaker={self.speaker}" if self.speaker else "",
                 f"role={self.role}" if self.role else "",
                 *(f"{f.key}{'!=' if f.negate else '='}{'|'.join(f.values)}" for f in self.where),
                 f"search={self.search.strip()}" if self.search else ""]
        return "auto:" + " ".join(p for p in parts if p)


@dataclass
class Planned:
    document: str
    number: int | None  # sentence or turn number (from 1); None for a whole document
    start: int
    end: int
    speaker: str | None
    text: str
    new: bool = True  # False: the coder already has this coding


@dataclass
class AutoResult:
    planned: list[Planned]
    added: int = 0
    already: int = 0
    origin: str = ""


def phrase_lemmas(analyzer, phrase: str) -> list[str]:
    _, words = analyzer.analyse([phrase])
    return [w.lemma for w in words[0] if not w.skip]


def contains(lemmas: list[str], phrase: list[str]) -> bool:
    """Whether *phrase* occurs as consecutive words in *lemmas*."""
    n = len(phrase)
    return bool(n) and any(lemmas[i:i + n] == phrase for i in range(len(lemmas) - n + 1))


def _units(layout, unit: str) -> list[tuple[int | None, int, int, str | None, bool]]:
    """(number, start, end, speaker, interviewer) of each unit, without surrounding
    white space; empty units are left out."""
    out = []
    if unit == "document":
        spans = [(None, 0, len(layout.text), None, False)]
    elif unit == "turn":
        spans = [(i + 1, s, e, speaker, interviewer)
                 for i, (s, e, speaker, interviewer) in enumerate(layout.turns)]
    else:
        spans = [(i + 1, s, e, *(layout.turns[t][2:4] if t >= 0 else (None, False)))
                 for i, (_, s, e, t) in enumerate(layout.sentences)]
    for number, start, end, speaker, interviewer in spans:
        piece = layout.text[start:end]
        lead = len(piece) - len(piece.lstrip())
        trail = len(piece) - len(piece.rstrip())
        if end - trail > start + lead:
            out.append((number, start + lead, end - trail, speaker, interviewer))
    return out


def plan(db, rule: AutoRule, *, default_language: str = "en",
         interviewer_names: frozenset[str] = frozenset(), model: str | None = None
         ) -> list[tuple[dict, Planned]]:
    """What *rule* picks: (document row, planned coding) in document and text order."""
    from qcode.analysis.scope import Scope, documents_in_scope
    from qcode.nlp.units import load_layout

    rule.check()
    chosen = []
    speakers_seen: set[str] = set()
    wanted = rule.speaker.strip().casefold() if rule.speaker else None
    lemmas_of: dict[str, list[str]] = {}
    for document_id in documents_in_scope(db, Scope(where=rule.where, document=rule.document)):
        doc = dict(next(db.query(
            "SELECT d.id, d.name, r.id AS revision_id FROM documents d JOIN current_revisions r "
            "ON r.document_id = d.id WHERE d.id = ?", [document_id])))
        layout = load_layout(db, doc["revision_id"], default_language, interviewer_names)
        units = []
        for number, start, end, speaker, interviewer in _units(layout, rule.unit):
            if speaker:
                speakers_seen.add(speaker)
            if wanted is not None and (speaker or "").strip().casefold() != wanted:
                continue
            if rule.role == "interviewer" and not interviewer:
                continue
            if rule.role == "respondent" and (interviewer or not speaker):
                continue
            units.append((number, start, end, speaker))
        if rule.search and units:
            from qcode.nlp.pipeline import analyzer

            nlp = analyzer(layout.language, model)
            if layout.language not in lemmas_of:
                lemmas_of[layout.language] = phrase_lemmas(nlp, rule.search)
            phrase = lemmas_of[layout.language]
            _, words = nlp.analyse_spans(layout.text, [(s, e) for _, s, e, _ in units])
            units = [u for u, w in zip(units, words, strict=True)
                     if contains([x.lemma for x in w if not x.skip], phrase)]
        chosen += [(doc, Planned(doc["name"], number, start, end, speaker,
                                 layout.text[start:end]))
                   for number, start, end, speaker in units]
    if wanted is not None and not any(s.strip().casefold() == wanted for s in speakers_seen):
        known = ", ".join(sorted(speakers_seen, key=str.casefold)) or "none"
        raise NotFoundError(f"no turn by speaker {rule.speaker!r} in the documents chosen; "
                            f"speakers: {known}")
    return chosen


def auto_code(db, code: str, rule: AutoRule, *, coder: str, dry_run: bool = False,
              default_language: str = "en", interviewer_names: frozenset[str] = frozenset(),
              model: str | None = None) -> AutoResult:
    """Code what *rule* picks with *code*, all in one transaction and one undoable batch
    (nothing is written on a dry run, or when anything fails)."""
    from qcode.codes import resolve_code
    from qcode.coding import insert_coding, new_batch
    from qcode.store import transaction
    from qcode.store.records import coder_id

    options = {"default_language": default_language, "interviewer_names": interviewer_names,
               "model": model}
    code_id = resolve_code(db, code)["id"]
    if dry_run:
        picked = plan(db, rule, **options)
        result = AutoResult([p for _, p in picked], origin=rule.origin())
        known = db.execute("SELECT id FROM coders WHERE name = ?", [coder]).fetchone()
        for doc, item in picked:
            item.new = not (known and db.execute(
                "SELECT 1 FROM codings WHERE revision_id = ? AND start = ? AND \"end\" = ? AND "
                "code_id = ? AND coder_id = ?",
                [doc["revision_id"], item.start, item.end, code_id, known[0]]).fetchone())
        result.added = sum(p.new for p in result.planned)
        result.already = len(result.planned) - result.added
        return result
    with transaction(db):
        picked = plan(db, rule, **options)
        result = AutoResult([p for _, p in picked], origin=rule.origin())
        who, batch = coder_id(db, coder), new_batch()
        for doc, item in picked:
            added = insert_coding(db, document_id=doc["id"], revision_id=doc["revision_id"],
                                  start=item.start, end=item.end, code_id=code_id, coder=who,
                                  origin=result.origin, batch=batch)
            item.new = added.created
    result.added = sum(p.new for p in result.planned)
    result.already = len(result.planned) - result.added
    return result

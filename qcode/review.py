"""The review queue: pending suggestions in a chosen order, and bulk decisions."""

from __future__ import annotations

from dataclasses import dataclass

from qcode.codes import descendants, resolve_code
from qcode.documents import resolve_document

ORDERS = ("uncertain", "score", "document")


def queue(db, *, code: str | None = None, document: str | None = None,
          order: str = "uncertain", interviewer_names: frozenset[str] = frozenset()
          ) -> list[dict]:
    """Pending suggestions on current revisions, in *order*: 'uncertain' (see
    :func:`uncertain_first`), 'score' the surest first, 'document' in reading order. Each
    says whether its sentence lies in an interviewer turn (qcode.nlp.units) and gives its
    sentence's number."""
    from qcode.nlp.units import is_interviewer

    where, params = ["s.status = 'pending'"], []
    if code:
        ids = descendants(db, resolve_code(db, code)["id"])
        where.append(f"s.code_id IN ({','.join('?' * len(ids))})")
        params += ids
    if document:
        where.append("s.document_id = ?")
        params.append(resolve_document(db, document)["id"])
    sorting = {"uncertain": "d.name, s.start",
               "score": "s.score DESC, d.name, s.start",
               "document": "d.name, s.start, s.score DESC"}[order]
    rows = [dict(r) for r in db.query(
        "SELECT s.id, s.run_id, s.document_id, d.name AS document, s.revision_id, s.segment_id, "
        "s.start, s.\"end\", s.code_id, c.path AS code, s.score, s.suggester, s.rationale, "
        "sp.name AS speaker, g.number AS number "
        "FROM suggestions s JOIN documents d ON d.id = s.document_id "
        "JOIN codes c ON c.id = s.code_id JOIN current_revisions r ON r.id = s.revision_id "
        "LEFT JOIN segments g ON g.id = s.segment_id LEFT JOIN segments t ON t.id = g.turn_id "
        "LEFT JOIN speakers sp ON sp.id = t.speaker_id "
        f"WHERE {' AND '.join(where)} ORDER BY {sorting}", params)]
    for row in rows:
        row["interviewer"] = is_interviewer(row["speaker"], interviewer_names)
    if order == "uncertain":
        rows = uncertain_first(rows, _thresholds(db), decided_per_code(db))
    return rows


def uncertain_first(items: list[dict], thresholds: dict[str, float],
                    decided: dict[int, int] | None = None) -> list[dict]:
    """The order in which decisions teach the model most, for every code alike: the codes
    take turns, and each offers the suggestion whose score is nearest its threshold
    (*thresholds*: code path -> the cut `qcode train` chose; 0.5 for a code without
    one). Taking the nearest of all codes at once spends the decisions on the few codes
    the model is least sure of; bench/active.py measures both.

    The turns go on across retrainings: a code with fewer decisions so far (*decided*:
    code id -> suggestions of it accepted or rejected) comes first, so that the queue,
    put in order again after every update of the model, does not start over with the
    same few codes each time (which left the others undecided)."""
    decided = decided or {}
    by_code: dict[int, list[dict]] = {}
    for item in items:
        by_code.setdefault(item["code_id"], []).append(item)
    ranked = []
    for code_id, group in by_code.items():
        cut = thresholds.get(group[0]["code"], 0.5)
        group.sort(key=lambda item: abs(item["score"] - cut))
        done = decided.get(code_id, 0)
        ranked += [(done + rank, code_id, item) for rank, item in enumerate(group)]
    ranked.sort(key=lambda entry: entry[:2])
    return [item for _, _, item in ranked]


def decided_per_code(db) -> dict[int, int]:
    """Code id -> how many of its suggestions have been accepted or rejected."""
    return dict(db.execute(
        "SELECT code_id, COUNT(*) FROM suggestions WHERE status IN ('accepted', 'rejected') "
        "GROUP BY code_id").fetchall())


def _thresholds(db) -> dict[str, float]:
    row = db.execute("SELECT meta FROM models ORDER BY id DESC LIMIT 1").fetchone()
    if row is None:
        return {}
    import json

    return json.loads(row[0]).get("thresholds", {})


def place(item: dict) -> str:
    """Where a suggestion is, in a researcher's words: 'a01-housing-perm ¶12'."""
    return f"{item['document']} ¶{item['number']}" if item.get("number") else \
        f"{item['document']} {item['start']}:{item['end']}"


def memo_on_passage(db, item: dict, text: str, *, coder: str) -> int:
    """A memo on the suggestion's passage (its sentence or span in the current revision),
    kept there whatever is decided; returns the memo id."""
    from qcode.memos import add_memo

    return add_memo(db, text, coder=coder, document=item["document"],
                    span=(item["start"], item["end"]))


def context(db, suggestion: dict, neighbours: int = 1) -> dict:
    """The suggested sentence with its speaker and the sentences around it."""
    text = db.execute("SELECT text FROM revisions WHERE id = ?",
                      [suggestion["revision_id"]]).fetchone()[0]
    number = db.execute("SELECT number FROM segments WHERE id = ?",
                        [suggestion["segment_id"]]).fetchone()
    number = number[0] if number else None
    rows = db.execute(
        "SELECT s.number, s.start, s.\"end\", sp.name FROM segments s "
        "LEFT JOIN speakers sp ON sp.id = s.speaker_id WHERE s.revision_id = ? AND "
        "s.kind = 'sentence' AND s.number BETWEEN ? AND ? ORDER BY s.number",
        [suggestion["revision_id"], (number or 0) - neighbours, (number or 0) + neighbours])
    lines = [{"number": n, "speaker": sp, "text": text[a:b], "current": n == number}
             for n, a, b, sp in rows]
    return {"number": number, "lines": lines, "text": text[suggestion["start"]:suggestion["end"]]}


@dataclass
class BulkResult:
    decided: list[dict]
    action: str
    dry_run: bool
    interviewer: int = 0  # suggestions in interviewer turns left for a person to decide


def bulk(db, *, coder: str, accept_above: float | None = None,
         reject_below: float | None = None, code: str | None = None,
         document: str | None = None, dry_run: bool = False,
         interviewer_names: frozenset[str] = frozenset()) -> BulkResult:
    """Accept every pending suggestion scoring at least *accept_above*, or reject every
    one scoring below *reject_below*. Each decision is its own logged transaction.
    Suggestions in interviewer turns are never accepted in bulk: a question is rarely
    what a code is about, and someone should look."""
    from qcode.suggestions import accept, reject

    if (accept_above is None) == (reject_below is None):
        raise ValueError("give exactly one of accept_above and reject_below")
    pending = queue(db, code=code, document=document, order="score",
                    interviewer_names=interviewer_names)
    left = 0
    if accept_above is not None:
        chosen = [s for s in pending if s["score"] >= accept_above and not s["interviewer"]]
        left = sum(1 for s in pending if s["score"] >= accept_above and s["interviewer"])
    else:
        chosen = [s for s in pending if s["score"] < reject_below]
    if not dry_run:
        for s in chosen:
            if accept_above is not None:
                accept(db, s["id"], coder=coder)
            else:
                reject(db, s["id"], coder=coder)
    return BulkResult(chosen, "accept" if accept_above is not None else "reject", dry_run, left)

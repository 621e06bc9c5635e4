"""Code frequencies and cross-tabulations.

A parent code counts the union of its own and its sub-codes' codings as *distinct*
things: a document coded with three sub-codes counts once, so a parent never exceeds
the number of documents (unlike tools that add the children's counts up).
"""

from __future__ import annotations

from collections import defaultdict

from qcode.analysis.scope import Excerpt, Scope, documents_in_scope, excerpts, with_attributes
from qcode.errors import QcodeError

NONE = "(none)"


def _subtrees(db) -> dict[int, set[int]]:
    """Every active code's id -> the ids of it and all codes below it."""
    parent = dict(db.execute("SELECT id, parent_id FROM codes").fetchall())
    tree: dict[int, set[int]] = defaultdict(set)
    for code_id in parent:
        node = code_id
        while node is not None:
            tree[node].add(code_id)
            node = parent.get(node)
    return tree


def _active_codes(db) -> list[tuple[int, str]]:
    return db.execute("SELECT id, path FROM codes WHERE status = 'active' "
                      "ORDER BY position, path").fetchall()


def _words(items: list[Excerpt]) -> int:
    """Words in the union of the coded spans (overlaps count once)."""
    by_revision: dict[int, list[Excerpt]] = defaultdict(list)
    for e in items:
        by_revision[e.revision_id].append(e)
    total = 0
    for spans in by_revision.values():
        spans.sort(key=lambda e: e.start)
        merged: list[list] = []
        for e in spans:
            if merged and e.start <= merged[-1][1]:
                if e.end > merged[-1][1]:
                    merged[-1][2] += e.text[merged[-1][1] - e.start:]
                    merged[-1][1] = e.end
            else:
                merged.append([e.start, e.end, e.text])
        total += sum(len(text.split()) for _, _, text in merged)
    return total


def _measure(items: list[Excerpt], documents: int) -> dict:
    docs = {e.document_id for e in items}
    return {"excerpts": len({(e.revision_id, e.start, e.end) for e in items}),
            "documents": len(docs),
            "speakers": len({(e.speaker) for e in items if e.speaker}),
            "words": _words(items),
            "percent_documents": round(100 * len(docs) / documents, 1) if documents else 0.0}


def stats(db, scope: Scope, *, by: str | None = None, by_coder: bool = False) -> list[dict]:
    """Per code (parents rolled up): excerpts, documents, speakers, words, % of documents;
    optionally per value of a document attribute or per coder."""
    if by and by_coder:
        raise QcodeError("use --by or --by-coder, not both")
    found = excerpts(db, Scope(scope.code, scope.children, scope.where, scope.coders,
                               scope.document, scope.origin))
    in_scope = documents_in_scope(db, scope)
    attributes = with_attributes(db, found) if by else {}
    all_attributes = _attributes_for(db, in_scope, by) if by else {}
    tree = _subtrees(db)
    rows = []
    for code_id, path in _active_codes(db):
        items = [e for e in found if e.code_id in tree[code_id]]
        if not items and scope.code:
            continue
        if by:
            groups: dict[str, list[Excerpt]] = defaultdict(list)
            for e in items:
                groups[attributes.get(e.document_id, {}).get(by, NONE)].append(e)
            denominators = defaultdict(int)
            for doc_id in in_scope:
                denominators[all_attributes.get(doc_id, NONE)] += 1
            for value in sorted(denominators):
                rows.append({"code": path, by: value,
                             **_measure(groups.get(value, []), denominators[value])})
        elif by_coder:
            coders = sorted({e.coder for e in found})
            for coder in coders:
                rows.append({"code": path, "coder": coder,
                             **_measure([e for e in items if e.coder == coder], len(in_scope))})
        else:
            rows.append({"code": path, **_measure(items, len(in_scope))})
    return rows


def _attributes_for(db, document_ids: list[int], key: str) -> dict[int, str]:
    marks = ",".join("?" * len(document_ids)) or "NULL"
    return dict(db.execute(f"SELECT document_id, value FROM attributes WHERE key = ? AND "
                           f"document_id IN ({marks})", [key, *document_ids]).fetchall())


UNITS = ("excerpt", "document", "speaker")


def crosstab(db, scope: Scope, *, cols: str, unit: str = "excerpt",
             percent: str | None = None) -> tuple[list[str], list[dict]]:
    """Codes (rows, parents rolled up) by the values of a document attribute (columns).
    Cells count distinct excerpts, documents or speakers. With percent='col' and
    unit='document', a cell is the share of that column's documents having the code."""
    if unit not in UNITS:
        raise QcodeError(f"--unit is one of {', '.join(UNITS)}")
    found = excerpts(db, scope, with_text=unit == "speaker")
    in_scope = documents_in_scope(db, scope)
    value_of = _attributes_for(db, in_scope, cols)
    values = sorted({value_of.get(d, NONE) for d in in_scope})
    tree = _subtrees(db)

    def key(e: Excerpt):
        return {"excerpt": (e.revision_id, e.start, e.end), "document": e.document_id,
                "speaker": (e.speaker or f"(unknown in {e.document})")}[unit]

    column_docs = defaultdict(int)
    for d in in_scope:
        column_docs[value_of.get(d, NONE)] += 1
    column_totals = {v: len({key(e) for e in found if value_of.get(e.document_id, NONE) == v})
                     for v in values}
    rows = []
    for code_id, path in _active_codes(db):
        items = [e for e in found if e.code_id in tree[code_id]]
        if not items and scope.code:
            continue
        cells = {v: len({key(e) for e in items if value_of.get(e.document_id, NONE) == v})
                 for v in values}
        total = len({key(e) for e in items})
        row = {"code": path, **cells, "total": total}
        if percent == "row":
            row.update({v: round(100 * n / total, 1) if total else 0.0 for v, n in cells.items()})
        elif percent == "col":
            denominator = column_docs if unit == "document" else column_totals
            row.update({v: round(100 * n / denominator[v], 1) if denominator[v] else 0.0
                        for v, n in cells.items()})
        rows.append(row)
    return ["code", *values, "total"], rows

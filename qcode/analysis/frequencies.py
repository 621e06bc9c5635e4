"""Code frequencies and cross-tabulations.

A parent code counts the union of its own and its sub-codes' codings as *distinct*
things: a document coded with three sub-codes counts once, so a parent never exceeds
the number of documents (unlike tools that add the children's counts up).
"""

from __future__ import annotations

import json
from collections import defaultdict

from qcode.analysis.scope import Scope, documents_in_scope
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


def _measure(frame, mask, documents: int) -> dict:
    mask = mask.nonzero()[0]  # the codings' indices, once for the four counts
    found = frame.documents(mask)
    return {"excerpts": frame.excerpts(mask), "documents": found,
            "speakers": frame.speakers(mask), "words": frame.words(mask),
            "percent_documents": round(100 * found / documents, 1) if documents else 0.0}


def stats(db, scope: Scope, *, by: str | None = None, by_coder: bool = False) -> list[dict]:
    """Per code (parents rolled up): excerpts, documents, speakers, words, % of documents;
    optionally per value of a document attribute or per coder."""
    import numpy as np

    from qcode.analysis.frame import CodingFrame, unique

    if by and by_coder:
        raise QcodeError("use --by or --by-coder, not both")
    frame = CodingFrame.load(db, scope)
    in_scope = documents_in_scope(db, scope)
    tree = _subtrees(db)
    if by:
        value_of = _attributes_for(db, in_scope, by)
        denominators: dict[str, int] = defaultdict(int)
        for doc_id in in_scope:
            denominators[value_of.get(doc_id, NONE)] += 1
        values = sorted(denominators)
        group = frame.group_of_documents(value_of, values, NONE)
    coder_names = dict(db.execute("SELECT id, name FROM coders").fetchall())
    coders = sorted((coder_names[int(i)], int(i)) for i in unique(frame.coder))
    rows = []
    for code_id, path in _active_codes(db):
        mask = np.isin(frame.code, list(tree[code_id]))
        if scope.code and not mask.any():
            continue
        if by:
            for i, value in enumerate(values):
                rows.append({"code": path, by: value,
                             **_measure(frame, mask & (group == i), denominators[value])})
        elif by_coder:
            for name, coder in coders:
                rows.append({"code": path, "coder": name,
                             **_measure(frame, mask & (frame.coder == coder), len(in_scope))})
        else:
            rows.append({"code": path, **_measure(frame, mask, len(in_scope))})
    return rows


def _attributes_for(db, document_ids: list[int], key: str) -> dict[int, str]:
    return dict(db.execute("SELECT document_id, value FROM attributes WHERE key = ? AND "
                           "document_id IN (SELECT value FROM json_each(?))",
                           [key, json.dumps(document_ids)]).fetchall())


UNITS = ("excerpt", "document", "speaker")


def crosstab(db, scope: Scope, *, cols: str, unit: str = "excerpt",
             percent: str | None = None) -> tuple[list[str], list[dict]]:
    """Codes (rows, parents rolled up) by the values of a document attribute (columns).
    Cells count distinct excerpts, documents or speakers. With percent='col' and
    unit='document', a cell is the share of that column's documents having the code."""
    import numpy as np

    from qcode.analysis.frame import CodingFrame

    if unit not in UNITS:
        raise QcodeError(f"--unit is one of {', '.join(UNITS)}")
    frame = CodingFrame.load(db, scope)
    in_scope = documents_in_scope(db, scope)
    value_of = _attributes_for(db, in_scope, cols)
    values = sorted({value_of.get(d, NONE) for d in in_scope})
    group = frame.group_of_documents(value_of, values, NONE)
    tree = _subtrees(db)
    # a speaker is a person in one interview: unknown speakers count per document
    count = {"excerpt": frame.excerpts, "document": frame.documents,
             "speaker": lambda m: frame.speakers(m) + frame.documents(m & (frame.speaker < 0))
             }[unit]
    column_docs: dict[str, int] = defaultdict(int)
    for d in in_scope:
        column_docs[value_of.get(d, NONE)] += 1
    everything = np.ones(len(frame), dtype=bool)
    column_totals = {v: count(everything & (group == i)) for i, v in enumerate(values)}
    rows = []
    for code_id, path in _active_codes(db):
        mask = np.isin(frame.code, list(tree[code_id]))
        if scope.code and not mask.any():
            continue
        cells = {v: count(mask & (group == i)) for i, v in enumerate(values)}
        total = count(mask)
        row = {"code": path, **cells, "total": total}
        if percent == "row":
            row.update({v: round(100 * n / total, 1) if total else 0.0 for v, n in cells.items()})
        elif percent == "col":
            denominator = column_docs if unit == "document" else column_totals
            row.update({v: round(100 * n / denominator[v], 1) if denominator[v] else 0.0
                        for v, n in cells.items()})
        rows.append(row)
    return ["code", *values, "total"], rows

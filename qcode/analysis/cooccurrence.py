"""Which codes occur together: per sentence, turn or document."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from itertools import combinations

from qcode.analysis.scope import Scope, excerpts
from qcode.errors import QcodeError

UNITS = ("segment", "turn", "document")


def _unit_spans(db, revision: int, kind: str) -> list[tuple[int, int]]:
    return db.execute("SELECT start, \"end\" FROM segments WHERE revision_id = ? AND kind = ? "
                      "ORDER BY start", [revision, kind]).fetchall()


def cooccurrence(db, scope: Scope, *, unit: str = "segment"):
    """(codes, counts, pairs): counts[code] = units with it; pairs[(a, b)] = (units with
    both, an example unit as (revision, start, end))."""
    if unit not in UNITS:
        raise QcodeError(f"--unit is one of {', '.join(UNITS)}")
    found = excerpts(db, scope, with_text=False)
    units: dict[tuple, set[str]] = defaultdict(set)
    spans_of: dict[int, tuple[list, list[int], list[int]]] = {}  # revision -> spans, starts, ends
    for e in found:
        if unit == "document":
            units[("doc", e.document_id)].add(e.code)
            continue
        if e.revision_id not in spans_of:
            spans = _unit_spans(db, e.revision_id, "sentence" if unit == "segment" else "turn")
            spans_of[e.revision_id] = (spans, [s for s, _ in spans], [t for _, t in spans])
        spans, starts, ends = spans_of[e.revision_id]
        for i in range(bisect_right(ends, e.start), bisect_left(starts, e.end)):
            units[(e.revision_id, *spans[i])].add(e.code)
    counts: Counter = Counter()
    pairs: dict[tuple[str, str], list] = {}
    for key, codes in units.items():
        counts.update(codes)
        for a, b in combinations(sorted(codes), 2):
            entry = pairs.setdefault((a, b), [0, key])
            entry[0] += 1
    return sorted(counts), counts, {k: (v[0], v[1]) for k, v in pairs.items()}


def jaccard(counts: Counter, both: int, a: str, b: str) -> float:
    union = counts[a] + counts[b] - both
    return round(both / union, 3) if union else 0.0


def example_text(db, key: tuple) -> str:
    if key[0] == "doc":
        return ""
    revision, start, end = key
    text = db.execute("SELECT substr(text, ?, ?) FROM revisions WHERE id = ?",
                      [start + 1, end - start, revision]).fetchone()[0]
    return text

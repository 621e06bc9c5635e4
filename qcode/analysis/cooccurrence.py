"""Which codes occur together: per sentence, turn or document."""

from __future__ import annotations

from collections import Counter
from itertools import combinations

from qcode.analysis.scope import Scope
from qcode.errors import QcodeError

UNITS = ("segment", "turn", "document")


def cooccurrence(db, scope: Scope, *, unit: str = "segment"):
    """(codes, counts, pairs): counts[code] = units with it; pairs[(a, b)] = (units with
    both, an example unit as (revision, start, end), or ("doc", id) for documents)."""
    import numpy as np

    from qcode.analysis.frame import CodingFrame

    if unit not in UNITS:
        raise QcodeError(f"--unit is one of {', '.join(UNITS)}")
    frame = CodingFrame.load(db, scope)
    paths = dict(db.execute("SELECT id, path FROM codes").fetchall())
    if unit == "document":
        unit_of, codes_of = frame.document, frame.code
        keys = None
    else:
        starts, ends, _ = frame.sentences if unit == "segment" else frame.turns
        spans = np.stack([starts, ends], axis=1)
        shift = np.int64(1) << 32
        a, b = frame.revision * shift + frame.start, frame.revision * shift + frame.end
        # the units a coding overlaps: those ending after its start and starting before its end
        first = np.searchsorted(spans[:, 1], a, "right")
        last = np.searchsorted(spans[:, 0], b, "left")
        width = np.maximum(last - first, 0)
        unit_of = np.repeat(first, width) + (np.arange(width.sum())
                                             - np.repeat(np.cumsum(width) - width, width))
        codes_of = np.repeat(frame.code, width)
        keys = spans
    base = int(codes_of.max()) + 1 if len(codes_of) else 1
    packed = np.unique(unit_of * base + codes_of)  # each (unit, code) once, sorted by unit
    units, codes = np.divmod(packed, base)
    counts: Counter = Counter()
    for code_id, n in zip(*np.unique(codes, return_counts=True), strict=True):
        counts[paths[int(code_id)]] = int(n)
    pairs: dict[tuple[str, str], list] = {}
    starts = np.flatnonzero(np.diff(units, prepend=-1))
    sizes = np.diff(np.append(starts, len(units)))
    for first, size in zip(starts[sizes > 1].tolist(), sizes[sizes > 1].tolist(), strict=True):
        where = int(units[first])
        if keys is None:
            key: tuple = ("doc", where)
        else:
            key = (int(keys[where, 0] >> 32), int(keys[where, 0] & 0xFFFFFFFF),
                   int(keys[where, 1] & 0xFFFFFFFF))
        together = sorted(paths[c] for c in codes[first:first + size].tolist())
        for x, y in combinations(together, 2):
            entry = pairs.setdefault((x, y), [0, key])
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

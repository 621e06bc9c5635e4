"""Which codes occur together: per sentence, turn or document."""

from __future__ import annotations

from collections import Counter

from qcode.analysis.scope import Scope
from qcode.errors import QcodeError

UNITS = ("segment", "turn", "document")


def cooccurrence(db, scope: Scope, *, unit: str = "segment"):
    """(codes, counts, pairs): counts[code] = units with it; pairs[(a, b)] = (units with
    both, an example unit as (revision, start, end), or ("doc", id) for documents)."""
    import numpy as np

    from qcode.analysis.frame import CodingFrame, unique

    if unit not in UNITS:
        raise QcodeError(f"--unit is one of {', '.join(UNITS)}")
    frame = CodingFrame.load(db, scope)
    paths = dict(db.execute("SELECT id, path FROM codes").fetchall())
    if unit == "document":
        unit_of, codes_of = frame.document, frame.code
        keys = None
    else:
        starts, ends, _ = frame.sentences if unit == "segment" else frame.turns
        shift = np.int64(1) << 32
        a, b = frame.revision * shift + frame.start, frame.revision * shift + frame.end
        # the units a coding overlaps: those ending after its start and starting before its end
        first = np.searchsorted(ends, a, "right")
        last = np.searchsorted(starts, b, "left")
        width = np.maximum(last - first, 0)
        unit_of = np.repeat(first, width) + (np.arange(width.sum())
                                             - np.repeat(np.cumsum(width) - width, width))
        codes_of = np.repeat(frame.code, width)
        keys = (starts, ends)
    base = int(codes_of.max()) + 1 if len(codes_of) else 1
    packed = unique(unit_of * base + codes_of)  # each (unit, code) once, sorted by unit
    units, codes = np.divmod(packed, base)
    counts: Counter = Counter()
    for code_id, n in zip(*np.unique(codes, return_counts=True), strict=True):
        counts[paths[int(code_id)]] = int(n)
    pairs = _pairs(units, codes, paths, keys)
    return sorted(counts), counts, pairs


def _pairs(units, codes, paths: dict[int, str], keys) -> dict[tuple[str, str], tuple]:
    """Per pair of code paths (in order) that share a unit: (units with both, the first
    such unit as an example key), in the order the pairs first occur. *units* and *codes*:
    each (unit, code) once, sorted by unit. Counted on whole columns, one pass per number
    of codes in a unit, not one per unit."""
    import numpy as np

    names = sorted(set(paths.values()))
    rank = np.zeros(max(paths, default=0) + 1, dtype=np.int64)
    position = {name: i for i, name in enumerate(names)}
    rank[list(paths)] = [position[p] for p in paths.values()]
    starts = np.flatnonzero(np.diff(units, prepend=-1))
    sizes = np.diff(np.append(starts, len(units)))
    found_keys, found_units = [], []
    for size in np.unique(sizes[sizes > 1]).tolist():
        first = starts[sizes == size]
        ranks = np.sort(rank[codes[first[:, None] + np.arange(size)]], axis=1)
        i, j = np.triu_indices(size, 1)
        found_keys.append((ranks[:, i] * len(names) + ranks[:, j]).reshape(-1))
        found_units.append(np.repeat(units[first], len(i)))
    if not found_keys:
        return {}
    pair, unit = np.concatenate(found_keys), np.concatenate(found_units)
    order = np.lexsort((unit, pair))
    pair, unit = pair[order], unit[order]
    heads = np.flatnonzero(np.diff(pair, prepend=-1))
    count = np.diff(np.append(heads, len(pair)))
    pair, unit = pair[heads], unit[heads]
    out = {}
    for k in np.lexsort((pair, unit)).tolist():
        where = int(unit[k])
        if keys is None:
            key: tuple = ("doc", where)
        else:
            key = (int(keys[0][where] >> 32), int(keys[0][where] & 0xFFFFFFFF),
                   int(keys[1][where] & 0xFFFFFFFF))
        a, b = divmod(int(pair[k]), len(names))
        out[names[a], names[b]] = (int(count[k]), key)
    return out


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

"""Intercoder agreement per code and overall.

Documents count when every listed coder has coded them (on their current revision).
Unit 'segment': each sentence is a unit; a coder applied a code to it when one of the
coder's codings of that code covers at least half of it or lies inside it.
Unit 'char': each character is a unit, 1 where the coder's codings of the code cover it.
Each code is a yes/no variable: percent agreement, Cohen's kappa (two coders) and
Krippendorff's alpha (nominal, any number of coders). 'Overall' pools every code's units.

Everything is counted on whole columns (one query each for the codings, the sentences
and, with --disagreements, the texts): a unit's pattern is a bit mask, bit k set when
coder k applied the code, so 90,000 codings take one pass of numpy, not one of Python.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

import numpy as np

from qcode.analysis.statistics import cohen_kappa, krippendorff_alpha_nominal, percent_agreement
from qcode.codes import descendants, resolve_code
from qcode.errors import QcodeError

UNITS = ("segment", "char")


@dataclass
class Agreement:
    code: str
    units: int
    percent: float | None
    kappa: float | None
    alpha: float | None

    def row(self) -> dict:
        r = lambda x: None if x is None else round(x, 3)  # noqa: E731
        return {"code": self.code, "units": self.units, "percent_agreement": r(self.percent),
                "cohen_kappa": r(self.kappa), "krippendorff_alpha": r(self.alpha)}


@dataclass
class Disagreement:
    document: str
    segment: int | None
    start: int
    end: int
    code: str
    coded_by: list[str]
    not_by: list[str]
    text: str


_SHIFT = np.int64(1) << 32  # revision id and offset packed in one sortable key


def agreement(db, coders: list[str], *, unit: str = "segment", code: str | None = None,
              disagreements: bool = False, documents: list[int] | None = None
              ) -> tuple[list[Agreement], list[Disagreement]]:
    """*documents*: only these (the ids --doc and --where chose); None for all."""
    if len(coders) < 2:
        raise QcodeError("agreement needs at least two coders: --coders a,b")
    if len(coders) > 30:
        raise QcodeError("agreement compares at most 30 coders at once")
    if unit not in UNITS:
        raise QcodeError(f"--unit is one of {', '.join(UNITS)}")
    known = {r[0] for r in db.execute("SELECT name FROM coders")}
    missing = [c for c in coders if c not in known]
    if missing:
        raise QcodeError(f"no coder {', '.join(map(repr, missing))}; "
                         f"the project has {', '.join(sorted(known)) or 'none'}")
    ids = dict(db.execute(f"SELECT name, id FROM coders WHERE name IN "
                          f"({','.join('?' * len(coders))})", coders).fetchall())
    revisions = _coded_by_all(db, [ids[c] for c in coders])
    if documents is not None and revisions:
        inside = {r for (r,) in db.execute(
            "SELECT id FROM revisions WHERE id IN (SELECT value FROM json_each(?)) AND "
            "document_id IN (SELECT value FROM json_each(?))",
            [json.dumps(list(revisions)), json.dumps(sorted(documents))])}
        revisions = [r for r in revisions if r in inside]
    if not revisions:
        raise QcodeError(f"no document {'in scope ' if documents is not None else ''}has "
                         f"been coded by all of {', '.join(coders)}")
    codes = db.execute("SELECT id, path FROM codes WHERE status = 'active' "
                       "ORDER BY position, path").fetchall()
    if code:
        wanted = set(descendants(db, resolve_code(db, code)["id"]))
        codes = [(i, p) for i, p in codes if i in wanted]
    codings = _Codings(db, revisions, [ids[c] for c in coders], [i for i, _ in codes])
    count = _segments if unit == "segment" else _characters
    patterns, found = count(db, codings, len(codes), len(coders), disagreements)
    results = []
    pooled: Counter = Counter()
    for index, (_, path) in enumerate(codes):
        pooled.update(patterns[index])
        results.append(_measure(path, patterns[index], len(coders)))
    results.append(_measure("(overall)", pooled, len(coders)))
    if not found:
        return results, []
    names = dict(db.execute("SELECT r.id, d.name FROM revisions r JOIN documents d ON "
                            "d.id = r.document_id WHERE r.id IN (SELECT value FROM json_each(?))",
                            [codings.revisions_json]).fetchall())
    texts = dict(db.execute("SELECT id, text FROM revisions WHERE id IN "
                            "(SELECT value FROM json_each(?))",
                            [json.dumps(sorted({f[0] for f in found}))]).fetchall())
    return results, [
        Disagreement(names[revision], number, start, end, codes[index][1],
                     [c for k, c in enumerate(coders) if bits >> k & 1],
                     [c for k, c in enumerate(coders) if not bits >> k & 1],
                     texts[revision][start:end])
        for revision, index, number, start, end, bits in found
        if unit == "segment" or texts[revision][start:end].strip()]


def _coded_by_all(db, coder_ids: list[int]) -> list[int]:
    """The current revisions that every one of these coders has coded, in document order:
    from the analyses' copy of the codings (one query per coder per revision is 0.25 s on
    10,000 transcripts), or in SQL on PostgreSQL."""
    from qcode.analysis.frame import coding_columns, fetch_integers, on_postgres, unique

    if on_postgres(db):
        return [r[0] for r in db.execute(
            "SELECT r.id FROM current_revisions r WHERE " + " AND ".join(
                ["EXISTS (SELECT 1 FROM codings c WHERE c.revision_id = r.id AND "
                 "c.coder_id = ?)"] * len(coder_ids)) + " ORDER BY r.document_id", coder_ids)]
    columns = coding_columns(db)
    revision, coder = columns[1], columns[5]
    common = set(unique(revision[coder == coder_ids[0]]).tolist())
    for other in coder_ids[1:]:
        common &= set(unique(revision[coder == other]).tolist())
    return [r for r, _ in sorted(((r, d) for r, d in db.execute(
        "SELECT id, document_id FROM current_revisions").fetchall() if r in common),
        key=lambda pair: pair[1])]


def _measure(path: str, units: Counter, n_coders: int) -> Agreement:
    items = list(units.items())
    kappa = cohen_kappa(items) if n_coders == 2 else None
    return Agreement(path, sum(units.values()), percent_agreement(items), kappa,
                     krippendorff_alpha_nominal(items))


class _Codings:
    """The codings that count, as columns: revision id, its rank (document order), code
    index, coder index, start and end."""

    def __init__(self, db, revisions: list[int], coder_ids: list[int], code_ids: list[int]):
        self.revisions = revisions
        self.revisions_json = json.dumps(revisions)
        from qcode.analysis.frame import (coding_columns, fetch_integers, on_postgres,
                                          server_memo)

        if on_postgres(db) and "codings" not in server_memo(db):  # only the ones needed
            rows = fetch_integers(
                db, ["revision_id * 4294967296 + start", "\"end\"",
                     "code_id * 4294967296 + coder_id"],
                "FROM codings WHERE revision_id IN (SELECT value FROM json_each(?)) "
                "AND coder_id IN (SELECT value FROM json_each(?))",
                [self.revisions_json, json.dumps(coder_ids)])
            revision, start = np.divmod(rows[:, 0], _SHIFT)
            end = rows[:, 1]
            code_id, coder_id = np.divmod(rows[:, 2], _SHIFT)
        else:  # every coding, from the analyses' cached copy (qcode.analysis.frame), or as
            # this process read them from the server (a report)
            _, revision, start, end, code_id, coder_id = coding_columns(db)[:6]
            keep = (np.isin(revision, np.array(revisions, dtype=np.int64))
                    & np.isin(coder_id, np.array(coder_ids, dtype=np.int64)))
            revision, start, end = revision[keep], start[keep], end[keep]
            code_id, coder_id = code_id[keep], coder_id[keep]
        code = _index_of(code_id, code_ids)
        keep = code >= 0
        self.revision, self.start, self.end = revision[keep], start[keep], end[keep]
        self.code = code[keep]
        self.coder = _index_of(coder_id[keep], coder_ids)
        self.rank = _index_of(self.revision, revisions)

    def lengths(self, db) -> np.ndarray:
        """Per revision (in rank order), the length of its text: from the word index,
        which keeps it (length(text) would count the characters of every transcript)."""
        length = dict(db.execute("SELECT revision_id, length FROM revision_words WHERE "
                                 "revision_id IN (SELECT value FROM json_each(?))",
                                 [self.revisions_json]).fetchall())
        missing = json.dumps([r for r in self.revisions if r not in length])
        length.update(db.execute("SELECT id, length(text) FROM revisions WHERE id IN "
                                 "(SELECT value FROM json_each(?))", [missing]).fetchall())
        return np.array([length[r] for r in self.revisions], dtype=np.int64)


def _index_of(values: np.ndarray, wanted: list[int]) -> np.ndarray:
    """Per value, its index in *wanted* (-1: not there)."""
    if not len(values):
        return np.zeros(0, dtype=np.int64)
    lookup = np.full(max(int(values.max()), max(wanted, default=0)) + 1, -1, dtype=np.int64)
    lookup[np.array(wanted, dtype=np.int64)] = np.arange(len(wanted))
    return lookup[values]


def _tally(code: np.ndarray, bits: np.ndarray, weight: np.ndarray, n_codes: int,
           n_coders: int, total: int) -> list[Counter]:
    """Per code, a Counter of value patterns (tuples of 0/1 per coder); the units no
    coder marked make up the rest of *total* as the all-no pattern."""
    patterns = [Counter({(0,) * n_coders: total}) for _ in range(n_codes)]
    marked = bits > 0
    keys, sums = np.unique(code[marked] << n_coders | bits[marked], return_inverse=True)
    sums = np.bincount(sums, weights=weight[marked], minlength=len(keys)).astype(np.int64)
    for key, n in zip(keys.tolist(), sums.tolist(), strict=True):
        c, mask = key >> n_coders, key & ((1 << n_coders) - 1)
        patterns[c][tuple(mask >> k & 1 for k in range(n_coders))] += n
        patterns[c][(0,) * n_coders] -= n
    return patterns


def _segments(db, codings: _Codings, n_codes: int, n_coders: int, disagreements: bool):
    """Each sentence is a unit; coder k applied a code to it when one of k's codings of
    the code covers at least half of it or lies inside it."""
    from qcode.analysis.frame import sentence_spans, unique

    begins, finishes, number = sentence_spans(db, codings.revisions_json,
                                              numbers=disagreements)
    a = codings.revision * _SHIFT + codings.start
    b = codings.revision * _SHIFT + codings.end
    # the sentences each coding touches: ending after its start, starting before its end
    first = np.searchsorted(finishes, a, "right")
    touched = np.maximum(np.searchsorted(begins, b, "left") - first, 0)
    pair = np.repeat(np.arange(len(a)), touched)
    sentence = first[pair] + np.arange(len(pair)) - np.repeat(np.cumsum(touched) - touched,
                                                              touched)
    s, e, lo, hi = a[pair], b[pair], begins[sentence], finishes[sentence]
    overlap = np.minimum(e, hi) - np.maximum(s, lo)
    covers = (overlap > 0) & ((overlap * 2 >= hi - lo) | ((s >= lo) & (e <= hi)))
    pair, sentence = pair[covers], sentence[covers]
    # one bit per coder and (code, sentence) unit: distinct bits summed are OR-ed
    marks = unique((codings.code[pair] * len(begins) + sentence) << n_coders
                      | np.int64(1) << codings.coder[pair])
    units, inverse = np.unique(marks >> n_coders, return_inverse=True)
    bits = np.bincount(inverse, weights=marks & ((1 << n_coders) - 1),
                       minlength=len(units)).astype(np.int64)
    code, sentence = np.divmod(units, max(len(begins), 1))
    patterns = _tally(code, bits, np.ones(len(units)), n_codes, n_coders, len(begins))
    found = []
    if disagreements:
        mixed = bits != (1 << n_coders) - 1
        code, sentence, bits = code[mixed], sentence[mixed], bits[mixed]
        revision = begins[sentence] // _SHIFT
        order = np.lexsort((begins[sentence], code, _index_of(revision, codings.revisions)))
        start = begins[sentence] % _SHIFT
        found = list(zip(revision[order].tolist(), code[order].tolist(),
                         number[sentence][order].tolist(), start[order].tolist(),
                         (start + finishes[sentence] - begins[sentence])[order].tolist(),
                         bits[order].tolist(), strict=True))
    return patterns, found


def _characters(db, codings: _Codings, n_codes: int, n_coders: int, disagreements: bool):
    """Each character is a unit. Sweep the coding boundaries of every (revision, code)
    laid end to end: between two boundaries each coder's coverage is constant."""
    from qcode.analysis.frame import unique

    lengths = codings.lengths(db)
    group = codings.rank * max(n_codes, 1) + codings.code
    base = group * _SHIFT
    a, b = base + codings.start, base + codings.end
    events = unique(np.concatenate([a, b, base]))
    bits = np.zeros(len(events), dtype=np.int64)
    for k in range(n_coders):
        mine = codings.coder == k
        depth = np.zeros(len(events) + 1, dtype=np.int64)
        np.add.at(depth, np.searchsorted(events, a[mine]), 1)
        np.add.at(depth, np.searchsorted(events, b[mine]), -1)
        bits |= (np.cumsum(depth)[:-1] > 0).astype(np.int64) << k
    # stretch i runs from events[i] to events[i + 1], inside one group
    if len(events):
        bits, lo, hi = bits[:-1], events[:-1], events[1:]
        inside = (lo // _SHIFT == hi // _SHIFT)
        bits, lo, hi = bits[inside], lo[inside], hi[inside]
    else:
        lo = hi = events
    groups = lo // _SHIFT
    code = groups % max(n_codes, 1)
    patterns = _tally(code, bits, (hi - lo).astype(np.float64), n_codes, n_coders,
                      int(lengths.sum()))
    found = []
    if disagreements:
        mixed = (bits > 0) & (bits != (1 << n_coders) - 1)
        revision = np.array(codings.revisions, dtype=np.int64)[groups[mixed] // max(n_codes, 1)]
        found = list(zip(revision.tolist(), code[mixed].tolist(), [None] * int(mixed.sum()),
                         (lo[mixed] % _SHIFT).tolist(), (hi[mixed] % _SHIFT).tolist(),
                         bits[mixed].tolist(), strict=True))
    return patterns, found

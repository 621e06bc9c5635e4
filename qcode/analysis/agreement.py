"""Intercoder agreement per code and overall.

Documents count when every listed coder has coded them (on their current revision).
Unit 'segment': each sentence is a unit; a coder applied a code to it when one of the
coder's codings of that code covers at least half of it or lies inside it.
Unit 'char': each character is a unit, 1 where the coder's codings of the code cover it.
Each code is a yes/no variable: percent agreement, Cohen's kappa (two coders) and
Krippendorff's alpha (nominal, any number of coders). 'Overall' pools every code's units.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass

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


def _covers(s: int, e: int, start: int, end: int) -> bool:
    overlap = min(e, end) - max(s, start)
    return overlap > 0 and (overlap * 2 >= end - start or (s >= start and e <= end))


def agreement(db, coders: list[str], *, unit: str = "segment", code: str | None = None,
              disagreements: bool = False) -> tuple[list[Agreement], list[Disagreement]]:
    if len(coders) < 2:
        raise QcodeError("agreement needs at least two coders: --coders a,b")
    if unit not in UNITS:
        raise QcodeError(f"--unit is one of {', '.join(UNITS)}")
    known = {r[0] for r in db.execute("SELECT name FROM coders")}
    missing = [c for c in coders if c not in known]
    if missing:
        raise QcodeError(f"no coder {', '.join(map(repr, missing))}; "
                         f"the project has {', '.join(sorted(known)) or 'none'}")
    ids = dict(db.execute(f"SELECT name, id FROM coders WHERE name IN "
                          f"({','.join('?' * len(coders))})", coders).fetchall())
    revisions = [r[0] for r in db.execute(
        "SELECT r.id FROM current_revisions r WHERE " + " AND ".join(
            ["EXISTS (SELECT 1 FROM codings c WHERE c.revision_id = r.id AND c.coder_id = ?)"]
            * len(coders)) + " ORDER BY r.document_id", [ids[c] for c in coders])]
    if not revisions:
        raise QcodeError(f"no document has been coded by all of {', '.join(coders)}")
    codes = db.execute("SELECT id, path FROM codes WHERE status = 'active' "
                       "ORDER BY position, path").fetchall()
    if code:
        wanted = set(descendants(db, resolve_code(db, code)["id"]))
        codes = [(i, p) for i, p in codes if i in wanted]
    patterns: dict[int, Counter] = defaultdict(Counter)  # code -> Counter(value tuple)
    found: list[Disagreement] = []
    for revision in revisions:
        _revision(db, revision, coders, ids, codes, unit, patterns,
                  found if disagreements else None)
    results = []
    pooled: Counter = Counter()
    for code_id, path in codes:
        units = patterns.get(code_id)
        if not units:
            continue
        pooled.update(units)
        results.append(_measure(path, units, len(coders)))
    results.append(_measure("(overall)", pooled, len(coders)))
    return results, found


def _measure(path: str, units: Counter, n_coders: int) -> Agreement:
    items = list(units.items())
    kappa = cohen_kappa(items) if n_coders == 2 else None
    return Agreement(path, sum(units.values()), percent_agreement(items), kappa,
                     krippendorff_alpha_nominal(items))


def _revision(db, revision, coders, ids, codes, unit, patterns, found) -> None:
    name, text = db.execute("SELECT d.name, r.text FROM revisions r JOIN documents d ON "
                            "d.id = r.document_id WHERE r.id = ?", [revision]).fetchone()
    spans: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    for code_id, coder_id, start, end in db.execute(
            "SELECT code_id, coder_id, start, \"end\" FROM codings WHERE revision_id = ?",
            [revision]):
        spans[(code_id, coder_id)].append((start, end))
    sentences = db.execute("SELECT number, start, \"end\" FROM segments WHERE revision_id = ? "
                           "AND kind = 'sentence' ORDER BY start", [revision]).fetchall()
    order = [ids[c] for c in coders]
    starts = [start for _, start, _ in sentences]
    ends = [end for _, _, end in sentences]
    for code_id, path in codes:
        if not any(spans.get((code_id, k)) for k in order):
            # nobody used the code here: every unit agrees on "no"
            patterns[code_id][(0,) * len(order)] += len(sentences) if unit == "segment" \
                else len(text)
            continue
        if unit == "segment":
            # only sentences some coding of this code touches can be anything but all-no
            touched = sorted({i for k in order for s, e in spans.get((code_id, k), [])
                              for i in range(bisect_right(ends, s), bisect_left(starts, e))})
            patterns[code_id][(0,) * len(order)] += len(sentences) - len(touched)
            for i in touched:
                number, start, end = sentences[i]
                values = tuple(int(any(_covers(s, e, start, end) for s, e in
                                       spans.get((code_id, k), []))) for k in order)
                patterns[code_id][values] += 1
                if found is not None and len(set(values)) > 1:
                    found.append(Disagreement(
                        name, number, start, end, path,
                        [c for c, v in zip(coders, values, strict=True) if v],
                        [c for c, v in zip(coders, values, strict=True) if not v],
                        text[start:end]))
        else:
            _characters(text, name, path, [spans.get((code_id, k), []) for k in order],
                        coders, patterns[code_id], found)


def _characters(text, name, path, per_coder, coders, counter: Counter, found) -> None:
    """Sweep the span boundaries: each stretch between two boundaries has one pattern."""
    events = sorted({0, len(text)} | {p for spans in per_coder for s, e in spans for p in (s, e)})
    for a, b in zip(events, events[1:], strict=False):
        if a >= b:
            continue
        values = tuple(int(any(s <= a and b <= e for s, e in spans)) for spans in per_coder)
        counter[values] += b - a
        if found is not None and len(set(values)) > 1 and text[a:b].strip():
            found.append(Disagreement(
                name, None, a, b, path,
                [c for c, v in zip(coders, values, strict=True) if v],
                [c for c, v in zip(coders, values, strict=True) if not v], text[a:b]))

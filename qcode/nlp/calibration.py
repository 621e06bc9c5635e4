"""Scores that mean something: calibrated probabilities and per-code thresholds.

* The learned model's scores are calibrated on out-of-fold predictions (each unit
  scored by a model that did not see its document): the class-balanced logits are
  moved back to each code's base rate, then one logistic curve for all codes, with a
  per-code offset pulled towards zero, maps them to probabilities (Platt scaling).
* Rules and fuzzy matches score each pattern's precision in this project's own
  decisions: accepted / decided, shrunk towards the code's precision, and that
  towards the suggester's, and that towards a prior, so a pattern with no decisions
  yet scores what its code's other patterns earned, and a new project the prior.
* A code's threshold is set so that, of the training units' out-of-fold probabilities,
  as many pass it as the code is expected to have: its known positives plus, where
  nothing is decided yet, the sum of the calibrated probabilities
  (:func:`count_thresholds`). A cut found by the best F1 on a handful of positives moves
  with each one; the expected count rests on every unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy

DEFAULT_THRESHOLD = 0.5
OFFSET_PENALTY = 1.0  # how strongly a code's own offset is pulled towards the shared curve


def best_threshold(scores: Sequence[float], gold: Sequence[bool],
                   weights: Sequence[float] | None = None) -> float:
    """The cut with the best F1 (nearest 0.5 among equals); 0.5 if nothing is found.
    *weights*: what each unit counts for (default 1 each)."""
    scores = numpy.asarray(scores, dtype=numpy.float64)
    gold = numpy.asarray(gold, dtype=bool)
    weights = numpy.ones(len(scores)) if weights is None else numpy.asarray(weights, float)
    support = float((weights * gold).sum())
    if not len(scores) or support <= 0:
        return 0.5
    order = numpy.argsort(-scores, kind="stable")
    ranked = scores[order]
    tp = numpy.cumsum(weights[order] * gold[order])
    predicted = numpy.cumsum(weights[order])
    last = numpy.append(ranked[1:] != ranked[:-1], True)  # a cut keeps every equal score
    f1 = numpy.where(last, 2 * tp / (predicted + support), -1.0)
    best = f1.max()
    if best <= 0:
        return 0.5
    candidates = ranked[f1 >= best - 1e-12]
    return float(candidates[numpy.argmin(numpy.abs(candidates - 0.5))])


def base_rate_shift(y: numpy.ndarray, known: numpy.ndarray) -> numpy.ndarray:
    """Per code, log(positives / negatives): what class balancing took out of the
    logits (smoothed by half a unit on each side). A code nobody has coded yet gets the
    median of the others: before its first coding, expect it as often as a typical
    code (its codebook definition is all the model knows of it)."""
    coded = (y * known).sum(axis=0)
    negatives = ((1 - y) * known).sum(axis=0) + 0.5
    shift = numpy.log((coded + 0.5) / negatives)
    if (coded > 0).any():
        shift[coded == 0] = numpy.median(shift[coded > 0])
    return shift


@dataclass
class Platt:
    slope: float = 1.0
    intercept: float = 0.0
    offsets: numpy.ndarray = field(default_factory=lambda: numpy.zeros(0))

    def __call__(self, logits: numpy.ndarray) -> numpy.ndarray:
        # the logistic function, with numpy alone (scipy.special is not imported to suggest)
        u = numpy.clip(self.slope * logits + self.intercept + self.offsets, -500, 500)
        return 1.0 / (1.0 + numpy.exp(-u))


MIN_SLOPE = 0.05  # of fit_platt's curve: flat at worst, still ranking as the model does


def fit_platt(logits: numpy.ndarray, y: numpy.ndarray, known: numpy.ndarray) -> Platt:
    """One curve for all codes, with a penalised offset per code, fitted by maximum
    likelihood on the (unit, code) pairs of out-of-fold logits, each weighing what
    *known* says (1 known, a fraction for a weak negative, 0 unknown). Targets are
    smoothed as in Platt (1999) — a positive counts as (n+ + 1) / (n+ + 2), a negative as
    1 / (n- + 2) — so a code that its words predict perfectly does not send the curve
    to a step."""
    from scipy.optimize import minimize
    from scipy.special import expit

    codes = logits.shape[1]
    # a code nobody has coded yet keeps the shared curve: its held-out "never" says
    # nothing of how its definition-made scores should read
    mask = (known > 0) & ((y * known).sum(axis=0) > 0)
    if not mask.any():
        return Platt(offsets=numpy.zeros(codes))
    positives = (y * known * mask).sum(axis=0)
    negatives = ((1 - y) * known * mask).sum(axis=0)
    smooth = numpy.where(y > 0, (positives + 1) / (positives + 2), 1 / (negatives + 2))
    z, target, weight = logits[mask], smooth[mask], known[mask].astype(numpy.float64)
    column = numpy.nonzero(mask)[1]

    def loss_and_gradient(theta):
        slope, intercept, offsets = theta[0], theta[1], theta[2:]
        u = slope * z + intercept + offsets[column]
        loss = float((weight * (numpy.logaddexp(0.0, u) - target * u)).sum()) \
            + 0.5 * OFFSET_PENALTY * float((offsets * offsets).sum())
        r = weight * (expit(u) - target)
        grad_offsets = numpy.bincount(column, weights=r, minlength=codes) \
            + OFFSET_PENALTY * offsets
        return loss, numpy.concatenate([[float((r * z).sum()), float(r.sum())],
                                        grad_offsets])

    start = numpy.concatenate([[1.0, 0.0], numpy.zeros(codes)])
    # the curve may flatten but never turn over: a calibration cannot reverse the model's
    # ranking (a negative slope, seen with nine coded turns, sent every sentence of a new
    # document above the cut of each uncoded code)
    bounds = [(MIN_SLOPE, None)] + [(None, None)] * (codes + 1)
    theta = minimize(loss_and_gradient, start, jac=True, method="L-BFGS-B", bounds=bounds).x
    return Platt(float(theta[0]), float(theta[1]), theta[2:].copy())


def count_thresholds(probabilities: numpy.ndarray, y: numpy.ndarray,
                     known: numpy.ndarray, fallback: float = DEFAULT_THRESHOLD) -> numpy.ndarray:
    """Per code, the cut that as many units' out-of-fold *probabilities* reach as the code
    is expected to have positives among them: those known (*known* 1 and *y* 1) plus,
    for the units not known, the sum of their probabilities — at least one. A code with
    no known positive gets *fallback* (its definition alone cannot place a cut).

    Why not the best-F1 cut: with a few positives per code it is found on those few
    (the best cut on three coded sentences is one of their three scores) and jumps as
    each review decision arrives. Measured (bench/active.py's simulated reviews, WAC
    turns, 3 seeds; bench/wac.py, bench/quality.py: see the issue 14 note) the count
    gives a higher F1 of the full-data model and a steadier one as decisions arrive."""
    codes = probabilities.shape[1]
    cuts = numpy.full(codes, float(fallback))
    sure = (known > 0) & (y > 0)
    for j in range(codes):
        positives = float(sure[:, j].sum())
        if not positives:
            continue
        expected = positives + float((probabilities[:, j] * (known[:, j] <= 0)).sum())
        ranked = numpy.sort(probabilities[:, j])[::-1]
        cuts[j] = ranked[min(max(1, round(expected)), len(ranked)) - 1]
    return cuts


# -- rules and fuzzy ------------------------------------------------------------------

PRIORS = {"rules": 0.5, "fuzzy": 0.3}  # what a match is worth before any decision
STRENGTH = 2.0  # decisions' worth of the level above, at every level


@dataclass
class PatternPrecision:
    """Precision of each pattern from decisions: {(suggester, code id, pattern): [decided,
    accepted]}. Scores are posterior means of a three-level beta-binomial."""

    counts: dict[tuple[str, int, str], list[int]] = field(default_factory=dict)

    def add(self, suggester: str, code_id: int, pattern: str, accepted: bool,
            times: int = 1) -> None:
        entry = self.counts.setdefault((suggester, code_id, pattern), [0, 0])
        entry[0] += times
        entry[1] += times * bool(accepted)

    def scorer(self):
        """A fast score(suggester, code id, pattern) with the sums computed once."""
        by_suggester: dict[str, list[int]] = {}
        by_code: dict[tuple[str, int], list[int]] = {}
        for (suggester, code_id, _), (n, k) in self.counts.items():
            for table, key in ((by_suggester, suggester), (by_code, (suggester, code_id))):
                entry = table.setdefault(key, [0, 0])
                entry[0] += n
                entry[1] += k

        def score(suggester: str, code_id: int, pattern: str) -> float:
            n, k = by_suggester.get(suggester, (0, 0))
            level = (k + STRENGTH * PRIORS[suggester]) / (n + STRENGTH)
            n, k = by_code.get((suggester, code_id), (0, 0))
            level = (k + STRENGTH * level) / (n + STRENGTH)
            n, k = self.counts.get((suggester, code_id, pattern), (0, 0))
            return (k + STRENGTH * level) / (n + STRENGTH)
        return score

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, int, str, bool, int]]) -> PatternPrecision:
        table = cls()
        for suggester, code_id, pattern, accepted, times in rows:
            table.add(suggester, code_id, pattern, accepted, times)
        return table

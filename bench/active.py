"""Learning while you review, simulated on the WAC interviews (issue 14).

A coder who answers from the human theme codes reviews qcode's suggestions. Per seed,
half of the interviews are held out to measure the model; of the other half the coder
codes two (``--start``) by hand and reviews the rest: every (sentence, theme) pair of them is a
pending suggestion (as after `qcode suggest --min-score 0`), decided as the human
coders decided (accepted where they gave the sentence's answer that theme, rejected
elsewhere). Every ``--every`` decisions the model is retrained on what is known so far
— exactly as `qcode review` does: qcode's own learner (qcode.nlp.models.fit_model) on
qcode's own learning data (decided pairs, and undecided ones as weak negatives) — and
the queue is put in order again. Two orders are compared on the same start:

* qcode: `qcode review --order uncertain` (qcode.review.uncertain_first: the codes take
  turns, each offering the suggestion nearest its threshold);
* random: the pending suggestions in a random order.

Printed: macro-F1 of the model's suggestions on the held-out interviews against the
number of decisions, and for each order the decisions after which it stays at 90 % or
more of the F1 of a model trained on every reviewable interview coded in full.
Retraining runs in-process (the background thread of `qcode review` would make the
timing of updates depend on the machine rather than on the order).

    python bench/active.py [--seeds 3] [--first-seed 0] [--unit turn|sentence] [--budget 0] [--every 10]
                            [--start 2] [--orders qcode,random] [--data wac|serdif]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy

sys.path.insert(0, str(Path(__file__).resolve().parent))

from protocols import PROTOCOLS, SERDIF, WAC  # noqa: E402

CHECK_EVERY = 100


def macro_f1(model, test) -> float:
    predicted = model.probabilities(test.rows) >= model.thresholds
    scores = []
    for j in range(test.y.shape[1]):
        gold = test.y[:, j] > 0
        if gold.any():
            scores.append(2 * (gold & predicted[:, j]).sum() / (gold.sum() + predicted[:, j].sum()))
    return float(numpy.mean(scores))


def known_subset(pool, known: numpy.ndarray, whole: numpy.ndarray):
    """The pool as qcode's learner sees it: whole documents fully known, elsewhere the
    decided pairs (the rest weak negatives)."""
    subset = pool.subset(list(range(len(pool.units))))
    subset.known = known.copy()
    # what nobody has decided yet is unknown, as in qcode's own learning data (a unit's
    # labels are its codings and accepted suggestions): the human label must not leak
    subset.y = pool.y * subset.known
    for unit, is_whole in zip(subset.units, whole, strict=True):
        unit.known = None if is_whole else set()
    return subset


def simulate(pool, test, start_docs: set[int], order: str, seed: int, budget: int,
             every: int, paths: dict[str, str]) -> list[tuple[int, float]]:
    from qcode.nlp.models import fit_model
    from qcode.review import uncertain_first

    whole = numpy.asarray([g in start_docs for g in pool.groups])
    known = numpy.zeros(pool.y.shape, dtype=numpy.float32)
    known[whole] = 1
    rng = random.Random(seed)
    model = fit_model(known_subset(pool, known, whole), seed=seed)
    curve = [(0, macro_f1(model, test))]
    queue: list[dict] = []
    done = 0
    for decision in range(1, budget + 1):
        if not queue:
            queue = _ranked(model, pool, known, whole, order, rng, uncertain_first, paths)
            if not queue:
                break
        item = queue.pop(0)
        known[item["unit"], item["column"]] = 1
        done = decision
        if decision % every == 0:
            model = fit_model(known_subset(pool, known, whole), seed=seed)
            queue = []
        if decision % CHECK_EVERY == 0:
            curve.append((decision, macro_f1(model, test)))
    if done and curve[-1][0] != done:  # the last decisions (every pair, by default)
        if done % every:
            model = fit_model(known_subset(pool, known, whole), seed=seed)
        curve.append((done, macro_f1(model, test)))
    return curve


def _ranked(model, pool, known, whole, order, rng, uncertain_first, paths) -> list[dict]:
    probabilities = model.probabilities(pool.rows)
    column = {g: j for j, g in enumerate(model.labels)}
    items = []
    for i, j in zip(*numpy.nonzero(known == 0), strict=True):
        label = pool.labels[j]
        p = float(probabilities[i, column[label]]) if label in column else 0.0
        items.append({"unit": int(i), "column": int(j), "code_id": int(j),
                      "code": paths[label], "score": p})
    if order == "random":
        rng.shuffle(items)
        return items
    thresholds = {paths[g]: float(t) for g, t in zip(model.labels, model.thresholds,
                                                       strict=True)}
    if order == "qcode":
        decided = known.copy()
        decided[whole] = 0  # documents coded by hand: no review decisions
        counts = dict(enumerate(decided.sum(axis=0).astype(int).tolist()))
        return uncertain_first(items, thresholds, counts)
    if order == "restart":  # the turns started over with the first codes at every update
        return uncertain_first(items, thresholds)
    raise ValueError(f"unknown order {order!r}")


def whole_pairs(pool, start_docs) -> int:
    """The pairs of the interviews coded by hand at the start (not reviewed)."""
    return sum(1 for g in pool.groups if g in set(start_docs)) * pool.y.shape[1]


def _shown(decisions: int | None, budget: int) -> str:
    return f"> {budget}" if decisions is None else str(decisions)


def stays_above(curve, target: float) -> int | None:
    """The first number of decisions from which the F1 stays >= target to the end of the
    next two checks (one lucky check does not count)."""
    for k, (decisions, _) in enumerate(curve):
        if all(f1 >= target for _, f1 in curve[k:k + 3]):
            return decisions
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0,
                        help="seeds FIRST .. FIRST+SEEDS-1 (run seeds in parallel processes)")
    parser.add_argument("--unit", default="turn", choices=("turn", "sentence"))
    parser.add_argument("--budget", type=int, default=0,
                        help="decisions per run (default 0: every pair of the reviewable "
                             "interviews, so that random order's need is measured, not cut off)")
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--data", default="wac", choices=sorted(PROTOCOLS),
                        help="the human-coded project: WAC interviews or the SERDIF sessions")
    parser.add_argument("--start", type=int, default=2,
                        help="interviews coded by hand before the review starts")
    parser.add_argument("--orders", default="qcode,random",
                        help="of qcode, random, restart (the order before the turns went on)")
    args = parser.parse_args()
    folder = {"wac": WAC, "serdif": SERDIF}[args.data]
    if not folder.is_dir():
        sys.exit(f"{folder} not found")
    from qcode.nlp.models import fit_model, training_set

    with tempfile.TemporaryDirectory() as tmp:
        project, _ = PROTOCOLS[args.data](Path(tmp) / args.data)
        everything = training_set(project, unit=args.unit)
        paths = dict(project.db.execute("SELECT guid, path FROM codes").fetchall())
        documents = sorted(set(everything.groups))
        needs: dict[str, list] = {order: [] for order in args.orders.split(",")}
        mean_curves: dict[str, list] = {order: [] for order in needs}
        targets = []
        budgets = []
        print(f"{args.data.upper()} {args.unit}s: {len(everything.units)} units, {len(everything.labels)} "
              f"themes; retrained every {args.every} decisions; {args.seeds} seeds")
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            shuffled = documents[:]
            random.Random(seed).shuffle(shuffled)
            held_out = set(shuffled[::2])
            reviewable = [d for d in shuffled if d not in held_out]
            test = everything.subset([i for i, g in enumerate(everything.groups)
                                      if g in held_out])
            pool = everything.subset([i for i, g in enumerate(everything.groups)
                                      if g not in held_out])
            target = 0.9 * macro_f1(fit_model(pool, seed=seed), test)
            targets.append(target)
            print(f"\nseed {seed}: {len(reviewable)} interviews to review ({pool.y.size} "
                  f"pairs), {len(held_out)} held out; 90 % of the full-data F1: {target:.3f}")
            budget = args.budget or int(pool.y.size - whole_pairs(pool, reviewable[:args.start]))
            budgets.append(budget)
            curves = {}
            for order in needs:
                started = time.perf_counter()
                curves[order] = simulate(pool, test, set(reviewable[:args.start]), order, seed,
                                         budget, args.every, paths)
                needs[order].append(stays_above(curves[order], target))
                mean_curves[order].append([f1 for n, f1 in curves[order]
                                           if n % CHECK_EVERY == 0])
                print(f"  {order:7} ({time.perf_counter() - started:3.0f} s) "
                      + " ".join(f"{f1:.3f}" for _, f1 in curves[order])
                      + f"  -> {_shown(needs[order][-1], budget)}")
            print("  decisions        " + " ".join(f"{n:>5}" for n, _ in curves[order]))
        print("\ndecisions after which the F1 stays at >= 90 % of the full-data F1, per seed:")
        for order, values in needs.items():
            print(f"  {order:7} {values}")
        for order in needs:
            if order == "random" or "random" not in needs:
                continue
            # a run that never got there counts as one check more than its budget
            pairs = [(b + CHECK_EVERY if q is None else q, b + CHECK_EVERY if r is None else r)
                     for q, r, b in zip(needs[order], needs["random"], budgets, strict=True)]
            ratios = [q / r for q, r in pairs if r]
            at_start = sum(1 for q, r in pairs if not r)
            if ratios:
                print(f"  {order} / random: median {statistics.median(ratios):.2f}, per seed "
                      + ", ".join(f"{r:.2f}" for r in ratios) + " (target <= 0.50; a run that "
                      f"never got there counts as its budget + {CHECK_EVERY})")
            if at_start:
                print(f"  {at_start} seed(s) where random order was there before the first "
                      f"decision ({order}: {[q for q, r in pairs if not r]})")
        # the learning curves averaged over the seeds: one check's luck evens out
        target = statistics.mean(targets)
        print(f"\nmean over the seeds (90 % of the mean full-data F1: {target:.3f}):")
        reached = {}
        for order, runs in mean_curves.items():
            length = min(len(run) for run in runs)
            mean = [statistics.mean(run[k] for run in runs) for k in range(length)]
            reached[order] = stays_above([(k * CHECK_EVERY, f1) for k, f1 in enumerate(mean)],
                                         target)
            print(f"  {order:7} " + " ".join(f"{f1:.3f}" for f1 in mean)
                  + f"  -> {_shown(reached[order], (length - 1) * CHECK_EVERY)}")
        for order in reached:
            if order != "random" and reached[order] is not None and reached.get("random"):
                print(f"  {order} / random: {reached[order] / reached['random']:.2f} "
                      "(target <= 0.50)")


if __name__ == "__main__":
    main()

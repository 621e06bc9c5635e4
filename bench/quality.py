"""Suggestion quality on real, human-coded data: qcode's learned model against the
BASELINE.md baselines (tf-idf centroid, tf-idf + logistic regression) on the same
units and the same document folds, over several seeds, for every protocol:

    wac / turn       World after Covid answers (the BASELINE.md unit)
    wac / sentence   the same answers' sentences (each inherits its answer's themes)
    serdif / sentence, serdif / turn   SERDIF think-aloud sessions, coded in Taguette

(bench/protocols.py builds them.) Also prints how well the model's probabilities are
calibrated: per band of predicted probability, the share of units really coded.

    python bench/quality.py [--seeds 5] [--folds 2] [--protocols wac/turn,serdif/sentence]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy

sys.path.insert(0, str(Path(__file__).resolve().parent))

from baselines import METHODS, predict  # noqa: E402
from protocols import PROTOCOLS, SERDIF, WAC  # noqa: E402

ALL = ("wac/turn", "wac/sentence", "serdif/sentence", "serdif/turn")


def macro_f1(y: numpy.ndarray, predicted: numpy.ndarray) -> float:
    scores = []
    for j in range(y.shape[1]):
        gold, guess = y[:, j] > 0, predicted[:, j]
        if gold.any():
            scores.append(2 * (gold & guess).sum() / (gold.sum() + guess.sum()))
    return float(numpy.mean(scores))


def measure(project, unit: str, seeds: int, folds: int, codebook: bool = True,
            keep: set[str] | None = None):
    """{method: [macro-F1 per seed]}, and the model's pooled (probability, coded) pairs.
    *keep*: only these codes (GUIDs), the others left out of the data as if never coded."""
    from qcode.nlp.evaluate import fold_numbers, model_probabilities
    from qcode.nlp.units import training_units

    settings = project.config.suggest
    units, _ = training_units(project.db, unit=unit, interviewer_names=settings.interviewer_names)
    units = [u for u in units if u.known is None and (settings.interviewer_turns
                                                      or not u.interviewer)]
    if keep is not None:
        for u in units:
            u.labels &= keep
    labels = sorted({g for u in units for g in u.labels})
    y = numpy.asarray([[g in u.labels for g in labels] for u in units], dtype=float)
    texts = [u.text for u in units]
    groups = [u.document_id for u in units]
    results: dict[str, list[float]] = {"qcode model": [], **{m: [] for m in METHODS}}
    pooled = []
    for seed in range(seeds):
        fold_of = fold_numbers(units, folds, seed)
        if not codebook:
            project.db.conn.execute("SAVEPOINT no_codebook")
            project.db.execute("UPDATE codes SET description = '', include = '', examples = '[]'")
        try:
            probabilities, cuts = model_probabilities(project, units, labels, fold_of, folds, seed)
        finally:
            if not codebook:
                project.db.conn.execute("ROLLBACK TO no_codebook")
                project.db.conn.execute("RELEASE no_codebook")
        results["qcode model"].append(macro_f1(y, (probabilities >= cuts) & (probabilities > 0)))
        pooled.append((probabilities.ravel(), y.ravel()))
        for name, method in METHODS.items():
            results[name].append(macro_f1(y, predict(method, texts, y, groups, fold_of, folds,
                                                     seed)))
    return results, len(units), len(labels), pooled


def reliability(pooled) -> str:
    p = numpy.concatenate([a for a, _ in pooled])
    y = numpy.concatenate([b for _, b in pooled])
    edges = [0.0, 0.1, 0.2, 0.4, 0.6, 0.8, 1.01]
    parts = []
    for low, high in zip(edges, edges[1:], strict=False):
        band = (p >= low) & (p < high)
        if band.sum():
            parts.append(f"{low:.1f}-{min(high, 1):.1f}: mean p {p[band].mean():.2f}, coded "
                         f"{y[band].mean():.2f} (n={int(band.sum())})")
    return "\n    ".join(parts)


def spread(values: list[float]) -> str:
    return f"{statistics.mean(values):.3f} ({min(values):.3f}-{max(values):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--protocols", default=",".join(ALL))
    parser.add_argument("--without-codebook", action="store_true",
                        help="also run the model with the codebook's definitions left out")
    args = parser.parse_args()
    if not WAC.is_dir() or not SERDIF.is_dir():
        sys.exit("../shared/eval/wac and ../shared/fixtures/taguette/serdif are needed")
    projects = {}
    with tempfile.TemporaryDirectory() as tmp:
        for protocol in args.protocols.split(","):
            name, unit = protocol.split("/")
            if name not in projects:
                projects[name] = PROTOCOLS[name](Path(tmp) / name)[0]
                if name == "serdif":  # the moderator's turns hold the participant's words too
                    projects[name].config.suggest.interviewer_turns = True
            started = time.perf_counter()
            results, n_units, n_labels, pooled = measure(projects[name], unit, args.seeds,
                                                         args.folds)
            if args.without_codebook:
                bare, _, _, _ = measure(projects[name], unit, args.seeds, args.folds, False)
                results["qcode model, no definitions"] = bare["qcode model"]
            print(f"\n{protocol}: {n_units} units, {n_labels} codes, {args.folds}-fold by "
                  f"document, {args.seeds} seeds ({time.perf_counter() - started:.0f} s)")
            for method, values in results.items():
                print(f"  {method:30} macro-F1 {spread(values)}")
            ours = results["qcode model"]
            for method in METHODS:
                diffs = [a - b for a, b in zip(ours, results[method], strict=True)]
                print(f"  qcode - {method:22} per seed: "
                      + " ".join(f"{d:+.3f}" for d in diffs) + f"  (mean {statistics.mean(diffs):+.3f})")
            print("  calibration (model, every unit x code):\n    " + reliability(pooled))


if __name__ == "__main__":
    main()

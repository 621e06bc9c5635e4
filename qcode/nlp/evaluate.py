"""How good are the suggestions? Precision, recall and F1 against the human codings.

Units are the sentences (or the turns) of the documents a coder has coded, without
interviewer turns unless qcode.yaml suggests in them. Every suggester is scored by
k-fold cross-validation by document: the documents are shuffled by ``seed`` and dealt
into folds, so the same seed gives the same split. For each fold, the model is
trained on the other folds (its calibration and per-code thresholds chosen on folds
inside those), and the rules' and fuzzy matches' precisions are counted on them too:
nothing is ever scored on a document it learnt from. ``all`` is what `qcode suggest`
would store: the suggesters' hits merged, each at its own cut.

``codes`` narrows the codes scored to subtrees; ``rollup`` scores each code as its
top-level ancestor among them (a theme and all its sub-codes as one label).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy

from qcode.errors import QcodeError
from qcode.nlp.calibration import best_threshold  # noqa: F401  (the public home of it)
from qcode.nlp.units import Unit, training_units

ProgressFn = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class Score:
    suggester: str
    code: str
    support: int
    predicted: int
    tp: int

    @property
    def precision(self) -> float:
        return self.tp / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.tp / self.support if self.support else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def row(self) -> dict:
        return {"suggester": self.suggester, "code": self.code, "support": self.support,
                "predicted": self.predicted, "tp": self.tp,
                "precision": round(self.precision, 3), "recall": round(self.recall, 3),
                "f1": round(self.f1, 3)}


@dataclass
class Evaluation:
    scores: list[Score]
    summary: list[dict]
    split: dict[str, int] = field(default_factory=dict)  # document name -> fold
    folds: int = 0


def label_map(db, codes: list[str] | None, rollup: bool) -> tuple[dict[str, str], dict[str, str]]:
    """({code guid: label guid}, {label guid: path}) for the codes scored."""
    from qcode.codes import descendants, resolve_code

    rows = {r["id"]: dict(r) for r in db.query("SELECT * FROM codes WHERE status = 'active'")}
    if codes:
        roots = [resolve_code(db, ref)["id"] for ref in codes]
    else:
        roots = [i for i, r in rows.items() if r["parent_id"] not in rows]
    mapping: dict[str, str] = {}
    for root in roots:
        for code_id in descendants(db, root):
            if code_id in rows:
                mapping[rows[code_id]["guid"]] = (rows[root]["guid"] if rollup
                                                  else rows[code_id]["guid"])
    paths = {rows[i]["guid"]: rows[i]["path"] for i in rows}
    return mapping, {g: paths[g] for g in set(mapping.values())}


def relabel(units: list[Unit], mapping: dict[str, str]) -> list[Unit]:
    for unit in units:
        unit.labels = {mapping[g] for g in unit.labels if g in mapping}
        if unit.known is not None:
            unit.known = {mapping[g] for g in unit.known if g in mapping}
    return units


def fold_numbers(units: list[Unit], folds: int, seed: int) -> list[int]:
    from qcode.nlp.models import folds_by_document

    documents = len({u.document_id for u in units})
    if documents < folds:
        raise QcodeError(f"{folds} folds need at least {folds} coded documents; "
                         f"there are {documents}")
    return folds_by_document([u.document_id for u in units], folds, seed)


DEFAULT_FOLDS = 5


def evaluate(project, *, coder: str | None = None, folds: int | None = None,
             using: tuple[str, ...] = ("rules", "fuzzy", "model"), unit: str = "segment",
             min_score: float | None = None, seed: int = 0, codes: list[str] | None = None,
             rollup: bool = False, progress: ProgressFn | None = None) -> Evaluation:
    db = project.db
    settings = project.config.suggest
    units, _ = training_units(db, coder=coder, unit=unit,
                              default_language=project.config.language,
                              interviewer_names=settings.interviewer_names)
    units = [u for u in units if u.known is None
             and (settings.interviewer_turns or not u.interviewer)]
    if not units:
        raise QcodeError("no coded documents to evaluate against" +
                         (f" for coder {coder!r}" if coder else ""))
    mapping, paths = label_map(db, codes, rollup)
    units = relabel(units, mapping)
    labels = sorted({g for u in units for g in u.labels}, key=lambda g: paths[g])
    if not labels:
        raise QcodeError("none of the codes evaluated has been coded in these documents")
    if folds is None:  # as many as there are coded documents, up to five
        folds = max(2, min(DEFAULT_FOLDS, len({u.document_id for u in units})))
    fold_of = fold_numbers(units, folds, seed)
    predictions: dict[str, list[dict[str, float]]] = {}
    if "model" in using:
        predictions["model"] = _model_predictions(project, units, labels, fold_of, folds, seed,
                                                  min_score, progress)
    matchers = [name for name in using if name in ("rules", "fuzzy")]
    if matchers:
        predictions.update(_match_predictions(project, units, labels, mapping, fold_of, folds,
                                              matchers, min_score, progress))
    if len(predictions) > 1:
        predictions["all"] = _merged(list(predictions.values()))
    scores, summary = [], []
    for name, predicted in predictions.items():
        per_code, row = score_predictions(name, units, predicted, paths, unit)
        scores += per_code
        summary.append(row)
    names = dict(db.execute("SELECT id, name FROM documents").fetchall())
    split = {names[u.document_id]: f for u, f in zip(units, fold_of, strict=True)}
    return Evaluation(scores, summary, dict(sorted(split.items())), folds)


def model_probabilities(project, units: list[Unit], labels: list[str], fold_of: list[int],
                        folds: int, seed: int, progress: ProgressFn | None = None
                        ) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Out-of-fold (probabilities, thresholds), each (units, labels): every unit scored by
    a model trained, calibrated and cut on the other folds. Units the model does not
    score (no content words of their own) get probability 0."""
    from qcode.nlp.models import fit_model, training_set

    if progress:
        progress("analysing", 0, folds + 1)
    ts = training_set(project, units=list(units), labels=labels)
    row_of = {id(u): i for i, u in enumerate(units)}
    rows = [row_of[id(u)] for u in ts.units]
    kept_fold = [fold_of[r] for r in rows]
    probabilities = numpy.zeros((len(units), len(labels)))
    cuts = numpy.ones((len(units), len(labels)))
    column = [labels.index(g) for g in ts.labels]
    for k in range(folds):
        if progress:
            progress(f"fold {k + 1}/{folds}", k + 1, folds + 1)
        train = [i for i, f in enumerate(kept_fold) if f != k]
        test = [i for i, f in enumerate(kept_fold) if f == k]
        subset = ts.subset(train)
        if not test or not subset.y.any():
            continue
        model = fit_model(subset, seed=seed)
        target = numpy.asarray([rows[i] for i in test])
        probabilities[numpy.ix_(target, column)] = model.probabilities(
            [ts.rows[i] for i in test])
        cuts[numpy.ix_(target, column)] = model.thresholds
    return probabilities, cuts


def _model_predictions(project, units, labels, fold_of, folds, seed, min_score, progress):
    probabilities, cuts = model_probabilities(project, units, labels, fold_of, folds, seed,
                                              progress)
    if min_score is not None:
        cuts = numpy.full(cuts.shape, min_score)
    out: list[dict[str, float]] = [{} for _ in units]
    for i, j in zip(*numpy.nonzero((probabilities >= cuts) & (probabilities > 0)), strict=True):
        out[i][labels[j]] = float(probabilities[i, j])
    return out


def _match_predictions(project, units, labels, mapping, fold_of, folds, matchers, min_score,
                       progress):
    from qcode.nlp.calibration import PatternPrecision
    from qcode.nlp.models import count_patterns, unit_hits
    from qcode.nlp.run import RULES_MIN_SCORE

    guid = dict(project.db.execute("SELECT id, guid FROM codes").fetchall())
    if progress:
        progress("matching patterns", 0, 1)
    hits = unit_hits(project, units, tuple(matchers))
    floor = RULES_MIN_SCORE if min_score is None else min_score
    out = {name: [{} for _ in units] for name in matchers}
    wanted = set(labels)
    for k in range(folds):
        table = PatternPrecision()  # what the training folds' coding says of each pattern
        for unit, found, f in zip(units, hits, fold_of, strict=True):
            if f != k:
                count_patterns(table, unit, found, lambda code_id: mapping.get(guid[code_id]))
        score = table.scorer()
        for i, (found, f) in enumerate(zip(hits, fold_of, strict=True)):
            if f != k:
                continue
            for hit in found:
                label = mapping.get(guid[hit.code_id])
                if label not in wanted:
                    continue
                for suggester in {e[0] for e in hit.evidence}:
                    p = max(score(suggester, hit.code_id, e[1]) for e in hit.evidence
                            if e[0] == suggester)
                    if p >= floor:
                        row = out[suggester][i]
                        row[label] = max(row.get(label, 0.0), p)
    return out


def _merged(predictions: list[list[dict[str, float]]]) -> list[dict[str, float]]:
    out = []
    for rows in zip(*predictions, strict=True):
        merged: dict[str, float] = {}
        for row in rows:
            for label, p in row.items():
                merged[label] = max(merged.get(label, 0.0), p)
        out.append(merged)
    return out


def score_predictions(name: str, units: list[Unit], predictions: list[dict[str, float]],
                      paths: dict[str, str], unit: str) -> tuple[list[Score], dict]:
    """Per-code scores and the summary row of one suggester's predictions for *units*."""
    gold = [u.labels for u in units]
    per_code, ranked = _score(name, gold, predictions, paths)
    return per_code, _summarise(name, per_code, ranked, len(gold), unit)


def _score(name, gold, predictions, paths):
    labels = sorted({lab for g in gold for lab in g}, key=lambda g: paths.get(g, g))
    per_code = []
    ranked = []  # (score, correct) for precision of the most confident suggestions
    for label in labels:
        support = sum(label in g for g in gold)
        predicted = sum(label in p for p in predictions)
        tp = sum(label in g and label in p for g, p in zip(gold, predictions, strict=True))
        per_code.append(Score(name, paths.get(label, label), support, predicted, tp))
    for g, p in zip(gold, predictions, strict=True):
        ranked += [(score, label in g) for label, score in p.items() if label in labels]
    return per_code, ranked


def _summarise(name, per_code: list[Score], ranked, units: int, unit: str) -> dict:
    tp = sum(s.tp for s in per_code)
    predicted = sum(s.predicted for s in per_code)
    support = sum(s.support for s in per_code)
    micro = Score(name, "(micro)", support, predicted, tp)
    ranked.sort(key=lambda x: -x[0])
    top = ranked[: max(1, len(ranked) // 5)] if ranked else []
    return {"suggester": name, "unit": unit, "units": units, "codes": len(per_code),
            "macro_precision": round(sum(s.precision for s in per_code) / len(per_code), 3),
            "macro_recall": round(sum(s.recall for s in per_code) / len(per_code), 3),
            "macro_f1": round(sum(s.f1 for s in per_code) / len(per_code), 3),
            "micro_precision": round(micro.precision, 3), "micro_recall": round(micro.recall, 3),
            "micro_f1": round(micro.f1, 3), "suggestions": predicted,
            "precision_top20": round(sum(c for _, c in top) / len(top), 3) if top else 0.0}

"""How good are the suggestions? Precision, recall and F1 against the human codings.

Units are the sentences (or the turns) of the documents a coder has coded. Rules and
fuzzy matching need no training and are scored on every unit; the learned model is
scored with k-fold cross-validation by document, so it is never scored on a document
it was trained on, and its per-code thresholds are tuned on out-of-fold predictions
inside each training fold (the test fold is never looked at).
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass

from qcode.errors import QcodeError
from qcode.nlp.models import Unit, build_model, labels_with_support, predict, training_units

DEFAULT_THRESHOLD = {"rules": 0.3, "fuzzy": 0.3}


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
                "predicted": self.predicted, "precision": round(self.precision, 3),
                "recall": round(self.recall, 3), "f1": round(self.f1, 3)}


def _predict_engine(project, name: str, units: list[Unit], codes: list[dict],
                    threshold: float) -> list[dict[str, float]]:
    from qcode.nlp.run import Engine

    engine = Engine(project, codes, (name,))
    guid = {c["id"]: c["guid"] for c in codes}
    out: list[dict[str, float]] = [{} for _ in units]
    by_language: dict[str, list[int]] = defaultdict(list)
    languages = dict(project.db.execute("SELECT id, language FROM documents").fetchall())
    for i, unit in enumerate(units):
        by_language[languages.get(unit.document_id) or project.config.language].append(i)
    for language, indexes in by_language.items():
        for hit in engine.suggest([units[i].text for i in indexes], language):
            if hit.score >= threshold:
                out[indexes[hit.sentence]][guid[hit.code_id]] = hit.score
    return out


def _folds(units: list[Unit], folds: int, seed: int) -> dict[int, int]:
    documents = sorted({u.document_id for u in units})
    if len(documents) < folds:
        raise QcodeError(f"{folds} folds need at least {folds} coded documents; "
                         f"there are {len(documents)}")
    random.Random(seed).shuffle(documents)
    return {doc: i % folds for i, doc in enumerate(documents)}


def model_fit_predict(project, seed: int):
    """fit_predict(train, test) for qcode's learned model."""
    def fit_predict(train: list[Unit], test: list[Unit]) -> list[dict[str, float]]:
        labels = labels_with_support(train)
        if not labels or not test:
            return [{} for _ in test]
        nlp = build_model(train, labels, project.config.language, seed=seed)
        return predict(nlp, [u.text for u in test], project.config.language)
    return fit_predict


def best_threshold(scores: list[float], gold: list[bool]) -> float:
    """The cut with the best F1 (nearest 0.5 among equals); 0.5 if nothing is found."""
    support = sum(gold)
    best = (0.0, 0.0, 0.5)
    tp = predicted = 0
    ranked = sorted(zip(scores, gold, strict=True), reverse=True)
    for i, (score, correct) in enumerate(ranked):
        predicted += 1
        tp += correct
        if i + 1 < len(ranked) and ranked[i + 1][0] == score:
            continue  # a cut keeps every unit with the same score
        f1 = 2 * tp / (predicted + support)
        best = max(best, (f1, -abs(score - 0.5), score))
    return best[2] if best[0] > 0 else 0.5


def tune_thresholds(units: list[Unit], fit_predict, seed: int) -> dict[str, float]:
    """Per code, the score threshold with the best F1 on out-of-fold predictions from
    an inner two-fold split of *units* by document (0.5 where that cannot be told)."""
    if len({u.document_id for u in units}) < 2:
        return {}
    fold_of = _folds(units, 2, seed + 1)
    scores: list[dict[str, float]] = [{} for _ in units]
    for fold in (0, 1):
        test = [i for i, u in enumerate(units) if fold_of[u.document_id] == fold]
        train = [u for u in units if fold_of[u.document_id] != fold]
        for i, cats in zip(test, fit_predict(train, [units[i] for i in test]), strict=True):
            scores[i] = cats
    return {label: best_threshold([s.get(label, 0.0) for s in scores],
                                  [label in u.labels for u in units])
            for label in labels_with_support(units)}


def predict_kfold(units: list[Unit], fit_predict, folds: int, seed: int,
                  threshold: float | None = None) -> list[dict[str, float]]:
    """Out-of-fold predictions; thresholds tuned inside each training fold unless given."""
    fold_of = _folds(units, folds, seed)
    out: list[dict[str, float]] = [{} for _ in units]
    for fold in range(folds):
        train = [u for u in units if fold_of[u.document_id] != fold]
        test = [i for i, u in enumerate(units) if fold_of[u.document_id] == fold]
        cuts = tune_thresholds(train, fit_predict, seed) if threshold is None else {}
        for i, cats in zip(test, fit_predict(train, [units[i] for i in test]), strict=True):
            out[i] = {lab: s for lab, s in cats.items()
                      if s >= (threshold if threshold is not None else cuts.get(lab, 0.5))}
    return out


@dataclass
class Evaluation:
    scores: list[Score]
    summary: list[dict]


def evaluate(project, *, coder: str | None = None, folds: int = 5,
             using: tuple[str, ...] = ("rules", "fuzzy", "model"), unit: str = "segment",
             min_score: float | None = None, seed: int = 0) -> Evaluation:
    db = project.db
    units, paths = training_units(db, coder=coder, unit=unit)
    units = [u for u in units if u.known is None]
    if not units:
        raise QcodeError("no coded documents to evaluate against" +
                         (f" for coder {coder!r}" if coder else ""))
    codes = [dict(r) for r in db.query("SELECT * FROM codes WHERE status = 'active'")]
    scores, summary = [], []
    for name in using:
        if name == "model":  # thresholds tuned per code inside each training fold
            predictions = predict_kfold(units, model_fit_predict(project, seed), folds,
                                        seed, min_score)
        else:
            threshold = DEFAULT_THRESHOLD[name] if min_score is None else min_score
            predictions = _predict_engine(project, name, units, codes, threshold)
        per_code, row = score_predictions(name, units, predictions, paths, unit)
        scores += per_code
        summary.append(row)
    return Evaluation(scores, summary)


def score_predictions(name: str, units: list[Unit], predictions: list[dict[str, float]],
                      paths: dict[str, str], unit: str) -> tuple[list[Score], dict]:
    """Per-code scores and the summary row of one suggester's predictions for *units*."""
    gold = [u.labels for u in units]
    per_code, ranked = _score(name, gold, predictions, paths)
    return per_code, _summarise(name, per_code, ranked, len(gold), unit)


def _score(name, gold, predictions, paths):
    labels = sorted({lab for g in gold for lab in g})
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
            "micro_f1": round(micro.f1, 3),
            "precision_top20": round(sum(c for _, c in top) / len(top), 3) if top else 0.0}

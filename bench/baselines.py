"""The two baselines of ../shared/eval/wac/BASELINE.md, run on qcode's own units and folds.

* centroid — NVivo-style pattern autocoding: tf-idf (1-2-grams, English stop words) of
  the unit's text, cosine with the centroid of the code's coded units;
* logistic — the same tf-idf + logistic regression with balanced classes, one per code.

Both see only the unit's own text (as BASELINE.md defines them). Each code's threshold
is the best-F1 cut on out-of-fold scores of an inner two-fold split of the training
units by document, as qcode's own thresholds are chosen. Needs scikit-learn (the test
extra has it); qcode itself does not.
"""

from __future__ import annotations

import numpy


def _tfidf(train_texts, test_texts):
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), stop_words="english")
    return vectorizer.fit_transform(train_texts), vectorizer.transform(test_texts)


def centroid_scores(train_texts, train_y, test_texts) -> numpy.ndarray:
    x_train, x_test = _tfidf(train_texts, test_texts)
    out = numpy.zeros((x_test.shape[0], train_y.shape[1]))
    for j in range(train_y.shape[1]):
        rows = numpy.nonzero(train_y[:, j])[0]
        if len(rows):
            centre = numpy.asarray(x_train[rows].mean(axis=0)).ravel()
            out[:, j] = (x_test @ centre) / (numpy.linalg.norm(centre) or 1.0)
    return out


def logistic_scores(train_texts, train_y, test_texts) -> numpy.ndarray:
    from sklearn.linear_model import LogisticRegression

    x_train, x_test = _tfidf(train_texts, test_texts)
    out = numpy.full((x_test.shape[0], train_y.shape[1]), -1e9)
    for j in range(train_y.shape[1]):
        if 0 < train_y[:, j].sum() < len(train_y):
            model = LogisticRegression(class_weight="balanced", max_iter=1000)
            out[:, j] = model.fit(x_train, train_y[:, j]).decision_function(x_test)
    return out


METHODS = {"tf-idf centroid": centroid_scores, "tf-idf + logistic": logistic_scores}


def predict(method, texts: list[str], y: numpy.ndarray, groups: list[int], fold_of: list[int],
            folds: int, seed: int) -> numpy.ndarray:
    """0/1 predictions for every unit, each from a model of the other folds."""
    from qcode.nlp.calibration import best_threshold
    from qcode.nlp.models import folds_by_document

    predicted = numpy.zeros(y.shape, dtype=bool)
    for k in range(folds):
        train = [i for i, f in enumerate(fold_of) if f != k]
        test = [i for i, f in enumerate(fold_of) if f == k]
        inner = folds_by_document([groups[i] for i in train], 2, seed + 1)
        oof = numpy.zeros((len(train), y.shape[1]))
        for half in (0, 1):
            fit = [train[r] for r, f in enumerate(inner) if f != half]
            held = [r for r, f in enumerate(inner) if f == half]
            oof[held] = method([texts[i] for i in fit], y[fit],
                               [texts[train[r]] for r in held])
        cuts = [best_threshold(oof[:, j].tolist(), (y[train, j] > 0).tolist())
                if y[train, j].any() else numpy.inf for j in range(y.shape[1])]
        scores = method([texts[i] for i in train], y[train], [texts[i] for i in test])
        predicted[test] = scores >= numpy.asarray(cuts)
    return predicted

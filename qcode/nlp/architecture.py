"""qcode's model architecture for spaCy's textcat_multilabel (imported before training or
loading a model, which registers it).

A linear bag of words, like spaCy's TextCatBOW, with two changes that matter on the
small, unbalanced samples a research team codes (measured on the WAC development set,
bench/wac.py: macro-F1 0.14 with TextCatBOW, 0.18 with this, the same as a tf-idf
logistic regression on the same folds):

- each document's features are weighted by idf and scaled to a fixed length, so a long
  answer does not outscore a short one by its length alone and common words weigh less;
- the gradient is class-balanced per label: errors on the few positives weigh as much in
  total as errors on the many negatives. With a logistic output and cross-entropy, the
  gradient's sign tells a positive (negative) from a negative (positive) example, so a
  layer after the output can weigh it without knowing the gold labels.

The idf table and the class weights are set from the training data after
``nlp.initialize`` (see :func:`configure`) and saved with the model.
"""

from __future__ import annotations

import math

import numpy
from spacy.attrs import ORTH
from spacy.strings import hash_string
from spacy.util import registry
from thinc.api import Logistic, Model, SparseLinear_v2, chain, with_cpu

NAME = "qcode.WeightedBOW.v1"


def _features(model, docs, is_train):
    idf, default, scale = model.attrs["idf"], model.attrs["idf_default"], model.attrs["scale"]
    keys_all, vals_all, lengths = [], [], []
    for doc in docs:
        keys = numpy.unique(doc.to_array([ORTH]))
        vals = numpy.fromiter((idf.get(int(k), default) for k in keys), dtype="f",
                              count=len(keys))
        norm = float(numpy.sqrt((vals * vals).sum())) or 1.0
        keys_all.append(keys)
        vals_all.append(vals * (scale / norm))
        lengths.append(len(keys))
    keys = numpy.concatenate(keys_all) if keys_all else numpy.zeros(0)
    vals = numpy.concatenate(vals_all) if vals_all else numpy.zeros(0)
    out = (keys.astype("uint64"), vals.astype("f"), numpy.asarray(lengths, dtype="int32"))
    return out, lambda d_out: []


def _balance(model, scores, is_train):
    positive, negative = model.attrs["positive"], model.attrs["negative"]

    def backprop(d_scores):
        if not positive:
            return d_scores
        # d = p - y: below zero only for a gold positive
        return d_scores * numpy.where(d_scores < 0, numpy.asarray(positive, dtype="f"),
                                      numpy.asarray(negative, dtype="f"))

    return scores, backprop


@registry.architectures(NAME)
def weighted_bow(length: int = 262144, scale: float = 3.0, nO: int | None = None) -> Model:
    features = Model("qcode_idf_bow", _features,
                     attrs={"idf": {}, "idf_default": 1.0, "scale": scale})
    balance = Model("qcode_class_balance", _balance, attrs={"positive": [], "negative": []})
    model = chain(features, SparseLinear_v2(nO=nO, length=length), Logistic(), balance)
    model = with_cpu(model, model.ops)
    model.attrs["multi_label"] = True
    return model


def configure(textcat, feature_lists: list[list[str]], gold: list[list[float | None]]) -> None:
    """Set the idf table from *feature_lists* and the class weights from *gold* (one row
    per document, one value per label in textcat.labels; None where unknown)."""
    n = len(feature_lists)
    frequency: dict[str, int] = {}
    for words in feature_lists:
        for word in set(words):
            frequency[word] = frequency.get(word, 0) + 1
    idf = {hash_string(w): math.log((1 + n) / (1 + c)) + 1 for w, c in frequency.items()}
    positive, negative = [], []
    for column in zip(*gold, strict=True) if gold else []:
        pos = sum(1 for v in column if v == 1.0)
        neg = sum(1 for v in column if v == 0.0)
        total = pos + neg
        positive.append(total / (2 * max(pos, 1)))
        negative.append(total / (2 * max(neg, 1)))
    for node in textcat.model.walk():
        if node.name == "qcode_idf_bow":
            node.attrs["idf"] = idf
            node.attrs["idf_default"] = math.log(1 + n) + 1
        elif node.name == "qcode_class_balance":
            node.attrs["positive"], node.attrs["negative"] = positive, negative

"""The learned suggester's features: weighted tf-idf blocks of a unit and its context.

Each sentence is analysed once (spaCy's tokenizer and lemmas, qcode.nlp.pipeline); a
unit's features are put together from its sentences' words:

* ``w`` — the unit's own content lemmas (no stop words, fillers such as "yeah" or
  "okay", numbers or punctuation), each once; a lemma within three words after a negation cue also counts as ``¬lemma``
  ("I don't trust them" is not "I trust them");
* ``q`` — the question: the lemmas of the turn before, by another speaker;
* ``t`` — for a sentence, the rest of its turn;
* ``n`` — for a sentence, the sentences just before and after it.

Terms of different blocks are different features ("trust" in the question is not
"trust" in the answer). Each block is idf-weighted, scaled to unit length and then
multiplied by its weight, so a long turn does not outweigh a short answer and context
informs without drowning the unit's own words.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

NEGATION_CUES = frozenset({"not", "n't", "never", "no", "nor", "neither", "without", "hardly",
                           "cannot", "dont", "didnt", "doesnt", "wasnt", "werent", "isnt",
                           "не", "нет", "никогда", "ни", "без"})
NEGATION_WINDOW = 3
# Words of talk, not of content: a turn of "Yeah, okay." has no words of its own to learn
# from (spaCy's stop lists keep most of them; these are the ones they leave in).
FILLERS = frozenset({"yeah", "yes", "yep", "okay", "ok", "mm", "mhm", "hmm", "uh", "um", "er",
                     "erm", "ah", "oh", "угу", "ага", "ладно"})
# Block weights. Chosen by principle (the unit's own words first, its question next)
# and checked on every protocol of bench/quality.py, not tuned to one of them.
BLOCKS = {"w": 1.0, "q": 0.6, "t": 0.4, "n": 0.3}
SEED_BLOCKS = {"w": 1.0}


def sentence_terms(words) -> list[str]:
    """Distinct content lemmas of one analysed sentence, with ¬lemma after a negation."""
    out: dict[str, None] = {}
    since_cue = NEGATION_WINDOW + 1
    for word in words:
        if word.skip:
            continue
        if word.lower in NEGATION_CUES or word.lemma in NEGATION_CUES:
            since_cue = 0
            continue
        since_cue += 1
        if word.stop or word.lemma in FILLERS:
            continue
        out[word.lemma] = None
        if since_cue <= NEGATION_WINDOW:
            out["¬" + word.lemma] = None
    return list(out)


def _union(parts: Iterable[list[str]]) -> list[str]:
    out: dict[str, None] = {}
    for part in parts:
        out.update(dict.fromkeys(part))
    return list(out)


def unit_blocks(unit, terms: Sequence[list[str]]) -> dict[str, list[str]]:
    """The blocks of *unit*, from *terms*: the sentence terms of its layout, in order."""
    layout = unit.layout
    by_turn = layout.turn_sentences()
    if unit.kind == "turn":
        own = _union(terms[i] for i in by_turn[unit.index])
        question = layout.question_of(unit.index)
        return {"w": own,
                "q": _union(terms[i] for i in by_turn[question]) if question >= 0 else []}
    turn = layout.sentences[unit.index][3]
    blocks = {"w": list(terms[unit.index])}
    if turn >= 0:
        question = layout.question_of(turn)
        blocks["q"] = (_union(terms[i] for i in by_turn[question]) if question >= 0 else [])
        blocks["t"] = _union(terms[i] for i in by_turn[turn] if i != unit.index)
    around = [i for i in (unit.index - 1, unit.index + 1) if 0 <= i < len(terms)]
    blocks["n"] = _union(terms[i] for i in around)
    return blocks


class Vectorizer:
    """Block-wise tf-idf over term lists, into a scipy CSR matrix."""

    def __init__(self, weights: dict[str, float] | None = None):
        self.weights = dict(weights or BLOCKS)
        self.vocabulary: dict[str, int] = {}  # "block:term" -> column
        self.idf: list[float] = []
        self._names: list[str] = []

    def fit(self, rows: list[dict[str, list[str]]], *, min_count: int = 1,
            keep: list[dict[str, list[str]]] = ()) -> Vectorizer:
        """Terms of *rows* seen in *min_count* rows or more, and every term of *keep*
        (the codebook's texts: a word of a definition counts even if no unit has it yet)."""
        frequency: dict[str, int] = {}
        for row in [*rows, *keep]:
            for block, terms in row.items():
                for term in terms:
                    key = f"{block}:{term}"
                    frequency[key] = frequency.get(key, 0) + 1
        kept = {f"{block}:{term}" for row in keep for block, terms in row.items()
                for term in terms}
        n = len(rows) + len(keep)
        terms = sorted(k for k, count in frequency.items() if count >= min_count or k in kept)
        self.vocabulary = {key: i for i, key in enumerate(terms)}
        self.idf = [math.log((1 + n) / (1 + frequency[key])) + 1 for key in terms]
        self._names = []
        return self

    def transform(self, rows: list[dict[str, list[str]]], weights: dict[str, float] | None = None):
        import numpy
        from scipy.sparse import csr_matrix

        weights = self.weights if weights is None else weights
        indices: list[int] = []
        values: list[float] = []
        indptr = [0]
        vocabulary, idf = self.vocabulary, self.idf
        for row in rows:
            for block, terms in row.items():
                weight = weights.get(block, 0.0)
                if not weight:
                    continue
                columns = [vocabulary[k] for k in (f"{block}:{t}" for t in terms)
                           if k in vocabulary]
                if not columns:
                    continue
                norm = math.sqrt(sum(idf[c] * idf[c] for c in columns))
                indices.extend(columns)
                values.extend(idf[c] * weight / norm for c in columns)
            indptr.append(len(indices))
        return csr_matrix((numpy.asarray(values, dtype=numpy.float64),
                           numpy.asarray(indices, dtype=numpy.int32),
                           numpy.asarray(indptr, dtype=numpy.int64)),
                          shape=(len(rows), len(vocabulary)))

    def names(self) -> list[str]:
        if len(self._names) != len(self.vocabulary):
            self._names = [""] * len(self.vocabulary)
            for key, i in self.vocabulary.items():
                self._names[i] = key
        return self._names

    def names_of(self, columns) -> list[str]:
        names = self.names()
        return [names[int(c)] for c in columns]

    def to_dict(self) -> dict:
        return {"weights": self.weights, "terms": self.names(), "idf": self.idf}

    @classmethod
    def from_dict(cls, data: dict) -> Vectorizer:
        vectorizer = cls(data["weights"])
        vectorizer.vocabulary = {term: i for i, term in enumerate(data["terms"])}
        vectorizer.idf = list(data["idf"])
        return vectorizer

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
                           "не", "нет", "никогда", "ни", "без", "нельзя", "невозможно",
                           "нисколько", "ничуть", "отнюдь"})
NEGATION_WINDOW = 3
# Words of talk, not of content: a turn of "Yeah, okay." has no words of its own to learn
# from (spaCy's stop lists keep most of them; these are the ones they leave in).
FILLERS = frozenset({"yeah", "yes", "yep", "okay", "ok", "mm", "mhm", "hmm", "uh", "um", "er",
                     "erm", "ah", "oh", "угу", "ага", "ладно"})
# Block weights. Chosen by principle (the unit's own words first, its question next)
# and checked on every protocol of bench/quality.py, not tuned to one of them.
BLOCKS = {"w": 1.0, "q": 0.6, "t": 0.4, "n": 0.3}
SEED_BLOCKS = {"w": 1.0}
BLOCK_ORDER = tuple(BLOCKS)


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
    by_turn = layout.by_turn
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


def sentence_matrix(vectorizer, layout, terms: Sequence[list[str]], indexes: list[int]):
    """``vectorizer.transform`` of the sentence units *indexes* of *layout* (the matrix
    their :func:`unit_blocks` give), built with sparse algebra over the whole document
    instead of unit by unit: each term is looked up once per document, a turn's words
    (the question of the next, the context of its own sentences) are summed once.
    The model's share of `qcode suggest`; the same matrix up to the last bits of a float.
    """
    import numpy
    from scipy.sparse import csr_matrix

    vocabulary, weights = vectorizer.vocabulary, vectorizer.weights
    idf = numpy.asarray(vectorizer.idf, dtype=numpy.float64)
    n, size = len(terms), len(vocabulary)
    rows = numpy.asarray(indexes, dtype=numpy.int64)
    if not len(rows) or not size:
        return csr_matrix((len(rows), size))
    local: dict[str, int] = {}  # term -> its number in this document
    occurrences, owner = [], []
    for i, row in enumerate(terms):
        for term in row:
            occurrences.append(local.setdefault(term, len(local)))
            owner.append(i)
    occurrences = numpy.asarray(occurrences, dtype=numpy.int64)
    owner = numpy.asarray(owner, dtype=numpy.int64)
    words = list(local)

    columns = vectorizer.columns_of(words)  # (words, blocks): feature number or -1

    def presence(block: str):
        """(sentences x features) 0/1: which of the block's features each sentence has."""
        column = columns[:, BLOCK_ORDER.index(block)][occurrences] if len(words) \
            else occurrences
        keep = column >= 0
        return csr_matrix((numpy.ones(int(keep.sum())), (owner[keep], column[keep])),
                          shape=(n, size))

    turn_of = numpy.asarray([turn for _, _, _, turn in layout.sentences], dtype=numpy.int64)
    turns = len(layout.turns)
    in_turn = turn_of >= 0
    members = csr_matrix((numpy.ones(int(in_turn.sum())),
                          (turn_of[in_turn], numpy.nonzero(in_turn)[0])), shape=(max(turns, 1), n))
    unit_turn = turn_of[rows]

    def pick(matrix, which: numpy.ndarray):
        """Rows *which* of *matrix* (an empty row for -1)."""
        valid = which >= 0
        selector = csr_matrix((numpy.ones(int(valid.sum())),
                               (numpy.nonzero(valid)[0], which[valid])),
                              shape=(len(which), matrix.shape[0]))
        return selector @ matrix

    blocks = []
    if weights.get("w"):
        blocks.append(("w", pick(presence("w"), rows)))
    if weights.get("q") and turns:
        asked = members @ presence("q")
        questions = numpy.asarray(layout.questions + [-1], dtype=numpy.int64)
        blocks.append(("q", pick(asked, numpy.where(unit_turn >= 0, questions[unit_turn], -1))))
    if weights.get("t") and turns:
        own = presence("t")
        rest = pick(members @ own, unit_turn) - pick(own, numpy.where(unit_turn >= 0, rows, -1))
        blocks.append(("t", rest))
    if weights.get("n"):
        near = presence("n")
        before = numpy.where(rows - 1 >= 0, rows - 1, -1)
        after = numpy.where(rows + 1 < n, rows + 1, -1)
        blocks.append(("n", pick(near, before) + pick(near, after)))
    x = csr_matrix((len(rows), size))
    for block, matrix in blocks:
        matrix = matrix.tocsr()
        matrix.data = (matrix.data > 0).astype(numpy.float64) * idf[matrix.indices]
        matrix.eliminate_zeros()
        norms = numpy.sqrt(numpy.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        scale = numpy.repeat(weights[block] / norms, numpy.diff(matrix.indptr))
        matrix.data = matrix.data * scale
        x = x + matrix
    x.sort_indices()
    return x.tocsr()


def _union_ids(parts: Iterable[list[int]]) -> list[int]:
    out: dict[int, None] = {}
    for part in parts:
        out.update(dict.fromkeys(part))
    return list(out)


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

    def columns_of(self, terms: list[str]):
        """(terms, blocks) array of each term's feature number in each block (-1: not a
        feature); looked up once per term for the vectorizer's life."""
        import numpy

        cache = self.__dict__.setdefault("_columns", {})
        vocabulary = self.vocabulary
        rows = []
        for term in terms:
            row = cache.get(term)
            if row is None:
                row = cache[term] = tuple(vocabulary.get(f"{b}:{term}", -1) for b in BLOCK_ORDER)
            rows.append(row)
        return numpy.asarray(rows, dtype=numpy.int64).reshape(-1, len(BLOCK_ORDER))

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

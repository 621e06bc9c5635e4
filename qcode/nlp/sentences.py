"""Sentence boundaries as spaCy's sentencizer draws them, without its per-token objects.

The sentencizer (spacy/pipeline/sentencizer.pyx) starts a sentence at the first token,
and at every token that is neither punctuation nor one of its sentence-final characters
when such a character (".", "!", "?", …) came after the last such token. Asking it
through ``nlp.pipe`` builds a Python ``Token`` for every word twice (once to decide, once
for ``doc.sents``): a fifth of an import's time (bench/ingest.py). Here the tokenizer alone
runs, and the same rule is applied to the token arrays (``Doc.to_array``) with numpy. The
result is the sentencizer's to the character (tests/test_sentences.py compares them on
generated text); a pipeline with more than the sentencizer and qcode's abbreviation rule
(qcode.nlp.pipeline) is asked the slow way.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy

BATCH = 256


def fast_path(nlp) -> bool:
    """Whether *nlp* is a tokenizer plus the sentencizer (and qcode's rule for
    abbreviations, qcode.nlp.pipeline) and nothing else."""
    return nlp.pipe_names in (["sentencizer"], ["sentencizer", "qcode_abbreviations"])


def sentence_spans(nlp, texts: Iterable[str]) -> Iterator[list[tuple[int, int]]]:
    """For each text, the (start, end) character offsets of its sentences, as
    ``[(s.start_char, s.end_char) for s in nlp(text).sents]`` gives them."""
    if not fast_path(nlp):
        for doc in nlp.pipe(texts, batch_size=64):
            yield [(s.start_char, s.end_char) for s in doc.sents]
        return
    from spacy.attrs import IDX, IS_DIGIT, IS_LOWER, IS_PUNCT, LENGTH, LOWER, ORTH

    columns = [IDX, LENGTH, IS_PUNCT, _final_flag(nlp)]
    abbreviations = None
    if "qcode_abbreviations" in nlp.pipe_names:
        from qcode.nlp.pipeline import ABBREVIATIONS

        strings = nlp.vocab.strings
        columns += [ORTH, LOWER, IS_LOWER, IS_DIGIT]
        abbreviations = (strings.add("."), numpy.asarray(
            sorted(strings.add(w) for w in ABBREVIATIONS.get(nlp.lang, ())), dtype=numpy.uint64))
    batch = []
    for doc in nlp.tokenizer.pipe(texts, batch_size=BATCH):
        batch.append(doc.to_array(columns) if len(doc) else None)
        if len(batch) == BATCH:
            yield from _batch_spans(batch, abbreviations)
            batch = []
    yield from _batch_spans(batch, abbreviations)


_FLAGS: dict[int, tuple[object, int]] = {}


def _final_flag(nlp) -> int:
    """A lexeme flag of *nlp*'s vocabulary: the token is one of the sentencizer's
    sentence-final characters (registered once per vocabulary)."""
    known = _FLAGS.get(id(nlp.vocab))
    if known is None or known[0] is not nlp.vocab:
        finals = frozenset(nlp.get_pipe("sentencizer").punct_chars)
        known = (nlp.vocab, nlp.vocab.add_flag(lambda text: text in finals))
        _FLAGS[id(nlp.vocab)] = known
    return known[1]


def _batch_spans(tables: list, abbreviations=None) -> Iterator[list[tuple[int, int]]]:
    """The sentences of a batch of docs (their token arrays; None for an empty doc),
    worked out for the whole batch at once: numpy's cost is per call, not per token.
    *abbreviations*: (the hash of ".", the hashes of the abbreviations) when
    qcode_abbreviations follows the sentencizer."""
    present = [t for t in tables if t is not None]
    if not present:
        yield from ([] for _ in tables)
        return
    lengths = numpy.asarray([len(t) for t in present])
    firsts = numpy.concatenate([[0], numpy.cumsum(lengths)[:-1]])
    table = numpy.concatenate(present)
    doc_first = numpy.repeat(firsts, lengths)
    starts = _starts(table[:, 2].astype(bool), table[:, 3].astype(bool), doc_first)
    if abbreviations is not None:
        starts = _join_after_abbreviations(table, starts, doc_first, *abbreviations)
    begin = table[:, 0].astype(numpy.int64)
    finish = begin + table[:, 1].astype(numpy.int64)
    # each doc's first token starts a sentence, so the token before the next start
    # ends one, also at the end of a doc
    ends = numpy.append(starts[1:], len(table)) - 1
    chars = list(zip(begin[starts].tolist(), finish[ends].tolist(), strict=True))
    cuts = numpy.searchsorted(starts, numpy.append(firsts, len(table))).tolist()
    k = 0
    for t in tables:
        if t is None:
            yield []
        else:
            yield chars[cuts[k]:cuts[k + 1]]
            k += 1


def _join_after_abbreviations(table, starts, doc_first, period, known):
    """qcode_abbreviations' rule: no sentence starts at a word in lower case or a number
    that follows "<abbreviation> ." in its own doc (columns 4-7: ORTH, LOWER, IS_LOWER,
    IS_DIGIT)."""
    inner = starts[starts - doc_first[starts] >= 2]
    joined = inner[(table[inner - 1, 4] == period)
                   & ((table[inner, 6] == 1) | (table[inner, 7] == 1))]
    joined = joined[numpy.isin(table[joined - 2, 5], known)]
    return numpy.setdiff1d(starts, joined, assume_unique=True) if len(joined) else starts


def _starts(punct: numpy.ndarray, final: numpy.ndarray,
            doc_first: numpy.ndarray | None = None) -> numpy.ndarray:
    """Token indexes that start a sentence: each doc's first token (*doc_first*: per
    token, the index of its doc's first token; one doc when None), and each token that is
    neither punctuation nor sentence-final when a sentence-final token of its doc lies
    between it and the previous such token."""
    if doc_first is None:
        doc_first = numpy.zeros(len(punct), dtype=numpy.int64)
    plain = numpy.flatnonzero(~(punct | final))
    seen = numpy.concatenate([[0], numpy.cumsum(final)])  # finals before each index
    previous = numpy.concatenate([[-1], plain[:-1]])
    since = numpy.maximum(previous + 1, doc_first[plain])
    is_start = numpy.zeros(len(punct), dtype=bool)
    is_start[plain[seen[plain] - seen[since] > 0]] = True
    is_start[numpy.unique(doc_first)] = True
    return numpy.flatnonzero(is_start)

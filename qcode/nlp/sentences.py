"""Sentence boundaries as spaCy's sentencizer draws them, without its per-token objects.

The sentencizer (spacy/pipeline/sentencizer.pyx) starts a sentence at the first token,
and at every token that is neither punctuation nor one of its sentence-final characters
when such a character (".", "!", "?", …) came after the last such token. Asking it
through ``nlp.pipe`` builds a Python ``Token`` for every word twice (once to decide, once
for ``doc.sents``): most of an import's time. Here the tokenizer alone runs, and the same
rule is applied to the token arrays (``Doc.to_array``) with numpy. The result is the
sentencizer's to the character (tests/test_sentences.py compares them on generated
text); a pipeline with anything more than the sentencizer is asked the slow way.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy

BATCH = 256


def fast_path(nlp) -> bool:
    """Whether *nlp* is a tokenizer plus the sentencizer and nothing else."""
    return nlp.pipe_names == ["sentencizer"]


def sentence_spans(nlp, texts: Iterable[str]) -> Iterator[list[tuple[int, int]]]:
    """For each text, the (start, end) character offsets of its sentences, as
    ``[(s.start_char, s.end_char) for s in nlp(text).sents]`` gives them."""
    if not fast_path(nlp):
        for doc in nlp.pipe(texts, batch_size=64):
            yield [(s.start_char, s.end_char) for s in doc.sents]
        return
    from spacy.attrs import IDX, IS_PUNCT, LENGTH, ORTH

    sentencizer = nlp.get_pipe("sentencizer")
    strings = nlp.vocab.strings
    finals = numpy.asarray(sorted(strings.add(c) for c in sentencizer.punct_chars),
                           dtype=numpy.uint64)
    for doc in nlp.tokenizer.pipe(texts, batch_size=BATCH):
        if not len(doc):
            yield []
            continue
        table = doc.to_array([IDX, LENGTH, IS_PUNCT, ORTH])
        starts = _starts(table[:, 2].astype(bool), numpy.isin(table[:, 3], finals))
        begin = table[:, 0].astype(numpy.int64)
        finish = begin + table[:, 1].astype(numpy.int64)
        ends = numpy.append(starts[1:], len(doc)) - 1
        yield list(zip(begin[starts].tolist(), finish[ends].tolist(), strict=True))


def _starts(punct: numpy.ndarray, final: numpy.ndarray) -> numpy.ndarray:
    """Token indexes that start a sentence: 0, and each token that is neither
    punctuation nor sentence-final when a sentence-final token lies between it and the
    previous such token."""
    plain = numpy.flatnonzero(~(punct | final))
    seen = numpy.concatenate([[0], numpy.cumsum(final)])  # finals before each index
    previous = numpy.concatenate([[-1], plain[:-1]])
    between = seen[plain] - seen[previous + 1]
    starts = plain[between > 0]
    if not len(starts) or starts[0] != 0:
        starts = numpy.concatenate([[0], starts])
    return starts

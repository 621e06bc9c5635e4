"""Split turns into sentences with spaCy's sentencizer, keeping exact offsets."""

from __future__ import annotations

from collections.abc import Iterator

from qcode.ingest.model import Turn
from qcode.ingest.turns import paragraphs

CHUNK = 100_000  # characters handed to spaCy at once; longer paragraphs are cut at a space


def _chunks(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    while end - start > CHUNK:
        cut = text.rfind(" ", start + CHUNK // 2, start + CHUNK)
        cut = start + CHUNK if cut < 0 else cut + 1
        yield start, cut
        start = cut
    yield start, end


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def split_sentences(text: str, turns: list[Turn], language: str) -> list[tuple[int, int, int]]:
    """(turn index, start, end) of every sentence, in order.

    Each turn is split into paragraphs first (a blank line always ends a sentence),
    then by the sentencizer. Whitespace is trimmed from every sentence.
    """
    from qcode.nlp.pipeline import sentence_splitter
    from qcode.nlp.sentences import sentence_spans

    nlp = sentence_splitter(language)
    pieces: list[tuple[int, int, int]] = []  # (turn index, start, end)
    for index, turn in enumerate(turns):
        for p_start, p_end in paragraphs(text, turn.start, turn.end):
            pieces.extend((index, s, e) for s, e in _chunks(text, p_start, p_end))
    sentences = []
    spans = sentence_spans(nlp, (text[s:e] for _, s, e in pieces))
    for (index, offset, _), found in zip(pieces, spans, strict=True):
        for sent_start, sent_end in found:
            start, end = _strip(text, offset + sent_start, offset + sent_end)
            if start < end:
                sentences.append((index, start, end))
    return sentences

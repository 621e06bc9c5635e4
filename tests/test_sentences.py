"""qcode.nlp.sentences draws the sentencizer's boundaries without its Token objects."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qcode.nlp.sentences import _starts, sentence_spans

PIECES = ["Hello", "world", "Mr.", "e.g.", "U.S.", "3.5", "ok", "Да", "т.", "е.", "нет",
          ".", "!", "?", "...", "?!", "\"", "'", ")", "(", "»", "«", ",", ";", ":", "-",
          "—", "…", "。", " ", "  ", "\n", "\t", "1", "42.", "don't", "(yes.)", "'no!'"]


@pytest.fixture(scope="module")
def splitters():
    import spacy

    made = {}
    for lang in ("en", "ru", "xx"):
        nlp = spacy.blank(lang)
        nlp.add_pipe("sentencizer")
        made[lang] = nlp
    return made


def _reference(nlp, text):
    return [(s.start_char, s.end_char) for s in nlp(text).sents]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40), st.sampled_from(["en", "ru", "xx"]))
def test_same_boundaries_as_the_sentencizer(splitters, pieces, lang):
    text = "".join(p if p.isspace() else p + " " for p in pieces)
    nlp = splitters[lang]
    assert next(sentence_spans(nlp, [text])) == _reference(nlp, text)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=80))
def test_same_boundaries_on_any_text(splitters, text):
    nlp = splitters["en"]
    assert next(sentence_spans(nlp, [text])) == _reference(nlp, text)


def test_many_texts_in_order(splitters):
    nlp = splitters["en"]
    texts = ["One. Two three! Four?", "", "No end", "A. \"B.\" C"] * 50
    assert list(sentence_spans(nlp, texts)) == [_reference(nlp, t) for t in texts]


def test_starts_rule():
    import numpy

    punct = numpy.array([0, 1, 1, 0, 1, 0], dtype=bool)  # a . " b , c
    final = numpy.array([0, 1, 0, 0, 0, 0], dtype=bool)
    assert _starts(punct, final).tolist() == [0, 3]
    # a sentence-final first token: the first plain token after it starts one too
    assert _starts(numpy.array([1, 0]).astype(bool), numpy.array([1, 0]).astype(bool)
                   ).tolist() == [0, 1]


def test_other_pipelines_are_asked_themselves(splitters):
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")

    @spacy.Language.component("test_no_split")
    def no_split(doc):
        for token in doc[1:]:
            token.is_sent_start = False
        return doc

    nlp.add_pipe("test_no_split")
    assert next(sentence_spans(nlp, ["One. Two."])) == [(0, 9)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from(PIECES), max_size=12), max_size=30))
def test_batches_of_docs_keep_to_their_own_doc(splitters, texts):
    """Docs starting with punctuation or empty, in batches: nothing crosses a doc."""
    _same_in_small_batches(splitters["en"], texts, 7)


def _same_in_small_batches(nlp, texts, size):
    """The fast path in batches of *size* docs gives each doc the sentencizer's own."""
    import qcode.nlp.sentences as sentences

    texts = ["".join(p if p.isspace() else p + " " for p in pieces) for pieces in texts]
    old, sentences.BATCH = sentences.BATCH, size
    try:
        assert list(sentence_spans(nlp, texts)) == [_reference(nlp, t) for t in texts]
    finally:
        sentences.BATCH = old


RUSSIAN = ["Мы", "говорили", "т.", "е.", "см.", "ниже", "Он", "пришёл", "и", "т.", "д.",
           "Да", ".", "!", "?", "в", "2020", "г.", "ул.", "Ленина", "»", "«", " ", "\n"]


@settings(max_examples=120, deadline=None)
@given(st.lists(st.lists(st.sampled_from(RUSSIAN), max_size=15), max_size=20))
def test_russian_abbreviations_on_the_fast_path(texts):
    """qcode's Russian splitter (sentencizer + qcode_abbreviations) on the fast path
    draws the boundaries the two components draw."""
    import qcode.nlp.sentences as sentences
    from qcode.nlp.pipeline import sentence_splitter

    nlp = sentence_splitter("ru")
    assert sentences.fast_path(nlp)
    _same_in_small_batches(nlp, texts, 5)

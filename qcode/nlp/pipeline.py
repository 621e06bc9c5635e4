"""spaCy pipeline factory. spaCy is imported here, on first use, never at start-up.

Default: ``spacy.blank(language)`` with a lookup lemmatizer from spacy-lookups-data
(lemmas are lowercased; a language without lookup tables falls back to lowercase
word forms). If qcode.yaml names a model (an installed package or a folder), that
model is loaded instead. Nothing is ever downloaded.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from qcode.errors import QcodeError


@lru_cache(maxsize=8)
def sentence_splitter(language: str):
    """``spacy.blank(language)`` + sentencizer; falls back to the multi-language
    tokenizer for a language spaCy does not know."""
    import spacy

    try:
        nlp = spacy.blank(language)
    except (ImportError, KeyError, ValueError, OSError):
        nlp = spacy.blank("xx")
    nlp.add_pipe("sentencizer")
    nlp.max_length = 10**9  # we hand it paragraphs of bounded size (see ingest.segment)
    return nlp


class Word(NamedTuple):
    """One token as the string-based suggesters see it. Built as a plain tuple in the hot
    loop (one per token of the corpus), read by name elsewhere."""

    lower: str
    lemma: str
    skip: bool  # punctuation or space
    stop: bool  # stop word or number: left out of the model's features


class Analyzer:
    """Tokenizes and lemmatizes in one pass over the tokens.

    With the default blank pipeline, lemmas come from spacy-lookups-data's lookup table,
    looked up by the lowercased word (cached per distinct word); a language without a
    table uses the lowercased word. With a named model, its own lemmas are lowercased.
    Each token's lemma is set (for LEMMA patterns), and the words of every document
    are returned for the suggesters that work on strings.
    """

    def __init__(self, language: str, model: str | None = None):
        import spacy

        self.table = None  # without a table: a named model's lemmas, or the words
        if model:
            self.nlp = _load_model(model)
        else:
            try:
                self.nlp = spacy.blank(language)
            except (ImportError, KeyError, ValueError, OSError):
                self.nlp = spacy.blank("xx")
            self.table = _lemma_table(self.nlp.lang)
        self.nlp.max_length = 10**9
        self.cache: dict[int, tuple[str, str, int]] = {}  # LOWER hash -> lower, lemma, hash

    def analyse(self, texts, batch_size: int = 256):
        """(docs, words) for *texts*; lemmas on the docs are lowercase.

        Works on token attribute arrays rather than Token objects: creating a Token per
        word was the largest single cost of a suggestion run.
        """
        import numpy
        from spacy.attrs import IS_PUNCT, IS_SPACE, IS_STOP, LEMMA, LIKE_NUM, LOWER

        strings = self.nlp.vocab.strings
        docs, words = [], []
        make = tuple.__new__
        columns = [LOWER, IS_PUNCT, IS_SPACE, IS_STOP, LIKE_NUM]
        for doc in self.nlp.pipe(texts, batch_size=batch_size):
            if self.table is None:  # a named model (its lemmas) or no lookup table (words)
                rows = [(t.lower_, (t.lemma_ or t.text).lower(), t.is_punct or t.is_space,
                         t.is_stop or t.like_num) for t in doc]
                for token, row in zip(doc, rows, strict=True):
                    token.lemma_ = row[1]
                docs.append(doc)
                words.append([make(Word, row) for row in rows])
                continue
            array = doc.to_array(columns).tolist()
            row, lemmas = [], []
            for lower_hash, punct, space, stop, number in array:
                entry = self.cache.get(lower_hash)
                if entry is None:
                    lower = strings[lower_hash]
                    lemma_form = str(self.table.get(lower, lower)).lower()
                    entry = self.cache[lower_hash] = (lower, lemma_form, strings.add(lemma_form))
                lemmas.append(entry[2])
                row.append(make(Word, (entry[0], entry[1], bool(punct or space),
                                       bool(stop or number))))
            if lemmas:
                doc.from_array([LEMMA], numpy.array(lemmas, dtype="uint64").reshape(-1, 1))
            docs.append(doc)
            words.append(row)
        return docs, words


def _lemma_table(language: str):
    try:
        from spacy.lookups import load_lookups

        return load_lookups(language, ["lemma_lookup"]).get_table("lemma_lookup")
    except (ValueError, KeyError, OSError, ImportError):
        return None


@lru_cache(maxsize=8)
def analyzer(language: str, model: str | None = None) -> Analyzer:
    return Analyzer(language, model)


def _load_model(model: str):
    import spacy
    from spacy import util

    path = Path(model).expanduser()
    if path.exists():
        try:
            return spacy.load(path)
        except (OSError, ValueError) as exc:
            raise QcodeError(f"cannot load the spaCy model folder {path}: {exc}") from None
    if not util.is_package(model):
        raise QcodeError(
            f"the spaCy model {model!r} named in qcode.yaml (nlp.model) is not installed; "
            f"install it with `pip install {model}` (from a wheel if you are offline), or set "
            "nlp.model to null to use the blank pipeline. qcode never downloads models.")
    return spacy.load(model)



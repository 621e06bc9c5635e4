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

        self.table = None
        if model:
            self.nlp = _load_model(model)
        else:
            try:
                self.nlp = spacy.blank(language)
            except (ImportError, KeyError, ValueError, OSError):
                self.nlp = spacy.blank("xx")
            self.table = _lemma_table(self.nlp.lang)
        self.nlp.max_length = 10**9
        self.cache: dict[str, str] = {}

    def _lemma(self, token) -> str:
        if self.table is None:
            return (token.lemma_ or token.text).lower()
        lower = token.lower_
        found = self.cache.get(lower)
        if found is None:
            found = self.cache[lower] = str(self.table.get(lower, lower)).lower()
        return found

    def analyse(self, texts, batch_size: int = 256):
        """(docs, words) for *texts*; lemmas on the docs are lowercase."""
        docs, words = [], []
        make = tuple.__new__
        for doc in self.nlp.pipe(texts, batch_size=batch_size):
            row = []
            for token in doc:
                lemma_form = self._lemma(token)
                token.lemma_ = lemma_form
                row.append(make(Word, (token.lower_, lemma_form, token.is_punct or token.is_space,
                                       token.is_stop or token.like_num)))
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



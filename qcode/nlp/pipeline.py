"""spaCy pipeline factory. spaCy is imported here, on first use, never at start-up."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=8)
def sentence_splitter(language: str):
    """``spacy.blank(language)`` + sentencizer; falls back to the multi-language
    tokenizer for a language spaCy does not know. Nothing is downloaded."""
    import spacy

    try:
        nlp = spacy.blank(language)
    except (ImportError, KeyError, ValueError, OSError):
        nlp = spacy.blank("xx")
    nlp.add_pipe("sentencizer")
    nlp.max_length = 10**9  # we hand it paragraphs of bounded size (see ingest.segment)
    return nlp

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
    if nlp.lang in ABBREVIATIONS:
        _register_abbreviations()
        nlp.add_pipe("qcode_abbreviations")
    nlp.max_length = 10**9  # we hand it paragraphs of bounded size (see ingest.segment)
    return nlp


# Abbreviations after which the sentencizer ends a sentence that goes on: "т. е.",
# "и т. д.", "см. ниже" (spaCy's Russian tokenizer keeps "т.е." whole, not "т. е.").
ABBREVIATIONS = {"ru": frozenset({
    "т", "е", "д", "п", "к", "н", "ч", "г", "гг", "в", "вв", "см", "ср", "др", "пр", "им",
    "ул", "пл", "стр", "руб", "тыс", "млн", "млрд", "коп", "чел", "напр", "обл", "ок",
    "проф", "акад", "доц", "тов", "гр", "р", "с", "ст", "кв", "корп"})}


def _register_abbreviations() -> None:
    from spacy.language import Language

    if Language.has_factory("qcode_abbreviations"):
        return

    @Language.component("qcode_abbreviations")
    def join_after_abbreviations(doc):
        """Undo a sentence start after "<abbreviation> ." when the next word is in lower
        case or a number: a sentence in these languages starts with a capital. Found on
        the token arrays; only the few such tokens are touched."""
        import numpy
        from spacy.attrs import IS_DIGIT, IS_LOWER, LOWER, ORTH, SENT_START

        known = ABBREVIATIONS.get(doc.lang_, frozenset())
        if len(doc) < 3 or not known:
            return doc
        strings = doc.vocab.strings
        array = doc.to_array([SENT_START, ORTH, LOWER, IS_LOWER, IS_DIGIT])
        starts = numpy.nonzero(array[2:, 0] == 1)[0] + 2
        starts = starts[(array[starts - 1, 1] == strings.add(".")) &
                        ((array[starts, 3] == 1) | (array[starts, 4] == 1))]
        hashes = numpy.asarray([strings.add(w) for w in known], dtype=array.dtype)
        starts = starts[numpy.isin(array[starts - 2, 2], hashes)]
        if len(starts):
            sent_starts = array[:, [0]].copy()
            sent_starts[starts, 0] = numpy.array(-1).astype(array.dtype)  # "not a start"
            doc.from_array([SENT_START], sent_starts)
        return doc


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


    def analyse_spans(self, text: str, spans: list[tuple[int, int]]):
        """(pieces, words) for the spans (start, end) of *text* (a revision's sentences):
        ``pieces[i] = (doc, a, b)``, the span's tokens being ``doc[a:b]``, and
        ``words[i]`` their words, as :meth:`analyse` gives them for the span's text alone.

        The blank pipeline tokenizes the whole text once — its tokens never cross
        whitespace, so they are those of each span on its own — and looks each distinct
        word up once. A named model (whose tagging depends on the context) or a span that
        does not start and end on token boundaries goes span by span, with analyse.
        """
        import numpy
        from spacy.attrs import IDX, IS_PUNCT, IS_SPACE, IS_STOP, LEMMA, LENGTH, LIKE_NUM, LOWER

        def one_by_one():
            docs, words = self.analyse([text[s:e] for s, e in spans])
            return [(doc, 0, len(doc)) for doc in docs], words

        if self.table is None or not spans:
            return one_by_one()
        doc = self.nlp.make_doc(text)
        if not len(doc):
            return one_by_one()
        array = doc.to_array([IDX, LENGTH, LOWER, IS_PUNCT, IS_SPACE, IS_STOP, LIKE_NUM])
        starts, ends = array[:, 0].astype(numpy.int64), (array[:, 0] + array[:, 1]).astype(
            numpy.int64)
        first = numpy.searchsorted(starts, [s for s, _ in spans])
        last = numpy.searchsorted(starts, [e for _, e in spans])  # tokens starting before e
        aligned = all(a < b and starts[a] == s and ends[b - 1] == e
                      for (s, e), a, b in zip(spans, first.tolist(), last.tolist(), strict=True))
        if not aligned:
            return one_by_one()
        # distinct words: by LOWER (a fast 1-d unique), unless some word's flags differ
        # with its case ("US" and "us"); then by all five columns
        _, index, inverse = numpy.unique(array[:, 2], return_index=True, return_inverse=True)
        keys = array[index, 2:]
        if (keys[inverse.reshape(-1)] != array[:, 2:]).any():
            keys, inverse = numpy.unique(array[:, 2:], axis=0, return_inverse=True)
        strings = self.nlp.vocab.strings
        make = tuple.__new__
        distinct, lemma_hashes = [], []
        for lower_hash, punct, space, stop, number in keys.tolist():
            entry = self.cache.get(lower_hash)
            if entry is None:
                lower = strings[lower_hash]
                lemma_form = str(self.table.get(lower, lower)).lower()
                entry = self.cache[lower_hash] = (lower, lemma_form, strings.add(lemma_form))
            distinct.append(make(Word, (entry[0], entry[1], bool(punct or space),
                                        bool(stop or number))))
            lemma_hashes.append(entry[2])
        inverse = inverse.reshape(-1)
        doc.from_array([LEMMA], numpy.asarray(lemma_hashes, dtype="uint64")[inverse]
                       .reshape(-1, 1))
        every = list(map(distinct.__getitem__, inverse.tolist()))
        bounds = list(zip(first.tolist(), last.tolist(), strict=True))
        return [(doc, a, b) for a, b in bounds], [every[a:b] for a, b in bounds]


def _lemma_table(language: str):
    try:
        from spacy.lookups import load_lookups

        table = load_lookups(language, ["lemma_lookup"]).get_table("lemma_lookup")
    except (ValueError, KeyError, OSError, ImportError):
        return None
    return _RussianLemmas(table) if language == "ru" else table


class _RussianLemmas:
    """spacy-lookups-data's Russian table, with "ё" read as "е" (transcripts and
    codebooks write either) and the few forms of interview words it gets wrong.

    Measured on 122 forms of interview words (the tests' list): the table gives the
    expected lemma for 114, pymorphy3 (spaCy's rule-based Russian lemmatizer) for 118,
    each wrong on words of trust ("судам" → "судно" here, "честные" → "честной" and
    "уверена" → "уверить" there). Not enough better to carry its 16 MB dictionaries and
    0.6 s start; the table's errors on such words are corrected below.
    """

    FIXES = {"судам": "суд", "судами": "суд", "судах": "суд", "пошли": "пойти",
             "пришлось": "прийтись", "выборы": "выборы", "выборах": "выборы",
             "выборов": "выборы"}

    def __init__(self, table):
        self.table = table

    def get(self, word: str, default: str) -> str:
        if not any(c.isalpha() for c in word):
            return default  # the table has punctuation too ("—" → "стальной")
        lemma = self.FIXES.get(word) or self.table.get(word)
        if lemma is None and "ё" in word:
            lemma = self.table.get(word.replace("ё", "е"))
        return str(lemma or default).replace("ё", "е")


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



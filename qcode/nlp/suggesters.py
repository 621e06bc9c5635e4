"""Suggesters: each looks at the sentences of one document and proposes codes.

* rules — the codebook's patterns: phrases matched on lowercased lemmas (or lowercase
  words), spaCy token patterns, ``exclude_patterns`` that veto a code in a sentence,
  and negation: a cue shortly before a match routes it to the code named by
  ``negated:`` (a negated match of a code without one suggests nothing);
* fuzzy — the codebook's phrases matched with rapidfuzz against the words of the
  text, for transcription errors and misspellings: only where a word of the text is
  close to a word of the phrase, is not a real word of the language itself ("indifferent"
  is not a misspelling of "different") and does not contain it or lie inside it;
* model — the calibrated linear model trained on the project's codings
  (qcode.nlp.models), on the sentence and its context.

Every hit's score is a probability: a pattern's precision in this project's decisions
(qcode.nlp.calibration.PatternPrecision), or the model's calibrated score. Each hit
carries its evidence: the patterns that matched, or the words that drove the model.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

from qcode.nlp.features import NEGATION_CUES, NEGATION_WINDOW


@dataclass
class Hit:
    sentence: int  # index into the sentences given to the suggester
    code_id: int
    score: float
    suggester: str
    rationale: str
    evidence: list = field(default_factory=list)  # [suggester, pattern] or ["model", term, w]


def patterns_for(stored: str | None, language: str) -> list:
    """A code's stored patterns (JSON) that apply to a document in *language*: the list
    given for every language, or the one given for this language."""
    patterns = json.loads(stored or "[]")
    if isinstance(patterns, dict):
        return patterns.get(language, [])
    return patterns


def _pattern_docs(analyzer, patterns: list) -> list[tuple[str, str, object]]:
    """(attr, label, pattern) for the matchers; phrases are analysed like the text."""
    out = []
    for pattern in patterns:
        if isinstance(pattern, str):
            pattern = {"phrase": pattern}
        if "tokens" in pattern:
            out.append(("TOKENS", pattern.get("id") or json.dumps(pattern["tokens"]),
                        pattern["tokens"]))
        else:
            attr = pattern.get("attr", "LEMMA")
            text = pattern["phrase"]
            doc = (analyzer.analyse([text])[0][0] if attr == "LEMMA"
                   else analyzer.nlp.make_doc(text.lower()))
            out.append((attr, pattern.get("id") or text, doc))
    return out


_REQUIRED_OPS = {None, "+", "1"}



def _needed(pattern: list[dict]) -> list[frozenset[str]]:
    """Per token of a Matcher pattern that must be there (no OP that allows none), the
    words one of which it must be, from its LEMMA or LOWER (both lowercase in qcode's
    analysis). Empty when no token says: the pattern is then run on every sentence."""
    out = []
    for token in pattern:
        if token.get("OP") not in _REQUIRED_OPS:
            continue
        for attr in ("LEMMA", "LOWER"):
            value = token.get(attr)
            if isinstance(value, str):
                out.append(frozenset({value}))
                break
            if isinstance(value, dict) and set(value) == {"IN"} and value["IN"]:
                out.append(frozenset(str(v) for v in value["IN"]))
                break
    return out


def _quoted(texts) -> str:
    return ", ".join(f"“{text}”" for text in sorted(set(texts)))


class RuleSuggester:
    name = "rules"

    def __init__(self, analyzer, codes: list[dict], precision, language: str = "en"):
        from spacy.matcher import Matcher, PhraseMatcher

        nlp = analyzer.nlp
        self.codes = {c["id"]: c for c in codes}
        self.by_path = {c["path"]: c["id"] for c in codes}
        self.precision = precision  # (suggester, code id, pattern) -> probability
        self.labels: dict[int, tuple[int, str, bool]] = {}  # match id -> (code, label, veto)
        phrase_lemma = PhraseMatcher(nlp.vocab, attr="LEMMA")
        phrase_lower = PhraseMatcher(nlp.vocab, attr="LOWER")
        tokens = Matcher(nlp.vocab)
        self.needs: list[list[frozenset[str]]] | None = []  # see _needed
        for code in codes:
            for veto, key in ((False, "patterns"), (True, "exclude_patterns")):
                for i, (attr, label, pattern) in enumerate(
                        _pattern_docs(analyzer, patterns_for(code[key], language))):
                    match_key = f"{code['id']}:{int(veto)}:{i}"
                    match_id = nlp.vocab.strings.add(match_key)
                    self.labels[match_id] = (code["id"], label, veto)
                    if attr == "TOKENS":
                        tokens.add(match_key, [pattern])
                        needed = _needed(pattern)
                        if needed and self.needs is not None:
                            self.needs.append(needed)
                        else:
                            self.needs = None  # one pattern we cannot pre-check
                    elif attr == "LEMMA":
                        phrase_lemma.add(match_key, [pattern])
                    else:
                        phrase_lower.add(match_key, [pattern])
        self.phrases = [m for m in (phrase_lemma, phrase_lower) if len(m)]
        self.tokens = tokens if len(tokens) else None

    def _token_candidates(self, doc, sentences) -> set[int]:
        """The sentences (of *sentences*: (index, a, b) on *doc*) in which the token
        patterns can match: every word each of them requires is there. Checked on the
        document's token arrays at once; spaCy's Matcher costs far more than this test."""
        import numpy
        from spacy.attrs import LEMMA, LOWER

        if self.needs is None:
            return {index for index, _, _ in sentences}
        arrays = doc.to_array([LOWER, LEMMA]).reshape(-1, 2)
        strings = doc.vocab.strings
        firsts = numpy.asarray([a for _, a, _ in sentences], dtype=numpy.int64)
        lasts = numpy.asarray([b for _, _, b in sentences], dtype=numpy.int64)
        possible = numpy.zeros(len(sentences), dtype=bool)
        for needs in self.needs:
            every = numpy.ones(len(sentences), dtype=bool)
            for need in needs:
                hashes = numpy.asarray([strings[w] for w in need], dtype=numpy.uint64)
                present = numpy.isin(arrays[:, 0], hashes) | numpy.isin(arrays[:, 1], hashes)
                running = numpy.concatenate([[0], numpy.cumsum(present)])
                every &= running[lasts] - running[firsts] > 0  # one in the sentence's tokens
            possible |= every
        return {sentences[k][0] for k in numpy.nonzero(possible)[0].tolist()}

    def suggest(self, pieces, words, skip=frozenset()) -> list[Hit]:
        """Hits for the sentences *pieces*, each (doc, a, b): tokens doc[a:b] (several may
        share a doc: the phrase matchers then run over it once)."""
        from bisect import bisect_right

        import numpy
        from spacy.attrs import LOWER

        found: dict[int, dict[int, list[tuple[str, str]]]] = defaultdict(
            lambda: defaultdict(list))  # sentence -> code -> (pattern key, matched text)
        vetoed: dict[int, set[int]] = defaultdict(set)

        def record(index: int, doc, cues, a: int, match_id: int, start: int, end: int) -> None:
            code_id, label, veto = self.labels[match_id]
            if veto:
                vetoed[index].add(code_id)
                return
            if cues[max(a, start - NEGATION_WINDOW):start].any():
                target = self.by_path.get(self.codes[code_id].get("negated") or "")
                if target is not None:  # else: "not trust" is no evidence for trust
                    found[index][target].append(("¬" + label, doc[start:end].text))
            else:
                found[index][code_id].append((label, doc[start:end].text))

        by_doc: dict[int, tuple] = {}
        for index, (doc, a, b) in enumerate(pieces):
            if index not in skip:
                by_doc.setdefault(id(doc), (doc, []))[1].append((index, a, b))
        for doc, sentences in by_doc.values():
            strings = doc.vocab.strings
            cues = numpy.isin(doc.to_array([LOWER]).reshape(-1), numpy.asarray(
                [strings[c] for c in NEGATION_CUES], dtype=numpy.uint64))
            firsts = [a for _, a, _ in sentences]
            for matcher in self.phrases:  # over the whole doc; offsets in the doc
                for match_id, start, end in matcher(doc):
                    k = bisect_right(firsts, start) - 1
                    if k >= 0 and end <= sentences[k][2]:  # not across a sentence's end
                        record(sentences[k][0], doc, cues, sentences[k][1], match_id, start,
                               end)
            if self.tokens is not None:
                candidates = self._token_candidates(doc, sentences)
                for index, a, b in sentences:
                    if index in candidates:  # offsets in the span
                        for match_id, start, end in self.tokens(doc[a:b]):
                            record(index, doc, cues, a, match_id, a + start, a + end)
        hits = []
        for index in sorted(found):
            for code_id, matches in found[index].items():
                if code_id not in vetoed[index]:
                    hits.append(self._hit(index, code_id, matches))
        return hits

    def _hit(self, index: int, code_id: int, matches: list[tuple[str, str]]) -> Hit:
        keys = sorted({key for key, _ in matches})
        score = max(self.precision(self.name, code_id, key) for key in keys)
        negated = [text for key, text in matches if key.startswith("¬")]
        plain = [text for key, text in matches if not key.startswith("¬")]
        parts = []
        if plain:
            parts.append(f"matched {_quoted(plain)}")
        if negated:
            parts.append(f"negated {_quoted(negated)} (→ {self.codes[code_id]['path']})")
        return Hit(index, code_id, round(score, 4), self.name, "; ".join(parts),
                   [[self.name, key] for key in keys])


@lru_cache(maxsize=8)
def lexicon(language: str) -> frozenset[str]:
    """Known words of *language*: spaCy's stop words for it, and from spacy-lookups-data
    WordNet's lemmas (English) and every form of its lemma tables; empty where spaCy
    has none of these."""
    import gzip
    import importlib
    import importlib.util
    from pathlib import Path

    words: set[str] = set()
    try:
        words.update(importlib.import_module(f"spacy.lang.{language}.stop_words").STOP_WORDS)
    except (ImportError, AttributeError):
        pass
    spec = importlib.util.find_spec("spacy_lookups_data")
    if spec is None or not spec.origin:
        return frozenset()
    data = Path(spec.origin).parent / "data"
    for name in (f"{language}_lemma_index.json.gz", f"{language}_lemma_lookup.json.gz"):
        path = data / name
        if not path.is_file():
            continue
        table = json.loads(gzip.decompress(path.read_bytes()))
        if name.endswith("index.json.gz"):  # {pos: [lemma, ...]}
            for lemmas in table.values():
                words.update(w.lower() for w in lemmas if "_" not in w)
        else:  # {form: lemma}
            words.update(k.lower() for k in table)
            words.update(str(v).lower() for v in table.values())
    return frozenset(words)


def could_be_misspelt(candidate: str, known: frozenset[str]) -> bool:
    """A word of the text that may be a misspelling: not a real word, not a number."""
    return candidate not in known and not any(c.isdigit() for c in candidate)


def misspelling_of(candidate: str, word: str, known: frozenset[str]) -> bool:
    """Whether *candidate* (a word of the text) may be *word*, as it is or misspelt: the
    same, or a possible misspelling (see could_be_misspelt) that is not inside the word
    nor holds it ("indifferent" holds "different")."""
    if candidate == word:
        return True
    return could_be_misspelt(candidate, known) and candidate not in word \
        and word not in candidate


class FuzzySuggester:
    name = "fuzzy"
    MIN_CHARS = 5  # shorter keywords match too much by accident

    def __init__(self, analyzer, codes: list[dict], precision, threshold: int = 88,
                 language: str = "en"):
        self.threshold = threshold
        self.precision = precision
        self.known = lexicon(language)
        self.by_size: dict[int, list[tuple[str, int]]] = defaultdict(list)
        self.lemma_forms: set[str] = set()  # phrases as lemmas: exact there is the rules' job
        for code in codes:
            for pattern in patterns_for(code["patterns"], language):
                phrase = pattern if isinstance(pattern, str) else pattern.get("phrase")
                if phrase and len(phrase.replace(" ", "")) >= self.MIN_CHARS:
                    kept = [w for w in analyzer.analyse([phrase])[1][0] if not w.skip]
                    self.by_size[len(kept)].append((" ".join(w.lower for w in kept),
                                                    code["id"]))
                    self.lemma_forms.add(" ".join(w.lemma for w in kept))

    def _plausible(self, gram: str, phrase: str) -> bool:
        pairs = list(zip(gram.split(), phrase.split(), strict=False))
        return all(misspelling_of(a, b, self.known) for a, b in pairs) and \
            any(a != b for a, b in pairs)

    def suggest(self, docs, words, skip=frozenset()) -> list[Hit]:
        """Compare keywords with each distinct word, not with every occurrence, and try a
        multi-word phrase only where a word resembles its first word: most of the cost
        of fuzzy matching is building candidate strings, not comparing them."""
        from rapidfuzz import fuzz, process

        # A match is a real word of the phrase or a misspelling of one, and at least one
        # misspelling (see _plausible): only the words the lexicon does not know can be
        # misspellings, so only sentences that have one are looked at, only those words
        # compared alone, and only n-grams holding one built.
        unknown = {word for word in {w.lower for i, row in enumerate(words) if i not in skip
                                     for w in row if not w.skip} - self.known
                   if could_be_misspelt(word, self.known)}
        if not unknown:
            return []
        sentences = [[(w.lower, w.lemma) for w in row if not w.skip]
                     if i not in skip and any(w.lower in unknown for w in row) else []
                     for i, row in enumerate(words)]
        where: dict[str, list[tuple[int, int]]] = defaultdict(list)  # word -> (sentence, i)
        for index, sentence in enumerate(sentences):
            for i, (lower, _) in enumerate(sentence):
                where[lower].append((index, i))
        vocabulary = list(where)
        best: dict[tuple[int, int], tuple[int, str, str]] = {}
        for size, phrases in self.by_size.items():
            if size == 1:
                grams = [w for w in vocabulary if w in unknown]
                places = [where[word] for word in grams]
            else:
                firsts = sorted({p.split()[0] for p, _ in phrases})
                near = process.cdist(firsts, vocabulary, scorer=fuzz.ratio, score_cutoff=60,
                                     dtype="uint8").any(axis=0)
                grams, places, seen = [], [], {}
                for column in near.nonzero()[0].tolist():
                    for s, i in where[vocabulary[column]]:
                        piece = sentences[s][i:i + size]
                        if len(piece) < size or not any(w in unknown for w, _ in piece):
                            continue
                        gram = " ".join(w for w, _ in piece)
                        if " ".join(m for _, m in piece) in self.lemma_forms:
                            continue
                        if gram not in seen:
                            seen[gram] = len(grams)
                            grams.append(gram)
                            places.append([])
                        places[seen[gram]].append((s, i))
            if not grams:
                continue
            scores = process.cdist([p for p, _ in phrases], grams, scorer=fuzz.ratio,
                                   score_cutoff=self.threshold, dtype="uint8")
            rows, cols = scores.nonzero()
            for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
                phrase, code_id = phrases[r]
                gram = grams[c]
                if gram == phrase or not self._plausible(gram, phrase):
                    continue
                score = int(scores[r, c])
                for s, i in places[c]:
                    if size == 1 and sentences[s][i][1] in self.lemma_forms:
                        continue  # the rules suggester matches this exactly
                    key = (s, code_id)
                    if key not in best or score > best[key][0]:
                        best[key] = (score, phrase, gram)
        return [Hit(index, code_id, round(self.precision(self.name, code_id, phrase), 4),
                    self.name, f"“{gram}” ≈ “{phrase}” ({score})", [[self.name, phrase]])
                for (index, code_id), (score, phrase, gram) in best.items()]


@lru_cache(maxsize=1 << 16)
def describe_term(name: str) -> str:
    """A model feature as a researcher reads it: “trust”, Q “courts”, not “trust”."""
    block, _, term = name.partition(":")
    negated = term.startswith("¬")
    word = f"not “{term[1:]}”" if negated else f"“{term}”"
    return {"w": word, "q": f"Q {word}", "t": f"turn {word}", "n": f"near {word}"}.get(
        block, word)


class ModelSuggester:
    name = "model"

    def __init__(self, model, codes: list[dict], min_score: float | None = None):
        self.model = model
        by_guid = {c["guid"]: c["id"] for c in codes}
        self.columns = [(j, by_guid[g]) for j, g in enumerate(model.labels) if g in by_guid]
        self.min_score = min_score
        self.uncoded = set(model.meta.get("uncoded", ()))

    def suggest_rows(self, rows: list[dict], indexes: list[int],
                     wanted: dict[int, set[int]] | None = None) -> list[Hit]:
        """Hits for the units *rows* (sentence numbers *indexes*), see suggest_matrix."""
        if not rows:
            return []
        return self.suggest_matrix(self.model.vectorizer.transform(rows), indexes, wanted)

    def suggest_matrix(self, x, indexes: list[int],
                       wanted: dict[int, set[int]] | None = None) -> list[Hit]:
        """Hits for the units of feature matrix *x* (sentence numbers *indexes*): a code's
        hit where its probability reaches the code's threshold (or *min_score*, if given);
        with *wanted* ({sentence: {code id}}), exactly those pairs, whatever they score."""
        import numpy

        if not x.shape[0] or not self.columns:
            return []
        probabilities = self.model.platt(self.model.logits(x))
        cuts = (self.model.thresholds if self.min_score is None
                else numpy.full(len(self.model.labels), self.min_score))
        hits = []
        for j, code_id in self.columns:
            note = (" (no codings yet: from its definition)"
                    if self.model.labels[j] in self.uncoded else "")
            if wanted is None:
                chosen = numpy.nonzero(probabilities[:, j] >= cuts[j])[0].tolist()
            else:
                chosen = [r for r, i in enumerate(indexes) if code_id in wanted.get(i, ())]
            explained = self.model.explain_rows(x, chosen, j)
            for r, reasons in zip(chosen, explained, strict=True):
                p = float(probabilities[r, j])
                if not reasons and wanted is None:
                    continue  # no word of the passage speaks for the code
                words = ", ".join(f"{describe_term(n)} {w:+.2f}" for n, w in reasons)
                hits.append(Hit(indexes[r], code_id, round(p, 4), self.name,
                                f"p={p:.2f}" + (f" from {words}" if words else "") + note,
                                [[self.name, n, w] for n, w in reasons]))
        return hits


def merge(hits: list[Hit]) -> list[Hit]:
    """One hit per sentence and code: the suggesters joined, the highest of their
    (calibrated) scores, every reason kept."""
    grouped: dict[tuple[int, int], list[Hit]] = defaultdict(list)
    for hit in hits:
        grouped[(hit.sentence, hit.code_id)].append(hit)
    merged = []
    for (sentence, code_id), group in grouped.items():
        group.sort(key=lambda h: h.suggester)
        merged.append(Hit(sentence, code_id, max(h.score for h in group),
                          "+".join(sorted({h.suggester for h in group})),
                          "; ".join(f"{h.suggester}: {h.rationale}" for h in group),
                          [e for h in group for e in h.evidence]))
    return merged

"""Suggesters: each looks at the sentences of one document and proposes codes.

* rules — the codebook's patterns: phrases matched on lowercased lemmas (or lowercase
  words), spaCy token patterns, ``exclude_patterns`` that veto a code in a sentence,
  and negation: a cue shortly before a match routes it to the code named by
  ``negated:`` or, without one, lowers its score;
* fuzzy — the codebook's phrases matched with rapidfuzz against word n-grams, for
  transcription errors and spelling variants;
* model — a textcat_multilabel model trained on the project's own codings.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass

from qcode.errors import QcodeError

NEGATION_CUES = {"not", "n't", "never", "no", "nor", "neither", "without", "hardly",
                 "cannot", "dont", "didnt", "doesnt", "wasnt", "werent", "isnt",
                 "не", "нет", "никогда", "ни", "без"}
NEGATION_WINDOW = 3  # tokens before a match that may negate it


@dataclass
class Hit:
    sentence: int  # index into the sentences given to the suggester
    code_id: int
    score: float
    suggester: str
    rationale: str


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


class RuleSuggester:
    name = "rules"

    def __init__(self, analyzer, codes: list[dict]):
        from spacy.matcher import Matcher, PhraseMatcher

        nlp = analyzer.nlp
        self.codes = {c["id"]: c for c in codes}
        self.by_path = {c["path"]: c["id"] for c in codes}
        self.matchers = {}
        self.labels: dict[int, tuple[int, str, bool]] = {}  # match id -> (code, label, veto)
        phrase_lemma = PhraseMatcher(nlp.vocab, attr="LEMMA")
        phrase_lower = PhraseMatcher(nlp.vocab, attr="LOWER")
        tokens = Matcher(nlp.vocab)
        for code in codes:
            for veto, key in ((False, "patterns"), (True, "exclude_patterns")):
                for i, (attr, label, pattern) in enumerate(
                        _pattern_docs(analyzer, json.loads(code[key] or "[]"))):
                    match_key = f"{code['id']}:{int(veto)}:{i}"
                    match_id = nlp.vocab.strings.add(match_key)
                    self.labels[match_id] = (code["id"], label, veto)
                    if attr == "TOKENS":
                        tokens.add(match_key, [pattern])
                    elif attr == "LEMMA":
                        phrase_lemma.add(match_key, [pattern])
                    else:
                        phrase_lower.add(match_key, [pattern])
        self.matchers = [m for m in (phrase_lemma, phrase_lower, tokens) if len(m)]

    def suggest(self, docs, words) -> list[Hit]:
        hits = []
        for index, doc in enumerate(docs):
            found: dict[int, list[tuple[str, bool, str]]] = defaultdict(list)
            vetoed = set()
            for matcher in self.matchers:
                for match_id, start, end in matcher(doc):
                    code_id, label, veto = self.labels[match_id]
                    if veto:
                        vetoed.add(code_id)
                        continue
                    window = doc[max(0, start - NEGATION_WINDOW):start]
                    negated = any(t.lower_ in NEGATION_CUES for t in window)
                    found[code_id].append((label, negated, doc[start:end].text))
            for code_id, matches in found.items():
                if code_id in vetoed:
                    continue
                hits.extend(self._score(index, code_id, matches))
        return hits

    def _score(self, index: int, code_id: int, matches) -> list[Hit]:
        plain = {(label, text) for label, negated, text in matches if not negated}
        negated = {(label, text) for label, neg, text in matches if neg}
        out = []
        if plain:
            words = ", ".join(f"“{text}”" for text in sorted({t for _, t in plain}))
            out.append(Hit(index, code_id, _combine([0.6] * len(plain)), self.name,
                           f"matched {words}"))
        if negated and not plain:
            target = self.by_path.get(self.codes[code_id].get("negated") or "")
            words = ", ".join(f"“{text}”" for text in sorted({t for _, t in negated}))
            if target:
                out.append(Hit(index, target, _combine([0.55] * len(negated)), self.name,
                               f"negated {words} (→ {self.codes[target]['path']})"))
            else:
                out.append(Hit(index, code_id, 0.25, self.name, f"negated {words}"))
        return out


def _combine(scores: list[float]) -> float:
    """Noisy-or: several independent pieces of evidence make a suggestion surer."""
    remaining = 1.0
    for score in scores:
        remaining *= 1.0 - score
    return round(min(0.97, 1.0 - remaining), 4)


class FuzzySuggester:
    name = "fuzzy"
    MIN_CHARS = 5  # shorter keywords match too much by accident

    def __init__(self, analyzer, codes: list[dict], threshold: int = 88):
        self.threshold = threshold
        self.by_size: dict[int, list[tuple[str, int]]] = defaultdict(list)
        self.lemma_forms: set[str] = set()  # phrases as lemmas: exact there is the rules' job
        for code in codes:
            for pattern in json.loads(code["patterns"] or "[]"):
                phrase = pattern if isinstance(pattern, str) else pattern.get("phrase")
                if phrase and len(phrase.replace(" ", "")) >= self.MIN_CHARS:
                    kept = [w for w in analyzer.analyse([phrase])[1][0] if not w.skip]
                    self.by_size[len(kept)].append((" ".join(w.lower for w in kept),
                                                    code["id"]))
                    self.lemma_forms.add(" ".join(w.lemma for w in kept))

    def suggest(self, docs, words) -> list[Hit]:
        """Compare keywords with each distinct word, not with every occurrence, and try a
        multi-word phrase only where a word resembles its first word: most of the cost
        of fuzzy matching is building candidate strings, not comparing them."""
        from rapidfuzz import fuzz, process

        sentences = [[(w.lower, w.lemma) for w in row if not w.skip] for row in words]
        where: dict[str, list[tuple[int, int]]] = defaultdict(list)  # word -> (sentence, i)
        for index, sentence in enumerate(sentences):
            for i, (lower, _) in enumerate(sentence):
                where[lower].append((index, i))
        vocabulary = list(where)
        if not vocabulary:
            return []
        best: dict[tuple[int, int], tuple[int, str, str]] = {}
        for size, phrases in self.by_size.items():
            if size == 1:
                grams = vocabulary
                places = [where[word] for word in vocabulary]
            else:
                firsts = sorted({p.split()[0] for p, _ in phrases})
                near = process.cdist(firsts, vocabulary, scorer=fuzz.ratio, score_cutoff=60,
                                     dtype="uint8").any(axis=0)
                grams, places, seen = [], [], {}
                for column in near.nonzero()[0].tolist():
                    for s, i in where[vocabulary[column]]:
                        piece = sentences[s][i:i + size]
                        if len(piece) < size:
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
                if gram == phrase:
                    continue
                score = int(scores[r, c])
                for s, i in places[c]:
                    if size == 1 and sentences[s][i][1] in self.lemma_forms:
                        continue  # the rules suggester matches this exactly
                    key = (s, code_id)
                    if key not in best or score > best[key][0]:
                        best[key] = (score, phrase, gram)
        return [Hit(index, code_id, round(0.5 * score / 100, 4), self.name,
                    f"“{gram}” ≈ “{phrase}” ({score})")
                for (index, code_id), (score, phrase, gram) in best.items()]


class ModelSuggester:
    name = "model"

    def __init__(self, model_dir, codes: list[dict], min_score: float = 0.5):
        import spacy

        from qcode.nlp import architecture  # noqa: F401  (registers it for spacy.load)
        from qcode.nlp.models import FEATURES

        meta = json.loads((model_dir / "qcode-model.json").read_text())
        if meta.get("features") != FEATURES:
            raise QcodeError(f"the model in {model_dir} was trained by another qcode version; "
                             "run `qcode train` again")
        self.nlp = spacy.load(model_dir)
        self.by_guid = {c["guid"]: c["id"] for c in codes}
        self.min_score = min_score

    def suggest(self, docs, words) -> list[Hit]:
        from qcode.nlp.models import features_of, score

        hits = []
        # the docs are analysed already: no second pass over the text
        for index, cats in enumerate(score(self.nlp, features_of(words))):
            for label, probability in cats.items():
                code_id = self.by_guid.get(label)
                if code_id is not None and probability >= self.min_score:
                    hits.append(Hit(index, code_id, round(float(probability), 4), self.name,
                                    f"model p={probability:.2f}"))
        return hits


def merge(hits: list[Hit]) -> list[Hit]:
    """One hit per sentence and code: suggesters joined, scores combined (noisy-or)."""
    grouped: dict[tuple[int, int], list[Hit]] = defaultdict(list)
    for hit in hits:
        grouped[(hit.sentence, hit.code_id)].append(hit)
    merged = []
    for (sentence, code_id), group in grouped.items():
        group.sort(key=lambda h: h.suggester)
        merged.append(Hit(sentence, code_id, _combine([h.score for h in group]),
                          "+".join(sorted({h.suggester for h in group})),
                          "; ".join(f"{h.suggester}: {h.rationale}" for h in group)))
    return merged

"""The learned suggester: a calibrated linear model of the project's own codings.

What it learns from (qcode.nlp.units): the sentences of the documents coded by hand
(a sentence is a positive for a code when a coding of it covers at least half of it;
every other code is a negative there); elsewhere, the decided suggestions (accepted: a
positive of that code, rejected: a negative), with what nobody decided counted a little
as a negative (``UNDECIDED_WEIGHT``); and the codebook: each code's name, definition,
include criteria and examples are one more positive example of it, worth
``SEED_WEIGHT`` coded sentences — so a code with no codings yet is found by its
definition, and the codings take over as they arrive.

What it sees (qcode.nlp.features): the sentence's own lemmas, the question before it,
the rest of its turn and the sentences around it. How it learns (qcode.nlp.linear):
one L2-regularised, class-balanced logistic regression per code. How its scores are
made probabilities (qcode.nlp.calibration): out-of-fold predictions by document,
Platt-scaled, and per-code thresholds set on them so that as many units pass as the
code is expected to have — saved with the model.

Measured (bench/quality.py, bench/wac.py): see README ("Suggestions") and the issue
notes. The model is stored in the project database (table ``models``), so an
encrypted project keeps it encrypted and a backup carries it; only the current model
and the one before it are kept.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy

from qcode.errors import QcodeError
from qcode.nlp.units import Unit, training_units
from qcode.store.migrations import KEEP_MODELS

FEATURES = "context-blocks-v2"  # what a stored model's columns mean; bumped on change
L2 = 0.5  # 1/C; bench/quality.py: 0.3-1 within 0.01 macro-F1 on every protocol
SEED_WEIGHT = 2.0  # the codebook's text of a code counts as two coded sentences
CALIBRATION_FOLDS = 3
MAX_ITER = 100  # L-BFGS iterations; the ranking is settled well before (bench/quality.py)
# with this many sentences of documents coded by hand, they alone calibrate the model
# (see _representative); with fewer, every unit does
MIN_CALIBRATION_UNITS = 200
# In a document where suggestions were decided but nothing was coded by hand, a sentence
# and code nobody decided count as a negative of this weight (a decided one counts 1):
# mostly true (what is not suggested, or left, is mostly not the code), and it gives the
# model the base rates that the decided sample, chosen by the model, lacks. bench/active.py:
# with it, learning from review decisions reaches the same F1 with far fewer of them.
UNDECIDED_WEIGHT = 0.1
MIN_COUNT = 2  # a word of one unit only cannot generalise: left out (halves the features)
MIN_TERMS = 1  # units with fewer content words of their own are not learnt from

ProgressFn = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class TrainingSet:
    units: list[Unit]
    rows: list[dict[str, list[str]]]
    labels: list[str]  # code GUIDs, the model's columns
    y: numpy.ndarray  # (units, labels) 0/1
    known: numpy.ndarray  # (units, labels) 0/1: whether y is known
    seeds: list[dict[str, list[str]]]  # per label: its codebook text's blocks (may be {})

    @property
    def groups(self) -> list[int]:
        return [u.document_id for u in self.units]

    def subset(self, indexes: list[int]) -> TrainingSet:
        return TrainingSet([self.units[i] for i in indexes], [self.rows[i] for i in indexes],
                           self.labels, self.y[indexes], self.known[indexes], self.seeds)


@dataclass
class LearnedModel:
    labels: list[str]
    vectorizer: object  # qcode.nlp.features.Vectorizer
    weights: numpy.ndarray  # (features, labels) float32
    bias: numpy.ndarray
    shift: numpy.ndarray  # per label: base-rate correction of the balanced logits
    platt: object  # qcode.nlp.calibration.Platt
    thresholds: numpy.ndarray
    meta: dict = field(default_factory=dict)

    def logits(self, x) -> numpy.ndarray:
        return numpy.asarray(x @ self.weights, dtype=numpy.float64) + self.bias + self.shift

    def probabilities(self, rows: list[dict[str, list[str]]]) -> numpy.ndarray:
        return self.platt(self.logits(self.vectorizer.transform(rows)))

    def explain_rows(self, x, rows, column: int, top: int = 4
                     ) -> list[list[tuple[str, float]]]:
        """For each unit of *rows* (row numbers of the CSR matrix *x*), the features that
        raise code *column* most: at most *top* (name, contribution), largest first (ties
        in the matrix's order), positive ones only. Found for all the rows at once: one
        product and one sort per code, not one per suggestion."""
        rows = numpy.asarray(rows, dtype=numpy.int64)
        if not len(rows):
            return []
        starts, ends = x.indptr[rows], x.indptr[rows + 1]
        lengths = ends - starts
        owner = numpy.repeat(numpy.arange(len(rows)), lengths)
        # the stored entries of each chosen row, in their order in x
        offsets = numpy.arange(int(lengths.sum())) - numpy.repeat(
            numpy.cumsum(lengths) - lengths, lengths) + numpy.repeat(starts, lengths)
        indices = x.indices[offsets]
        contributions = x.data[offsets] * self.weights[indices, column]
        # within each row by falling contribution, ties in their order (a stable sort)
        order = numpy.lexsort((-contributions, owner))
        first = numpy.cumsum(lengths) - lengths
        rank = numpy.arange(len(order)) - first[owner[order]]
        keep = order[(rank < top) & (contributions[order] > 0)]
        names = self.vectorizer.names_of(indices[keep])
        values = [round(c, 2) for c in contributions[keep].tolist()]
        out: list[list[tuple[str, float]]] = [[] for _ in range(len(rows))]
        for r, name, value in zip(owner[keep].tolist(), names, values, strict=True):
            out[r].append((name, value))
        return out

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        numpy.savez_compressed(
            buffer, weights=self.weights, bias=self.bias, shift=self.shift,
            offsets=self.platt.offsets, thresholds=self.thresholds,
            idf=numpy.asarray(self.vectorizer.idf),
            header=numpy.frombuffer(json.dumps({
                "labels": self.labels, "terms": self.vectorizer.names(),
                "blocks": self.vectorizer.weights, "slope": self.platt.slope,
                "intercept": self.platt.intercept, "features": FEATURES}).encode(), "u1"))
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, meta: dict | None = None) -> LearnedModel:
        from qcode.nlp.calibration import Platt
        from qcode.nlp.features import Vectorizer

        arrays = numpy.load(io.BytesIO(data), allow_pickle=False)
        header = json.loads(arrays["header"].tobytes().decode())
        if header.get("features") != FEATURES:
            raise QcodeError("the trained model was made by another qcode version; "
                             "run `qcode train` again")
        vectorizer = Vectorizer.from_dict({"weights": header["blocks"], "terms": header["terms"],
                                           "idf": arrays["idf"].tolist()})
        return cls(header["labels"], vectorizer, arrays["weights"], arrays["bias"],
                   arrays["shift"], Platt(header["slope"], header["intercept"],
                                          arrays["offsets"]),
                   arrays["thresholds"], meta or {})


# -- fitting -----------------------------------------------------------------------------

def _matrices(ts: TrainingSet, vectorizer, indexes: list[int] | None = None):
    """(x, y, known, sample weight) for the units at *indexes* plus the codebook seeds."""
    from scipy.sparse import vstack

    rows = ts.rows if indexes is None else [ts.rows[i] for i in indexes]
    y = ts.y if indexes is None else ts.y[indexes]
    known = _fit_weights(ts.known if indexes is None else ts.known[indexes])
    seeded = [j for j, seed in enumerate(ts.seeds) if seed]
    x = vectorizer.transform(rows)
    if not seeded:
        return x, y, known, numpy.ones(len(rows))
    from qcode.nlp.features import SEED_BLOCKS

    seed_x = vectorizer.transform([ts.seeds[j] for j in seeded], weights=SEED_BLOCKS)
    seed_y = numpy.zeros((len(seeded), len(ts.labels)), dtype=numpy.float32)
    seed_y[numpy.arange(len(seeded)), seeded] = 1
    weight = numpy.concatenate([numpy.ones(len(rows)), numpy.full(len(seeded), SEED_WEIGHT)])
    return vstack([x, seed_x]).tocsr(), numpy.vstack([y, seed_y]), \
        numpy.vstack([known, seed_y]), weight


def _fit_weights(known: numpy.ndarray) -> numpy.ndarray:
    """What each (unit, code) weighs in the fit: 1 if known, UNDECIDED_WEIGHT if not."""
    return known + (1 - known) * UNDECIDED_WEIGHT if UNDECIDED_WEIGHT else known


def folds_by_document(groups: list[int], folds: int, seed: int) -> list[int]:
    """A fold number per unit: documents shuffled by *seed*, dealt out in turn."""
    documents = sorted(set(groups))
    random.Random(seed).shuffle(documents)
    fold_of = {doc: i % folds for i, doc in enumerate(documents)}
    return [fold_of[g] for g in groups]


def fit_model(ts: TrainingSet, *, seed: int = 0, folds: int = CALIBRATION_FOLDS,
              progress: ProgressFn | None = None) -> LearnedModel:
    """Fit on *ts*; calibrate and choose thresholds on out-of-fold predictions."""
    from qcode.nlp import linear
    from qcode.nlp.calibration import Platt, base_rate_shift, count_thresholds, fit_platt
    from qcode.nlp.features import Vectorizer

    if not ts.labels:
        raise QcodeError("nothing to learn: no code has a coded sentence or a definition")
    vectorizer = Vectorizer().fit(ts.rows, min_count=MIN_COUNT, keep=[s for s in ts.seeds if s])
    fair = _representative(ts)
    shift = base_rate_shift(ts.y, _fit_weights(ts.known))
    folds = min(folds, len(set(ts.groups)))
    steps = (folds if folds >= 2 else 0) + 1
    oof = numpy.zeros(ts.y.shape)
    fold_models = []
    if folds >= 2:
        fold_of = folds_by_document(ts.groups, folds, seed)
        for k in range(folds):
            train = [i for i, f in enumerate(fold_of) if f != k]
            test = [i for i, f in enumerate(fold_of) if f == k]
            if progress:
                progress("calibrating", k, steps)
            x, y, known, weight = _matrices(ts, vectorizer, train)
            model = linear.fit(x, y, known, l2=L2, sample_weight=weight, max_iter=MAX_ITER)
            fold_models.append(model)
            oof[test] = model.logits(vectorizer.transform([ts.rows[i] for i in test])) + shift
        weights = _fit_weights(ts.known[fair])
        platt = fit_platt(oof[fair], ts.y[fair], weights)
        thresholds = count_thresholds(platt(oof), ts.y, ts.known)
    else:  # one document: nothing held out to calibrate on
        from qcode.nlp.calibration import DEFAULT_THRESHOLD

        platt = Platt(offsets=numpy.zeros(len(ts.labels)))
        thresholds = numpy.full(len(ts.labels), DEFAULT_THRESHOLD)
    if progress:
        progress("training", steps - 1, steps)
    start = None
    if fold_models:
        start = linear.LinearModel(sum(m.weights for m in fold_models) / len(fold_models),
                                   sum(m.bias for m in fold_models) / len(fold_models))
    x, y, known, weight = _matrices(ts, vectorizer)
    full = linear.fit(x, y, known, l2=L2, sample_weight=weight, max_iter=MAX_ITER, start=start)
    if progress:
        progress("training", steps, steps)
    _place_uncoded(ts, full.logits(vectorizer.transform(ts.rows)) + shift, platt, thresholds)
    meta = {"held_out": _held_out_scores(platt(oof), thresholds, ts) if folds >= 2 else {}}
    return LearnedModel(ts.labels, vectorizer, full.weights, full.bias, shift, platt,
                        thresholds, meta)


def _representative(ts: TrainingSet) -> numpy.ndarray:
    """The units to estimate base rates and calibrate on: those of documents coded whole.
    Decided suggestions are a sample the model itself chose (its surest or least sure
    sentences): their share of positives and their held-out scores describe that sample,
    not the next document. Without a whole document, every unit."""
    whole = numpy.asarray([u.known is None for u in ts.units], dtype=bool)
    if whole.sum() >= MIN_CALIBRATION_UNITS and (ts.y[whole] > 0).any():
        return whole
    return numpy.ones(len(ts.units), dtype=bool)


def _place_uncoded(ts: TrainingSet, logits: numpy.ndarray, platt, thresholds) -> None:
    """Codes nobody has coded yet (only their definition): their scores are placed so
    that they are suggested about as often as a typical code, on the passages most like
    their definition. Held-out data cannot calibrate them: it has none of them."""
    from scipy.special import logit

    coded = ts.y.sum(axis=0) > 0
    if coded.all() or not coded.any():
        return
    rate = float(numpy.median(ts.y[:, coded].sum(axis=0) / ts.known[:, coded].sum(axis=0)))
    centre = float(numpy.median(thresholds[coded]))
    for j in numpy.nonzero(~coded)[0]:
        top = float(numpy.quantile(logits[:, j], 1 - rate))
        platt.offsets[j] = logit(centre) - (platt.slope * top + platt.intercept)
        thresholds[j] = centre


def _held_out_scores(probabilities, thresholds, ts: TrainingSet) -> dict[str, dict]:
    """Per label, what the out-of-fold predictions at its threshold achieved."""
    out = {}
    for j, label in enumerate(ts.labels):
        mask = ts.known[:, j] > 0
        gold = ts.y[mask, j] > 0
        predicted = probabilities[mask, j] >= thresholds[j]
        tp = int((gold & predicted).sum())
        out[label] = {"support": int(gold.sum()), "predicted": int(predicted.sum()),
                      "tp": tp}
    return out


# -- from a project ------------------------------------------------------------------------

def analyse_units(units: list[Unit], nlp_model: str | None = None
                  ) -> dict[int, list[list[str]]]:
    """Per revision, the terms of each of its sentences (each analysed once)."""
    from qcode.nlp.features import sentence_terms
    from qcode.nlp.pipeline import analyzer

    terms: dict[int, list[list[str]]] = {}
    for unit in units:
        layout = unit.layout
        if layout.revision_id in terms:
            continue
        words = analyzer(layout.language, nlp_model).analyse_spans(layout.text, layout.spans)[1]
        terms[layout.revision_id] = [sentence_terms(w) for w in words]
    return terms


def seed_blocks(db, guids: list[str], language: str, nlp_model: str | None = None
                ) -> list[dict[str, list[str]]]:
    """Per code, the terms of its name, definition, include criteria (one per line) and
    examples."""
    from qcode.nlp.features import sentence_terms
    from qcode.nlp.pipeline import analyzer

    texts = []
    for guid in guids:
        row = db.execute("SELECT name, description, include, examples FROM codes WHERE guid = ?",
                         [guid]).fetchone()
        if row is None:
            texts.append("")
            continue
        name, description, include, examples = row
        parts = [name.replace("_", " ").replace("-", " "), description,
                 include, *json.loads(examples or "[]")]
        texts.append(". ".join(p for p in parts if p))
    words = analyzer(language, nlp_model).analyse(texts)[1]
    return [{"w": sentence_terms(w)} if texts[i] else {} for i, w in enumerate(words)]


def training_set(project, *, coder: str | None = None, unit: str = "sentence",
                 units: list[Unit] | None = None, labels: list[str] | None = None,
                 use_codebook: bool = True) -> TrainingSet:
    """The project's learning data: units (or the given ones) with context features,
    labels (default: every active code with a coding or a definition)."""
    from qcode.nlp.features import unit_blocks

    settings = project.config.suggest
    if units is None:
        units, _ = training_units(project.db, coder=coder, unit=unit,
                                  default_language=project.config.language,
                                  interviewer_names=settings.interviewer_names)
    terms = analyse_units(units, project.config.nlp.model)
    rows = [unit_blocks(u, terms[u.revision_id]) for u in units]
    keep = [i for i, (u, row) in enumerate(zip(units, rows, strict=True))
            if len(row["w"]) >= MIN_TERMS and (settings.interviewer_turns or not u.interviewer)]
    units, rows = [units[i] for i in keep], [rows[i] for i in keep]
    if labels is None:
        labels = [g for (g,) in project.db.execute(
            "SELECT guid FROM codes WHERE status = 'active' ORDER BY position, id")]
    seeds_all: dict[str, dict] = {}
    if use_codebook:
        seeded = seed_blocks(project.db, labels, project.config.language,
                             project.config.nlp.model)
        seeds_all = {g: s for g, s in zip(labels, seeded, strict=True) if s.get("w")}
    coded = {g for u in units for g in u.labels}
    # a code is learnt where something says what it is (a coding or its definition) and
    # something says what it is not (a coded document, a rejected suggestion)
    whole = [u for u in units if u.known is None]
    ruled_out = {g for u in units if u.known is not None for g in u.known - u.labels}
    ruled_out.update(g for g in labels if any(g not in u.labels for u in whole))
    labels = [g for g in labels if (g in coded or g in seeds_all) and g in ruled_out]
    y = numpy.zeros((len(units), len(labels)), dtype=numpy.float32)
    known = numpy.ones_like(y)
    column = {g: j for j, g in enumerate(labels)}
    for i, u in enumerate(units):
        for g in u.labels:
            if g in column:
                y[i, column[g]] = 1
        if u.known is not None:
            known[i] = [g in u.known for g in labels]
    return TrainingSet(units, rows, labels, y, known, [seeds_all.get(g, {}) for g in labels])


def unit_hits(project, units: list[Unit], using: tuple[str, ...] = ("rules", "fuzzy")
              ) -> list[list]:
    """Per unit, the rule/fuzzy hits of its sentences (a turn: all of its sentences)."""
    from qcode.nlp.run import Engine

    codes = [dict(r) for r in project.db.query("SELECT * FROM codes WHERE status = 'active'")]
    engine = Engine(project, codes, using, min_score=0.0)
    by_layout: dict[int, dict[int, list]] = {}
    out = []
    for unit in units:
        layout = unit.layout
        if layout.revision_id not in by_layout:
            per_sentence: dict[int, list] = {}
            for hit in engine.suggest(layout):
                per_sentence.setdefault(hit.sentence, []).append(hit)
            by_layout[layout.revision_id] = per_sentence
        per_sentence = by_layout[layout.revision_id]
        if unit.kind == "turn":
            out.append([h for s in layout.by_turn[unit.index]
                        for h in per_sentence.get(s, [])])
        else:
            out.append(per_sentence.get(unit.index, []))
    return out


def count_patterns(table, unit: Unit, hits, label_of: Callable[[int], str | None]) -> None:
    """Add to *table* (a PatternPrecision) what *unit*'s coding says of the patterns
    that matched in it: each matched pattern of a code is right if the unit is coded
    with the code's label (*label_of* its id), wrong if not."""
    for hit in hits:
        label = label_of(hit.code_id)
        if label is None or (unit.known is not None and label not in unit.known):
            continue
        for suggester, pattern in {(e[0], e[1]) for e in hit.evidence}:
            table.add(suggester, hit.code_id, pattern, label in unit.labels)


def matches_in_coded_units(project, ts: TrainingSet) -> list[list]:
    """[suggester, code id, pattern, matches, matches coded] for every rule and fuzzy
    pattern over the training sentences: what coding the documents said of each
    pattern. Sentences with a decided suggestion of the code are left to that decision."""
    from qcode.nlp.calibration import PatternPrecision

    db = project.db
    if not db.execute("SELECT 1 FROM codes WHERE status = 'active' AND patterns != '[]'"
                      ).fetchone():
        return []
    guid = dict(db.execute("SELECT id, guid FROM codes").fetchall())
    decided = set(db.execute("SELECT revision_id, start, \"end\", code_id FROM suggestions "
                             "WHERE status != 'pending'").fetchall())
    table = PatternPrecision()
    for unit, hits in zip(ts.units, unit_hits(project, ts.units), strict=True):
        undecided = [h for h in hits
                     if (unit.revision_id, unit.start, unit.end, h.code_id) not in decided]
        count_patterns(table, unit, undecided, guid.get)
    return [[*key, n, k] for key, (n, k) in sorted(table.counts.items())]


def data_hash(ts: TrainingSet) -> str:
    payload = json.dumps([[u.revision_id, u.start, u.end, sorted(u.labels & set(ts.labels)),
                           sorted(u.known) if u.known is not None else None]
                          for u in ts.units] + [ts.labels, ts.seeds])
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass
class TrainResult:
    model_id: int
    labels: dict[str, str]  # guid -> path
    units: int
    positives: dict[str, int]  # path -> coded units
    thresholds: dict[str, float]  # path -> threshold
    held_out: dict[str, dict]  # path -> support/predicted/tp out of fold
    seeded: list[str]  # paths whose codebook text was learnt from


def train(project, *, coder: str | None = None, seed: int = 0,
          progress: ProgressFn | None = None) -> TrainResult:
    """Fit the model on the project's codings and store it as the current model."""
    from qcode.store import transaction
    from qcode.store.records import now

    db = project.db
    ts = training_set(project, coder=coder)
    if not ts.units and not any(ts.seeds):
        raise QcodeError("nothing to learn: code some passages first (or give the codes "
                         "definitions in the codebook)")
    if not ts.units:
        raise QcodeError("nothing to learn yet: no document has been coded")
    if not ts.labels:
        raise QcodeError("nothing to learn yet: no code has both an example (a coding or a "
                         "definition) and a counter-example (a rejected suggestion, or a "
                         "document coded by hand where it was not used); reject the wrong "
                         "suggestions, or code a document by hand")
    model = fit_model(ts, seed=seed, progress=progress)
    patterns = matches_in_coded_units(project, ts)
    paths = dict(db.execute("SELECT guid, path FROM codes").fetchall())
    positives = {paths[g]: int(ts.y[:, j].sum()) for j, g in enumerate(ts.labels)}
    thresholds = {paths[g]: round(float(t), 3) for g, t in zip(ts.labels, model.thresholds,
                                                             strict=True)}
    held_out = {paths[g]: v for g, v in model.meta["held_out"].items()}
    digest = data_hash(ts)
    meta = {"data_sha256": digest, "labels": {g: paths[g] for g in ts.labels},
            "positives": positives, "thresholds": thresholds, "held_out": held_out,
            "units": len(ts.units), "coder": coder, "seed": seed, "features": FEATURES,
            "seeded": [paths[g] for g, s in zip(ts.labels, ts.seeds, strict=True) if s],
            "uncoded": [g for j, g in enumerate(ts.labels) if not ts.y[:, j].any()],
            "patterns": patterns,
            "trained_on": [[u.revision_id, u.start, u.end] for u in ts.units]}
    stamp = now()
    with transaction(db):
        model_id = db.execute(
            "INSERT INTO models (created, coder, data_sha256, meta, data) VALUES (?, ?, ?, ?, ?)",
            [stamp, coder, digest, json.dumps(meta), model.to_bytes()]).lastrowid
        db.execute("DELETE FROM models WHERE id NOT IN (SELECT id FROM models ORDER BY id DESC "
                   "LIMIT ?)", [KEEP_MODELS])
        db.execute("INSERT INTO runs (kind, params, status, started, finished, summary) "
                   "VALUES ('train', ?, 'done', ?, ?, ?)",
                   [json.dumps({"coder": coder, "seed": seed}), stamp, now(),
                    json.dumps({"model": model_id, "units": len(ts.units),
                                "positives": positives})])
    return TrainResult(model_id, meta["labels"], len(ts.units), positives, thresholds,
                       held_out, meta["seeded"])


def current_model_id(db) -> int | None:
    row = db.execute("SELECT max(id) FROM models").fetchone()
    return row[0] if row else None


def load_model(db, model_id: int | None = None) -> LearnedModel | None:
    """The stored model (default: the current one), or None if none was trained."""
    if model_id is None:
        model_id = current_model_id(db)
    if model_id is None:
        return None
    row = db.execute("SELECT meta, data FROM models WHERE id = ?", [model_id]).fetchone()
    if row is None:
        return None
    meta = json.loads(row[0])
    meta["id"] = model_id
    return LearnedModel.from_bytes(row[1], meta)

"""The learned suggester: a spaCy textcat_multilabel trained on the project's codings.

Units are sentences of documents a coder has worked on. A sentence is a positive for a
code when one of the coder's codings of that code covers at least half of it (or lies
within it); in those documents, every other code is a negative for it, and so is any
code whose suggestion on it was rejected. Labels are code GUIDs, so renaming a code does
not break a model. The model is saved under ``models/`` in the project with the hash
of its training data and a list of the units it was trained on (by reference: the
interview text is not copied).
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path

from qcode.errors import QcodeError
from qcode.store import transaction
from qcode.store.records import now

MIN_POSITIVES = 2
ARCHITECTURE = {"@architectures": "qcode.WeightedBOW.v1", "length": 262144, "scale": 3.0}
# What the model sees: each distinct lowercased lemma once, without stop words, numbers
# or punctuation. On the WAC development set this lifted held-out AUC from 0.52 (raw
# text) to 0.61: raw counts let long answers and rare words dominate a small sample.
FEATURES = "distinct-lemmas-v1"
LEARN_RATE = 0.2  # plain SGD: Adam's per-weight steps let words seen twice weigh as much
L2 = 1e-4         # as a word present in every positive example
EPOCHS = 30       # see qcode.nlp.architecture for what was measured


def features_of(words) -> list[list[str]]:
    """The model's input for analysed words (see qcode.nlp.pipeline.Analyzer)."""
    return [list(dict.fromkeys(w.lemma for w in row if not (w.skip or w.stop)))
            for row in words]


def features(texts, language: str, model: str | None = None) -> list[list[str]]:
    from qcode.nlp.pipeline import analyzer

    return features_of(analyzer(language, model).analyse(texts)[1])


def feature_docs(nlp, feature_lists):
    """spaCy docs made straight from feature words: no second tokenization."""
    from spacy.tokens import Doc

    return [Doc(nlp.vocab, words=words) for words in feature_lists]


def score(nlp, feature_lists) -> list[dict[str, float]]:
    textcat = nlp.get_pipe("textcat_multilabel")
    return [dict(doc.cats) for doc in textcat.pipe(feature_docs(nlp, feature_lists),
                                                    batch_size=256)]


def predict(nlp, texts, language: str) -> list[dict[str, float]]:
    """Scores per label for raw *texts*, through the same features as in training."""
    return score(nlp, features(texts, language))


@dataclass
class Unit:
    document_id: int
    revision_id: int
    start: int
    end: int
    text: str
    labels: set[str]  # code GUIDs coded here
    known: set[str] | None = None  # labels whose value is known; None: all of them


def training_units(db, *, coder: str | None = None, document_ids: list[int] | None = None,
                   unit: str = "sentence") -> tuple[list[Unit], dict[str, str]]:
    """Sentences (or turns) with gold labels, and {guid: path}.

    Every unit of a document the coder has coded counts, with all labels known.
    A rejected suggestion elsewhere adds its sentence as a negative for that code only.
    """
    kind = {"sentence": "sentence", "segment": "sentence", "turn": "turn"}[unit]
    coder_clause, params = "", []
    if coder:
        coder_clause = " AND {col} = (SELECT id FROM coders WHERE name = ?)"
        params.append(coder)
    codings = db.execute(
        "SELECT c.revision_id, c.start, c.\"end\", g.guid FROM codings c "
        "JOIN codes g ON g.id = c.code_id JOIN current_revisions r ON r.id = c.revision_id "
        "WHERE g.status = 'active'" + coder_clause.format(col="c.coder_id"), params).fetchall()
    rejections = db.execute(
        "SELECT s.revision_id, s.start, s.\"end\", g.guid FROM suggestions s "
        "JOIN codes g ON g.id = s.code_id JOIN current_revisions r ON r.id = s.revision_id "
        "WHERE s.status = 'rejected'" + coder_clause.format(col="s.decided_by"),
        params).fetchall()
    coded: dict[int, list] = {}
    for rev, start, end, guid in codings:
        coded.setdefault(rev, []).append((start, end, guid))
    rejected: dict[tuple[int, int, int], set[str]] = {}
    for rev, start, end, guid in rejections:
        rejected.setdefault((rev, start, end), set()).add(guid)
    units = []
    revisions = sorted(set(coded) | {rev for rev, _, _ in rejected})
    for rev in revisions:
        doc_id, text = db.execute("SELECT document_id, text FROM revisions WHERE id = ?",
                                  [rev]).fetchone()
        if document_ids is not None and doc_id not in document_ids:
            continue
        spans = coded.get(rev)
        for start, end in db.execute("SELECT start, \"end\" FROM segments WHERE revision_id = ? "
                                     "AND kind = ? ORDER BY number", [rev, kind]):
            if spans is not None:
                labels = {guid for s, e, guid in spans if _covers(s, e, start, end)}
                units.append(Unit(doc_id, rev, start, end, text[start:end], labels))
            elif (rev, start, end) in rejected:
                units.append(Unit(doc_id, rev, start, end, text[start:end], set(),
                                  known=rejected[(rev, start, end)]))
    paths = dict(db.execute("SELECT guid, path FROM codes WHERE status = 'active'").fetchall())
    return units, paths


def _covers(s: int, e: int, start: int, end: int) -> bool:
    overlap = min(e, end) - max(s, start)
    return overlap > 0 and (overlap * 2 >= end - start or (s >= start and e <= end))


def labels_with_support(units: list[Unit]) -> list[str]:
    counts: dict[str, int] = {}
    for unit in units:
        for label in unit.labels:
            counts[label] = counts.get(label, 0) + 1
    return sorted(label for label, n in counts.items() if n >= MIN_POSITIVES)


def build_model(units: list[Unit], labels: list[str], language: str, *,
                epochs: int = EPOCHS, seed: int = 0):
    """Train a textcat_multilabel pipeline in memory."""
    import spacy
    from spacy.training import Example
    from spacy.util import fix_random_seed, minibatch
    from thinc.api import SGD

    from qcode.nlp import architecture

    if not labels:
        raise QcodeError(f"nothing to learn: no code has {MIN_POSITIVES} or more coded "
                         "sentences yet")
    fix_random_seed(seed)
    try:
        nlp = spacy.blank(language)
    except (ImportError, KeyError, ValueError, OSError):
        nlp = spacy.blank("xx")
    textcat = nlp.add_pipe("textcat_multilabel", config={"model": ARCHITECTURE})
    for label in labels:
        textcat.add_label(label)
    feature_lists = features([u.text for u in units], language)
    gold = [[float(lab in u.labels) if u.known is None or lab in u.known else None
             for lab in labels] for u in units]
    examples = [Example.from_dict(doc, {"cats": {
        lab: value for lab, value in zip(labels, row, strict=True) if value is not None}})
        for doc, row in zip(feature_docs(nlp, feature_lists), gold, strict=True)]
    nlp.initialize(lambda: examples)
    architecture.configure(textcat, feature_lists, gold)
    optimizer = SGD(LEARN_RATE, L2=L2)
    rng = random.Random(seed)
    for _ in range(epochs):
        rng.shuffle(examples)
        for batch in minibatch(examples, size=16):
            nlp.update(batch, sgd=optimizer, drop=0.0)
    return nlp


def data_hash(units: list[Unit], labels: list[str]) -> str:
    payload = json.dumps([[u.revision_id, u.start, u.end, sorted(u.labels & set(labels))]
                          for u in units] + [labels])
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass
class TrainResult:
    path: Path
    labels: dict[str, str]  # guid -> path
    units: int
    positives: dict[str, int]


def train(project, *, coder: str | None = None, epochs: int = EPOCHS, seed: int = 0) -> TrainResult:
    db = project.db
    units, paths = training_units(db, coder=coder)
    labels = labels_with_support(units)
    nlp = build_model(units, labels, project.config.language, epochs=epochs, seed=seed)
    digest = data_hash(units, labels)
    folder = project.root / "models" / f"textcat-{digest[:12]}"
    folder.parent.mkdir(exist_ok=True)
    nlp.to_disk(folder)
    positives = {paths[lab]: sum(lab in u.labels for u in units) for lab in labels}
    meta = {"data_sha256": digest, "labels": {lab: paths[lab] for lab in labels},
            "positives": positives, "units": len(units), "coder": coder, "epochs": epochs,
            "seed": seed, "created": now(), "architecture": ARCHITECTURE,
            "features": FEATURES, "language": project.config.language}
    (folder / "qcode-model.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False))
    with (folder / "training-data.jsonl").open("w") as f:
        for u in units:
            f.write(json.dumps({"revision_id": u.revision_id, "start": u.start, "end": u.end,
                                "labels": sorted(u.labels & set(labels))}) + "\n")
    (project.root / "models" / "current").write_text(folder.name + "\n")
    with transaction(db):
        db.execute("INSERT INTO runs (kind, params, status, started, finished, summary) "
                   "VALUES ('train', ?, 'done', ?, ?, ?)",
                   [json.dumps({"coder": coder, "epochs": epochs, "seed": seed}), meta["created"],
                    now(), json.dumps({"model": folder.name, "units": len(units),
                                       "positives": positives})])
    return TrainResult(folder, meta["labels"], len(units), positives)


def current_model(project) -> Path | None:
    pointer = project.root / "models" / "current"
    if not pointer.is_file():
        return None
    folder = project.root / "models" / pointer.read_text().strip()
    return folder if (folder / "qcode-model.json").is_file() else None

"""Batch suggestion runs: `qcode suggest`.

Documents are processed one at a time (bounded memory) and each document's
suggestions are committed with a record that the document is done, so a run that is
killed can be resumed: running the same command again finds the unfinished run with
the same parameters and does only the documents it had not finished. Suggestions
already pending, decided, or already coded are not suggested again. A run never
creates codings.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from qcode import faults
from qcode.codes import descendants, resolve_code
from qcode.documents import resolve_document
from qcode.errors import QcodeError
from qcode.store import transaction
from qcode.store.records import coder_id, now

SUGGESTERS = ("rules", "fuzzy", "model")


@dataclass
class SuggestOptions:
    documents: list[str] = field(default_factory=list)  # empty: the whole project
    codes: list[str] = field(default_factory=list)  # empty: every code (with sub-codes)
    using: tuple[str, ...] = ("rules", "fuzzy", "model")
    min_score: float | None = None  # None: each code's threshold (see Engine)
    coder: str | None = None
    jobs: int | None = None  # worker processes; None: the CPU count, at most 4


@dataclass
class RunResult:
    run_id: int
    resumed: bool
    documents: int = 0
    skipped_documents: int = 0
    suggestions: int = 0
    per_code: dict[str, dict] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


ProgressFn = Callable[[str, int], None]  # (document name, suggestions added)


def _selected(db, options: SuggestOptions) -> tuple[list[int], list[dict]]:
    if options.documents:
        doc_ids = sorted({resolve_document(db, d)["id"] for d in options.documents})
    else:
        doc_ids = [r[0] for r in db.execute("SELECT id FROM documents ORDER BY name")]
    codes = [dict(r) for r in db.query("SELECT * FROM codes WHERE status = 'active' "
                                       "ORDER BY position")]
    if options.codes:
        wanted = set()
        for ref in options.codes:
            wanted.update(descendants(db, resolve_code(db, ref)["id"]))
        codes = [c for c in codes if c["id"] in wanted]
    if not codes:
        raise QcodeError("no codes to suggest: run `qcode codebook sync` first")
    return doc_ids, codes


def _start_run(db, params: dict, coder: str | None) -> tuple[int, bool]:
    """Resume the unfinished run with the same parameters, or start a new one."""
    text = json.dumps(params, sort_keys=True)
    with transaction(db):
        row = db.execute("SELECT id FROM runs WHERE kind = 'suggest' AND status = 'running' "
                         "AND params = ? ORDER BY id DESC LIMIT 1", [text]).fetchone()
        if row:
            return row[0], True
        who = coder_id(db, coder) if coder else None
        return db.execute("INSERT INTO runs (kind, params, status, coder_id, started) "
                          "VALUES ('suggest', ?, 'running', ?, ?)",
                          [text, who, now()]).lastrowid, False


class Engine:
    """The suggesters for one run, built once; spaCy pipelines cached per language.

    *precision*: the pattern decisions (qcode.nlp.calibration.PatternPrecision) that
    score rule and fuzzy matches. *min_score*: None keeps model hits at each code's
    trained threshold; a number keeps every hit of every suggester scoring that much.
    """

    def __init__(self, project, codes: list[dict], using: tuple[str, ...],
                 min_score: float | None = None, precision=None):
        from qcode.nlp.calibration import PatternPrecision
        from qcode.nlp.models import load_model

        self.project, self.codes, self.using = project, codes, using
        self.min_score = min_score
        self.settings = project.config.suggest
        self.model = load_model(project.db) if "model" in using else None
        self.precision = (precision or PatternPrecision()).scorer()
        self._by_language: dict[str, tuple] = {}

    def model_id(self) -> int | None:
        return self.model.meta.get("id") if self.model else None

    def _for(self, language: str):
        if language not in self._by_language:
            from qcode.nlp.pipeline import analyzer
            from qcode.nlp.suggesters import FuzzySuggester, RuleSuggester

            analysis = analyzer(language, self.project.config.nlp.model)
            suggesters = []
            if "rules" in self.using:
                suggesters.append(RuleSuggester(analysis, self.codes, self.precision,
                                                language))
            if "fuzzy" in self.using:
                suggesters.append(FuzzySuggester(analysis, self.codes, self.precision,
                                                 self.project.config.nlp.fuzzy_threshold,
                                                 language))
            self._by_language[language] = (analysis, suggesters)
            _freeze_what_is_loaded()
        return self._by_language[language]

    def skipped(self, layout) -> frozenset[int]:
        """Sentences not suggested: in interviewer turns (unless qcode.yaml asks)."""
        if self.settings.interviewer_turns:
            return frozenset()
        return frozenset(i for i, (_, _, _, turn) in enumerate(layout.sentences)
                         if turn >= 0 and layout.turns[turn][3])

    def suggest(self, layout):
        """Merged hits for the sentences of one revision's layout (qcode.nlp.units)."""
        from qcode.nlp.suggesters import ModelSuggester, merge

        analysis, suggesters = self._for(layout.language)
        pieces, words = analysis.analyse_spans(layout.text, layout.spans)
        skip = self.skipped(layout)
        hits = [hit for s in suggesters for hit in s.suggest(pieces, words, skip)]
        if self.model is not None:
            from qcode.nlp.features import sentence_matrix, sentence_terms
            from qcode.nlp.models import MIN_TERMS

            terms = [sentence_terms(w) for w in words]
            indexes = [i for i in range(len(terms))
                       if i not in skip and len(terms[i]) >= MIN_TERMS]
            x = sentence_matrix(self.model.vectorizer, layout, terms, indexes)
            model = ModelSuggester(self.model, self.codes, self.min_score)
            hits += model.suggest_matrix(x, indexes)
        return merge(hits)

    def rescore(self, layout, wanted: dict[int, set[int]]) -> dict[tuple[int, int], object]:
        """Merged hits for the (sentence, code) pairs in *wanted* ({sentence: {code id}}),
        the model's at whatever probability it gives (no threshold): new scores for
        suggestions already made."""
        from qcode.nlp.suggesters import ModelSuggester, merge

        analysis, suggesters = self._for(layout.language)
        pieces, words = analysis.analyse_spans(layout.text, layout.spans)
        others = frozenset(range(len(pieces))) - frozenset(wanted)
        hits = [hit for s in suggesters for hit in s.suggest(pieces, words, others)]
        if self.model is not None:
            from qcode.nlp.features import sentence_terms, unit_blocks
            from qcode.nlp.units import layout_units

            terms = [sentence_terms(w) for w in words]
            units = [u for u in layout_units(layout, "sentence") if u.index in wanted]
            model = ModelSuggester(self.model, self.codes)
            hits += model.suggest_rows([unit_blocks(u, terms) for u in units],
                                       [u.index for u in units], wanted)
        return {(h.sentence, h.code_id): h for h in merge(hits)
                if h.code_id in wanted.get(h.sentence, ())}


def pattern_precision(db, model=None):
    """The decisions that score rule and fuzzy matches: every accepted or rejected
    suggestion, per pattern behind it (accepted as another code counts as rejected),
    plus the matches in coded documents that the current model counted when trained."""
    from qcode.nlp.calibration import PatternPrecision

    table = PatternPrecision()
    for status, code_id, evidence, coded_as in db.execute(
            "SELECT s.status, s.code_id, s.evidence, c.code_id FROM suggestions s "
            "LEFT JOIN codings c ON c.id = s.coding_id "
            "WHERE s.status IN ('accepted', 'rejected') AND s.evidence != '[]'"):
        accepted = status == "accepted" and coded_as in (None, code_id)
        for item in json.loads(evidence):
            if item[0] in ("rules", "fuzzy"):
                table.add(item[0], code_id, item[1], accepted)
    for suggester, code_id, pattern, decided, accepted in (
            model.meta.get("patterns", []) if model is not None else []):
        entry = table.counts.setdefault((suggester, code_id, pattern), [0, 0])
        entry[0] += decided
        entry[1] += accepted
    return table


def run_suggestions(project, options: SuggestOptions,
                    progress: ProgressFn | None = None) -> RunResult:
    from qcode.nlp.models import load_model

    db = project.db
    unknown = set(options.using) - set(SUGGESTERS)
    if unknown or not options.using:
        raise QcodeError(f"--using takes {', '.join(SUGGESTERS)}; got {', '.join(options.using)}")
    doc_ids, codes = _selected(db, options)
    precision = pattern_precision(db, load_model(db))
    engine = Engine(project, codes, tuple(options.using), options.min_score, precision)
    warnings = []
    if "model" in options.using and engine.model is None:
        warnings.append("no trained model yet (run `qcode train`); suggesting without it")
    params = {"documents": doc_ids, "codes": [c["id"] for c in codes],
              "using": sorted(options.using), "min_score": options.min_score,
              "model": engine.model_id(),
              "codebook": db.execute("SELECT max(id) FROM codebook_versions").fetchone()[0]}
    run_id, resumed = _start_run(db, params, options.coder)
    result = RunResult(run_id, resumed, warnings=warnings)
    done = {r[0] for r in db.execute("SELECT document_id FROM run_items WHERE run_id = ?",
                                     [run_id])}
    todo = [d for d in doc_ids if d not in done]
    result.skipped_documents = len(doc_ids) - len(todo)
    jobs = min(options.jobs or os.cpu_count() or 1, 4, max(1, len(todo)))
    with _Workers(jobs, engine, (project.root, codes, tuple(options.using), options.min_score,
                                 precision)) as pool:
        for start in range(0, len(todo), WINDOW * jobs):
            window = [_read_layout(project, d) for d in todo[start:start + WINDOW * jobs]]
            computed = pool.map([layout for _, layout in window])
            for (name, layout), hits in zip(window, computed, strict=True):
                added = _stored(db, run_id, name, layout, hits, options.min_score, result)
                result.documents += 1
                result.suggestions += added
                if progress:
                    progress(name, added)
    with transaction(db):
        summary = summarise(db, run_id)
        db.execute("UPDATE runs SET status = 'done', finished = ?, summary = ? WHERE id = ?",
                   [now(), json.dumps(summary), run_id])
    result.per_code = summary
    return result


def _stored(db, run_id: int, name: str, layout, hits, min_score, result: RunResult) -> int:
    """_store_hits, with a failure of the store said as it is: this document rolled back,
    the ones before it kept (each committed on its own), the run resumable."""
    from qcode.errors import StoreError
    from qcode.store.connection import db_errors, describe_sqlite_error

    try:
        return _store_hits(db, run_id, layout, hits, min_score)
    except (*db_errors(), StoreError) as exc:
        why = str(exc) if isinstance(exc, StoreError) else describe_sqlite_error(exc)
        why = why.removesuffix("; the change was rolled back")
        raise StoreError(f"{why}; the suggestions for document {name!r} were rolled back; "
                         f"those for the {result.documents} document(s) finished before it "
                         f"are kept (run {run_id}): run the same command again to resume"
                         ) from None


WINDOW = 4  # documents per worker handed out at a time: memory stays bounded


def _read_layout(project, doc_id: int):
    from qcode.nlp.units import load_layout

    name, revision_id = project.db.execute(
        "SELECT d.name, r.id FROM documents d JOIN current_revisions r "
        "ON r.document_id = d.id WHERE d.id = ?", [doc_id]).fetchone()
    return name, load_layout(project.db, revision_id, project.config.language,
                             project.config.suggest.interviewer_names)


_worker_engine: Engine | None = None


def _worker_start(root, codes, using, min_score, precision) -> None:
    global _worker_engine
    from qcode.project import Project

    _worker_engine = Engine(Project.open(root), codes, using, min_score, precision)


def _worker_suggest(layout):
    return _worker_engine.suggest(layout)


def _freeze_what_is_loaded() -> None:
    """The pipeline, its vocabulary, the matchers and the model live as long as the run:
    moved out of the cycle collector's sight (gc.freeze), so that its full collections,
    triggered again and again by each document's short-lived words, stop walking them
    (0.3-0.4 s of a 1,000,000-word run, bench/suggest.py)."""
    import gc

    gc.collect()
    gc.freeze()


class _Workers:
    """Suggestions are computed in worker processes (the CPU-bound part); the main process
    does every database read and write. With one job, everything runs in-process."""

    def __init__(self, jobs: int, engine: Engine, args: tuple):
        self.jobs, self.engine, self.args, self.pool = jobs, engine, args, None

    def __enter__(self):
        import multiprocessing

        if self.jobs > 1 and "fork" in multiprocessing.get_all_start_methods():
            # fork: the workers inherit the loaded modules; they never touch the database
            self.pool = multiprocessing.get_context("fork").Pool(
                self.jobs, initializer=_worker_start, initargs=self.args)
        return self

    def map(self, layouts):
        if self.pool is None:
            return [self.engine.suggest(layout) for layout in layouts]
        return self.pool.map(_worker_suggest, layouts)

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()


RULES_MIN_SCORE = 0.2  # rule and fuzzy matches below this precision are not stored


def _store_hits(db, run_id: int, layout, hits, min_score: float | None) -> int:
    """One document's suggestions and the record that it is done, in one transaction.
    Model hits arrive already cut at their thresholds (or *min_score*)."""
    floor = RULES_MIN_SCORE if min_score is None else min_score
    hits = [h for h in hits if h.score >= floor or "model" in h.suggester.split("+")]
    stamp = now()
    with transaction(db):  # one document: its suggestions and the record that it is done
        suggested, coded = _already_known(db, layout.revision_id)
        rows = []
        for hit in hits:
            segment_id, start, end, _ = layout.sentences[hit.sentence]
            if (start, end, hit.code_id) in suggested or _covered(coded[hit.code_id], start, end):
                continue
            rows.append((run_id, layout.document_id, layout.revision_id, segment_id, start, end,
                         hit.code_id, hit.score, hit.suggester, hit.rationale,
                         json.dumps(hit.evidence, ensure_ascii=False), stamp))
        before = db.conn.total_changes
        db.conn.executemany(
            "INSERT OR IGNORE INTO suggestions (run_id, document_id, revision_id, segment_id, "
            "start, \"end\", code_id, score, suggester, rationale, evidence, created) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        added = db.conn.total_changes - before
        db.execute("INSERT OR IGNORE INTO run_items (run_id, document_id, revision_id, done) "
                   "VALUES (?, ?, ?, ?)", [run_id, layout.document_id, layout.revision_id, stamp])
        faults.point("suggest")
    return added


def _already_known(db, revision_id: int) -> tuple[set, dict[int, list[tuple[int, int]]]]:
    """(start, end, code) of every suggestion ever made on this revision (pending or
    decided, any run), and the coded spans of each code."""
    suggested = set(db.execute("SELECT start, \"end\", code_id FROM suggestions "
                               "WHERE revision_id = ?", [revision_id]).fetchall())
    coded: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for start, end, code_id in db.execute("SELECT start, \"end\", code_id FROM codings "
                                          "WHERE revision_id = ?", [revision_id]):
        coded[code_id].append((start, end))
    return suggested, coded


def _covered(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    """A coding of the code already covers at least half of the sentence."""
    return any((min(end, e) - max(start, s)) * 2 >= end - start for s, e in spans)


def summarise(db, run_id: int) -> dict[str, dict]:
    out: dict[str, dict] = defaultdict(lambda: {"suggestions": 0, "documents": set(),
                                                "score": 0.0, "by": defaultdict(int)})
    for path, doc, score, by in db.execute(
            "SELECT c.path, s.document_id, s.score, s.suggester FROM suggestions s "
            "JOIN codes c ON c.id = s.code_id WHERE s.run_id = ?", [run_id]):
        row = out[path]
        row["suggestions"] += 1
        row["documents"].add(doc)
        row["score"] += score
        for name in by.split("+"):
            row["by"][name] += 1
    return {path: {"suggestions": r["suggestions"], "documents": len(r["documents"]),
                   "mean_score": round(r["score"] / r["suggestions"], 3), "by": dict(r["by"])}
            for path, r in sorted(out.items())}

"""Learning while you review: the model is retrained from your decisions as you make
them, and the pending suggestions are scored again, so the review queue's order
(``uncertain``: probabilities nearest 0.5 first, where a decision teaches most) follows
what the model has just learnt.

`qcode review` and the coding screen count decisions with a :class:`Learner`; every
``suggest.retrain_every`` decisions (qcode.yaml) it retrains in a background thread on
a connection of its own, so the screen never waits; when the new model is stored and
the queue rescored, :meth:`Learner.poll` says so and the caller re-reads its queue.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

from qcode.errors import QcodeError


def rescore_pending(project, *, document_ids: list[int] | None = None) -> int:
    """Score every pending suggestion again with the current model and the pattern
    precisions of today's decisions; returns how many scores changed. One transaction
    per document."""
    from qcode.nlp.models import load_model
    from qcode.nlp.run import Engine, pattern_precision
    from qcode.nlp.units import load_layout
    from qcode.store import transaction

    db = project.db
    where = "s.status = 'pending'"
    if document_ids is not None:
        where += f" AND s.document_id IN ({','.join('?' * len(document_ids))})"
    pending: dict[int, list[tuple]] = {}
    for row in db.execute(
            "SELECT s.id, s.revision_id, s.segment_id, s.code_id, s.score FROM suggestions s "
            f"JOIN current_revisions r ON r.id = s.revision_id WHERE {where}",
            document_ids or []):
        pending.setdefault(row[1], []).append(row)
    if not pending:
        return 0
    codes = [dict(r) for r in db.query("SELECT * FROM codes WHERE status = 'active'")]
    engine = Engine(project, codes, ("rules", "fuzzy", "model"),
                    precision=pattern_precision(db, load_model(db)))
    changed = 0
    for revision_id, rows in pending.items():
        layout = load_layout(db, revision_id, project.config.language,
                             project.config.suggest.interviewer_names)
        index = {segment_id: i for i, (segment_id, _, _, _) in enumerate(layout.sentences)}
        wanted: dict[int, set[int]] = {}
        for _, _, segment_id, code_id, _ in rows:
            if segment_id in index:
                wanted.setdefault(index[segment_id], set()).add(code_id)
        hits = engine.rescore(layout, wanted)
        with transaction(db):
            for suggestion_id, _, segment_id, code_id, score in rows:
                hit = hits.get((index.get(segment_id), code_id))
                if hit is None or hit.score == score:
                    continue
                db.execute("UPDATE suggestions SET score = ?, suggester = ?, rationale = ?, "
                           "evidence = ? WHERE id = ? AND status = 'pending'",
                           [hit.score, hit.suggester, hit.rationale,
                            json.dumps(hit.evidence, ensure_ascii=False), suggestion_id])
                changed += 1
    return changed


@dataclass
class Update:
    model_id: int | None
    rescored: int
    error: str | None = None


class Learner:
    """Counts decisions and retrains in the background every *every* of them."""

    def __init__(self, project, *, every: int | None = None, coder: str | None = None):
        self.root, self.config = project.root, project.config
        self.key = project.key()
        self.every = project.config.suggest.retrain_every if every is None else every
        self.coder = coder
        self.decisions = 0
        self._thread: threading.Thread | None = None
        self._done: Update | None = None
        self._again = False
        self._lock = threading.Lock()

    def decided(self, count: int = 1) -> None:
        """Note *count* decisions (an undo counts too: it changes what there is to learn)."""
        if not self.every:
            return
        self.decisions += count
        if self.decisions >= self.every:
            self.decisions = 0
            self._start()

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                self._again = True  # run once more when this one ends
                return
            self._thread = threading.Thread(target=self._work, name="qcode-learner",
                                            daemon=True)
            self._thread.start()

    def _work(self) -> None:
        from qcode.nlp.models import train
        from qcode.project import Project

        while True:
            try:
                project = Project.open(self.root)
                project.config, project._key = self.config, self.key
                try:
                    result = train(project, coder=self.coder)
                    update = Update(result.model_id, rescore_pending(project))
                finally:
                    project.close()
            except QcodeError as exc:
                update = Update(None, 0, str(exc))
            with self._lock:
                self._done = update
                if not self._again:
                    return
                self._again = False

    def poll(self) -> Update | None:
        """The last finished update, once (None while nothing new has finished)."""
        with self._lock:
            done, self._done = self._done, None
        return done

    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> Update | None:
        """Wait for a running update (tests, and quitting cleanly)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.poll()

"""What the learned suggester and `qcode evaluate` look at: units with their context.

A unit is a sentence (what `suggest` proposes codes for) or a speaker turn of one
transcript revision. A coder reading a sentence also sees its turn, the sentences
around it and, above all, the question it answers, so a unit carries where it sits:
the revision's layout (its sentences and turns in order) and its index in it.

Speaker roles come from the import conventions: a turn whose speaker is called
Interviewer, Moderator, Q, I, Интервьюер... (or a name listed in qcode.yaml's
``suggest.interviewer_speakers``) is an interviewer turn. Interviewer turns are not
suggested by default; they are the question context of the answers after them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

INTERVIEWER_NAMES = frozenset({
    "q", "i", "int", "interviewer", "interviewers", "moderator", "facilitator", "question",
    "researcher", "интервьюер", "вопрос", "в", "и", "инт", "модератор", "исследователь",
    "интервьюерка", "исследовательница"})


def is_interviewer(speaker: str | None, extra: frozenset[str] = frozenset()) -> bool:
    """Whether a turn's speaker label names the interviewer ("Interviewer 2" too)."""
    if not speaker:
        return False
    label = speaker.strip().lower()
    if label in extra:
        return True
    words = label.replace(".", " ").split()
    return bool(words) and (label in INTERVIEWER_NAMES or words[0] in INTERVIEWER_NAMES
                            and all(w.isdigit() for w in words[1:]))


@dataclass
class Layout:
    """One revision's sentences and turns, in reading order."""

    document_id: int
    revision_id: int
    text: str
    language: str
    sentences: list[tuple[int, int, int, int]]  # (segment id, start, end, turn index or -1)
    turns: list[tuple[int, int, str | None, bool]]  # (start, end, speaker, interviewer)

    @property
    def spans(self) -> list[tuple[int, int]]:
        return [(start, end) for _, start, end, _ in self.sentences]

    @cached_property
    def by_turn(self) -> list[list[int]]:
        """The sentence indexes of each turn."""
        out: list[list[int]] = [[] for _ in self.turns]
        for i, (_, _, _, turn) in enumerate(self.sentences):
            if turn >= 0:
                out[turn].append(i)
        return out

    @cached_property
    def questions(self) -> list[int]:
        """Per turn, the turn it answers: the nearest earlier turn by another speaker (the
        previous paragraph where nobody is named); -1 if there is none."""
        out: list[int] = []
        for turn, (_, _, speaker, _) in enumerate(self.turns):
            if turn == 0:
                out.append(-1)
            elif speaker is None or self.turns[turn - 1][2] != speaker:
                out.append(turn - 1)
            else:  # the same speaker again: the question of the turn before
                out.append(out[turn - 1])
        return out

    def question_of(self, turn: int) -> int:
        return self.questions[turn] if turn >= 0 else -1


@dataclass
class Unit:
    document_id: int
    revision_id: int
    start: int
    end: int
    text: str
    labels: set[str]  # code GUIDs coded here
    known: set[str] | None = None  # labels whose value is known; None: all of them
    layout: Layout | None = field(default=None, repr=False, compare=False)
    kind: str = "sentence"  # or "turn"
    index: int = 0  # into layout.sentences or layout.turns
    interviewer: bool = False


def load_layout(db, revision_id: int, default_language: str,
                interviewer_names: frozenset[str] = frozenset()) -> Layout:
    doc_id, text, language = db.execute(
        "SELECT r.document_id, r.text, d.language FROM revisions r JOIN documents d "
        "ON d.id = r.document_id WHERE r.id = ?", [revision_id]).fetchone()
    turns, turn_index = [], {}
    for segment_id, start, end, speaker in db.execute(
            "SELECT s.id, s.start, s.\"end\", sp.name FROM segments s LEFT JOIN speakers sp "
            "ON sp.id = s.speaker_id WHERE s.revision_id = ? AND s.kind = 'turn' "
            "ORDER BY s.number", [revision_id]):
        turn_index[segment_id] = len(turns)
        turns.append((start, end, speaker, is_interviewer(speaker, interviewer_names)))
    sentences = [(segment_id, start, end, turn_index.get(turn_id, -1))
                 for segment_id, start, end, turn_id in db.execute(
                     "SELECT id, start, \"end\", turn_id FROM segments WHERE revision_id = ? "
                     "AND kind = 'sentence' ORDER BY number", [revision_id])]
    return Layout(doc_id, revision_id, text, language or default_language, sentences, turns)


def layout_units(layout: Layout, kind: str) -> list[Unit]:
    """Every sentence (or turn) of *layout* as an unlabelled unit."""
    if kind == "turn":
        return [Unit(layout.document_id, layout.revision_id, s, e, layout.text[s:e], set(),
                     layout=layout, kind="turn", index=i, interviewer=interviewer)
                for i, (s, e, _, interviewer) in enumerate(layout.turns)]
    return [Unit(layout.document_id, layout.revision_id, s, e, layout.text[s:e], set(),
                 layout=layout, kind="sentence", index=i,
                 interviewer=turn >= 0 and layout.turns[turn][3])
            for i, (_, s, e, turn) in enumerate(layout.sentences)]


def covers(s: int, e: int, start: int, end: int) -> bool:
    """A coding s..e counts for the unit start..end: it covers at least half of it, or
    lies within it."""
    overlap = min(e, end) - max(s, start)
    return overlap > 0 and (overlap * 2 >= end - start or (s >= start and e <= end))


def training_units(db, *, coder: str | None = None, document_ids: list[int] | None = None,
                   unit: str = "sentence", default_language: str = "en",
                   interviewer_names: frozenset[str] = frozenset()
                   ) -> tuple[list[Unit], dict[str, str]]:
    """Sentences (or turns) with gold labels, and {guid: path}.

    A document the coder has coded by hand (or imported codings of) counts whole: every
    unit, with every label known (all its codings, accepted suggestions included).
    Elsewhere a decision on a suggestion says something of that code only: an accepted
    one makes its sentence a positive of the code it was accepted as, a rejected one a
    negative (at sentence level; a decision on one sentence says nothing of a turn). The
    other sentences of a document with decisions come too, with nothing known: the
    learner counts what nobody decided a little as "not this code" (qcode.nlp.models).
    """
    kind = {"sentence": "sentence", "segment": "sentence", "turn": "turn"}[unit]
    coder_clause, params = "", []
    if coder:
        coder_clause = " AND {col} = (SELECT id FROM coders WHERE name = ?)"
        params.append(coder)
    codings = db.execute(
        "SELECT c.revision_id, c.start, c.\"end\", g.guid, c.origin LIKE 'suggestion:%' "
        "FROM codings c JOIN codes g ON g.id = c.code_id "
        "JOIN current_revisions r ON r.id = c.revision_id "
        "WHERE g.status = 'active'" + coder_clause.format(col="c.coder_id"), params).fetchall()
    decisions = db.execute(
        "SELECT s.revision_id, s.start, s.\"end\", g.guid, s.status, a.guid "
        "FROM suggestions s JOIN codes g ON g.id = s.code_id "
        "JOIN current_revisions r ON r.id = s.revision_id "
        "LEFT JOIN codings c ON c.id = s.coding_id LEFT JOIN codes a ON a.id = c.code_id "
        "WHERE s.status != 'pending'" + coder_clause.format(col="s.decided_by"),
        params).fetchall()
    coded: dict[int, list] = {}
    by_hand = set()
    for rev, start, end, guid, from_suggestion in codings:
        coded.setdefault(rev, []).append((start, end, guid))
        if not from_suggestion:
            by_hand.add(rev)
    decided: dict[tuple[int, int, int], tuple[set[str], set[str]]] = {}  # -> (yes, known)
    for rev, start, end, guid, status, accepted_as in decisions:
        if rev in by_hand:
            continue
        yes, known = decided.setdefault((rev, start, end), (set(), set()))
        known.add(guid)
        if status == "accepted" and accepted_as:
            yes.add(accepted_as)
            known.add(accepted_as)
    units = []
    for rev in sorted(by_hand | {rev for rev, _, _ in decided}):
        layout = load_layout(db, rev, default_language, interviewer_names)
        if document_ids is not None and layout.document_id not in document_ids:
            continue
        spans = coded.get(rev, [])
        for item in layout_units(layout, kind):
            if rev in by_hand:
                item.labels = {guid for s, e, guid in spans if covers(s, e, item.start, item.end)}
                units.append(item)
            elif kind == "sentence":
                yes, known = decided.get((rev, item.start, item.end), (set(), set()))
                item.labels, item.known = set(yes), set(known)
                units.append(item)
    paths = dict(db.execute("SELECT guid, path FROM codes WHERE status = 'active'").fetchall())
    return units, paths

"""Find speaker turns in plain transcript text.

Recognised at the start of a line, after an optional timestamp (``[00:01:02]``,
``00:01``, ``(1:02:03)``): ``Name:``, ``NAME:``, ``**Name:**``, ``[Name]``, ``Q:``/``A:``,
``Interviewer:``/``Respondent:`` and their Russian kin (``Интервьюер:``/``Респондент:``,
``И:``/``Р:``, ``В:``/``О:``). A ``Name:`` label counts only if it is a well-known
role or occurs at least twice, so a stray "Note: …" line does not become a speaker.
Without any label, paragraphs become speaker-less turns. A project can replace all
this with its own regex (``import.speaker_pattern`` in qcode.yaml).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from qcode.ingest.model import Turn, parse_time

KNOWN_LABELS = {
    "q", "a", "i", "r", "interviewer", "interviewee", "respondent", "moderator",
    "question", "answer", "интервьюер", "респондент", "вопрос", "ответ", "в", "о", "и", "р",
    "информант", "модератор", "участник",
}
_TIME = r"(?P<time>\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?)"
LINE_LABEL = re.compile(
    rf"[ \t]*(?:[\[(]?{_TIME}[\])]?[ \t]*[-–—]?[ \t]*)?"
    r"(?:\*\*|__)?(?:\[(?P<bracket>[^\]\n:]{1,40})\][ \t]*:?"
    r"|(?P<name>[^\W\d_][^\n:.,;?!\"“”«»()\[\]]{0,39}?)[ \t]*(?:\*\*|__)?[ \t]*:)"
    r"(?:\*\*|__)?(?=\s|$)"
)
MAX_LABEL_WORDS = 4
NOT_SPEAKERS = {"note", "notes", "nb", "ps", "p.s", "example", "translation", "comment",
                "remark", "summary", "title", "date", "place", "location", "duration",
                "примечание", "комментарий"}


@dataclass
class _Candidate:
    line_start: int
    utterance_start: int
    speaker: str
    time: float | None


def _label_of(match: re.Match) -> str:
    raw = match.group("bracket") or match.group("name") or ""
    return " ".join(raw.split())


def _plausible(label: str) -> bool:
    return (0 < len(label.split()) <= MAX_LABEL_WORDS
            and (label[0].isupper() or label.lower() in KNOWN_LABELS))


def _line_starts(text: str):
    offset = 0
    for line in text.split("\n"):
        yield offset, line
        offset += len(line) + 1


def _candidates(text: str, pattern: re.Pattern | None) -> list[_Candidate]:
    found = []
    for offset, line in _line_starts(text):
        if pattern is not None:
            match = pattern.match(line)
            if not match or not (match.group("speaker") or "").strip():
                continue
            speaker = " ".join(match.group("speaker").split())
        else:
            match = LINE_LABEL.match(line)
            if not match:
                continue
            speaker = _label_of(match)
            if not _plausible(speaker):
                continue
        time = None
        if "time" in match.re.groupindex and match.group("time"):
            try:
                time = parse_time(match.group("time"))
            except ValueError:
                time = None
        found.append(_Candidate(offset, offset + match.end(), speaker, time))
    if pattern is None:
        counts = Counter(c.speaker for c in found)
        sure = {c.speaker for c in found
                if counts[c.speaker] >= 2 or c.speaker.lower() in KNOWN_LABELS}
        # In a transcript with labelled turns, a one-off label is a speaker too.
        found = [c for c in found if c.speaker in sure
                 or (sure and c.speaker.lower() not in NOT_SPEAKERS)]
    return found


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


_PARAGRAPH = re.compile(r"\S(?:.*?\S)??(?=\s*\n[ \t]*\n|\s*$)", re.S)


def paragraphs(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Non-blank paragraphs (separated by blank lines) of text[start:end], as spans."""
    end = len(text) if end is None else end
    if text.find("\n", start, end) < 0:  # one line (most turns): the span, stripped
        start, end = _strip_span(text, start, end)
        return [(start, end)] if start < end else []
    return [(start + match.start(), start + match.end())
            for match in _PARAGRAPH.finditer(text[start:end])]


def detect_turns(text: str, speaker_pattern: str | None = None) -> list[Turn]:
    """Split *text* into turns; every turn satisfies text[start:end] == its utterance."""
    pattern = re.compile(speaker_pattern) if speaker_pattern else None
    labels = _candidates(text, pattern)
    if not labels:
        return [Turn(s, e) for s, e in paragraphs(text)]
    turns = [Turn(s, e) for s, e in paragraphs(text, 0, labels[0].line_start)]
    for here, following in zip(labels, [*labels[1:], None], strict=True):
        stop = following.line_start if following else len(text)
        start, end = _strip_span(text, here.utterance_start, stop)
        if start < end:
            turns.append(Turn(start, end, here.speaker, time_start=here.time))
    return turns

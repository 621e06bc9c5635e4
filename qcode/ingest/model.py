"""What every reader produces: text plus turns, before anything touches the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Cue:
    """A timed piece of a turn (a subtitle cue), as offsets into the document text."""

    start: int
    end: int
    time_start: float | None
    time_end: float | None


@dataclass
class Turn:
    start: int  # offsets of the utterance (without the speaker label)
    end: int
    speaker: str | None = None
    time_start: float | None = None
    time_end: float | None = None
    cues: list[Cue] = field(default_factory=list)


@dataclass
class ParsedDocument:
    name: str
    text: str
    turns: list[Turn]
    format: str
    encoding: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


def parse_time(value: str) -> float | None:
    """'01:02:03.5', '1:02', '00:00:01,250' or '62.5' -> seconds; '' -> None."""
    value = value.strip().replace(",", ".")
    if not value:
        return None
    parts = value.split(":")
    if len(parts) > 3:
        raise ValueError(f"not a time: {value!r}")
    seconds = 0.0
    try:
        for part in parts:
            seconds = seconds * 60 + float(part)
    except ValueError:
        raise ValueError(f"not a time: {value!r}") from None
    if seconds < 0:
        raise ValueError(f"not a time: {value!r}")
    return seconds

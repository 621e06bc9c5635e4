"""Selection offsets from other programs -> offsets in the text qcode stores.

The REFI-QDA standard counts Unicode code points. Producers differ (see
../shared/fixtures/refi/SOURCES.md): NVivo for Windows counts UTF-16 code units with a
CRLF as two; ATLAS.ti counts a CRLF as one. qcode stores the text with every line break
as one ``\\n``, so each convention is a map from the producer's count over the text as
shipped to an index in the stored text. Which convention a file follows is checked, not
assumed: codings should start and end on word boundaries.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from qcode.ingest.decode import normalise_newlines

CONVENTIONS = {"code points": ("codepoint", 2), "UTF-16 units": ("utf16", 2),
               "code points, CRLF as 1": ("codepoint", 1)}


def default_convention(origin: str) -> str:
    lowered = origin.lower()
    if "nvivo" in lowered and "mac" not in lowered:
        return "UTF-16 units"
    if "atlas" in lowered:
        return "code points, CRLF as 1"
    return "code points"


@dataclass
class OffsetMap:
    """Producer offsets -> stored-text offsets for one source."""
    units: list[int]  # the producer's count at each character boundary of the raw text
    stored: list[int]  # the stored-text index at the same boundary

    def __call__(self, offset: int) -> int:
        i = bisect_right(self.units, offset) - 1
        return self.stored[max(i, 0)]


def offset_map(raw: str, convention: str) -> OffsetMap:
    """*raw*: the text as the producer had it (BOM removed, line breaks as shipped)."""
    units_kind, crlf = CONVENTIONS[convention]
    units, stored = [0], [0]
    u = n = 0
    i, length = 0, len(raw)
    while i < length:
        ch = raw[i]
        if ch == "\r" and i + 1 < length and raw[i + 1] == "\n":
            u += crlf
            n += 1
            i += 2
        else:
            u += 2 if units_kind == "utf16" and ord(ch) > 0xFFFF else 1
            n += 1
            i += 1
        units.append(u)
        stored.append(n)
    return OffsetMap(units, stored)


def stored_text(raw: str) -> str:
    return normalise_newlines(raw)


def on_word_boundary(text: str, position: int) -> bool:
    """No word character on both sides of *position*."""
    if position <= 0 or position >= len(text):
        return True
    return not (text[position - 1].isalnum() and text[position].isalnum())


def boundary_share(text: str, spans: list[tuple[int, int]]) -> float:
    if not spans:
        return 1.0
    good = sum(1 for s, e in spans if s < e and on_word_boundary(text, s)
               and on_word_boundary(text, e))
    return good / len(spans)


def choose(raw: str, text: str, spans: list[tuple[int, int]], origin: str
           ) -> tuple[str, OffsetMap, float]:
    """The convention for this source: the producer's usual one unless another puts
    clearly more codings on word boundaries (by 10 points or more)."""
    preferred = default_convention(origin)
    results = {}
    for name in CONVENTIONS:
        mapping = offset_map(raw, name)
        share = boundary_share(text, [(mapping(s), mapping(e)) for s, e in spans])
        results[name] = (mapping, share)
        if name == preferred and share == 1.0:
            break
    best = max(results, key=lambda k: results[k][1])
    name = best if results[best][1] >= results[preferred][1] + 0.10 else preferred
    return name, results[name][0], results[name][1]

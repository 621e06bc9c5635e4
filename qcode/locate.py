"""Turn what a person points at (a sentence number, offsets, a quote) into a span."""

from __future__ import annotations

import re
from dataclasses import dataclass

from qcode.errors import InputError

MIN_FUZZY_SCORE = 90.0
MIN_FUZZY_LEAD = 5.0  # the best place must beat the next-best by this much


@dataclass
class Located:
    start: int
    end: int
    how: str  # segment | span | exact | fuzzy
    score: float = 100.0


def segment_span(db, revision_id: int, number: int) -> Located:
    row = db.execute("SELECT start, \"end\" FROM segments WHERE revision_id = ? AND "
                     "kind = 'sentence' AND number = ?", [revision_id, number]).fetchone()
    if row is None:
        count = db.execute("SELECT count(*) FROM segments WHERE revision_id = ? AND "
                           "kind = 'sentence'", [revision_id]).fetchone()[0]
        raise InputError("--segment", f"no sentence {number}; the document has 1 to {count}")
    return Located(row[0], row[1], "segment")


def parse_span(value: str, text: str) -> Located:
    match = re.fullmatch(r"\s*(\d+)\s*[:\-]\s*(\d+)\s*", value)
    if not match:
        raise InputError("--span", f"expected START:END character offsets, got {value!r}")
    start, end = int(match.group(1)), int(match.group(2))
    if not 0 <= start < end <= len(text):
        raise InputError("--span", f"{start}:{end} is not inside the text (0:{len(text)})")
    return Located(start, end, "span")


def find_quote(text: str, quote: str, windows: list[tuple[int, int]] | None = None) -> Located:
    """Find *quote* exactly (whitespace-insensitive), else fuzzily with rapidfuzz.

    Refuses a quote found more than once, or a fuzzy match that is weak (score below
    90) or not clearly better than the next-best place, and says why.
    """
    words = quote.split()
    if not words:
        raise InputError("--quote", "the quote is empty")
    pattern = re.compile(r"\s+".join(re.escape(w) for w in words))
    hits = [m.span() for m in pattern.finditer(text)]
    if len(hits) == 1:
        return Located(*hits[0], "exact")
    if len(hits) > 1:
        where = ", ".join(str(s) for s, _ in hits[:5])
        raise InputError("--quote", f"the quote occurs {len(hits)} times (at offsets {where}); "
                         "quote more words or use --span")
    return _fuzzy(text, " ".join(words), windows or [(0, len(text))])


def _fuzzy(text: str, quote: str, windows: list[tuple[int, int]]) -> Located:
    """Candidates from partial alignment, each refined to whole words and judged by the
    full similarity of the refined span; the best must be strong and clearly ahead."""
    from rapidfuzz import fuzz

    scored = []
    for w_start, w_end in windows:
        piece = text[w_start:w_end]
        if not piece.strip():
            continue
        hit = fuzz.partial_ratio_alignment(quote, piece, processor=str.lower, score_cutoff=70)
        if hit is not None:
            scored.append(refine_span(text, quote, w_start + hit.dest_start,
                                      w_start + hit.dest_end))
    scored = sorted(set(scored), reverse=True)
    if not scored or scored[0][0] < MIN_FUZZY_SCORE:
        best = f" (best {scored[0][0]:.0f}/100)" if scored else ""
        raise InputError("--quote", f"the quote was not found, exactly or closely{best}; "
                         "check the wording or use --segment/--span")
    best = scored[0]
    rival = next((s for s in scored[1:] if s[2] <= best[1] or s[1] >= best[2]), None)
    if rival and best[0] - rival[0] < MIN_FUZZY_LEAD:
        raise InputError("--quote", f"the quote matches two places about equally well (offsets "
                         f"{best[1]} and {rival[1]}); quote more words or use --span")
    return Located(best[1], best[2], "fuzzy", round(best[0], 1))


_WORD_START = re.compile(r"\b\w")
_WORD_END = re.compile(r"\w\b")
_CLOSING = ".!?,;:…"


def refine_span(text: str, quote: str, start: int, end: int) -> tuple[float, int, int]:
    """(similarity, start, end) after moving each end to the nearby word boundary that
    makes text[start:end] most like *quote*. Alignments as long as the quote cut words
    off when the text around them grew or shrank."""
    from rapidfuzz import fuzz

    reach = max(20, len(quote) // 3)
    lo, hi = max(0, start - reach), min(len(text), start + reach)
    starts = {m.start() for m in _WORD_START.finditer(text, lo, hi)} or {start}
    lo, hi = max(0, end - reach), min(len(text), end + reach)
    ends = {m.end() for m in _WORD_END.finditer(text, lo, hi)} or {end}
    ends |= {e + 1 for e in ends if e < len(text) and text[e] in _CLOSING}
    best = (0.0, start, end)
    for s in starts:
        for e in ends:
            if s < e:
                score = fuzz.ratio(quote.lower(), text[s:e].lower())
                if score > best[0]:
                    best = (score, s, e)
    return round(best[0], 1), best[1], best[2]

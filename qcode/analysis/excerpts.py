"""Coded excerpts with their document, speaker, attributes, coder, memo and context."""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from qcode.analysis.scope import Scope, excerpts, with_attributes


def excerpt_rows(db, scope: Scope, *, context: int = 0, limit: int | None = None) -> list[dict]:
    found = excerpts(db, scope, limit=limit)
    attributes = with_attributes(db, found)
    sentences: dict[int, tuple[list, str]] = {}
    rows = []
    for e in found:
        row = {"id": e.id, "document": e.document, "speaker": e.speaker, "segment": e.segment,
               "start": e.start, "end": e.end, "code": e.code, "coder": e.coder,
               "origin": e.origin, "memo": e.memo, "created": e.created, "text": e.text,
               "attributes": attributes.get(e.document_id, {})}
        if context:
            if e.revision_id not in sentences:
                spans = db.execute("SELECT start, \"end\" FROM segments WHERE revision_id = ? "
                                   "AND kind = 'sentence' ORDER BY start",
                                   [e.revision_id]).fetchall()
                text = db.execute("SELECT text FROM revisions WHERE id = ?",
                                  [e.revision_id]).fetchone()[0]
                sentences[e.revision_id] = (spans, text)
            spans, text = sentences[e.revision_id]
            starts = [s for s, _ in spans]
            ends = [t for _, t in spans]
            first = bisect_right(ends, e.start)  # first sentence ending after the start
            last = bisect_left(starts, e.end)  # first sentence starting at/after the end
            before = spans[max(0, first - context):first]
            after = spans[last:last + context]
            row["before"] = " ".join(text[s:t] for s, t in before)
            row["after"] = " ".join(text[s:t] for s, t in after)
        rows.append(row)
    return rows

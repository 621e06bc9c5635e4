"""Coded excerpts with their document, speaker, attributes, coder, memo and context."""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right

from qcode.analysis.scope import Scope, excerpts, with_attributes
from qcode.store.words import read_sentences


def excerpt_rows(db, scope: Scope, *, context: int = 0, limit: int | None = None) -> list[dict]:
    found = excerpts(db, scope, limit=limit)
    attributes = with_attributes(db, found)
    if context:
        revisions = json.dumps(sorted({e.revision_id for e in found}))
        sentences = read_sentences(db, revisions)
        texts = dict(db.execute("SELECT id, text FROM revisions WHERE id IN "
                                "(SELECT value FROM json_each(?))", [revisions]).fetchall())
    rows = []
    for e in found:
        row = {"id": e.id, "document": e.document, "speaker": e.speaker, "segment": e.segment,
               "start": e.start, "end": e.end, "code": e.code, "coder": e.coder,
               "origin": e.origin, "memo": e.memo, "created": e.created, "text": e.text,
               "attributes": attributes.get(e.document_id, {})}
        if context:
            starts, ends = sentences.get(e.revision_id, ((), ()))
            text = texts[e.revision_id]
            first = bisect_right(ends, e.start)  # first sentence ending after the start
            last = bisect_left(starts, e.end)  # first sentence starting at/after the end
            row["before"] = " ".join(text[s:t] for s, t in zip(
                starts[max(0, first - context):first], ends[max(0, first - context):first],
                strict=True))
            row["after"] = " ".join(text[s:t] for s, t in zip(
                starts[last:last + context], ends[last:last + context], strict=True))
        rows.append(row)
    return rows

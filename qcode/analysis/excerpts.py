"""Coded excerpts with their document, speaker, attributes, coder, memo and context."""

from __future__ import annotations

from qcode.analysis.scope import Scope, excerpts, with_attributes


def excerpt_rows(db, scope: Scope, *, context: int = 0, limit: int | None = None,
                 ids: list[int] | None = None) -> list[dict]:
    found = excerpts(db, scope, limit=limit, context=context, ids=ids)
    attributes = with_attributes(db, found)
    rows = []
    for e in found:
        row = {"id": e.id, "document": e.document, "speaker": e.speaker, "segment": e.segment,
               "start": e.start, "end": e.end, "code": e.code, "coder": e.coder,
               "origin": e.origin, "memo": e.memo, "created": e.created, "text": e.text,
               "attributes": attributes.get(e.document_id, {}), "code_id": e.code_id,
               "document_id": e.document_id, "run_id": e.run_id}
        if context:
            row["before"], row["after"] = e.before, e.after
        rows.append(row)
    return rows

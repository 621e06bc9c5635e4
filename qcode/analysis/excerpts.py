"""Coded excerpts with their document, speaker, attributes, coder, memo and context."""

from __future__ import annotations

from qcode.analysis.scope import Scope, excerpts_as_columns, with_attributes

# the fields of an excerpt row, in this order (then before and after, with context)
FIELDS = ("id", "document", "speaker", "segment", "start", "end", "code", "coder", "origin",
          "memo", "created", "text", "attributes", "code_id", "document_id", "run_id")


def excerpt_columns(db, scope: Scope, *, context: int = 0, limit: int | None = None,
                    ids: list[int] | None = None) -> dict[str, list]:
    """The fields of `excerpt_rows` as columns (a list each, an item per excerpt), for a
    listing of 100,000 excerpts that should not build a dictionary per row. A document's
    attributes are one dictionary, shared by its excerpts' rows."""
    found = excerpts_as_columns(db, scope, limit=limit, context=context, ids=ids)
    attributes = with_attributes(db, found["document_id"])
    found["attributes"] = list(map(attributes.__getitem__, found["document_id"]))
    return {name: found[name] for name in FIELDS + (("before", "after") if context else ())}


def excerpt_rows(db, scope: Scope, *, context: int = 0, limit: int | None = None,
                 ids: list[int] | None = None) -> list[dict]:
    columns = excerpt_columns(db, scope, context=context, limit=limit, ids=ids)
    return [dict(zip(columns, values, strict=True)) for values in zip(*columns.values())]

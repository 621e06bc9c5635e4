"""Advice on a valid codebook: what a careful codebook would still add."""

from __future__ import annotations

from qcode.codebook.model import Codebook


def lint(codebook: Codebook) -> list[str]:
    notes = []
    for code in codebook.active:
        missing = [field for field in ("description", "examples")
                   if not getattr(code.spec, field)]
        if missing:
            notes.append(f"{code.path}: no {' and no '.join(missing)}")
    if not codebook.active:
        notes.append("the codebook has no codes yet")
    return notes

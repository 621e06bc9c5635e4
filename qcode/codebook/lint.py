"""Advice on a valid codebook: what a careful codebook would still add."""

from __future__ import annotations

import re

from qcode.codebook.model import Codebook

# characters that mean something in a regular expression and nothing in a phrase
_REGEX_LIKE = re.compile(r"[*+|\\^$\[\]{}]|\.\?|\(\?")


def lint(codebook: Codebook) -> list[str]:
    notes = []
    for code in codebook.active:
        missing = [field for field in ("description", "examples")
                   if not getattr(code.spec, field)]
        if missing:
            notes.append(f"{code.path}: no {' and no '.join(missing)}")
        notes += _regex_like_phrases(code)
    if not codebook.active:
        notes.append("the codebook has no codes yet")
    return notes


def _phrases(patterns) -> list[str]:
    """The phrase texts of a code's patterns (one list, or one list per language)."""
    lists = patterns.values() if isinstance(patterns, dict) else [patterns]
    return [p if isinstance(p, str) else p.phrase for items in lists for p in items
            if isinstance(p, str) or hasattr(p, "phrase")]


def _regex_like_phrases(code) -> list[str]:
    """A phrase written as a regular expression ('trust.*', 'polic(e|ing)') matches
    nothing: patterns are words, matched on lemmas, so 'trust' already finds 'trusted'."""
    notes = []
    for field in ("patterns", "exclude_patterns"):
        for number, phrase in enumerate(_phrases(getattr(code.spec, field)), 1):
            if _REGEX_LIKE.search(phrase):
                what = "exclude pattern" if field == "exclude_patterns" else "pattern"
                notes.append(f"{code.path}: {what} {phrase!r} looks like a regular "
                             "expression, but patterns are words and match nothing of "
                             "it; write the words themselves (matched on lemmas: 'trust' "
                             "also finds 'trusted' and 'trusts')")
    return notes

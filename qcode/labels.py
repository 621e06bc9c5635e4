"""Names and values that listings and exports show: document names, attribute names and
values (code names are checked by the codebook, see qcode.codebook.model).

A transcript's file name, its front matter or another program's project can carry
characters that change what a reader sees: NUL (cuts a C string short), newlines and
tabs (split a CSV row or a terminal line), and the invisible Unicode controls that reorder
text — U+202E RIGHT-TO-LEFT OVERRIDE turns "interview-‮txt.exe" into "interview-exe.txt" on
screen. They are removed at import, each with a one-line warning, so that no export
carries them. Letters of right-to-left scripts (Arabic, Hebrew) are kept: only the
controls go.
"""

from __future__ import annotations

import re

# line and paragraph breaks, tabs and other spacing controls: become a space
_BREAKS = re.compile(r"[\t\n\v\f\r\x1c-\x1f\x85\u2028\u2029]+")
# other C0/C1 controls, and the bidirectional formatting characters: removed
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f"
                       r"\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def has_unsafe(value: str) -> bool:
    return bool(_BREAKS.search(value) or _CONTROLS.search(value))


def clean(value: str) -> str:
    """*value* without control or bidirectional formatting characters (breaks become
    spaces); unchanged when it has none."""
    if not has_unsafe(value):
        return value
    return " ".join(_CONTROLS.sub("", _BREAKS.sub(" ", value)).split())


def cleaned(value: str, what: str, where: str, warnings: list[str]) -> str:
    """clean(*value*), with a warning about *what* (in *where*) when that changed it."""
    out = clean(value)
    if out != value:
        warnings.append(f"{where}: {what} {value!r} holds control or right-to-left "
                        f"override characters; stored as {out!r}")
    return out


def clean_document(name: str, attributes: dict, where: str) -> tuple[str, dict, list[str]]:
    """(name, attributes, warnings) for a document about to be stored; *where* names
    the file (or project) it comes from in the warnings."""
    warnings: list[str] = []
    name = cleaned(name, "document name", where, warnings)
    out = {}
    for key, value in attributes.items():
        key = cleaned(str(key), "attribute name", where, warnings)
        out[key] = (cleaned(value, f"attribute {key!r} value", where, warnings)
                    if isinstance(value, str) else value)
    return name, out, warnings

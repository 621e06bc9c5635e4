"""Where the shipped codebooks and sample corpus are: inside the wheel, or the checkout."""

from __future__ import annotations

from pathlib import Path

from qcode.errors import QcodeError

_PACKAGE = Path(__file__).resolve().parent


def shipped(name: str) -> Path:
    """``shipped("codebooks")`` or ``shipped("corpora")``."""
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise QcodeError(f"the shipped {name!r} folder is missing from this installation")

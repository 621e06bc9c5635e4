"""Every error the core raises on purpose is a QcodeError.

The CLI turns them into one line on stderr and exit code 1; anything else is a bug.
Each class has a stable code (Q1xx…) that users can search for.
"""

from __future__ import annotations

from pathlib import Path


class QcodeError(Exception):
    code = "Q100"

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.args[0] if self.args else self.__class__.__name__


class ProjectError(QcodeError):
    """No project found, or its configuration is broken."""

    code = "Q110"


class StoreError(QcodeError):
    """The database cannot be opened, is locked, read-only or corrupt."""

    code = "Q120"


class InputError(QcodeError):
    """A file the user gave us cannot be read. Names the file and, where known, the place."""

    code = "Q130"

    def __init__(self, path: str | Path, message: str, *, line: int | None = None,
                 offset: int | None = None):
        self.path = str(path)
        self.message = message
        self.line = line
        self.offset = offset
        where = self.path
        if line is not None:
            where += f":{line}"
        elif offset is not None:
            where += f" (byte {offset})"
        super().__init__(f"{where}: {message}")


def read_utf8(path: str | Path, what: str = "the file") -> str:
    """The text of a UTF-8 file (a BOM is allowed), or an InputError naming the file and,
    for bad bytes, their offset."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(path, f"{what} must be UTF-8", offset=exc.start) from None


class CodebookError(InputError):
    """The codebook YAML is invalid; names the YAML path and line."""

    code = "Q140"


class NotFoundError(QcodeError):
    """A document, code or other named thing does not exist."""

    code = "Q150"


class InteropError(QcodeError):
    """A file from another program (REFI-QDA, QualCoder, Taguette) that cannot be read or
    is unsafe to read; the message names the file and the part."""

    code = "Q160"


class AccessError(QcodeError):
    """On a shared project, a change to what is not yours: another coder's coding, memo or
    decision (row-level security on the server)."""

    code = "Q170"

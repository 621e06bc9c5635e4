"""Writing an output file safely: all or nothing, private, never over a file by accident."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from qcode.errors import QcodeError


@contextlib.contextmanager
def atomic_output(path: str | Path, *, force: bool = False, mode: str = "w") -> Iterator:
    """Yield a file open for writing next to *path*; rename it over *path* only when the
    block finishes, so a failure leaves no half-written file. Mode 0600."""
    path = Path(path)
    if path.exists() and not path.is_file() and not path.is_dir():
        # a device or pipe (/dev/stdout, /dev/full, a FIFO): write to it directly, since
        # renaming a file over it would replace the device itself
        try:
            with open(path, mode, **({"encoding": "utf-8"} if "b" not in mode else {})) as f:
                yield f
        except OSError as exc:
            raise QcodeError(f"{path}: cannot write: {exc.strerror}") from None
        return
    if path.is_dir():
        raise QcodeError(f"{path} is a folder; give a file name")
    if path.exists() and not force:
        raise QcodeError(f"{path} exists; use --force to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.fchmod(handle, 0o600)
    try:
        with os.fdopen(handle, mode, **({"encoding": "utf-8"} if "b" not in mode else {})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise QcodeError(f"{path}: cannot write: {exc.strerror}; nothing was written") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise

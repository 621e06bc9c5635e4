"""Open $VISUAL / $EDITOR on a private temporary file (memos can hold sensitive notes)."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from pathlib import Path

from qcode.errors import QcodeError


def edit(initial: str = "") -> str | None:
    """The edited text, or None if the editor exited without changing it."""
    command = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.TemporaryDirectory(prefix="qcode-") as folder:  # mode 0700
        path = Path(folder) / "memo.md"
        path.write_text(initial, encoding="utf-8")
        path.chmod(0o600)
        try:
            subprocess.run([*shlex.split(command), str(path)], check=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            raise QcodeError(f"could not run the editor {command!r}: {exc}") from None
        text = path.read_text(encoding="utf-8")
    return None if text == initial else text

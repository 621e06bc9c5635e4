"""Writing an output file safely: all or nothing, private, never over a file by accident."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from qcode.errors import QcodeError


# -- private scratch space --------------------------------------------------------------
# xlsxwriter's constant_memory mode writes each sheet's XML (interview text) to temporary
# files before zipping them. They go into one folder of qcode's per user, mode 0700, in
# the system's temporary directory: never beside the project (an encrypted project's
# plaintext would lie next to its database), never in the export's folder. Each export
# has its own subfolder, named with its process id, removed however the export ends; one
# left by a killed process is swept by the next export (and reported by `qcode doctor`).

def scratch_root() -> Path:
    root = Path(tempfile.gettempdir()) / _scratch_name()
    root.mkdir(mode=0o700, exist_ok=True)
    info = root.lstat()
    if root.is_symlink() or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
        raise QcodeError(f"{root} is not a folder of yours; remove it (qcode keeps temporary "
                         "export files there)")
    os.chmod(root, 0o700)
    return root


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _pid_of(name: str, prefix: str) -> int | None:
    rest = name[len(prefix):] if name.startswith(prefix) else ""
    digits = rest.split("-", 1)[0]
    return int(digits) if digits.isdigit() else None


def stale_scratch() -> list[Path]:
    """Scratch folders of qcode exports whose process has ended (killed mid-export)."""
    root = Path(tempfile.gettempdir()) / _scratch_name()
    if not root.is_dir():
        return []
    out = []
    for folder in sorted(root.iterdir()):
        pid = _pid_of(folder.name, "export-")
        if pid is not None and not _alive(pid):
            out.append(folder)
    return out


def _scratch_name() -> str:
    import getpass

    return f"qcode-{getpass.getuser()}"


def sweep_scratch() -> int:
    """Remove stale scratch folders (only qcode's own); how many were removed."""
    import shutil

    stale = stale_scratch()
    for folder in stale:
        shutil.rmtree(folder, ignore_errors=True)
    return len(stale)


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    """A private folder for one export's temporary files, removed on every way out."""
    import shutil

    sweep_scratch()
    folder = Path(tempfile.mkdtemp(prefix=f"export-{os.getpid()}-", dir=scratch_root()))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


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
    prefix = f".{path.name}.qcode-"
    for left in path.parent.glob(f"{prefix}*"):  # a killed writer's file, never yet renamed
        pid = _pid_of(left.name, prefix)
        if pid is not None and not _alive(pid):
            with contextlib.suppress(OSError):
                left.unlink()
    handle, temporary = tempfile.mkstemp(prefix=f"{prefix}{os.getpid()}-", dir=path.parent)
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

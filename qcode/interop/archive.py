"""Reading a .qdpx (a zip) without trusting it: nothing is extracted to disk, only
allow-listed members are read, in memory, with caps on their number, their sizes and
their compression ratio, and only through ``internal://`` paths that stay inside the
archive."""

from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path

from qcode.errors import InteropError

MAX_MEMBERS = 20_000
MAX_MEMBER_BYTES = 256 * 2**20
MAX_TOTAL_BYTES = 1024 * 2**20
MAX_RATIO = 200  # uncompressed / compressed, for members over 1 MiB


class Archive:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.zip = zipfile.ZipFile(self.path)
            infos = self.zip.infolist()
        except FileNotFoundError:
            raise InteropError(f"{self.path}: no such file") from None
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise InteropError(f"{self.path}: not a readable .qdpx (zip): {exc}") from None
        if len(infos) > MAX_MEMBERS:
            raise InteropError(f"{self.path}: refused: {len(infos):,} members (at most "
                               f"{MAX_MEMBERS:,})")
        names = [i.filename for i in infos]
        if len(set(names)) != len(names):
            raise InteropError(f"{self.path}: refused: the archive holds two members of the "
                               "same name (overlapping entries)")
        total = sum(i.file_size for i in infos)
        if total > MAX_TOTAL_BYTES:
            raise InteropError(f"{self.path}: refused: it would expand to "
                               f"{total // 2**20:,} MiB (at most {MAX_TOTAL_BYTES // 2**20:,})")
        unsafe = next((n for n in names if not _safe_name(n)), None)
        if unsafe is not None:
            raise InteropError(f"{self.path}: refused: member {unsafe!r} points outside the "
                               "archive (an absolute path or ..)")
        # members by name as read (lower case): Sources/ and sources/ are both seen
        self.members = {i.filename.lower(): i for i in infos}

    def close(self) -> None:
        self.zip.close()

    def read(self, name: str) -> bytes:
        """A member's bytes, read in memory with the caps; names match case-insensitively."""
        info = self.members.get(name.lower())
        if info is None:
            raise InteropError(f"{self.path}: no member {name!r} in the archive")
        if info.file_size > MAX_MEMBER_BYTES:
            raise InteropError(f"{self.path}: refused: {name} is {info.file_size // 2**20:,} MiB")
        if info.file_size > 2**20 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise InteropError(f"{self.path}: refused: {name} is compressed "
                               f"{info.file_size // max(info.compress_size, 1):,} to 1 "
                               "(a zip bomb?)")
        with self.zip.open(info) as member:
            data = member.read(MAX_MEMBER_BYTES + 1)  # the header's size is not trusted
        if len(data) > MAX_MEMBER_BYTES:
            raise InteropError(f"{self.path}: refused: {name} is larger than it says")
        return data

    def source(self, reference: str, where: str) -> bytes:
        """The member a source's ``plainTextPath``/``richTextPath`` names: ``internal://X``
        (or a bare X) in ``sources/``. Anything that leaves the archive is refused."""
        if "://" in reference:
            scheme, _, rest = reference.partition("://")
            if scheme.lower() != "internal":
                raise InteropError(f"{self.path}: {where}: refused path {reference!r}: only "
                                   "internal:// paths inside the archive are read")
        else:
            rest = reference
        if not _safe_name(rest) or "/" in rest.strip("/"):
            raise InteropError(f"{self.path}: {where}: refused path {reference!r}: it leaves "
                               "the archive's sources folder")
        return self.read(f"sources/{rest.strip('/')}")

    def has(self, name: str) -> bool:
        return name.lower() in self.members


def _safe_name(name: str) -> bool:
    """A member name that cannot point outside the archive."""
    if not name or name.startswith(("/", "\\")) or "\\" in name or ":" in name.split("/")[0]:
        return False
    return ".." not in name.split("/") and posixpath.normpath(name) == name.rstrip("/")

"""Encryption at rest: the key of an encrypted project and the SQLCipher driver.

An encrypted project's database (and its WAL, and its backups) is a SQLCipher file:
every page AES-256 encrypted and authenticated. The key comes from a key file or a
passphrase typed at a prompt — never from the command line or the environment, where
other users and shell histories can read it. A key file holds 64 hex digits (a random
256-bit key, used as it is) or a passphrase (stretched by SQLCipher's PBKDF2, which
costs ~0.15 s at every start).

sqlcipher3 is an optional dependency (`pip install 'qcode[crypto]'`), imported only
when an encrypted project is opened.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from qcode.errors import StoreError

SQLITE_MAGIC = b"SQLite format 3\x00"
_RAW = re.compile(r"[0-9a-fA-F]{64}")
MAX_KEY_FILE = 4096


@dataclass(frozen=True)
class Key:
    secret: str = ""
    raw: bool = False  # 64 hex digits used as the key itself, no key derivation

    def pragma(self) -> str:
        return "PRAGMA key = '" + self.value().replace("'", "''") + "'"

    def value(self) -> str:
        """The key as ATTACH ... KEY takes it: x'hex' for a raw key, else the passphrase."""
        return f"x'{self.secret}'" if self.raw else self.secret

    def __repr__(self) -> str:  # never show the secret in a traceback or a log
        return f"Key(raw={self.raw})"


def from_text(text: str) -> Key:
    text = text.strip("\r\n")
    if _RAW.fullmatch(text):
        return Key(text.lower(), raw=True)
    if not text.strip():
        raise StoreError("the key is empty")
    if "\x00" in text:
        raise StoreError("the key holds a NUL character")
    return Key(text)


def read_key_file(path: str | Path) -> Key:
    """The key in *path*, which must be readable by its owner only (like an SSH key)."""
    path = Path(path).expanduser()
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise StoreError(f"{path}: the key file is not a regular file")
        if info.st_mode & 0o077:
            raise StoreError(f"{path}: the key file can be read by other users "
                             f"(mode {stat.S_IMODE(info.st_mode):o}); run chmod 600 {path}")
        if info.st_size > MAX_KEY_FILE:
            raise StoreError(f"{path}: not a key file (over {MAX_KEY_FILE} bytes)")
        data = path.read_bytes()
    except OSError as exc:
        raise StoreError(f"{path}: cannot read the key file: {exc.strerror}") from None
    try:
        return from_text(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise StoreError(f"{path}: the key file is not UTF-8 text") from None
    except StoreError as exc:
        raise StoreError(f"{path}: {exc}") from None


def new_key_file(path: str | Path) -> Key:
    """Write a fresh random 256-bit key to *path* (which must not exist), mode 0600."""
    path = Path(path).expanduser()
    key = Key(secrets.token_hex(32), raw=True)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise StoreError(f"{path}: exists; not overwritten") from None
    except OSError as exc:
        raise StoreError(f"{path}: cannot create the key file: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key.secret + "\n")
        f.flush()
        os.fsync(f.fileno())
    return key


def is_encrypted(path: str | Path) -> bool:
    """True for an existing, non-empty database file that is not plain SQLite."""
    try:
        with open(path, "rb") as f:
            head = f.read(len(SQLITE_MAGIC))
    except OSError:
        return False
    return bool(head) and head != SQLITE_MAGIC


def cipher():
    """sqlcipher3's DB-API module, or a clear error when it is not installed."""
    try:
        from sqlcipher3 import dbapi2
    except ImportError:
        raise StoreError("this project is encrypted, and opening it needs SQLCipher: "
                         "pip install 'qcode[crypto]'") from None
    return dbapi2


def encrypt_database(path: str | Path, key: Key) -> None:
    """Turn the plain database at *path* into an encrypted one with *key*: a SQLCipher
    copy is written beside it, checked (integrity, schema version, row counts), and put
    in its place. Refused while any other connection has the database open."""
    from qcode.store.connection import db_errors, durable_replace, open_connection

    dbapi = cipher()
    path = Path(path)
    if is_encrypted(path):
        raise StoreError(f"{path}: already encrypted")
    temporary = path.with_name(f".{path.name}.encrypting")
    temporary.unlink(missing_ok=True)
    source = dbapi.connect(str(path), isolation_level=None, timeout=1)
    try:
        try:  # leaving WAL mode needs the only connection: no other qcode is running
            if source.execute("PRAGMA journal_mode = DELETE").fetchone()[0] != "delete":
                raise dbapi.OperationalError("database is locked")
        except dbapi.OperationalError:
            raise StoreError(f"{path}: another qcode process (or the coding screen) has "
                             "the project open; close it and run this again") from None
        source.execute("PRAGMA locking_mode = EXCLUSIVE")  # hold the lock until closed
        version = source.execute("PRAGMA user_version").fetchone()[0]
        tables = [r[0] for r in source.execute("SELECT name FROM sqlite_master WHERE "
                                               "type = 'table' AND name NOT LIKE 'sqlite_%'")]
        counts = {t: source.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
                  for t in tables}
        source.execute("ATTACH DATABASE ? AS encrypted KEY ?", [str(temporary), key.value()])
        source.execute("SELECT sqlcipher_export('encrypted')")
        source.execute(f"PRAGMA encrypted.user_version = {int(version)}")
        source.execute("DETACH DATABASE encrypted")
        copy = open_connection(temporary, key)
        try:
            problems = [r[0] for r in copy.execute("PRAGMA quick_check").fetchall()]
            copied = {t: copy.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
                      for t in tables}
            copy.execute("PRAGMA journal_mode = WAL")
        finally:
            copy.close()
        if problems != ["ok"] or copied != counts:
            raise StoreError(f"{path}: the encrypted copy did not check out; nothing changed")
        durable_replace(temporary, path)
    except db_errors() as exc:
        raise StoreError(f"{path}: cannot encrypt: {exc}; nothing changed") from None
    except OSError as exc:
        raise StoreError(f"{path}: cannot encrypt: {exc.strerror}; nothing changed") from None
    finally:
        source.close()
        temporary.unlink(missing_ok=True)

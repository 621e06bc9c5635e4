"""A qcode project: a folder with qcode.yaml, qcode.db, the codebook and exports/."""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from qcode.config import (CONFIG_NAME, EncryptionSettings, ProjectConfig, load_config,
                          render_config)
from qcode.errors import ProjectError

if TYPE_CHECKING:
    from qcode.store.keys import Key

DB_NAME = "qcode.db"
ENV_PROJECT = "QCODE_PROJECT"
ENV_CODER = "QCODE_CODER"

STARTER_CODEBOOK = """\
# qcode codebook: `qcode codebook format` prints the format reference, and
# `qcode codebook templates` lists ready-made codebooks (qcode init --codebook-template).
# Add codes below, then run `qcode codebook check` and `qcode codebook sync`.
name: {name}
codes: []
"""


@dataclass
class Project:
    root: Path
    config: ProjectConfig
    # asked for the key of an encrypted project (the CLI's prompt); None: no one to ask
    ask_key: Callable[[str], str] | None = field(default=None, repr=False, compare=False)
    key_file: Path | None = field(default=None, compare=False)  # --key-file: wins over config

    # -- finding and creating --------------------------------------------------------
    @classmethod
    def find(cls, start: str | Path | None = None) -> Project:
        """--project / $QCODE_PROJECT if given, else walk up from the current folder."""
        if start is None and os.environ.get(ENV_PROJECT):
            start = os.environ[ENV_PROJECT]
            return cls.open(start)
        if start is not None:
            return cls.open(start)
        here = Path.cwd().resolve()
        for folder in (here, *here.parents):
            if (folder / CONFIG_NAME).is_file():
                return cls.open(folder)
        raise ProjectError(
            f"no qcode project in {here} or its parents; create one with `qcode init` "
            f"or point to one with --project or ${ENV_PROJECT}")

    @classmethod
    def open(cls, root: str | Path) -> Project:
        root = Path(root).expanduser().resolve()
        if root.is_file() and root.name in (CONFIG_NAME, DB_NAME):
            root = root.parent
        config_path = root / CONFIG_NAME
        if not config_path.is_file():
            raise ProjectError(f"{root}: not a qcode project (no {CONFIG_NAME})")
        return cls(root, load_config(config_path))

    @classmethod
    def init(cls, root: str | Path, *, name: str | None = None, language: str = "en",
             codebook: str | None = None, coder: str | None = None,
             template: str | None = None,
             key: Key | None = None, key_file: str | Path | None = None,
             database: str | None = None) -> Project:
        """Create a project folder. Refuses a folder that already holds a project.
        The codebook (*codebook*, relative to the folder; default codebook.yaml) is left as
        it is if named, else gets a starter; with *template*, a shipped codebook
        (qcode.resources.template_names()) is copied there, never over an existing file.
        With *key*, the database is encrypted (SQLCipher); *key_file*, where that key is
        kept, is written to qcode.yaml so later commands find it.
        With *database* (postgresql://HOST/DB, no credentials), the project's data is on
        that server: a new one is created there, or an existing one attached (the folder
        then holds qcode.yaml and the codebook; teammates each init a folder on the same
        URL)."""
        from qcode.store.connection import private_umask

        root = Path(root).expanduser().resolve()
        if (root / CONFIG_NAME).exists():
            raise ProjectError(f"{root}: already a qcode project")
        if database is not None:
            from qcode.store.postgres import check_url, driver

            check_url(database)
            if key is not None:
                raise ProjectError("encryption at rest (--encrypt) is for a SQLite project; "
                                   "on PostgreSQL the server's disk encryption and TLS "
                                   "protect the data")
            driver()  # refuse before creating anything when psycopg is missing
        if key is not None:
            from qcode.store.keys import cipher

            cipher()  # refuse before creating anything when SQLCipher is missing
        try:
            encryption = EncryptionSettings(
                enabled=key is not None,
                key_file=str(Path(key_file).expanduser().resolve()) if key_file else None)
            config = ProjectConfig(name=name or root.name, language=language,
                                   codebook=codebook or "codebook.yaml", coder=coder,
                                   encryption=encryption, database=database)
        except ValueError as exc:
            raise ProjectError(f"{root}: {exc}") from None
        codebook_path = root / config.codebook
        starter = None
        if template is not None:
            from qcode.resources import codebook_template

            starter = codebook_template(template).read_text(encoding="utf-8")
            if codebook_path.exists():
                raise ProjectError(f"{codebook_path}: already exists; not replaced by the "
                                   f"template {template!r}")
        with private_umask():
            try:
                root.mkdir(parents=True, exist_ok=True)
                (root / "exports").mkdir(exist_ok=True)
                if starter is not None:
                    codebook_path.parent.mkdir(parents=True, exist_ok=True)
                    codebook_path.write_text(starter, encoding="utf-8")
                elif codebook is None and not codebook_path.exists():
                    codebook_path.write_text(STARTER_CODEBOOK.format(name=config.name),
                                             encoding="utf-8")
                (root / CONFIG_NAME).write_text(render_config(config), encoding="utf-8")
            except OSError as exc:
                raise ProjectError(f"{root}: cannot create project: {exc.strerror}") from None
        project = cls(root, config)
        project._key = key
        try:
            if database is not None:
                project.attached = project._attach_server()
            _ = project.db  # create and migrate the database now
        except BaseException:
            if database is not None:  # nothing reached the server: leave no half project
                (root / CONFIG_NAME).unlink(missing_ok=True)
            raise
        return project

    attached = False  # init found the project already on the server (a teammate's)

    def _attach_server(self) -> bool:
        """Open the server's database for init: True if it already holds a qcode project
        (joined, not created); refuses a database holding anything else."""
        from qcode.store.migrations import migrate
        from qcode.store.postgres import connect_url, redact

        db = connect_url(self.config.database, self._chosen_coder(None))
        db.home = self.root
        try:
            version = db.dialect.schema_version(db)
            if version == 0 and db.dialect.tables(db):
                raise ProjectError(
                    f"{redact(self.config.database)}: the database holds tables that are not "
                    "a qcode project's; give qcode a database of its own (createdb NAME)")
            migrate(db)
        except BaseException:
            db.close()
            raise
        self.__dict__["db"] = db
        return version > 0

    # -- paths ----------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def db_path(self) -> Path:
        return self.root / DB_NAME

    @property
    def codebook_path(self) -> Path:
        return (self.root / self.config.codebook).resolve()

    @property
    def exports_dir(self) -> Path:
        return self.root / "exports"

    @property
    def on_server(self) -> bool:
        """The database is on a PostgreSQL server (qcode.yaml's `database`)."""
        return self.config.database is not None

    def paths(self) -> dict[str, str]:
        return {"project": str(self.root), "config": str(self.config_path),
                "database": self.config.database or str(self.db_path),
                "codebook": str(self.codebook_path), "exports": str(self.exports_dir)}

    # -- the store ------------------------------------------------------------------
    @property
    def encrypted(self) -> bool:
        from qcode.store.keys import is_encrypted

        if self.on_server:
            return False
        return self.config.encryption.enabled or is_encrypted(self.db_path)

    def key(self) -> Key | None:
        """The key of an encrypted project: from --key-file, else qcode.yaml's key file,
        else asked for; None for a plain project."""
        if "_key" in self.__dict__:
            return self._key
        if not self.encrypted:
            return None
        from qcode.store.keys import from_text, read_key_file

        path = self.key_file or (Path(self.config.encryption.key_file).expanduser()
                                 if self.config.encryption.key_file else None)
        if path is not None:
            key = read_key_file(path)
        elif self.ask_key is not None:
            key = from_text(self.ask_key(f"Passphrase for the encrypted project "
                                         f"{self.config.name}: "))
        else:
            raise ProjectError(f"{self.db_path}: the project is encrypted; give its key "
                               "with --key-file or `encryption: key_file` in qcode.yaml, or "
                               "run qcode in a terminal to be asked for the passphrase")
        self._key = key
        return key

    def encrypt(self, key: Key, key_file: str | Path | None = None) -> list[Path]:
        """Encrypt this (plain) project's database in place with *key* and record it in
        qcode.yaml; returns the backups that are still unencrypted."""
        from qcode.config import render_encryption
        from qcode.export.files import atomic_output
        from qcode.store.keys import encrypt_database, is_encrypted

        if self.on_server:
            raise ProjectError(f"{self.root}: the project is on a PostgreSQL server; "
                               "encryption at rest is for a SQLite project (on a server, "
                               "its disk encryption and TLS protect the data)")
        if self.encrypted:
            raise ProjectError(f"{self.root}: already encrypted")
        _ = self.db  # brought to the current schema first
        self.close()
        encrypt_database(self.db_path, key)
        settings = EncryptionSettings(
            enabled=True,
            key_file=str(Path(key_file).expanduser().resolve()) if key_file else None)
        text = self.config_path.read_text(encoding="utf-8")
        with atomic_output(self.config_path, force=True) as f:
            f.write(text.rstrip("\n") + "\n" + render_encryption(settings))
        self.config = load_config(self.config_path)
        self._key = key
        return sorted(p for p in (self.root / "backups").glob("*.db") if not is_encrypted(p))

    @cached_property
    def db(self):
        from qcode.store import connect, migrate

        if self.on_server:
            from qcode.store.postgres import connect_url

            db = connect_url(self.config.database, self._chosen_coder(None))
            db.home = self.root  # where its backups go (qcode.store.backup)
            try:
                migrate(db)
            except BaseException:
                db.close()
                raise
            return db
        from qcode.store.keys import is_encrypted

        if (self.config.encryption.enabled and self.db_path.is_file()
                and self.db_path.stat().st_size and not is_encrypted(self.db_path)):
            raise ProjectError(f"{self.db_path}: qcode.yaml says the project is encrypted, "
                               "but this database is not; was it replaced? Not opened")
        db = connect(self.db_path, self.key())
        migrate(db)
        return db

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.conn.close()
            del self.__dict__["db"]

    def coder_name(self, explicit: str | None = None) -> str:
        """--coder, else $QCODE_CODER, else qcode.yaml's default, else, on a server, the
        role you log in as (row-level security lets a coder write only under that name),
        else the OS user."""
        chosen = self._chosen_coder(explicit)
        if chosen:
            return chosen
        if self.on_server:
            return self.db.execute("SELECT current_user").fetchone()[0]
        try:
            return getpass.getuser()
        except (KeyError, OSError):
            return "coder"

    def _chosen_coder(self, explicit: str | None) -> str | None:
        for candidate in (explicit, os.environ.get(ENV_CODER), self.config.coder):
            if candidate and candidate.strip():
                return candidate.strip()
        return None

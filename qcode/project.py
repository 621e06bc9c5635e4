"""A qcode project: a folder with qcode.yaml, qcode.db, the codebook and exports/."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from qcode.config import CONFIG_NAME, ProjectConfig, load_config, render_config
from qcode.errors import ProjectError

DB_NAME = "qcode.db"
ENV_PROJECT = "QCODE_PROJECT"
ENV_CODER = "QCODE_CODER"

STARTER_CODEBOOK = """\
# qcode codebook: see codebooks/README.md in the qcode repository for the format.
# Add codes below, then run `qcode codebook check` and `qcode codebook sync`.
name: {name}
codes: []
"""


@dataclass
class Project:
    root: Path
    config: ProjectConfig

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
             codebook: str | None = None, coder: str | None = None) -> Project:
        """Create a project folder. Refuses a folder that already holds a project."""
        from qcode.store.connection import private_umask

        root = Path(root).expanduser().resolve()
        if (root / CONFIG_NAME).exists():
            raise ProjectError(f"{root}: already a qcode project")
        try:
            config = ProjectConfig(name=name or root.name, language=language,
                                   codebook=codebook or "codebook.yaml", coder=coder)
        except ValueError as exc:
            raise ProjectError(f"{root}: {exc}") from None
        with private_umask():
            try:
                root.mkdir(parents=True, exist_ok=True)
                (root / "exports").mkdir(exist_ok=True)
                codebook_path = root / config.codebook
                if codebook is None and not codebook_path.exists():
                    codebook_path.write_text(STARTER_CODEBOOK.format(name=config.name),
                                             encoding="utf-8")
                (root / CONFIG_NAME).write_text(render_config(config), encoding="utf-8")
            except OSError as exc:
                raise ProjectError(f"{root}: cannot create project: {exc.strerror}") from None
        project = cls(root, config)
        _ = project.db  # create and migrate the database now
        return project

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

    def paths(self) -> dict[str, str]:
        return {"project": str(self.root), "config": str(self.config_path),
                "database": str(self.db_path), "codebook": str(self.codebook_path),
                "exports": str(self.exports_dir)}

    # -- the store ------------------------------------------------------------------
    @cached_property
    def db(self):
        from qcode.store import connect, migrate

        db = connect(self.db_path)
        migrate(db)
        return db

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.conn.close()
            del self.__dict__["db"]

    def coder_name(self, explicit: str | None = None) -> str:
        """--coder, else $QCODE_CODER, else qcode.yaml's default, else the OS user."""
        for candidate in (explicit, os.environ.get(ENV_CODER), self.config.coder):
            if candidate and candidate.strip():
                return candidate.strip()
        try:
            return getpass.getuser()
        except (KeyError, OSError):
            return "coder"

"""Shared fixtures: isolated environment, fresh projects, a CLI runner."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qcode.project import Project

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "corpora" / "sample"
CODEBOOK = REPO / "codebooks" / "trust-empowerment-loyalty.yaml"
SHARED = REPO.parent / "shared"


def pytest_addoption(parser):
    parser.addoption("--encrypted", action="store_true",
                     help="create every test project encrypted (needs qcode[crypto])")


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path, request):
    """No test sees the developer's project, coder or terminal settings."""
    for name in ("QCODE_PROJECT", "QCODE_CODER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)
    old = os.umask(0o077)
    if request.config.getoption("--encrypted"):
        _encrypt_every_project(monkeypatch, tmp_path)
    yield
    os.umask(old)


def _encrypt_every_project(monkeypatch, tmp_path):
    """`pytest --encrypted`: the whole suite again on SQLCipher databases, one key file
    per test (outside the project folders)."""
    from qcode.store.keys import new_key_file, read_key_file

    key_file = tmp_path.parent / f"{tmp_path.name}.key"
    if not key_file.exists():
        new_key_file(key_file)
    plain_init = Project.init.__func__

    def init(cls, root, **options):
        if options.get("key") is None:
            options.update(key=read_key_file(key_file), key_file=key_file)
        return plain_init(cls, root, **options)

    monkeypatch.setattr(Project, "init", classmethod(init))


@pytest.fixture
def project(tmp_path) -> Project:
    p = Project.init(tmp_path / "proj", coder="tester")
    yield p
    p.close()


@pytest.fixture
def sample_project(project) -> Project:
    """The shipped codebook synced, the sample corpus imported, one coding by anna."""
    from qcode.codebook.model import load_codebook
    from qcode.codebook.sync import sync
    from qcode.coding import add_coding
    from qcode.ingest.importer import ImportOptions, import_paths

    sync(project.db, load_codebook(CODEBOOK))
    import_paths(project.db, [SAMPLE], ImportOptions())
    add_coding(project.db, "a01-housing-perm", "distrust", coder="anna", segment=3)
    return project


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def cli(runner, project):
    """Run qcode inside *project*: cli("docs", "--format", "json")."""
    from qcode.cli.app import app

    def run(*args, input=None):
        return runner.invoke(app, ["--project", str(project.root), *map(str, args)],
                             input=input)

    return run


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def table_counts(db) -> dict[str, int]:
    """Rows per table: the fingerprint used to assert 'the database is unchanged'."""
    names = [r[0] for r in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    return {n: db.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}

"""Shared fixtures: isolated environment, fresh projects, a CLI runner."""

from __future__ import annotations

import itertools
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
    parser.addoption("--backend", choices=("sqlite", "postgresql"), default="sqlite",
                     help="postgresql: every test project in a new database on the server "
                          "the PG* variables name (tests/pg/with-server starts one); "
                          "skipped when none answers")


PG_LIST = Path(__file__).resolve().parent / "pg" / "expectations.txt"


def pg_expectations() -> dict[str, tuple[str, str]]:
    """tests/pg/expectations.txt: test (file, file::test or file::test[param]) -> (xfail
    or skip, why). 'xfail': not yet ported to PostgreSQL (strict: a test that starts to
    pass must leave the list); 'skip': a SQLite feature by design (the database file,
    SQLCipher)."""
    rules = {}
    for line in PG_LIST.read_text(encoding="utf-8").splitlines():
        line = "" if line.startswith("#") else line.strip()
        if line:
            kind, test, why = line.split(None, 2)
            rules[test] = (kind, why)
    return rules


def pytest_collection_modifyitems(config, items):
    if config.getoption("--backend") != "postgresql":
        return
    reason = _pg_unreachable()
    rules = pg_expectations()
    for item in items:
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))
            continue
        node = item.nodeid.removeprefix("tests/")
        for key in (node, node.split("[")[0], node.split("::")[0]):
            if key in rules:
                kind, why = rules[key]
                item.add_marker(pytest.mark.skip(reason=f"SQLite only: {why}") if kind == "skip"
                                else pytest.mark.xfail(reason=f"PostgreSQL: {why}",
                                                       strict=True))
                break


def _pg_unreachable() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "--backend postgresql needs psycopg (pip install -e '.[test,postgresql]')"
    try:
        psycopg.connect("", connect_timeout=3, autocommit=True).close()
    except psycopg.Error as exc:
        return f"no PostgreSQL server answers (tests/pg/with-server starts one): {exc}"
    return None


_pg_names = itertools.count(1)


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
    created: list[str] = []
    if request.config.getoption("--backend") == "postgresql":
        _every_project_on_postgres(monkeypatch, created)
    yield
    os.umask(old)
    if created:
        _recycle_databases(created)


def _every_project_on_postgres(monkeypatch, created: list[str]):
    """`pytest --backend postgresql`: every project a new database on the server."""
    import psycopg

    plain_init = Project.init.__func__

    def init(cls, root, **options):
        if options.get("database") is None and options.get("key") is None:
            if _pool:
                name = _pool.pop()
            else:
                name = f"qcode_test_{os.getpid()}_{next(_pg_names)}"
                with psycopg.connect("", autocommit=True) as admin:
                    admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{_pg_template()}"')
            created.append(name)
            options["database"] = f"postgresql:///{name}"
        return plain_init(cls, root, **options)

    monkeypatch.setattr(Project, "init", classmethod(init))


_template: list[str] = []
_pool: list[str] = []  # emptied test databases, for the next tests (CREATE DATABASE takes 1 s)


def _recycle_databases(names: list[str]) -> None:
    """Empty each test database for the next test (every table truncated, ids from 1), or
    drop it if the test changed its schema."""
    import psycopg

    from qcode.store.migrations import MIGRATIONS

    for name in names:
        try:
            with psycopg.connect(f"postgresql:///{name}", autocommit=True) as conn:
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                             "datname = current_database() AND pid <> pg_backend_pid()")
                version = conn.execute("SELECT version FROM qcode_schema").fetchone()
                tables = [r[0] for r in conn.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = "
                    "'public' AND table_type = 'BASE TABLE' AND table_name <> 'qcode_schema'")]
                if version != (len(MIGRATIONS),) or not _template_shape or \
                        _shape(conn) != _template_shape[0]:
                    raise psycopg.DataError("schema changed")  # a test dropped a trigger...
                # DELETE, not TRUNCATE (which makes new files: ten times slower on a few
                # rows); triggers (the append-only change log) off for it
                conn.execute("SET session_replication_role = replica")
                for table in tables:
                    conn.execute(f'DELETE FROM "{table}"')
                for (sequence,) in conn.execute(
                        "SELECT sequencename FROM pg_sequences").fetchall():  # identities'
                    conn.execute(f'ALTER SEQUENCE "{sequence}" RESTART')
            _pool.append(name)
        except psycopg.Error:
            _drop_databases([name])


_template_shape: list = []


def _shape(conn) -> tuple:
    """The tables, columns, indexes and triggers of a test database."""
    return tuple(tuple(r for r in conn.execute(sql).fetchall()) for sql in (
        "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE "
        "table_schema = 'public' ORDER BY 1, 2",
        "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1",
        "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1"))


def _pg_template() -> str:
    """A database migrated once per test run, copied for each project (a copy takes a
    tenth of the time the migrations take; tests/test_store.py migrates for real)."""
    if not _template:
        import atexit

        import psycopg

        from qcode.store.migrations import migrate
        from qcode.store.postgres import connect_url

        name = f"qcode_template_{os.getpid()}"
        with psycopg.connect("", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.execute(f'CREATE DATABASE "{name}"')
        db = connect_url(f"postgresql:///{name}")
        migrate(db)
        db.close()
        with psycopg.connect(f"postgresql:///{name}") as conn:
            _template_shape.append(_shape(conn))
        _template.append(name)
        atexit.register(_drop_databases, [name])
    return _template[0]


def _drop_databases(names: list[str]) -> None:
    import psycopg

    with psycopg.connect("", autocommit=True) as admin:
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
    # codings_touched is the analyses' cache bookkeeping (which codings changed since the
    # cached copy): it grows with any change, undone or not, like the change log
    names = [n for n in db.dialect.tables(db) if n != "codings_touched"]
    return {n: db.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}

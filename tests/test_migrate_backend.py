"""qcode migrate: a project moved from its SQLite file to a PostgreSQL server and back,
verified table by table; what is refused; and that a copy that differs changes nothing.

The tests that need a server run when one answers (tests/pg/with-server exports PGHOST...),
whatever --backend says: they make their own SQLite projects and server databases."""

from __future__ import annotations

import itertools
import os
import shutil
from pathlib import Path

import pytest

from qcode.config import ProjectConfig, render_config
from qcode.errors import QcodeError
from qcode.project import Project
from qcode.store import migrate_backend
from qcode.store.migrate_backend import table_digest, table_shapes

_names = itertools.count(1)


def sqlite_project(root: Path, **settings) -> Project:
    """A project in a SQLite file, whatever --backend says (its qcode.yaml written here,
    not by Project.init, which --backend postgresql puts on the server)."""
    root.mkdir(parents=True)
    (root / "codebook.yaml").write_text("name: t\ncodes: []\n", encoding="utf-8")
    (root / "qcode.yaml").write_text(render_config(ProjectConfig(**settings)),
                                     encoding="utf-8")
    return Project.open(root)


@pytest.fixture(scope="module")
def server() -> None:
    """A PostgreSQL server answers, as the PG* variables name it; else the test skips."""
    from conftest import _pg_unreachable

    reason = _pg_unreachable()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="module")
def demo_folder(server, tmp_path_factory) -> Path:
    """The demo project (codebook, 8 transcripts, hand codings, a trained model, accepted
    suggestions) with memos, and a deleted coding: SQLite's AUTOINCREMENT is then past the
    highest id, which the move must keep."""
    from qcode.coding import add_coding, remove_codings
    from qcode.demo import DEMO_CODEBOOK, build_demo
    from qcode.memos import add_memo

    root = tmp_path_factory.mktemp("demo") / "study"
    sqlite_project(root, name="qcode demo", codebook=DEMO_CODEBOOK, coder="demo").close()
    (root / "codebook.yaml").unlink()
    project = build_demo(root).project
    db = project.db
    add_memo(db, "Housing comes up in every interview.", coder="demo", title="housing")
    add_memo(db, "Ask about the landfill.", coder="anna", document="a02-landfill-arkhangelsk")
    last = add_coding(db, "a01-housing-perm", "distrust", coder="anna", segment=2).coding_id
    remove_codings(db, [last], coder="anna")
    project.close()
    return root


@pytest.fixture
def study(server_db, demo_folder, tmp_path) -> Project:
    root = tmp_path / "study"
    shutil.copytree(demo_folder, root)
    project = Project.open(root)
    yield project
    project.close()


@pytest.fixture
def server_db(server):
    """The URL of a new, empty database on the server."""
    import psycopg

    from conftest import _drop_databases

    name = f"qcode_migrate_{os.getpid()}_{next(_names)}"
    with psycopg.connect("", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql:///{name}"
    _drop_databases([name])


def digests(project: Project) -> dict[str, tuple[int, str]]:
    """Rows and checksum of every table, as qcode migrate compares them."""
    db = project.db
    if db.on_postgres:
        from qcode.store.connection import connect

        shapes_from = connect(":memory:")
        from qcode.store.migrations import migrate

        migrate(shapes_from)
        shapes = table_shapes(shapes_from)
        shapes_from.close()
    else:
        shapes = table_shapes(db)
    return {shape.name: table_digest(db, shape) for shape in shapes}


def listings(cli_in) -> list[str]:
    outputs = []
    for args in (("excerpts", "--format", "jsonl"), ("stats", "--format", "json"),
                 ("memo", "list", "--format", "json"), ("log", "--format", "json")):
        result = cli_in(*args)
        assert result.exit_code == 0, result.output
        outputs.append(result.stdout)
    return outputs


def run_in(runner, project: Project):
    from qcode.cli.app import app

    def run(*args):
        return runner.invoke(app, ["--project", str(project.root), *map(str, args)])
    return run


def sequence(project: Project, table: str) -> int:
    db = project.db
    if db.on_postgres:
        return db.execute(f"SELECT pg_sequence_last_value(pg_get_serial_sequence('{table}', "
                          "'id')::regclass)").fetchone()[0]
    return db.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", [table]).fetchone()[0]


def guards_hold(project: Project) -> None:
    """The triggers that keep revisions immutable and the change log append-only are on."""
    from qcode.store import transaction
    from qcode.store.connection import db_errors

    for statement, refusal in (("UPDATE revisions SET text = 'x'", "immutable"),
                               ("DELETE FROM changes", "append-only")):
        with pytest.raises(db_errors(), match=refusal), transaction(project.db):
            project.db.execute(statement)


def test_there_and_back_keeps_every_row_and_every_listing(study, server_db, runner):
    cli = run_in(runner, study)
    before, shown = digests(study), listings(cli)
    config = study.config_path.read_bytes()
    next_coding = sequence(study, "codings")
    assert next_coding > study.db.execute("SELECT max(id) FROM codings").fetchone()[0]
    study.close()

    moved = cli("migrate", "--to", server_db, "--format", "csv")
    assert moved.exit_code == 0, moved.output
    lines = moved.stdout.splitlines()
    assert lines[0] == "table,rows,checksum,same"
    assert {line.split(",")[0]: int(line.split(",")[1]) for line in lines[1:]} == \
        {table: rows for table, (rows, _) in before.items()}
    assert all(line.endswith(",yes") for line in lines[1:])
    assert "codings: " in moved.stderr and f"{study.db_path} is kept" in moved.stderr

    on_server = Project.open(study.root)
    assert on_server.config.database == server_db
    assert digests(on_server) == before
    assert listings(cli) == shown
    assert sequence(on_server, "codings") == next_coding  # a deleted coding's id stays used
    guards_hold(on_server)
    on_server.close()
    assert study.db_path.is_file()  # the file is kept as it was
    kept = Project(study.root, ProjectConfig(name="kept"))
    assert digests(kept) == before
    kept.close()

    refused = cli("migrate", "--to", "sqlite")
    assert refused.exit_code == 1 and "qcode.db already exists" in refused.stderr
    study.db_path.rename(study.root.parent / "kept.db")
    back = cli("migrate", "--to", "sqlite")
    assert back.exit_code == 0, back.output
    assert "is left as it was" in back.stderr
    assert study.config_path.read_bytes() == config
    home = Project.open(study.root)
    assert not home.on_server and digests(home) == before and listings(cli) == shown
    assert sequence(home, "codings") == next_coding
    guards_hold(home)
    home.close()
    assert not list(study.root.glob(".qcode.db.*"))
    server = Project(study.root, ProjectConfig(name="server", database=server_db))
    assert digests(server) == before  # the server's database is left as it was
    server.close()


def test_a_database_that_holds_a_project_or_other_tables_is_refused(study, server_db, runner,
                                                                   tmp_path):
    import psycopg

    cli = run_in(runner, study)
    before, config = digests(study), study.config_path.read_bytes()
    study.close()
    Project.init(tmp_path / "teammate", database=server_db).close()
    refused = cli("migrate", "--to", server_db)
    assert refused.exit_code == 1
    assert "already holds a qcode project; the move needs an empty database" in refused.stderr
    with psycopg.connect(server_db, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
        conn.execute("CREATE TABLE invoices (id integer)")
    refused = cli("migrate", "--to", server_db)
    assert refused.exit_code == 1 and "tables that are not a qcode project's" in refused.stderr
    assert study.config_path.read_bytes() == config and digests(study) == before
    with psycopg.connect(server_db) as conn:
        assert conn.execute("SELECT count(*) FROM information_schema.tables WHERE "
                            "table_schema = 'public'").fetchone()[0] == 1


def test_an_encrypted_project_stays_off_the_server(tmp_path, runner):
    pytest.importorskip("sqlcipher3")
    from qcode.store.keys import new_key_file

    key_file = tmp_path / "study.key"
    new_key_file(key_file)
    from qcode.store.keys import read_key_file

    project = Project.init(tmp_path / "secret", key=read_key_file(key_file), key_file=key_file)
    project.close()
    config = project.config_path.read_bytes()
    result = run_in(runner, project)("migrate", "--to", "postgresql://db.example.org/study")
    assert result.exit_code == 1
    assert "encrypted" in result.stderr and "disk encryption, TLS, backups" in result.stderr
    assert project.config_path.read_bytes() == config


@pytest.mark.parametrize("target, error", [
    ("postgresql://anna:secret@db.example.org/study", "holds a password"),
    ("postgresql://anna@db.example.org/study", "names a user"),
    ("mysql://db.example.org/study", "not a PostgreSQL URL"),
    ("sqlite", "already in a SQLite file"),
])
def test_a_target_is_a_server_url_without_credentials_or_sqlite(tmp_path, runner, target,
                                                                 error):
    project = sqlite_project(tmp_path / "p", name="p")
    result = run_in(runner, project)("migrate", "--to", target)
    assert result.exit_code == 1 and error in result.stderr
    assert "secret" not in result.stderr


def _corrupting(monkeypatch, table: str, column: str):
    """The copy step changes one value (a text) of *table* on its way; the check that
    follows is the real one."""
    insert = migrate_backend._insert

    def corrupt(target, shape, rows):
        if shape.name == table:
            rows = list(rows)
            first = list(rows[0])
            index = shape.columns.index(column)
            first[index] = first[index] + "0"
            rows[0] = tuple(first)
        return insert(target, shape, rows)

    monkeypatch.setattr(migrate_backend, "_insert", corrupt)


def test_a_copy_that_differs_is_rolled_back_and_names_the_table(study, server_db, runner,
                                                               monkeypatch):
    from qcode.store.postgres import connect_url

    before, config = digests(study), study.config_path.read_bytes()
    _corrupting(monkeypatch, "codings", "created")
    rows = f"{before['codings'][0]:,}"
    with pytest.raises(QcodeError, match=rf"table codings: the copy differs from the project "
                       rf"\({rows} rows against {rows}, checksums differ\); it was rolled back"):
        migrate_backend.move_to_server(study, server_db)
    assert study.config_path.read_bytes() == config and not study.on_server
    assert digests(study) == before
    server = connect_url(server_db)
    assert server.dialect.schema_version(server) == 0 and server.dialect.tables(server) == []
    server.close()


def test_a_value_that_would_not_survive_the_move_is_caught(study, server_db, runner):
    """Nothing patched: a memo whose text SQLite holds as a blob would arrive on the server
    as text; the check sees it, and nothing is moved."""
    study.db.execute("UPDATE memos SET text = CAST(text AS BLOB) WHERE id = 1")
    config = study.config_path.read_bytes()
    study.close()
    result = run_in(runner, study)("migrate", "--to", server_db)
    assert result.exit_code == 1
    assert "table memos: the copy differs from the project" in result.stderr
    assert study.config_path.read_bytes() == config


def test_a_failed_move_back_leaves_no_file_and_the_server_as_it_was(study, server_db,
                                                                   monkeypatch):
    before = digests(study)
    migrate_backend.move_to_server(study, server_db)
    study.db_path.rename(study.root.parent / "kept.db")
    _corrupting(monkeypatch, "changes", "at")
    on_server = Project.open(study.root)
    with pytest.raises(QcodeError, match="table changes: the copy differs"):
        migrate_backend.move_to_sqlite(on_server)
    assert not study.db_path.exists() and not list(study.root.glob(".qcode.db*"))
    assert Project.open(study.root).config.database == server_db
    assert digests(on_server) == before
    on_server.close()


def test_qcode_yaml_switches_database_and_keeps_every_other_line():
    from qcode.config import with_database
    from qcode.errors import ProjectError

    text = render_config(ProjectConfig(name="study")).replace(
        "speaker_pattern: null", "speaker_pattern: '^(?P<speaker>[A-Z]+):'  # ours")
    on_server = with_database(text, "postgresql://db.example.org/study")
    assert on_server.startswith(text.rstrip("\n"))
    assert on_server.endswith('database: "postgresql://db.example.org/study"\n')
    assert with_database(on_server, None) == text
    assert with_database(text + "database: null\n", "postgresql:///other").count("database:") == 1
    assert with_database("name: s\ndatabase:\n  postgresql:///s\ncoder: a\n", None) == \
        "name: s\ncoder: a\n"
    with pytest.raises(ProjectError, match="could not be rewritten"):  # a flow mapping
        with_database('{name: s, database: "postgresql:///s"}\n', None)


def test_nobody_writes_to_the_project_while_it_moves(study, server_db):
    import sqlite3

    refused = []

    def try_to_write(table: str, rows: int) -> None:
        other = sqlite3.connect(study.db_path, timeout=0.05, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            refused.append(str(exc))
        finally:
            other.close()

    moved = migrate_backend.move_to_server(study, server_db, try_to_write)
    assert len(refused) == len(moved.tables) and all("locked" in why for why in refused)

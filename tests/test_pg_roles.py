"""Coders are database roles (issue 17): on a project on a PostgreSQL server a coder adds
and changes only their own codings, memos and decisions (row-level security), and reads
but cannot change the codebook or the documents; the project lead's role can.

Needs a server (tests/pg/with-server starts one, whose user qcode is a superuser and
trusts local connections): each role connects as itself (PGUSER), never as the owner,
whom row-level security does not bind. Skipped when no server answers."""

from __future__ import annotations

import contextlib
import os

import pytest

from conftest import CODEBOOK, SAMPLE, table_counts
from qcode.errors import AccessError, NotFoundError, QcodeError, StoreError

SUFFIX = f"{os.getpid()}"


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    """A project database made by the owner (the superuser): the shipped codebook and the
    sample corpus in it, a lead and two coders (alice, bob) added with `qcode team`."""
    from conftest import _pg_unreachable

    reason = _pg_unreachable()
    if reason:
        pytest.skip(reason)
    import psycopg

    from qcode.codebook.model import load_codebook
    from qcode.codebook.sync import sync
    from qcode.ingest.importer import ImportOptions, import_paths
    from qcode.store.migrations import migrate
    from qcode.store.postgres import connect_url
    from qcode.store.team import add_member, group_roles

    name = f"qcode_roles_{SUFFIX}"
    with psycopg.connect("", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql:///{name}"
    owner = connect_url(url)
    migrate(owner)
    sync(owner, load_codebook(CODEBOOK))
    import_paths(owner, [SAMPLE], ImportOptions())
    names = {who: f"{who}_{SUFFIX}" for who in ("lead", "alice", "bob", "carol", "dave")}
    assert add_member(owner, names["lead"], lead=True) == {
        "name": names["lead"], "role": "lead", "created": True}
    add_member(owner, names["alice"])
    add_member(owner, names["bob"])
    groups = list(group_roles(owner).values())
    info = {"url": url, "owner": owner, **names}
    try:
        yield info
    finally:
        owner.close()
        with psycopg.connect("", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            for role in [*names.values(), *info.get("extra_roles", ()), *groups]:
                admin.execute(f'DROP ROLE IF EXISTS "{role}"')


@contextlib.contextmanager
def connected_as(team, who: str):
    """The project as the login role *who* ("alice", "bob", "lead") opens it."""
    from qcode.store.migrations import migrate
    from qcode.store.postgres import connect_url

    old = os.environ.get("PGUSER")
    os.environ["PGUSER"] = team[who]
    try:
        db = connect_url(team["url"], team[who])
    finally:
        if old is None:
            del os.environ["PGUSER"]
        else:
            os.environ["PGUSER"] = old
    try:
        assert db.execute("SELECT current_user").fetchone()[0] == team[who]
        assert migrate(db) == []  # a coder opens the project as it is
        yield db
    finally:
        db.close()


def memo_text(db, memo_id: int) -> str:
    return db.execute("SELECT text FROM memos WHERE id = ?", [memo_id]).fetchone()[0]


def test_a_coder_adds_changes_and_removes_their_own_work(team):
    from qcode.coding import add_coding, remove_codings
    from qcode.history import undo
    from qcode.memos import add_memo, edit_memo, remove_memo

    alice = team["alice"]
    with connected_as(team, "alice") as db:
        coding = add_coding(db, "a01-housing-perm", "distrust", coder=alice,
                            segment=2).coding_id
        memo = add_memo(db, "first thought", coder=alice, coding=coding)
        edit_memo(db, memo, "second thought", coder=alice)
        assert memo_text(db, memo) == "second thought"
        note = add_memo(db, "a document note", coder=alice, document="a02-landfill-arkhangelsk")
        remove_memo(db, note, coder=alice)
        assert remove_codings(db, [coding], coder=alice) == 1
        assert db.execute("SELECT count(*) FROM codings WHERE id = ?", [coding]).fetchone()[0] == 0
        undo(db, coder=alice)  # the removal undone: the coding (and its memo) are back
        assert db.execute("SELECT coder_id FROM codings WHERE id = ?", [coding]).fetchone()
        assert memo_text(db, memo) == "second thought"


def test_a_coder_is_named_after_the_role_she_logs_in_as(team, tmp_path, monkeypatch):
    """On a server, with no --coder, $QCODE_CODER or qcode.yaml default, the coder name is
    the login role (under any other name row-level security would refuse her writes);
    `qcode coders` names her connection so too."""
    from qcode.coding import add_coding
    from qcode.project import Project
    from qcode.store.postgres import connected

    monkeypatch.setenv("PGUSER", team["alice"])
    monkeypatch.delenv("QCODE_CODER", raising=False)
    project = Project.init(tmp_path / "alice", database=team["url"])
    assert project.attached
    assert project.coder_name() == team["alice"]
    assert project.coder_name("alias") == "alias"  # what she asks for still wins
    coding = add_coding(project.db, "a02-landfill-arkhangelsk", "distrust",
                        coder=project.coder_name(), segment=3).coding_id
    assert project.db.execute("SELECT k.name FROM codings c JOIN coders k ON k.id = "
                              "c.coder_id WHERE c.id = ?", [coding]).fetchone()[0] == team["alice"]
    (mine,) = [row for row in connected(project.db) if row["state"] == "this command"]
    assert mine["coder"] == mine["user"] == team["alice"]
    project.close()


def test_a_coder_decides_suggestions(team):
    from qcode.suggestions import accept, reject
    from qcode.store.records import now

    owner = team["owner"]
    run = owner.execute("INSERT INTO runs (kind, started) VALUES ('suggest', ?)",
                        [now()]).lastrowid
    doc, revision = owner.execute("SELECT document_id, id FROM current_revisions ORDER BY id "
                                  "LIMIT 1").fetchone()
    from qcode.codes import resolve_code

    code = resolve_code(owner, "distrust")["id"]
    ids = [owner.execute(
        "INSERT INTO suggestions (run_id, document_id, revision_id, start, \"end\", code_id, "
        "score, suggester, created) VALUES (?, ?, ?, ?, ?, ?, 0.9, 'rules', ?)",
        [run, doc, revision, start, start + 5, code, now()]).lastrowid for start in (0, 10)]
    with connected_as(team, "alice") as db:
        coding = accept(db, ids[0], coder=team["alice"])
        reject(db, ids[1], coder=team["alice"])
        from qcode.history import undo

        undo(db, coder=team["alice"])  # her decision undone: pending again, and hers to redo
        assert db.execute("SELECT status, decided_by FROM suggestions WHERE id = ?",
                          [ids[1]]).fetchone() == ("pending", None)
        reject(db, ids[1], coder=team["alice"])
        assert db.execute("SELECT k.name FROM codings c JOIN coders k ON k.id = c.coder_id "
                          "WHERE c.id = ?", [coding]).fetchone()[0] == team["alice"]
    with connected_as(team, "bob") as db:
        with pytest.raises(QcodeError, match="already rejected"):
            reject(db, ids[1], coder=team["bob"])
        from qcode.store import transaction

        before = table_counts(db)
        with pytest.raises(AccessError, match=f"suggestion {ids[1]} was decided by coder "
                                              f"{team['alice']}"):
            from qcode.suggestions import _decide

            with transaction(db):
                row = next(db.query("SELECT * FROM suggestions WHERE id = ?", [ids[1]]))
                _decide(db, dict(row), "accepted", 1, "b", None)
        assert table_counts(db) == before


def test_a_coder_cannot_change_another_coders_codings_or_memos(team):
    from qcode.coding import add_coding, remove_codings
    from qcode.memos import add_memo, edit_memo, remove_memo

    bob, alice = team["bob"], team["alice"]
    with connected_as(team, "bob") as db:
        coding = add_coding(db, "a01-housing-perm", "distrust", coder=bob, segment=3).coding_id
        memo = add_memo(db, "bob's reading", coder=bob, coding=coding)
    with connected_as(team, "alice") as db:
        before = table_counts(db)
        with pytest.raises(AccessError, match=f"^coding {coding} belongs to coder {bob}; "):
            remove_codings(db, [coding], coder=alice)
        with pytest.raises(AccessError, match=f"^memo {memo} belongs to coder {bob}; "):
            edit_memo(db, memo, "alice's reading", coder=alice)
        with pytest.raises(AccessError, match=f"^memo {memo} belongs to coder {bob}; "):
            remove_memo(db, memo, coder=alice)
        with pytest.raises(NotFoundError):
            remove_memo(db, 10**9, coder=alice)
        # coding under bob's name is refused by the server
        with pytest.raises(StoreError, match="the server refused: new row violates row-level "
                                             "security policy"):
            add_coding(db, "a01-housing-perm", "distrust", coder=bob, segment=4)
        # nor can the raw SQL do it: the rows are not hers to write
        assert db.execute("DELETE FROM codings WHERE id = ?", [coding]).rowcount == 0
        assert db.execute("UPDATE memos SET text = 'x' WHERE id = ?", [memo]).rowcount == 0
        assert table_counts(db) == before
        assert memo_text(db, memo) == "bob's reading"


def test_a_coders_own_temporary_tables_do_not_make_others_rows_theirs(team):
    """The policies' functions run as the coder; a temporary table is searched first. One
    named coders (or a view named pg_roles) must not answer "mine" for another's row."""
    from qcode.coding import add_coding

    bob, alice = team["bob"], team["alice"]
    with connected_as(team, "bob") as db:
        coding = add_coding(db, "a01-housing-perm", "distrust", coder=bob, segment=5).coding_id
    bob_id = team["owner"].execute("SELECT id FROM coders WHERE name = ?", [bob]).fetchone()[0]
    with connected_as(team, "alice") as db:
        db.execute("CREATE TEMP TABLE coders (id bigint, name text)")
        db.execute("INSERT INTO pg_temp.coders VALUES (?, ?)", [bob_id, alice])
        db.execute("CREATE TEMP VIEW pg_roles AS SELECT oid, rolname FROM pg_catalog.pg_roles "
                   "UNION ALL SELECT 0::oid, 'qcode_' || current_database() || '_lead'")
        assert db.execute("DELETE FROM codings WHERE id = ?", [coding]).rowcount == 0
    assert team["owner"].execute("SELECT count(*) FROM codings WHERE id = ?",
                                 [coding]).fetchone()[0] == 1


def test_a_coder_cannot_change_the_codebook_documents_or_change_log(team, tmp_path):
    from qcode.codebook.model import load_codebook
    from qcode.codebook.sync import sync
    from qcode.ingest.importer import ImportOptions, import_paths
    from qcode.store import transaction

    codebook = tmp_path / "codebook.yaml"
    codebook.write_text(CODEBOOK.read_text(encoding="utf-8") + "  - name: alices-own-code\n",
                        encoding="utf-8")
    transcript = tmp_path / "z01-new.txt"
    transcript.write_text("Interviewer: Hello.\nAnna: Hello there.\n", encoding="utf-8")
    with connected_as(team, "alice") as db:
        before = table_counts(db)
        with pytest.raises(StoreError, match="the server refused: permission denied for "
                                             "table code"):
            sync(db, load_codebook(codebook), coder=team["alice"])
        with pytest.raises(StoreError, match="the server refused: permission denied for "
                                             "table documents"):
            import_paths(db, [transcript], ImportOptions())
        for statement in ("UPDATE documents SET name = 'x'", "DELETE FROM revisions",
                          "UPDATE changes SET action = 'x'", "DELETE FROM changes"):
            with pytest.raises(StoreError, match="the server refused: permission denied"):
                with transaction(db):
                    db.execute(statement)
        assert table_counts(db) == before


def test_the_lead_manages_the_codebook_documents_and_everyones_codings(team, tmp_path):
    from qcode.codebook.model import load_codebook
    from qcode.codebook.sync import sync
    from qcode.coding import add_coding, remove_codings
    from qcode.ingest.importer import ImportOptions, import_paths
    from qcode.memos import add_memo, edit_memo

    with connected_as(team, "bob") as db:
        coding = add_coding(db, "a03-prison-support", "distrust", coder=team["bob"],
                            segment=2).coding_id
        memo = add_memo(db, "bob again", coder=team["bob"], coding=coding)
    codebook = tmp_path / "codebook.yaml"
    codebook.write_text(CODEBOOK.read_text(encoding="utf-8") + "  - name: leads-code\n",
                        encoding="utf-8")
    transcript = tmp_path / "z02-lead.txt"
    transcript.write_text("Interviewer: Hello.\nAnna: Hello there.\n", encoding="utf-8")
    lead = team["lead"]
    with connected_as(team, "lead") as db:
        sync(db, load_codebook(codebook), coder=lead)
        assert db.execute("SELECT count(*) FROM codes WHERE path = 'leads-code'").fetchone()[0]
        assert [r.status for r in import_paths(db, [transcript], ImportOptions())] == [
            "imported"]
        edit_memo(db, memo, "the lead's correction", coder=lead)
        assert memo_text(db, memo) == "the lead's correction"
        assert remove_codings(db, [coding], coder=lead) == 1


def test_the_team_is_listed_and_managed_by_the_owner_only(team):
    from qcode.store.connection import connect
    from qcode.store.team import add_member, list_team, remove_member

    team_list = {m["name"]: m["role"] for m in list_team(team["owner"])}
    assert team_list == {team["lead"]: "lead", team["alice"]: "coder", team["bob"]: "coder"}
    assert list_team(team["owner"])[0]["role"] == "lead"
    with connected_as(team, "lead") as db:
        with pytest.raises(StoreError, match="only the project's owner"):
            add_member(db, "mallory")
    with pytest.raises(StoreError, match="superuser"):
        add_member(team["owner"], "qcode")
    with pytest.raises(NotFoundError):
        remove_member(team["owner"], "nobody_at_all")
    sqlite = connect(":memory:")
    with pytest.raises(StoreError, match="for a project on a PostgreSQL server"):
        list_team(sqlite)


def test_qcode_team_on_the_command_line(team, runner, tmp_path):
    """The owner's project folder joins the database; `qcode team add` makes carol a new
    role and coder, `qcode team list` shows her."""
    import json

    from qcode.cli.app import app
    from qcode.project import Project

    root = tmp_path / "owner"
    Project.init(root, database=team["url"], coder="qcode").close()
    carol = team["carol"]
    added = runner.invoke(app, ["--project", str(root), "team", "add", carol])
    assert added.exit_code == 0, added.output
    assert f"{carol} is now a coder of this project (a new role on the server)." in added.stderr
    assert added.stdout == ""
    listed = runner.invoke(app, ["--project", str(root), "team", "list", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    assert {"name": carol, "role": "coder", "login": True, "codings": 0} in json.loads(
        listed.stdout)
    again = runner.invoke(app, ["--project", str(root), "team", "add", carol, "--lead"])
    assert again.exit_code == 0 and "is now a lead" in again.stderr
    removed = runner.invoke(app, ["--project", str(root), "team", "remove", carol])
    assert removed.exit_code == 0, removed.output
    listed = runner.invoke(app, ["--project", str(root), "team", "list", "--format", "json"])
    assert carol not in {member["name"] for member in json.loads(listed.stdout)}


def test_qcode_team_refuses_a_sqlite_project(runner, tmp_path):
    from qcode.cli.app import app
    from qcode.config import ProjectConfig, render_config

    root = tmp_path / "solo"
    root.mkdir()
    (root / "codebook.yaml").write_text("name: t\ncodes: []\n", encoding="utf-8")
    (root / "qcode.yaml").write_text(render_config(ProjectConfig(name="solo")), encoding="utf-8")
    for args in (["team", "list"], ["team", "add", "anna"]):
        result = runner.invoke(app, ["--project", str(root), *args])
        assert result.exit_code == 1
        assert result.stderr.strip().splitlines() == [
            "Error: qcode team is for a project on a PostgreSQL server, whose coders are "
            "database roles; a SQLite project is one file, with no roles (move it with "
            "`qcode migrate --to postgresql://HOST/DB`)"]


def test_a_coder_joins_and_codes_from_the_command_line(team, runner, tmp_path, monkeypatch):
    """dave, a login role outside the team, is refused in one line; once the owner adds
    him he joins with qcode init, codes, and is told (exit 1) that bob's coding is not his."""
    import psycopg

    from qcode.cli.app import app
    from qcode.coding import add_coding

    dave, bob = team["dave"], team["bob"]
    with psycopg.connect("", autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{dave}" LOGIN')
    with connected_as(team, "bob") as db:
        bobs = add_coding(db, "a04-park-kazan", "distrust", coder=bob, segment=2).coding_id
    monkeypatch.setenv("PGUSER", dave)
    root = tmp_path / "dave"
    args = ["init", str(root), "--database", team["url"], "--coder", dave]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 1
    assert refused.stderr.strip().splitlines() == [
        f"Error: your database role {dave!r} is not in this project's team; its owner adds "
        f"you with `qcode team add {dave}`"]
    from qcode.store.team import add_member

    add_member(team["owner"], dave)
    joined = runner.invoke(app, args)
    assert joined.exit_code == 0, joined.output
    assert "Joined the shared project" in joined.stderr
    run = ["--project", str(root)]
    tagged = runner.invoke(app, [*run, "tag", "add", "a04-park-kazan", "--segment", "3",
                                 "--code", "distrust"])
    assert tagged.exit_code == 0, tagged.output
    before = table_counts(team["owner"])
    other = runner.invoke(app, [*run, "tag", "rm", str(bobs)])
    assert other.exit_code == 1
    assert other.stderr.strip().splitlines() == [
        f"Error: coding {bobs} belongs to coder {bob}; only they or the project lead can "
        "change it"]
    assert table_counts(team["owner"]) == before


def test_a_coder_runs_suggestions_and_reviews_them(team, tmp_path, monkeypatch):
    """A suggestion run (its run, suggestions and progress rows) is a coder's to make."""
    from qcode.nlp.run import SuggestOptions, run_suggestions
    from qcode.project import Project
    from qcode.suggestions import accept

    alice = team["alice"]
    monkeypatch.setenv("PGUSER", alice)
    project = Project.init(tmp_path / "alice", database=team["url"], coder=alice)
    try:
        result = run_suggestions(project, SuggestOptions(using=("rules",), coder=alice))
        assert result.suggestions > 10
        db = project.db
        first = db.execute("SELECT id FROM suggestions WHERE run_id = ? AND status = "
                           "'pending' ORDER BY id LIMIT 1", [result.run_id]).fetchone()[0]
        coding = accept(db, first, coder=alice)
        assert db.execute("SELECT k.name FROM runs r JOIN coders k ON k.id = r.coder_id "
                          "WHERE r.id = ?", [result.run_id]).fetchone()[0] == alice
        assert db.execute("SELECT coding_id FROM suggestions WHERE id = ?",
                          [first]).fetchone()[0] == coding
    finally:
        project.close()


ROLE_WORKER = """
import random, sys, time
from qcode.coding import add_coding, remove_codings
from qcode.errors import AccessError, QcodeError
from qcode.store.postgres import connect_url
from qcode.suggestions import accept

url, role, start, ids, other = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4], \\
    int(sys.argv[5])
db = connect_url(url, role)  # as the login role PGUSER names: row-level security binds it
ids = [int(i) for i in ids.split(",")]
random.Random(role).shuffle(ids)
time.sleep(max(0.0, start - time.time()))  # all coders start together
accepted = refused = 0
for n, suggestion in enumerate(ids):
    try:  # every coder tries every suggestion: each may be accepted once only
        accept(db, suggestion, coder=role)
        accepted += 1
    except QcodeError:
        pass
    if n % 5 == 0:
        add_coding(db, "a03-prison-support", "distrust", coder=role, segment=n // 5 + 1)
    if n % 9 == 0:
        try:  # another coder's coding: refused, whatever the others are doing
            remove_codings(db, [other], coder=role)
        except AccessError:
            refused += 1
print(accepted, refused)
"""


def test_a_coder_prunes_superseded_models_but_not_the_teams_current_ones(team):
    """Training prunes models older than the last KEEP_MODELS; a coder's DELETE reaches
    only those, so nobody removes the model the team's suggestions come from. A lead
    may remove any; no coder changes one."""
    from qcode.store import transaction
    from qcode.store.migrations import KEEP_MODELS
    from qcode.store.records import now

    owner = team["owner"]
    ids = [owner.execute("INSERT INTO models (created, coder, data_sha256, meta, data) VALUES "
                         "(?, NULL, 'x', '{}', ?)", [now(), b"not a model"]).lastrowid
           for _ in range(KEEP_MODELS + 2)]
    marks = ",".join(map(str, ids))
    try:
        with connected_as(team, "alice") as db:
            assert db.execute(f"DELETE FROM models WHERE id IN ({marks})").rowcount == 2
            with pytest.raises(StoreError, match="the server refused: permission denied for "
                                                 "table models"):
                with transaction(db):
                    db.execute(f"UPDATE models SET meta = '[]' WHERE id IN ({marks})")
        assert [row[0] for row in owner.execute(
            f"SELECT id FROM models WHERE id IN ({marks}) ORDER BY id")] == ids[2:]
        with connected_as(team, "lead") as db:
            assert db.execute(f"DELETE FROM models WHERE id = {ids[-1]}").rowcount == 1
    finally:
        owner.execute(f"DELETE FROM models WHERE id IN ({marks})")


def test_a_coder_cannot_set_id_sequences_but_undoes_a_removal(team):
    """An id sequence set back would hand out removed rows' ids again, and the change log's
    entries about those rows would name someone's new one: a coder cannot set one (undo
    puts a row back under its old id without it), and undo never sets one back."""
    from qcode.coding import add_coding, remove_codings
    from qcode.history import undo
    from qcode.store import transaction

    alice = team["alice"]
    with connected_as(team, "alice") as db:
        old = add_coding(db, "a02-landfill-arkhangelsk", "distrust", coder=alice,
                         segment=2).coding_id
        newest = add_coding(db, "a02-landfill-arkhangelsk", "distrust", coder=alice,
                            segment=3).coding_id
        remove_codings(db, [newest], coder=alice)
        remove_codings(db, [old], coder=alice)
        undo(db, coder=alice)  # old is back under its id while the highest one is gone...
        assert db.execute("SELECT max(id) FROM codings").fetchone()[0] == old
        added = add_coding(db, "a02-landfill-arkhangelsk", "distrust", coder=alice,
                           segment=4).coding_id
        assert added > newest  # ...and its id is not handed out again
        with pytest.raises(StoreError, match="the server refused: permission denied for "
                                             "sequence codings_id_seq"):
            with transaction(db):
                db.execute("SELECT setval(pg_get_serial_sequence('codings', 'id'), 1)")
        remove_codings(db, [old, added], coder=alice)


def test_only_the_owner_upgrades_the_projects_schema(team):
    """A coder whose qcode is newer than the project's schema is told who may upgrade it
    (not "must be owner of table models"); the owner's opening upgrades it for everyone."""
    from qcode.store.migrations import MIGRATIONS, migrate, schema_version

    owner = team["owner"]
    for policy in ("read", "add", "remove"):  # the project as migration 8 found it
        owner.execute(f"DROP POLICY qcode_{policy} ON models")
    owner.execute("ALTER TABLE models DISABLE ROW LEVEL SECURITY")
    owner.execute("UPDATE qcode_schema SET version = 7")
    with pytest.raises(StoreError, match=f"^this project on the server has schema 7 and "
                                         f"this qcode needs "
                                         f"{len(MIGRATIONS)}; only its owner .* may upgrade"):
        with connected_as(team, "alice"):
            pass
    assert schema_version(owner) == 7
    assert migrate(owner) == [m.__name__ for m in MIGRATIONS[7:]]
    with connected_as(team, "alice") as db:
        assert schema_version(db) == len(MIGRATIONS)


def test_anyone_backs_up_but_only_the_owner_restores(team, tmp_path):
    """A backup is a read (anyone in the team may take one); a restore replaces the whole
    team's work, so the lead is refused it, with nothing changed and nothing taken."""
    from qcode.store.backup import backup, check_backup, list_backups, restore

    before = table_counts(team["owner"])
    for who in ("alice", "lead"):
        with connected_as(team, who) as db:
            db.home = tmp_path / who
            path = backup(db)
            assert check_backup(path) >= 8
            with pytest.raises(StoreError, match="only the project's owner .* may restore"):
                restore(db, path)
            assert [b.path for b in list_backups(db)] == [path]  # no automatic one
    assert table_counts(team["owner"]) == before


def test_only_the_owner_anonymizes_a_shared_project(team):
    from qcode.anonymize import apply

    before = table_counts(team["owner"])
    with connected_as(team, "lead") as db:
        with pytest.raises(QcodeError, match="only the project's owner .* may apply it; you are"):
            apply(db, {"Marina": "Person 1"}, coder=team["lead"])
    assert table_counts(team["owner"]) == before


def test_the_lead_merges_a_copy_coded_offline_and_a_coder_may_not(team, tmp_path):
    """A copy of the shared project taken onto a laptop (its backup: a SQLite project) and
    coded there comes back through `qcode merge`: the lead's (it adds other coders' work),
    refused to a coder with nothing changed."""
    from qcode.coding import add_coding
    from qcode.merge import merge
    from qcode.project import Project
    from qcode.store.backup import backup

    offline = f"offline_{SUFFIX}"
    copy_root = tmp_path / "laptop"
    copy_root.mkdir()
    (copy_root / "codebook.yaml").write_text(CODEBOOK.read_text("utf-8"), "utf-8")
    (copy_root / "qcode.yaml").write_text("name: laptop\ncodebook: codebook.yaml\n",
                                          "utf-8")
    with connected_as(team, "lead") as db:
        db.home = tmp_path / "lead"
        backup(db, copy_root / "qcode.db")
    laptop = Project.open(copy_root)
    add_coding(laptop.db, "a03-prison-support", "distrust", coder=offline, segment=3)
    laptop.close()
    before = table_counts(team["owner"])
    with connected_as(team, "bob") as db:
        with pytest.raises(QcodeError, match="for the project's lead or its owner"):
            merge(db, copy_root, codebook_path=copy_root / "codebook.yaml", coder=team["bob"])
    assert table_counts(team["owner"]) == before
    with connected_as(team, "lead") as db:
        db.home = tmp_path / "lead"
        result = merge(db, copy_root, codebook_path=copy_root / "codebook.yaml",
                       coder=team["lead"])
        assert result.codings == 1 and result.coders == [offline]
        assert result.backup is not None and result.backup.exists()
        again = merge(db, copy_root, codebook_path=copy_root / "codebook.yaml",
                      coder=team["lead"])
        assert again.codings == 0
    assert team["owner"].execute("SELECT count(*) FROM codings c JOIN coders k ON "
                                 "k.id = c.coder_id WHERE k.name = ?", [offline]
                                 ).fetchone()[0] == 1


@pytest.mark.parametrize("workers", [4, 8])
def test_coders_logged_in_as_themselves_code_and_decide_at_once(team, workers):
    """4 and 8 coder processes, each its own login role under row-level security, accept
    the same suggestions and code at once: each suggestion accepted once, every coding
    kept under its coder's name, no error shown, and nobody removes another's coding."""
    import subprocess
    import sys
    import time

    from qcode.codes import resolve_code
    from qcode.coding import add_coding
    from qcode.store.records import now
    from qcode.store.team import add_member

    owner = team["owner"]
    roles = [f"w{k}_{workers}_{SUFFIX}" for k in range(workers)]
    for role in roles:
        add_member(owner, role)
    team.setdefault("extra_roles", []).extend(roles)
    kept = add_coding(owner, "a01-housing-perm", "trust", coder=team["lead"],
                      segment=1).coding_id
    run = owner.execute("INSERT INTO runs (kind, started) VALUES ('suggest', ?)",
                        [now()]).lastrowid
    doc, revision = owner.execute("SELECT r.document_id, r.id FROM current_revisions r JOIN "
                                  "documents d ON d.id = r.document_id WHERE d.name = "
                                  "'a02-landfill-arkhangelsk'").fetchone()
    code = resolve_code(owner, "appeals")["id"]
    ids = [owner.execute(
        "INSERT INTO suggestions (run_id, document_id, revision_id, start, \"end\", code_id, "
        "score, suggester, created) VALUES (?, ?, ?, ?, ?, ?, 0.9, 'rules', ?)",
        [run, doc, revision, 7 * n, 7 * n + 5, code, now()]).lastrowid for n in range(30)]
    start = time.time() + 3
    procs = [subprocess.Popen(
        [sys.executable, "-c", ROLE_WORKER, team["url"], role, str(start),
         ",".join(map(str, ids)), str(kept)],
        env={**os.environ, "PGUSER": role}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True) for role in roles]
    outputs = [p.communicate(timeout=300) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert err == ""
    counts = [tuple(map(int, out.split())) for out, _ in outputs]
    assert sum(accepted for accepted, _ in counts) == len(ids)
    assert all(refused == len(range(0, len(ids), 9)) for _, refused in counts)
    marks = ",".join(map(str, ids))
    assert owner.execute(f"SELECT count(*), count(DISTINCT coding_id) FROM suggestions WHERE "
                         f"id IN ({marks}) AND status = 'accepted'").fetchone() == \
        (len(ids), len(ids))
    # each accepted suggestion's coding belongs to the coder who decided it
    assert owner.execute(f"SELECT count(*) FROM suggestions s JOIN codings c ON c.id = "
                         f"s.coding_id JOIN coders k ON k.id = c.coder_id WHERE s.id IN "
                         f"({marks}) AND k.id = s.decided_by").fetchone()[0] == len(ids)
    for role in roles:
        assert owner.execute("SELECT count(*) FROM codings c JOIN coders k ON k.id = "
                             "c.coder_id WHERE k.name = ? AND c.origin = 'manual'",
                             [role]).fetchone()[0] == len(range(0, len(ids), 5))
    assert owner.execute("SELECT count(*) FROM codings WHERE id = ?", [kept]).fetchone()[0] == 1

"""Encryption at rest (qcode init --encrypt): SQLCipher databases and backups, keys from
a key file or a prompt, never from argv or the environment. The whole suite can also be
run on encrypted projects: pytest --encrypted."""

import os
import shutil
import sys

import pytest

from conftest import CODEBOOK, SAMPLE
from qcode.codebook.model import load_codebook
from qcode.codebook.sync import sync
from qcode.errors import ProjectError, QcodeError, StoreError
from qcode.ingest.importer import ImportOptions, import_paths
from qcode.project import Project
from qcode.store.keys import is_encrypted, new_key_file, read_key_file

pytest.importorskip("sqlcipher3", reason="qcode[crypto] (sqlcipher3) is not installed")

NAME = b"Galina Petrovna"  # in the sample transcripts


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "keys" / "study.key"
    new_key_file(path)
    return path


@pytest.fixture
def encrypted(tmp_path, key_file):
    project = Project.init(tmp_path / "study", key=read_key_file(key_file), key_file=key_file)
    project.codebook_path.write_text(CODEBOOK.read_text("utf-8"), "utf-8")
    sync(project.db, load_codebook(project.codebook_path))
    import_paths(project.db, [SAMPLE], ImportOptions())
    yield project
    project.close()


def _bytes_on_disk(folder) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
                    and p.suffix != ".yaml")


def test_nothing_of_the_transcripts_is_on_disk_in_the_clear(encrypted, key_file):
    from qcode.store.backup import backup

    assert is_encrypted(encrypted.db_path)
    secret = read_key_file(key_file).secret
    assert len(secret) == 64 and oct(key_file.stat().st_mode)[-3:] == "600"
    backup(encrypted.db)
    encrypted.db.execute("PRAGMA wal_checkpoint(PASSIVE)")
    on_disk = _bytes_on_disk(encrypted.root)  # database, WAL, backups/
    assert list((encrypted.root / "backups").glob("*.db"))
    assert NAME not in on_disk and b"SQLite format 3" not in on_disk
    # the key itself is nowhere in the project: qcode.yaml names the file only
    assert secret not in (encrypted.root / "qcode.yaml").read_text("utf-8")
    assert secret.encode() not in on_disk
    assert encrypted.db.execute("SELECT count(*) FROM documents").fetchone()[0] == 8


def test_a_wrong_or_missing_key_is_a_clear_error(encrypted, tmp_path):
    encrypted.close()
    other = tmp_path / "other.key"
    new_key_file(other)
    project = Project.open(encrypted.root)
    project.key_file = other
    with pytest.raises(StoreError, match="cannot decrypt the database: wrong key"):
        _ = project.db
    config = encrypted.config_path.read_text("utf-8")
    encrypted.config_path.write_text(config.replace(str(tmp_path / "keys" / "study.key"),
                                                    "null").replace('"null"', "null"))
    with pytest.raises(ProjectError, match="the project is encrypted; give its key"):
        _ = Project.open(encrypted.root).db
    asked = Project.open(encrypted.root)
    asked.ask_key = lambda prompt: "not the passphrase"
    with pytest.raises(StoreError, match="wrong key"):
        _ = asked.db


def test_a_key_file_others_can_read_is_refused(key_file):
    os.chmod(key_file, 0o644)
    with pytest.raises(StoreError, match="can be read by other users .* chmod 600"):
        read_key_file(key_file)


def test_a_plain_database_in_an_encrypted_project_is_not_opened(encrypted, tmp_path):
    encrypted.close()
    plain = Project.init(tmp_path / "plain", key=None)
    plain.close()
    if is_encrypted(plain.db_path):
        pytest.skip("every project is encrypted in this run (--encrypted)")
    encrypted.db_path.unlink()
    shutil.copy(plain.db_path, encrypted.db_path)
    with pytest.raises(ProjectError, match="says the project is encrypted, but this "
                                           "database is not"):
        _ = Project.open(encrypted.root).db


def test_backups_are_encrypted_and_restored_only_where_they_belong(encrypted, tmp_path):
    from qcode.store.backup import backup, restore

    copy = backup(encrypted.db)
    assert is_encrypted(copy)
    encrypted.db.execute("DELETE FROM documents")
    restore(encrypted.db, copy)
    assert encrypted.db.execute("SELECT count(*) FROM documents").fetchone()[0] == 8
    import sqlite3

    clear = tmp_path / "clear.db"
    with sqlite3.connect(clear) as conn:
        conn.execute("CREATE TABLE documents (id)")
    with pytest.raises(StoreError, match="not encrypted, and this project is"):
        restore(encrypted.db, clear)
    plain = Project.init(tmp_path / "plain", key=None)
    if plain.db.key is None:
        with pytest.raises(StoreError, match="encrypted .* cannot be restored here"):
            restore(plain.db, copy)
    plain.close()


def test_the_cli_takes_the_key_file_and_says_what_is_not_encrypted(runner, encrypted,
                                                                    key_file, tmp_path):
    from qcode.cli.app import app

    encrypted.close()
    moved = tmp_path / "elsewhere.key"
    shutil.move(key_file, moved)  # qcode.yaml's key file is gone: --key-file gives it
    root = str(encrypted.root)
    missing = runner.invoke(app, ["-P", root, "doctor"])
    assert missing.exit_code == 1 and "cannot read the key file" in missing.stderr
    doctor = runner.invoke(app, ["-P", root, "--key-file", str(moved), "doctor"])
    assert doctor.exit_code == 0, doctor.stderr
    saved = runner.invoke(app, ["-P", root, "--key-file", str(moved), "backup"])
    assert "encrypted with the project's key" in saved.stderr
    export = runner.invoke(app, ["-P", root, "--key-file", str(moved), "export", "project",
                                 str(tmp_path / "out.qdpx")])
    assert export.exit_code == 0 and "not encrypted" in export.stderr
    # no option takes the key itself
    assert "--key " not in runner.invoke(app, ["init", "--help"]).stdout


def test_init_encrypt_creates_the_key_file_and_refuses_without_a_key(runner, tmp_path):
    from qcode.cli.app import app

    key = tmp_path / "k" / "new.key"
    made = runner.invoke(app, ["init", str(tmp_path / "s"), "--encrypt", "--key-file",
                               str(key)])
    assert made.exit_code == 0, made.stderr
    assert "(encrypted)" in made.stderr and "keep a copy somewhere safe" in made.stderr
    assert read_key_file(key).raw and is_encrypted(tmp_path / "s" / "qcode.db")
    again = runner.invoke(app, ["-P", str(tmp_path / "s"), "path"])
    assert again.exit_code == 0
    no_key = runner.invoke(app, ["init", str(tmp_path / "t"), "--encrypt"])
    assert no_key.exit_code == 1 and "--encrypt needs --key-file" in no_key.stderr
    assert not (tmp_path / "t").exists()


def test_without_sqlcipher_init_encrypt_says_what_to_install(monkeypatch, tmp_path, key_file):
    monkeypatch.setitem(sys.modules, "sqlcipher3", None)
    with pytest.raises(QcodeError, match=r"pip install 'qcode\[crypto\]'"):
        Project.init(tmp_path / "x", key=read_key_file(key_file), key_file=key_file)
    assert not (tmp_path / "x").exists()


def test_a_team_merges_encrypted_copies(encrypted, tmp_path):
    from qcode.coding import add_coding
    from qcode.merge import merge

    encrypted.close()
    shutil.copytree(encrypted.root, tmp_path / "anna")
    anna = Project.open(tmp_path / "anna")
    add_coding(anna.db, "a01-housing-perm", "trust", coder="anna", segment=2)
    anna.close()
    lead = Project.open(encrypted.root)
    result = merge(lead.db, tmp_path / "anna", codebook_path=lead.codebook_path, coder="lead")
    assert result.conflicts == [] and result.codings == 1 and result.coders == ["anna"]
    plain = Project.init(tmp_path / "plain", key=None)
    if plain.db.key is None:
        with pytest.raises(QcodeError, match="it is encrypted"):
            merge(plain.db, tmp_path / "anna", codebook_path=plain.codebook_path,
                  coder="lead")
    plain.close()
    lead.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses a pseudo-terminal")
def test_a_passphrase_is_asked_for_at_the_terminal_and_never_echoed(tmp_path):
    import pty
    import select

    def run(args, answers):
        pid, fd = pty.fork()
        if pid == 0:  # the child: qcode on a terminal
            os.chdir(tmp_path)
            os.execv(sys.executable, [sys.executable, "-m", "qcode", *args])
        out, answers = b"", list(answers)
        while select.select([fd], [], [], 30)[0]:
            try:
                data = os.read(fd, 1024)
            except OSError:
                break
            if not data:
                break
            out += data
            if data.rstrip().endswith(b":") and answers:
                os.write(fd, answers.pop(0).encode() + b"\n")
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status), out.decode()

    passphrase = "correct horse battery staple"
    code, out = run(["init", "s", "--encrypt"], [passphrase, passphrase])
    assert code == 0 and "(encrypted)" in out and passphrase not in out
    assert "key_file: null" in (tmp_path / "s" / "qcode.yaml").read_text("utf-8")
    code, out = run(["-P", "s", "doctor"], [passphrase])
    assert code == 0 and "all checks passed" in out and passphrase not in out
    code, out = run(["-P", "s", "doctor"], ["another passphrase"])
    assert code == 1 and "wrong key or passphrase" in out
    code, out = run(["init", "t", "--encrypt"], ["short", "short"])
    assert code == 1 and "shorter than 12 characters" in out


def test_an_existing_project_is_encrypted_in_place_with_everything_in_it(sample_project,
                                                                         key_file, runner):
    from conftest import table_counts
    from qcode.cli.app import app
    from qcode.store.backup import backup

    if sample_project.encrypted:
        pytest.skip("every project is encrypted in this run (--encrypted)")
    old = backup(sample_project.db)
    before = table_counts(sample_project.db)
    import subprocess

    # another process has the project open (a process: SQLite's locks are per process)
    other = subprocess.Popen([sys.executable, "-c", "import sqlite3, sys, time; "
                              "c = sqlite3.connect(sys.argv[1]); "
                              "c.execute('SELECT count(*) FROM documents').fetchone(); "
                              "print('open', flush=True); time.sleep(60)",
                              str(sample_project.db_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline().strip() == "open"
        with pytest.raises(StoreError, match="another qcode process"):
            sample_project.encrypt(read_key_file(key_file), key_file)
    finally:
        other.kill()
        other.wait()
    assert not is_encrypted(sample_project.db_path)
    plain = sample_project.encrypt(read_key_file(key_file), key_file)
    assert plain == [old]  # reported, for the researcher to delete
    assert is_encrypted(sample_project.db_path)
    assert not (sample_project.root / "qcode.db-wal").exists()
    assert NAME not in sample_project.db_path.read_bytes()
    reopened = Project.open(sample_project.root)
    assert reopened.config.encryption.enabled and table_counts(reopened.db) == before
    assert reopened.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    reopened.close()
    again = runner.invoke(app, ["-P", str(sample_project.root), "encrypt", "--key-file",
                                str(key_file), "--yes"])
    assert again.exit_code == 1 and "already encrypted" in again.stderr


def test_a_damaged_database_is_not_called_a_wrong_key(encrypted):
    """A truncated file, or one whose first page is damaged while a backup opens with the
    same key, is reported as damage: the user must not think the key is lost."""
    from qcode.store.backup import backup

    backup(encrypted.db, reason="test")
    encrypted.close()
    data = encrypted.db_path.read_bytes()
    encrypted.db_path.write_bytes(data[:3000])  # cut short, inside its first page
    with pytest.raises(StoreError, match="damaged .* not a whole number of 4096-byte pages"):
        _ = Project.open(encrypted.root).db
    spoilt = bytearray(data)
    spoilt[100:200] = bytes(100)  # page 1 overwritten: same size, will not decrypt
    encrypted.db_path.write_bytes(bytes(spoilt))
    for name in ("-wal", "-shm"):
        encrypted.db_path.with_name(encrypted.db_path.name + name).unlink(missing_ok=True)
    with pytest.raises(StoreError, match="though this key opens its backup .* damaged, not "
                                         "the key"):
        _ = Project.open(encrypted.root).db

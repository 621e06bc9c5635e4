"""QualCoder projects: the code tree, codings with their owners, attributes, memos."""

import sqlite3

import pytest

from conftest import table_counts
from qcode.errors import InteropError
from qcode.interop.qdpx_import import import_parsed
from qcode.interop.qualcoder import read_qualcoder

# the tables QualCoder creates for a project, as documented by its project database
SCHEMA = """
CREATE TABLE project (databaseversion text, date text, memo text, about text);
CREATE TABLE source (id integer primary key, name text, fulltext text, mediapath text,
    memo text, owner text, date text, unique(name));
CREATE TABLE annotation (anid integer primary key, fid integer, pos0 integer, pos1 integer,
    memo text, owner text, date text);
CREATE TABLE attribute_type (name text primary key, date text, owner text, memo text,
    caseOrFile text, valuetype text);
CREATE TABLE attribute (attrid integer primary key, name text, attr_type text, value text,
    id integer, date text, owner text);
CREATE TABLE case_text (id integer primary key, caseid integer, fid integer, pos0 integer,
    pos1 integer, owner text, date text, memo text);
CREATE TABLE cases (caseid integer primary key, name text, memo text, owner text, date text);
CREATE TABLE code_cat (catid integer primary key, name text, owner text, date text, memo text,
    supercatid integer, unique(name));
CREATE TABLE code_text (cid integer, fid integer, seltext text, pos0 integer, pos1 integer,
    owner text, date text, memo text, avid integer, unique(cid, fid, pos0, pos1, owner));
CREATE TABLE code_name (cid integer primary key, name text, memo text, catid integer,
    owner text, date text, color text, unique(name));
CREATE TABLE journal (jid integer primary key, name text, jentry text, date text, owner text);
"""
TEXT = "Анна: Мы не доверяем чиновникам.\nБорис: Мы пишем жалобы 😀 каждый месяц.\n"


def span(phrase: str) -> tuple[int, int]:
    start = TEXT.index(phrase)
    return start, start + len(phrase)


@pytest.fixture
def qualcoder(tmp_path):
    folder = tmp_path / "study.qda"
    folder.mkdir()
    db = sqlite3.connect(folder / "data.qda")
    db.executescript(SCHEMA)
    stamp = "2024-03-01 10:00:00"
    db.execute("INSERT INTO project VALUES ('v7', ?, 'Wave 1, Perm', 'QualCoder 3.5')", [stamp])
    db.execute("INSERT INTO source VALUES (1, 'a01', ?, NULL, 'Noisy café', 'anna', ?)",
               [TEXT, stamp])
    db.execute("INSERT INTO source VALUES (2, 'photo', NULL, '/images/p.png', '', 'anna', ?)",
               [stamp])
    db.execute("INSERT INTO code_cat VALUES (1, 'trust', 'anna', ?, 'Relying on others', NULL)",
               [stamp])
    db.execute("INSERT INTO code_cat VALUES (2, 'empowerment', 'anna', ?, '', NULL)", [stamp])
    db.execute("INSERT INTO code_name VALUES (1, 'distrust', 'No reliance', 1, 'anna', ?, "
               "'#aa0000')", [stamp])
    db.execute("INSERT INTO code_name VALUES (2, 'appeals', '', 2, 'anna', ?, '#00aa00')",
               [stamp])
    for cid, phrase, owner, memo in ((1, "Мы не доверяем чиновникам.", "anna", "clear case"),
                                     (1, "Мы не доверяем чиновникам.", "boris", None),
                                     (2, "Мы пишем жалобы 😀 каждый месяц.", "boris", None)):
        start, end = span(phrase)
        db.execute("INSERT INTO code_text VALUES (?, 1, ?, ?, ?, ?, ?, ?, NULL)",
                   [cid, phrase, start, end, owner, stamp, memo])
    db.execute("INSERT INTO annotation VALUES (1, 1, 0, 4, 'Anna is the chair', 'anna', ?)",
               [stamp])
    db.execute("INSERT INTO attribute_type VALUES ('role', ?, 'anna', '', 'case', 'character')",
               [stamp])
    db.execute("INSERT INTO attribute_type VALUES ('year', ?, 'anna', '', 'file', 'numeric')",
               [stamp])
    db.execute("INSERT INTO cases VALUES (1, 'Anna', '', 'anna', ?)", [stamp])
    db.execute("INSERT INTO case_text VALUES (1, 1, 1, 0, 10, 'anna', ?, '')", [stamp])
    db.execute("INSERT INTO attribute VALUES (1, 'role', 'case', 'activist', 1, ?, 'anna')",
               [stamp])
    db.execute("INSERT INTO attribute VALUES (2, 'year', 'file', '2019', 1, ?, 'anna')", [stamp])
    db.execute("INSERT INTO journal VALUES (1, 'day 1', 'Agreed the coding rules', ?, 'anna')",
               [stamp])
    db.commit()
    db.close()
    return folder


def test_qualcoder_project_comes_over_whole(project, qualcoder):
    result = import_parsed(project.db, read_qualcoder(qualcoder), qualcoder,
                           codebook_path=project.codebook_path, coder="tester")
    assert result.codings == 3 and result.share == 1.0
    assert sorted(result.coders) == ["anna", "boris"]
    assert result.warnings == [
        "image, audio or video sources are not imported (qcode holds text only)",
        f"{qualcoder}: 'a01' is in language 'ru', not the project's default 'en': stored as "
        "'ru' (say otherwise with a `language:` attribute or --language)"]
    db = project.db
    assert db.execute("SELECT language FROM documents").fetchall() == [("ru",)]
    codings = db.execute(
        "SELECT g.path, k.name, substr(r.text, c.start + 1, c.\"end\" - c.start) FROM codings "
        "c JOIN codes g ON g.id = c.code_id JOIN coders k ON k.id = c.coder_id JOIN revisions "
        "r ON r.id = c.revision_id ORDER BY c.start, k.name").fetchall()
    assert codings == [("trust/distrust", "anna", "Мы не доверяем чиновникам."),
                       ("trust/distrust", "boris", "Мы не доверяем чиновникам."),
                       ("empowerment/appeals", "boris", "Мы пишем жалобы 😀 каждый месяц.")]
    codes = dict(db.execute("SELECT path, description || ' ' || coalesce(color, '') FROM codes"))
    assert codes["trust"] == "Relying on others " and codes["trust/distrust"] == \
        "No reliance #aa0000"
    attributes = dict(db.execute("SELECT key, value FROM attributes"))
    assert attributes == {"role": "activist", "year": "2019"}
    memos = dict(db.execute("SELECT text, target FROM memos"))
    assert memos == {"Noisy café": "document", "clear case": "coding",
                     "Anna is the chair": "document", "Agreed the coding rules": "project",
                     "Wave 1, Perm": "project"}
    # an annotation is a memo on its passage (it was on the whole document)
    assert db.execute("SELECT m.start, m.\"end\", substr(r.text, m.start + 1, 4) FROM memos "
                      "m JOIN revisions r ON r.id = m.revision_id WHERE m.text = ?",
                      ["Anna is the chair"]).fetchall() == [(0, 4, "Анна")]
    before = table_counts(db)
    again = import_parsed(db, read_qualcoder(qualcoder), qualcoder,
                          codebook_path=project.codebook_path, coder="tester")
    assert again.codings == 0 and again.memos == 0
    assert {k: v for k, v in table_counts(db).items() if k != "changes"} == \
        {k: v for k, v in before.items() if k != "changes"}


def test_not_a_qualcoder_project(tmp_path):
    with pytest.raises(InteropError, match="no data.qda"):
        read_qualcoder(tmp_path)
    (tmp_path / "data.qda").write_bytes(b"garbage" * 200)
    with pytest.raises(InteropError, match="data.qda"):
        read_qualcoder(tmp_path)


def test_cli_imports_a_qualcoder_folder(cli, project, qualcoder):
    result = cli("import", "qualcoder", str(qualcoder))
    assert result.exit_code == 0, result.stderr
    assert "3 coding(s) by 2 coder(s)" in result.stderr

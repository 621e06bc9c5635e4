"""Taguette projects: HTML to text, UTF-8 byte offsets to characters, dotted tags to a
tree; checked against Taguette's own export of a real project."""

import csv
import html
import re
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from qcode.errors import InteropError
from qcode.interop.qdpx_import import import_parsed
from qcode.interop.taguette import html_to_text, read_taguette

SERDIF = Path(__file__).parents[2] / "shared" / "fixtures" / "taguette" / "serdif"

SCHEMA = """
CREATE TABLE projects (id INTEGER PRIMARY KEY, name TEXT, description TEXT, created TEXT);
CREATE TABLE project_members (project_id INTEGER, user_login TEXT, privileges TEXT);
CREATE TABLE documents (id INTEGER PRIMARY KEY, name TEXT, description TEXT, filename TEXT,
    created TEXT, project_id INTEGER, text_direction TEXT, contents TEXT);
CREATE TABLE commands (id INTEGER PRIMARY KEY, date TEXT, user_login TEXT, project_id INTEGER,
    document_id INTEGER, payload TEXT);
CREATE TABLE tags (id INTEGER PRIMARY KEY, project_id INTEGER, path TEXT, description TEXT);
CREATE TABLE highlights (id INTEGER PRIMARY KEY, document_id INTEGER, start_offset INTEGER,
    end_offset INTEGER, snippet TEXT);
CREATE TABLE highlight_tags (highlight_id INTEGER, tag_id INTEGER);
"""
HTML = ("<p>Мы не доверяем &lt;чиновникам&gt;.</p>\n<p>Nobody listens to us.</p>"
        "<p>Then we wrote a letter.</p>")


def byte_span(markup: str, phrase: str) -> tuple[int, int]:
    """Where Taguette would put a highlight of *phrase*: UTF-8 bytes of the text."""
    text = html.unescape(re.sub(r"<[^>]+>", "", markup))
    start = text.index(phrase)
    return len(text[:start].encode()), len(text[:start + len(phrase)].encode())


@pytest.fixture
def taguette_db(tmp_path) -> Path:
    path = tmp_path / "project.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(SCHEMA)
    db.execute("INSERT INTO projects VALUES (1, 'Perm', 'Interviews in Perm, wave 1', 'x')")
    db.execute("INSERT INTO project_members VALUES (1, 'marina', 'ADMIN')")
    db.execute("INSERT INTO documents VALUES (1, 'a01.odt', 'first one', 'a01.odt', "
               "'2024-01-01 10:00:00', 1, 'LEFT_TO_RIGHT', ?)", [HTML])
    db.execute("INSERT INTO tags VALUES (1, 1, 'trust.distrust', 'No reliance on others')")
    db.execute("INSERT INTO tags VALUES (2, 1, 'trust', 'Relying on others')")
    db.execute("INSERT INTO tags VALUES (3, 1, 'empowerment.appeals', '')")
    for hid, phrase, tags in ((1, "не доверяем <чиновникам>", [1]),
                              (2, "Nobody listens to us.", [1, 2]),
                              (3, "wrote a letter", [3])):
        start, end = byte_span(HTML, phrase)
        db.execute("INSERT INTO highlights VALUES (?, 1, ?, ?, '')", [hid, start, end])
        db.executemany("INSERT INTO highlight_tags VALUES (?, ?)", [(hid, t) for t in tags])
        db.execute("INSERT INTO commands (date, user_login, project_id, payload) VALUES "
                   "('2024-01-02 09:00:00', 'boris', 1, ?)",
                   [f'{{"type": "highlight_add", "highlight_id": -{hid}}}'])
    db.commit()
    db.close()
    return path


def test_html_to_text_maps_bytes_to_characters():
    text, units, chars = html_to_text("<p>a&amp;b</p><p>ж</p>")
    assert text == "a&b\nж"
    assert list(zip(units, chars, strict=True)) == [(0, 0), (1, 1), (2, 2), (3, 3), (3, 4),
                                                    (5, 5)]


def test_import_converts_offsets_builds_the_tree_and_names_the_coder(project, taguette_db):
    parsed = read_taguette(taguette_db)
    result = import_parsed(project.db, parsed, taguette_db, codebook_path=project.codebook_path,
                           coder="tester")
    assert result.codings == 4 and result.share == 1.0 and result.coders == ["boris"]
    rows = project.db.execute(
        "SELECT g.path, substr(r.text, c.start + 1, c.\"end\" - c.start), k.name, c.created "
        "FROM codings c JOIN codes g ON g.id = c.code_id JOIN revisions r ON "
        "r.id = c.revision_id JOIN coders k ON k.id = c.coder_id ORDER BY c.start, g.path"
    ).fetchall()
    assert [r[:2] for r in rows] == [("trust/distrust", "не доверяем <чиновникам>"),
                                     ("trust", "Nobody listens to us."),
                                     ("trust/distrust", "Nobody listens to us."),
                                     ("empowerment/appeals", "wrote a letter")]
    assert {r[2] for r in rows} == {"boris"} and rows[0][3] == "2024-01-02T09:00:00"
    descriptions = dict(project.db.execute("SELECT path, description FROM codes"))
    assert descriptions["trust"] == "Relying on others"
    assert descriptions["trust/distrust"] == "No reliance on others"
    memos = {r[0] for r in project.db.execute("SELECT text FROM memos")}
    assert memos == {"Interviews in Perm, wave 1", "first one"}


def test_several_projects_need_a_choice_and_bad_files_are_refused(taguette_db, tmp_path):
    db = sqlite3.connect(taguette_db)
    db.execute("INSERT INTO projects VALUES (2, 'Kazan', '', 'x')")
    db.commit()
    db.close()
    with pytest.raises(InteropError, match="choose one Taguette project.*1: 'Perm'"):
        read_taguette(taguette_db)
    assert read_taguette(taguette_db, "Perm").sources[0].name == "a01.odt"
    with pytest.raises(InteropError, match="no Taguette project 'Omsk'"):
        read_taguette(taguette_db, "Omsk")
    other = tmp_path / "other.sqlite3"
    sqlite3.connect(other).execute("CREATE TABLE x (a)").connection.commit()
    with pytest.raises(InteropError, match="not a Taguette database"):
        read_taguette(other)
    (tmp_path / "junk.sqlite3").write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(InteropError, match="junk.sqlite3"):
        read_taguette(tmp_path / "junk.sqlite3")


@pytest.mark.skipif(not SERDIF.exists(), reason="needs ../shared/fixtures/taguette")
def test_real_taguette_project_matches_taguettes_own_export(project):
    path = SERDIF / "SERDIF_P2_ThematicAnalysis.sqlite3"
    result = import_parsed(project.db, read_taguette(path), path,
                           codebook_path=project.codebook_path, coder="tester")
    assert len(result.sources) == 17 and len(result.codes_added) == 22
    assert result.codings == 1930  # 1,794 highlights, some with two tags
    assert result.share == 1.0
    ours = Counter()
    for doc, tag, text in project.db.execute(
            "SELECT d.name, g.path, substr(r.text, c.start + 1, c.\"end\" - c.start) FROM "
            "codings c JOIN documents d ON d.id = c.document_id JOIN revisions r ON "
            "r.id = c.revision_id JOIN codes g ON g.id = c.code_id"):
        ours[(doc, tag, " ".join(text.split()))] += 1
    theirs = Counter()
    with open(SERDIF / "all_tags_20220303.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            text = html.unescape(re.sub(r"<[^>]+>", " ", row["content"]))
            theirs[(row["document"], row["tag"], " ".join(text.split()))] += 1
    assert ours == theirs

import json
from pathlib import Path

import pytest

from conftest import CODEBOOK, table_counts, write
from qcode.codebook.model import codebook_from_text, load_codebook
from qcode.codebook.sync import sync
from qcode.errors import CodebookError, InputError
from qcode.store import transaction
from qcode.store.records import coder_id, now

BAD = Path(__file__).parent / "fixtures" / "bad"

V1 = """\
name: test
codes:
  - name: trust
    key: t
    codes:
      - name: interpersonal
        description: known people
      - name: network
  - name: loyalty
"""


def codes(db, status=None):
    sql = "SELECT path, status FROM codes" + (" WHERE status = ?" if status else "")
    return dict(db.execute(sql, [status] if status else []).fetchall())


def add_coding(db, code_path, start=0, end=5, coder="a"):
    with transaction(db):
        if not db.execute("SELECT 1 FROM documents").fetchone():
            db.execute("INSERT INTO documents (name, format, created) VALUES ('d', 'txt', 'x')")
            db.execute("INSERT INTO revisions (document_id, number, text, sha256, created) "
                       "VALUES (1, 1, 'hello world, again', 'x', 'x')")
        code = db.execute("SELECT id FROM codes WHERE path = ? AND status = 'active'",
                          [code_path]).fetchone()[0]
        db.execute("INSERT INTO codings (document_id, revision_id, start, \"end\", code_id, "
                   "coder_id, created) VALUES (1, 1, ?, ?, ?, ?, ?)",
                   [start, end, code, coder_id(db, coder), now()])


def test_the_shipped_codebook_is_complete():
    codebook = load_codebook(CODEBOOK)
    top = [c for c in codebook.active if c.parent is None]
    leaves = [c for c in codebook.active if c.parent is not None]
    assert [c.path for c in top] == ["trust", "empowerment", "loyalty"]
    assert len(leaves) >= 12
    for code in leaves:
        spec = code.spec
        assert spec.description and spec.include and spec.exclude, code.path
        assert len(spec.examples) >= 2 and spec.patterns, code.path
        assert spec.key and spec.color, code.path


def test_shipped_codebook_does_not_copy_the_seed_studies():
    seeds = Path(__file__).resolve().parents[2] / "shared" / "seeds"
    if not seeds.is_dir():
        pytest.skip("shared/seeds is not available")
    corpus = " ".join(p.read_text(errors="ignore") for p in seeds.glob("*.txt"))
    corpus = " ".join(corpus.split())
    text = " ".join(CODEBOOK.read_text().split())
    words = text.split()
    # no run of 12 consecutive words from the codebook appears in the seeds
    for i in range(len(words) - 12):
        assert " ".join(words[i:i + 12]) not in corpus


@pytest.mark.parametrize("file, message", [
    ("codebook-typo.yaml", r"codebook-typo.yaml:4: unknown field 'colour' in code 'trust' — "
     r"did you mean 'color'\?"),
    ("codebook-dup-key.yaml", r":6: key of code 'b': shortcut 'k' is also used by 'a'"),
    ("codebook-slash.yaml", r":3: the code name 'a/b': a code name cannot contain '/'"),
    ("codebook-control.yaml", "control characters"),
    ("codebook-python-tag.yaml", r":1: YAML tags"),
])
def test_invalid_codebooks_name_file_line_and_yaml_path(file, message):
    with pytest.raises(InputError, match=message):  # CodebookError is an InputError
        load_codebook(BAD / file)


def test_unknown_reference_suggests_the_closest_code():
    with pytest.raises(CodebookError, match="did you mean 'trust'"):
        codebook_from_text(V1 + "  - name: distrust\n    negated: trsut\n")


def test_code_names_with_quotes_and_sql_are_stored_verbatim(project):
    sync(project.db, load_codebook(BAD / "codebook-sql-quotes.yaml"))
    assert set(codes(project.db)) == {"Robert'); DROP TABLE codes;--", 'say "hi"'}


def test_sync_adds_then_is_idempotent(project):
    result = sync(project.db, codebook_from_text(V1))
    assert result.counts() == {"add": 4}
    assert sync(project.db, codebook_from_text(V1)).changes == []
    versions = project.db.execute("SELECT count(*) FROM codebook_versions").fetchone()[0]
    assert versions == 1


def test_dry_run_changes_nothing(project):
    before = table_counts(project.db)
    result = sync(project.db, codebook_from_text(V1), dry_run=True)
    assert result.counts() == {"add": 4} and result.dry_run
    assert table_counts(project.db) == before


def test_update_rename_merge_retire_and_revive(project):
    db = project.db
    sync(db, codebook_from_text(V1))
    guid = db.execute("SELECT guid FROM codes WHERE path = 'trust/interpersonal'").fetchone()[0]
    add_coding(db, "trust/interpersonal", 0, 5)
    add_coding(db, "trust/network", 0, 5)  # same span and coder: folded by the merge
    add_coding(db, "trust/network", 6, 11)
    v2 = """\
name: test
codes:
  - name: trust
    key: t
    codes:
      - name: personal
        renamed_from: interpersonal
        description: people one knows
      - name: network
        merged_into: trust/personal
"""
    result = sync(db, codebook_from_text(v2), coder="lead")
    assert {(c.action, c.path) for c in result.changes} == {
        ("rename", "trust/personal"), ("merge", "trust/personal"), ("retire", "loyalty")}
    row = db.execute("SELECT id, guid, description FROM codes WHERE path = 'trust/personal'"
                     ).fetchone()
    assert row[1] == guid and row[2] == "people one knows"
    spans = sorted(db.execute("SELECT start, \"end\", code_id FROM codings").fetchall())
    assert spans == [(0, 5, row[0]), (6, 11, row[0])]
    assert codes(db) == {"trust": "active", "trust/personal": "active",
                         "trust/network": "merged", "loyalty": "retired"}
    fold = db.execute("SELECT before FROM changes WHERE action = 'fold'").fetchone()[0]
    assert json.loads(fold)["start"] == 0  # the folded coding is kept in the log
    # putting loyalty back revives the same code
    loyalty_id = db.execute("SELECT id FROM codes WHERE path = 'loyalty'").fetchone()[0]
    result = sync(db, codebook_from_text(v2 + "  - name: loyalty\n"))
    assert [(c.action, c.path) for c in result.changes] == [("revive", "loyalty")]
    assert db.execute("SELECT id FROM codes WHERE path = 'loyalty' AND status = 'active'"
                      ).fetchone()[0] == loyalty_id


def test_retiring_keeps_codings(project):
    sync(project.db, codebook_from_text(V1))
    add_coding(project.db, "loyalty")
    sync(project.db, codebook_from_text(V1.replace("  - name: loyalty\n", "")))
    assert codes(project.db, "retired") == {"loyalty": "retired"}
    assert project.db.execute("SELECT count(*) FROM codings").fetchone()[0] == 1


def test_swap_names_by_guid(project):
    db = project.db
    sync(db, codebook_from_text("name: t\ncodes:\n  - name: a\n  - name: b\n"))
    guid = dict(db.execute("SELECT path, guid FROM codes").fetchall())
    swapped = (f"name: t\ncodes:\n  - name: b\n    guid: '{{{guid['a'].upper()}}}'\n"
               f"  - name: a\n    guid: {guid['b']}\n")
    result = sync(db, codebook_from_text(swapped))
    assert sorted(c.action for c in result.changes) == ["rename", "rename"]
    assert dict(db.execute("SELECT path, guid FROM codes").fetchall()) == {
        "b": guid["a"], "a": guid["b"]}


def test_moving_a_code_to_another_parent(project):
    db = project.db
    sync(db, codebook_from_text(V1))
    moved = V1.replace("      - name: network\n", "") + \
        "    codes:\n      - name: network\n        renamed_from: trust/network\n"
    result = sync(db, codebook_from_text(moved))
    assert [(c.action, c.old_path, c.path) for c in result.changes] == [
        ("rename", "trust/network", "loyalty/network")]
    parent = db.execute("SELECT p.path FROM codes c JOIN codes p ON p.id = c.parent_id "
                        "WHERE c.path = 'loyalty/network'").fetchone()[0]
    assert parent == "loyalty"


def test_same_yaml_gives_the_same_guids_in_two_projects(tmp_path):
    from qcode.project import Project

    a, b = Project.init(tmp_path / "a"), Project.init(tmp_path / "b")
    for p in (a, b):
        sync(p.db, load_codebook(CODEBOOK))
    guids = [dict(p.db.execute("SELECT path, guid FROM codes").fetchall()) for p in (a, b)]
    assert guids[0] == guids[1]


def test_sync_is_atomic(project, monkeypatch):
    sync(project.db, codebook_from_text(V1))
    before = table_counts(project.db)
    import qcode.codebook.sync as module

    def explode(*args, **kwargs):
        raise RuntimeError("disk trouble")

    monkeypatch.setattr(module, "_merge", explode)
    v2 = V1.replace("      - name: network\n",
                    "      - name: network\n        merged_into: trust/interpersonal\n")
    v2 = v2.replace("  - name: loyalty\n", "  - name: loyalty2\n")
    with pytest.raises(RuntimeError):
        sync(project.db, codebook_from_text(v2))
    assert table_counts(project.db) == before
    assert codes(project.db, "active") == {p: "active" for p in
                                           ["trust", "trust/interpersonal", "trust/network",
                                            "loyalty"]}


def test_the_codebook_file_is_unicode_and_keeps_lines(project, tmp_path):
    path = write(tmp_path / "ru.yaml", "name: доверие\ncodes:\n  - name: доверие\n"
                 "    codes:\n      - name: межличностное\n        key: м\n")
    sync(project.db, load_codebook(path))
    assert "доверие/межличностное" in codes(project.db)

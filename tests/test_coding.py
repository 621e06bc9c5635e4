import json
import subprocess
import sys
import textwrap

import pytest

from conftest import CODEBOOK, SAMPLE, table_counts, write
from qcode.codebook.model import load_codebook
from qcode.codebook.sync import sync
from qcode.codes import resolve_code
from qcode.coding import CodingFilter, add_coding, import_codings, list_codings, remove_codings
from qcode.errors import InputError, NotFoundError, QcodeError
from qcode.history import list_coders, read_log, undo
from qcode.ingest.importer import ImportOptions, import_paths
from qcode.memos import add_memo, edit_memo, list_memos, remove_memo

DOC = "a01-housing-perm"


@pytest.fixture
def coded(project):
    sync(project.db, load_codebook(CODEBOOK))
    import_paths(project.db, [SAMPLE / f"{DOC}.md", SAMPLE / "b01-ngo-department-perm.md"],
                 ImportOptions())
    return project


def texts(db, **filters):
    return [(r["code"], r["text"]) for r in list_codings(db, CodingFilter(**filters))]


def test_code_addressing(coded):
    db = coded.db
    path = resolve_code(db, "trust/interpersonal")
    assert resolve_code(db, "interpersonal") == path
    assert resolve_code(db, "Trust/Interpersonal") == path
    assert resolve_code(db, "{" + path["guid"].upper() + "}") == path
    with pytest.raises(NotFoundError, match="closest: trust/interpersonal"):
        resolve_code(db, "trust/interpersonl")


def test_ambiguous_suffix_lists_the_candidates(project, tmp_path):
    sync(project.db, load_codebook(write(tmp_path / "c.yaml", "name: x\ncodes:\n  - name: a\n"
                                         "    codes: [{name: other}]\n  - name: b\n"
                                         "    codes: [{name: other}]\n")))
    with pytest.raises(NotFoundError, match="ambiguous: a/other, b/other"):
        resolve_code(project.db, "other")


def test_add_by_segment_span_and_quote(coded):
    db = coded.db
    add_coding(db, DOC, "interpersonal", coder="anna", segment=5)
    add_coding(db, DOC, "distrust", coder="anna", span="1123:1137")
    exact = add_coding(db, DOC, "distrust", coder="anna",
                       quote="That was the moment I\nunderstood")
    assert exact.located.how == "exact"
    fuzzy = add_coding(db, DOC, "self-confidence", coder="anna",
                       quote="I am not afraid any more, that is the bigest change")
    assert fuzzy.located.how == "fuzzy" and fuzzy.located.score >= 90
    assert texts(db) == [
        ("trust/interpersonal", "Nobody asked us."),
        ("trust/distrust", "That was the moment I understood"),
        ("trust/distrust", "nobody listens"),
        ("empowerment/self-confidence", "I am not afraid anymore, that is the biggest change"),
    ]


def test_the_same_coding_twice_is_not_duplicated(coded):
    first = add_coding(coded.db, DOC, "distrust", coder="anna", segment=3)
    again = add_coding(coded.db, DOC, "distrust", coder="anna", segment=3)
    assert first.created and not again.created and first.coding_id == again.coding_id
    other = add_coding(coded.db, DOC, "distrust", coder="boris", segment=3)
    assert other.created  # each coder keeps their own coding


@pytest.mark.parametrize("where, message", [
    (dict(quote="the"), "occurs .* times"),
    (dict(quote="penguins migrate across the frozen tundra in winter"), "not found"),
    (dict(segment=10_000), "no sentence 10000"),
    (dict(span="10:5"), "not inside the text"),
    (dict(span="ten"), "START:END"),
    (dict(), "exactly one of"),
    (dict(segment=1, quote="x"), "exactly one of"),
])
def test_places_that_cannot_be_coded_are_refused_and_nothing_changes(coded, where, message):
    before = table_counts(coded.db)
    with pytest.raises(InputError, match=message):
        add_coding(coded.db, DOC, "distrust", coder="anna", **where)
    assert table_counts(coded.db) == before


def test_two_equally_good_fuzzy_places_are_refused(project, tmp_path):
    sync(project.db, load_codebook(CODEBOOK))
    import_paths(project.db, [write(tmp_path / "d.txt",
                                    "We wrote to the mayor twice. Then silence.\n\n"
                                    "We wrote to the mayer twice. Then nothing.")],
                 ImportOptions())
    with pytest.raises(InputError, match="two places"):
        add_coding(project.db, "d", "appeals", coder="a", quote="we wrote to the mayr twice")


def test_remove_and_undo_restore_coding_and_memo_with_their_ids(coded):
    db = coded.db
    added = add_coding(db, DOC, "distrust", coder="anna", segment=3, memo="why")
    before = table_counts(db)
    remove_codings(db, [added.coding_id], coder="anna")
    assert list_codings(db) == [] and list_memos(db) == []
    result = undo(db, coder="anna")
    assert result.reverted == [("remove", "coding", added.coding_id), ("remove", "memo", 1)]
    restored = list_codings(db)
    assert restored[0]["id"] == added.coding_id and restored[0]["memo"] == "why"
    assert {k: v for k, v in table_counts(db).items() if k != "changes"} == \
        {k: v for k, v in before.items() if k != "changes"}


def test_a_removed_codings_id_is_never_handed_out_again(coded):
    """Undo puts a coding back under its old id while a newer one is gone; the next coding
    still gets a new id (were the newer one's id handed out again, undoing its addition
    would remove someone's new coding). Both backends: SQLite's AUTOINCREMENT, and the
    server's sequence, which putting a row back never sets back."""
    db = coded.db
    old = add_coding(db, DOC, "distrust", coder="anna", segment=3).coding_id
    newest = add_coding(db, DOC, "trust", coder="anna", segment=4).coding_id
    remove_codings(db, [newest], coder="anna")
    remove_codings(db, [old], coder="anna")
    undo(db, coder="anna")
    assert [c["id"] for c in list_codings(db)] == [old]
    assert add_coding(db, DOC, "loyalty", coder="anna", segment=5).coding_id > newest


def test_undo_walks_back_per_coder_and_never_undoes_an_undo(coded):
    db = coded.db
    add_coding(db, DOC, "distrust", coder="anna", segment=3)
    add_coding(db, DOC, "trust", coder="boris", segment=4)
    add_coding(db, DOC, "loyalty", coder="anna", segment=5)
    undo(db, coder="anna")
    assert [c for c, _ in texts(db)] == ["trust/distrust", "trust"]
    undo(db, coder="anna")
    assert [c for c, _ in texts(db)] == ["trust"]
    with pytest.raises(QcodeError, match="nothing to undo for coder 'anna'"):
        undo(db, coder="anna")
    undo(db, coder="boris")
    assert texts(db) == []
    actions = [r["action"] for r in read_log(db, limit=100)]
    assert actions.count("undo") == 3


def test_memos_on_every_target_and_edit_undo(coded):
    db = coded.db
    coding = add_coding(db, DOC, "distrust", coder="anna", segment=3).coding_id
    ids = [add_memo(db, "project note", coder="anna"),
           add_memo(db, "doc note", coder="anna", document=DOC),
           add_memo(db, "code note", coder="anna", code="distrust"),
           add_memo(db, "coding note", coder="anna", coding=coding)]
    assert [m["target"] for m in list_memos(db)] == ["project", "document", "code", "coding"]
    assert [m["id"] for m in list_memos(db, code="distrust")] == ids[2:]
    assert [m["id"] for m in list_memos(db, document=DOC)] == [ids[1], ids[3]]
    edit_memo(db, ids[0], "changed", coder="anna")
    undo(db, coder="anna")
    assert list_memos(db)[0]["text"] == "project note"
    remove_memo(db, ids[1], coder="anna")
    undo(db, coder="anna")
    assert len(list_memos(db)) == 4
    with pytest.raises(InputError, match="empty"):
        add_memo(db, "   ", coder="anna")


def test_list_filters(coded):
    db = coded.db
    add_coding(db, DOC, "trust/interpersonal", coder="anna", segment=3)
    add_coding(db, DOC, "trust/distrust", coder="boris", segment=4)
    add_coding(db, "b01-ngo-department-perm", "loyalty/superiors", coder="anna", segment=2)
    assert len(texts(db, code="trust")) == 0
    assert len(texts(db, code="trust", children=True)) == 2
    assert len(texts(db, coder="anna")) == 2
    assert len(texts(db, document="b01-ngo-department-perm")) == 1
    assert len(texts(db, origin="manual")) == 3
    coders = {c["coder"]: c["codings"] for c in list_coders(db)}
    assert coders == {"anna": 2, "boris": 1}


def test_tag_import_is_all_or_nothing(coded, tmp_path):
    db = coded.db
    bad = write(tmp_path / "c.csv", "document,code,segment,quote,start,end,coder,memo\n"
                f"{DOC},distrust,3,,,,anna,first\n"
                f"{DOC},distrust,,nobody listens,,,,\n"
                f"{DOC},no-such-code,4,,,,,\n"
                f"missing-doc,trust,1,,,,,\n"
                f"{DOC},trust,,,5,2,,\n")
    before = table_counts(db)
    result = import_codings(db, bad, default_coder="lead")
    assert [p.split(": ", 1)[0].rsplit(":", 1)[1] for p in result.problems] == ["4", "5", "6"]
    assert table_counts(db) == before
    good = write(tmp_path / "c.jsonl", "\n".join(json.dumps(r) for r in [
        {"document": DOC, "code": "distrust", "segment": 3, "coder": "anna", "memo": "first"},
        {"document": DOC, "code": "distrust", "quote": "nobody listens"},
        {"document": DOC, "code": "trust", "start": 0, "end": 10}]))
    assert import_codings(db, good, default_coder="lead", dry_run=True).added == 3
    assert table_counts(db) == before
    result = import_codings(db, good, default_coder="lead")
    assert (result.added, result.duplicates, result.problems) == (3, 0, [])
    assert {r["origin"] for r in list_codings(db)} == {"import:c.jsonl"}
    assert import_codings(db, good, default_coder="lead").duplicates == 3
    undo(db, coder="lead")  # the import was one action: undo removes all of it
    assert list_codings(db) == []


def test_two_processes_applying_200_codings_each(coded):
    script = textwrap.dedent(f"""
        import sys
        from qcode.project import Project
        from qcode.coding import add_coding
        project = Project.open({str(coded.root)!r})
        places = [(s, c) for c in ("distrust", "trust", "loyalty") for s in range(1, 81)]
        for segment, code in places[:200]:
            add_coding(project.db, {DOC!r}, code, coder=sys.argv[1], segment=segment)
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, name], stderr=subprocess.PIPE,
                              text=True) for name in ("p1", "p2")]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    counts = {c["coder"]: c["codings"] for c in list_coders(coded.db)}
    assert counts == {"p1": 200, "p2": 200}

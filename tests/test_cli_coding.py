import json

import pytest

from conftest import CODEBOOK, SAMPLE, write

DOC = "a01-housing-perm"


@pytest.fixture
def ready(cli):
    cli("codebook", "sync", "--file", CODEBOOK)
    cli("import", SAMPLE / f"{DOC}.md")
    return cli


def test_tag_add_list_rm_undo(ready):
    cli = ready
    added = cli("tag", "add", DOC, "--quote", "nobody listens", "--code", "distrust",
                "--coder", "anna", "--memo", "key")
    assert added.exit_code == 0 and added.stdout == ""
    assert f"Coded {DOC} 1123:1137 (exact) as coding 1" in added.stderr
    cli("tag", "add", DOC, "-s", "5", "-c", "trust/interpersonal", "--coder", "boris")
    rows = json.loads(cli("tag", "list", "-f", "json").stdout)
    assert [(r["code"], r["coder"], r["origin"], r["memo"]) for r in rows] == [
        ("trust/interpersonal", "boris", "manual", None),
        ("trust/distrust", "anna", "manual", "key")]
    assert len(json.loads(cli("tag", "list", "--coder", "anna", "-f", "json").stdout)) == 1
    removed = cli("tag", "rm", DOC, "-c", "distrust", "-q", "nobody listens", "--coder", "anna")
    assert removed.exit_code == 0 and "Removed 1 coding(s): 1" in removed.stderr
    assert "Undid: remove coding 1, remove memo 1" in cli("undo", "--coder", "anna").stderr
    coders = json.loads(cli("coders", "-f", "json").stdout)
    assert {c["coder"]: c["codings"] for c in coders} == {"anna": 1, "boris": 1, "tester": 0}


def test_tag_errors_are_one_line(ready):
    result = ready("tag", "add", DOC, "-q", "the", "-c", "distrust")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: --quote: the quote occurs")
    assert result.stderr.count("\n") == 1
    result = ready("tag", "add", DOC, "-s", "1", "-c", "trst")
    assert "Error: no code 'trst'; closest:" in result.stderr
    assert ready("tag", "rm", "99").exit_code == 1
    assert ready("undo", "--coder", "nobody").exit_code == 1


def test_tag_import_reports_rows_and_writes_nothing(ready, tmp_path):
    bad = write(tmp_path / "c.csv", f"document,code,segment\n{DOC},distrust,3\n{DOC},nope,4\n")
    result = ready("tag", "import", bad)
    assert result.exit_code == 1
    assert "c.csv:3: no code 'nope'" in result.stderr and "nothing was imported" in result.stderr
    assert json.loads(ready("tag", "list", "-f", "json").stdout) == []
    good = write(tmp_path / "g.csv", f"document,code,segment\n{DOC},distrust,3\n")
    assert "1 coding(s) imported" in ready("tag", "import", good).stderr


def test_memo_commands(ready, monkeypatch):
    assert ready("memo", "add", "--doc", DOC, "--text", "Recorded in a café.").exit_code == 0
    assert "Recorded in a café." in ready("memo", "show", "1").stdout
    assert ready("memo", "edit", "1", "--text", "Recorded at home.").exit_code == 0
    rows = json.loads(ready("memo", "list", "--doc", DOC, "-f", "json").stdout)
    assert rows[0]["text"] == "Recorded at home."
    monkeypatch.setattr("qcode.cli.editor.edit", lambda *a, **k: "From the editor\n")
    assert ready("memo", "add", "--code", "distrust").exit_code == 0
    assert json.loads(ready("memo", "list", "--on", "code", "-f", "json").stdout)[0]["text"] == \
        "From the editor"
    monkeypatch.setattr("qcode.cli.editor.edit", lambda *a, **k: None)
    empty = ready("memo", "add")
    assert empty.exit_code == 1 and "empty memo" in empty.stderr
    assert ready("memo", "rm", "1").exit_code == 0
    log = json.loads(ready("log", "-f", "json", "-n", "3").stdout)
    assert log[0]["action"] == "remove" and log[0]["entity"] == "memo"


def test_memo_list_and_show_say_where_a_passage_memo_is(ready, project, tmp_path):
    """A memo on a passage (review's `m`, the coding screen's `;`) was listed and shown as
    on "document a01" only: it gives the sentence (as `qcode show` numbers them), a
    quote, and in JSON/CSV the revision and offsets; after `doc update` it follows."""
    import csv
    import io

    from qcode.memos import add_memo

    text = (SAMPLE / f"{DOC}.md").read_text("utf-8")
    ready("memo", "add", "--doc", DOC, "--text", "Recorded in a café.")
    stored = project.db.execute("SELECT text FROM current_revisions").fetchone()[0]
    start = stored.index("Nobody asked us.")
    add_memo(project.db, "Who should have asked?", coder="anna", document=DOC,
             span=(start, start + len("Nobody asked us.")))
    rows = json.loads(ready("memo", "list", "-f", "json").stdout)
    assert [(r["target"], r["revision"], r["sentence"], r["passage"]) for r in rows] == [
        ("document", None, None, None), ("document", 1, 5, "Nobody asked us.")]
    assert (rows[1]["start"], rows[1]["end"]) == (start, start + 16)
    assert "[ 5] Nobody asked us." in ready("show", DOC).stdout
    table = ready("memo", "list").stdout
    assert "“Nobody asked us.”" in table and " 5 " in table
    shown = ready("memo", "show", "2").stdout
    assert f"on document {DOC}, sentence 5: “Nobody asked us.” · anna" in shown
    assert "on document a01-housing-perm · tester" in ready("memo", "show", "1").stdout
    # two sentences added before it: the memo follows its passage to sentence 7
    write(tmp_path / "v2.md", text.replace("talk.", "talk. It is recorded. Is that fine?", 1))
    assert ready("doc", "update", DOC, tmp_path / "v2.md").exit_code == 0
    got = list(csv.DictReader(io.StringIO(ready("memo", "list", "-f", "csv").stdout)))
    assert [(r["revision"], r["sentence"], r["passage"]) for r in got] == [
        ("", "", ""), ("2", "7", "Nobody asked us.")]
    moved = json.loads(ready("memo", "list", "-f", "json").stdout)[1]
    assert (moved["revision"], moved["sentence"], moved["needs_review"]) == (2, 7, False)
    assert "sentence 7: “Nobody asked us.”" in ready("memo", "show", "2").stdout
    # a passage that cannot follow stays on revision 2, flagged, and says so
    write(tmp_path / "v3.md", text.replace("Nobody asked us.", "Zzz qqq."))
    assert ready("doc", "update", DOC, tmp_path / "v3.md").exit_code == 0
    flagged = ready("memo", "show", "2").stdout
    assert "sentence 7: “Nobody asked us.” (revision 2, needs review)" in flagged


def test_a_document_named_like_an_option_is_reached_with_doc(ready, tmp_path):
    """Issue 18, item 7: `tag add -- -2+3 ...` was a usage error and nothing else could
    name the document; every command that names a document takes --doc."""
    cli = ready
    assert cli("import", write(tmp_path / "-2+3.txt", "Anna: I trust the courts.\n")
               ).exit_code == 0
    assert cli("tag", "add", "-2+3", "-s", "1", "-c", "trust").exit_code == 2  # an option?
    added = cli("tag", "add", "--doc", "-2+3", "-s", "1", "-c", "trust")
    assert added.exit_code == 0 and "Coded -2+3 0:25" in added.stderr
    assert cli("tag", "add", "-s", "1", "-c", "distrust", "--", "-2+3").exit_code == 0
    assert "I trust the courts" in cli("show", "--doc=-2+3").stdout
    assert cli("doc", "history", "-d", "-2+3", "-f", "csv").stdout.count("\n") == 2
    suggested = cli("suggest", "--doc=-2+3", "--using", "rules")
    assert suggested.exit_code == 0 and "in 1 document(s)" in suggested.stderr
    removed = cli("tag", "rm", "--doc", "-2+3", "-s", "1", "-c", "distrust")
    assert removed.exit_code == 0 and "Removed 1 coding(s)" in removed.stderr
    both = cli("tag", "add", DOC, "--doc", "-2+3", "-s", "1", "-c", "trust")
    assert both.exit_code == 2 and "name the document once" in both.stderr
    neither = cli("tag", "add", "-s", "1", "-c", "trust")
    assert neither.exit_code == 2 and "--doc NAME" in neither.stderr


def test_memo_add_on_a_passage_by_sentence_span_or_quote(ready, project):
    """`memo add --doc D --segment N` (or --span, --quote) puts the memo on that passage,
    picked as `tag add` picks it; without --doc it is refused and nothing is written."""
    assert "Saved memo 1 on the passage" in ready(
        "memo", "add", "--doc", DOC, "-s", "5", "--text", "Who should have asked?").stderr
    ready("memo", "add", "--doc", DOC, "--quote", "Nobody asked us", "--text", "Again.")
    rows = json.loads(ready("memo", "list", "-f", "json").stdout)
    assert [(r["sentence"], r["passage"]) for r in rows] == [
        (5, "Nobody asked us."), (5, "Nobody asked us")]
    refused = ready("memo", "add", "-s", "5", "--text", "Where?")
    assert refused.exit_code != 0 and "--doc" in refused.stderr
    coded = ready("memo", "add", "--doc", DOC, "--code", "trust", "-s", "5", "--text", "x")
    assert coded.exit_code == 1 and "passage of a document" in coded.stderr
    assert len(json.loads(ready("memo", "list", "-f", "json").stdout)) == 2

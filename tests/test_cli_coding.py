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

"""`qcode tag list` (sentence numbers, memos, --where) and `qcode tag auto`."""

import json

import pytest

from conftest import CODEBOOK, REPO, SAMPLE, table_counts

ATTRIBUTES = REPO / "corpora" / "sample-attributes.csv"
A01, B04 = "a01-housing-perm", "b04-social-protection-kazan"


@pytest.fixture
def ready(cli):
    cli("codebook", "sync", "--file", CODEBOOK)
    result = cli("import", SAMPLE, "--attributes", ATTRIBUTES)
    assert result.exit_code == 0, result.stderr
    return cli


def listed(cli, *args):
    result = cli("tag", "list", "-f", "json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_tag_list_shows_sentence_number_memo_and_filters_by_attribute(ready):
    ready("tag", "add", A01, "-s", "3", "-c", "distrust", "--memo", "the key passage")
    ready("tag", "add", B04, "-s", "4", "-c", "trust/interpersonal")
    rows = listed(ready)
    assert [(r["document"], r["segment"], r["memo"]) for r in rows] == [
        (A01, 3, "the key passage"), (B04, 4, None)]
    assert [r["document"] for r in listed(ready, "--where", "role=bureaucrat")] == [B04]
    assert [r["document"] for r in listed(ready, "-w", "role!=bureaucrat")] == [A01]
    table = ready("tag", "list").stdout
    header = table.splitlines()[0]
    assert "segment" in header and "memo" in header and "the key passage" in table
    bad = ready("tag", "list", "--where", "role")
    assert bad.exit_code == 1 and "expected key=value" in bad.stderr


# -- tag auto ----------------------------------------------------------------------------


def dry(cli, *args):
    result = cli("tag", "auto", "--dry-run", "-f", "json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_tag_auto_by_role_and_speaker_dry_run_changes_nothing(ready, project):
    before = table_counts(project.db)
    questions = dry(ready, "--role", "interviewer", "--doc", B04, "-c", "loyalty")
    assert {r["speaker"] for r in questions} == {"Q"} and len(questions) == 12
    assert questions[0]["text"] == "Please tell me about your work." and questions[0]["number"] == 2
    assert table_counts(project.db) == before  # a dry run writes nothing, not even a coder
    turns = dry(ready, "--speaker", "sergei", "--unit", "turn", "-c", "trust")
    assert {r["document"] for r in turns} == {"b01-ngo-department-perm"}
    assert {r["speaker"] for r in turns} == {"Sergei"} and len(turns) == 10
    answers = dry(ready, "--role", "respondent", "--doc", B04, "-c", "trust")
    assert "Q" not in {r["speaker"] for r in answers} and len(answers) > len(questions)
    result = ready("tag", "auto", "--dry-run", "--role", "interviewer", "-c", "trust")
    assert "would code" in result.stderr and "nothing was changed" in result.stderr


def test_tag_auto_search_by_lemma_with_attribute_filter(ready):
    found = dry(ready, "--search", "Trusting", "--where", "role=bureaucrat", "-c", "trust")
    texts = [r["text"] for r in found]
    assert "The system does not trust anybody, including its own employees." in texts
    assert any("trusts" in t for t in texts)  # the lemma, not the word
    assert {r["document"][0] for r in found} == {"b"}
    assert dry(ready, "--search", "trust court", "-c", "trust") == []  # words in a row
    phrase = dry(ready, "--search", "trusted the courts", "-c", "trust")
    assert [r["text"] for r in phrase] == ["Do you trust the courts?",
                                           "I did not trust the court at all before."]


def test_tag_auto_codes_in_one_undoable_batch_as_the_coder(ready, project):
    result = ready("tag", "auto", "--where", "role=activist", "--unit", "document",
                   "-c", "empowerment", "--coder", "anna")
    assert result.exit_code == 0, result.stderr
    assert "Coded 4 document(s) as empowerment" in result.stderr
    rows = listed(ready, "--origin", "auto")
    assert len(rows) == 4 and {r["coder"] for r in rows} == {"anna"}
    assert {r["origin"] for r in rows} == {"auto:role=activist"}
    auto_excerpts = ready("excerpts", "--origin", "auto", "-f", "json")
    assert auto_excerpts.exit_code == 0 and len(json.loads(auto_excerpts.stdout)) == 4
    assert rows[0]["text"].startswith("Thank you for agreeing") or rows[0]["start"] == 0
    again = ready("tag", "auto", "--where", "role=activist", "--unit", "document",
                  "-c", "empowerment", "--coder", "anna")
    assert "Coded 0 document(s)" in again.stderr and "4 already coded" in again.stderr
    ready("tag", "add", A01, "-s", "2", "-c", "trust", "--coder", "boris")
    undone = ready("undo", "--coder", "anna")
    assert undone.exit_code == 0 and undone.stderr.count("add coding") == 4
    assert [r["coder"] for r in listed(ready)] == ["boris"]


def test_tag_auto_refuses_bad_input_and_writes_nothing(ready, project):
    before = table_counts(project.db)
    for args, words in [
        ((), "say what to code"),
        (("--speaker", "bob"), "no turn by speaker 'bob'"),
        (("--role", "boss"), "expected interviewer or respondent"),
        (("--role", "interviewer", "--unit", "document"), "--unit: document codes whole"),
        (("--search", "trust", "--unit", "page"), "sentence, turn, document"),
        (("--search", "  "), "the phrase is empty"),
        (("--search", ""), "the phrase is empty"),  # said as such, not "say what to code"
    ]:
        result = ready("tag", "auto", "-c", "trust", *args)
        assert result.exit_code == 1 and words in result.stderr, (args, result.stderr)
        assert result.stderr.count("\n") == 1
    result = ready("tag", "auto", "-c", "trst", "--role", "interviewer")
    assert result.exit_code == 1 and "no code 'trst'" in result.stderr
    assert table_counts(project.db) == before


def test_tag_auto_in_russian_by_lemma_and_speaker(tmp_path, runner):
    from qcode.cli.app import app
    from qcode.project import Project

    project = Project.init(tmp_path / "ru", coder="tester", language="ru")
    text = ("Интервьюер: Вы доверяете судам?\n\n"
            "Ольга: Я не доверяю судам. Доверие к людям у нас есть. Суды далеко.\n")
    (tmp_path / "o.txt").write_text(text, encoding="utf-8")

    def cli(*args):
        return runner.invoke(app, ["--project", str(project.root), *map(str, args)])

    cli("codebook", "sync", "--file", CODEBOOK)
    assert cli("import", tmp_path / "o.txt").exit_code == 0
    found = json.loads(cli("tag", "auto", "-n", "-f", "json", "--search", "доверять",
                           "-c", "trust").stdout)
    assert [r["text"] for r in found] == ["Вы доверяете судам?", "Я не доверяю судам."]
    found = json.loads(cli("tag", "auto", "-n", "-f", "json", "--speaker", "ольга",
                           "--role", "respondent", "-c", "trust").stdout)
    assert [r["number"] for r in found] == [2, 3, 4]
    project.close()

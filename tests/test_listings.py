"""Issue 16, item 6: listings a researcher can read (log; agree scoping and its footnote)."""

import json

import pytest

from conftest import CODEBOOK, SAMPLE

DOC = "a01-housing-perm"


@pytest.fixture
def ready(cli):
    cli("codebook", "sync", "--file", CODEBOOK)
    cli("import", SAMPLE / f"{DOC}.md")
    return cli


def test_log_prints_readable_lines_and_json_stays_raw(ready):
    cli = ready
    cli("tag", "add", DOC, "--quote", "nobody listens", "--code", "distrust", "--coder", "anna")
    cli("memo", "add", "--doc", DOC, "--text", "Recorded in a café.", "--coder", "anna")
    cli("tag", "rm", DOC, "-c", "distrust", "-q", "nobody listens", "--coder", "anna")
    lines = cli("log", "--coder", "anna").stdout.splitlines()
    assert len(lines) == 3 and "{" not in "".join(lines)
    removed, memo, coded = (line.split("  anna  ", 1)[1] for line in lines)
    assert removed.startswith("removed the coding trust/distrust of “")
    assert removed.endswith(f"” in {DOC}")
    assert memo == f"added a memo on {DOC}: “Recorded in a café.”"
    assert coded.startswith("coded “") and coded.endswith(f"in {DOC} as trust/distrust")
    assert "nobody listens" in coded
    assert lines[0].startswith("#") and " 20" in lines[0][:12]  # id, then the date
    everything = cli("log").stdout
    assert "added code trust/interpersonal" in everything
    assert f"imported {DOC} (" in everything
    raw = json.loads(cli("log", "--coder", "anna", "-f", "json").stdout)
    assert raw[0]["action"] == "remove" and raw[0]["before"]["code_id"]
    assert raw[0]["summary"] == removed
    assert cli("log", "--coder", "nobody").stderr.startswith("The change log is empty")
    cli("tag", "auto", "--code", "appeals", "--role", "interviewer", "--doc", DOC,
        "--coder", "boris")
    auto = cli("log", "--coder", "boris").stdout.splitlines()
    assert auto and all(line.endswith("as empowerment/appeals (tag auto: role=interviewer)")
                        for line in auto), auto[:2]


def test_agree_explains_a_blank_kappa_beside_full_agreement(ready):
    cli = ready
    for coder in ("anna", "boris"):
        cli("tag", "add", DOC, "-s", "3", "-c", "distrust", "--coder", coder)
    cli("tag", "add", DOC, "-s", "4", "-c", "interpersonal", "--coder", "anna")
    table = cli("agree", "--coders", "anna,boris").stdout.splitlines()
    cells = {line.split("│")[0].strip(): [c.strip() for c in line.split("│")[1:]]
             for line in table if "│" in line}
    # nobody applied 'network': complete agreement, kappa undefined, and said why
    assert cells["trust/network"][1:] == ["1.0", "n/a*", "n/a*"]
    assert cells["trust/distrust"][2] == "1.0"
    assert table[-1].startswith("n/a* kappa and alpha are undefined when every unit falls "
                                "in one category")
    raw = json.loads(cli("agree", "--coders", "anna,boris", "-f", "json").stdout)
    assert next(r for r in raw if r["code"] == "trust/network")["cohen_kappa"] is None


def test_agree_takes_doc_and_where_like_the_other_analysis_commands(cli):
    cli("codebook", "sync", "--file", CODEBOOK)
    cli("import", SAMPLE / f"{DOC}.md", "--attr", "role=activist")
    other = "b01-ngo-department-perm"
    cli("import", SAMPLE / f"{other}.md", "--attr", "role=bureaucrat")
    for coder in ("anna", "boris"):
        cli("tag", "add", DOC, "-s", "3", "-c", "distrust", "--coder", coder)
        cli("tag", "add", other, "-s", "3", "-c", "distrust", "--coder", coder)
    cli("tag", "add", other, "-s", "5", "-c", "distrust", "--coder", "anna")  # differs

    def overall(*scope):
        result = cli("agree", "--coders", "anna,boris", *scope, "-f", "json")
        assert result.exit_code == 0, result.stderr
        return next(r for r in json.loads(result.stdout) if r["code"] == "trust/distrust")

    both, one = overall(), overall("--doc", DOC)
    assert one["units"] < both["units"] and one["percent_agreement"] == 1.0
    assert both["percent_agreement"] < 1.0
    assert overall("--where", "role=activist") == one
    assert overall("--where", "role=bureaucrat")["percent_agreement"] < 1.0
    found = cli("agree", "--coders", "anna,boris", "--doc", DOC, "--disagreements", "-f", "json")
    assert json.loads(found.stdout) == []
    none = cli("agree", "--coders", "anna,boris", "--where", "role=nobody")
    assert none.exit_code == 1 and "no document in scope has been coded by all" in none.stderr

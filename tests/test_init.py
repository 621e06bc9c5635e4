"""qcode init with a shipped codebook, qcode codebook templates and format."""

import json

import pytest

from conftest import CODEBOOK, write
from qcode.cli.app import app
from qcode.project import Project


def test_init_with_a_codebook_template_copies_the_shipped_codebook(runner, tmp_path):
    result = runner.invoke(app, ["init", str(tmp_path / "s"),
                                 "--codebook-template", "trust-empowerment-loyalty"])
    assert result.exit_code == 0, result.output
    written = (tmp_path / "s" / "codebook.yaml").read_text(encoding="utf-8")
    assert written == CODEBOOK.read_text(encoding="utf-8")
    check = runner.invoke(app, ["--project", str(tmp_path / "s"), "codebook", "check"])
    assert check.exit_code == 0 and "17 codes" in check.stderr


def test_a_template_can_go_to_another_file_and_the_suffix_is_optional(tmp_path):
    project = Project.init(tmp_path / "s", codebook="codes/trust.yaml",
                           template="trust-empowerment-loyalty.yaml")
    assert project.codebook_path == tmp_path / "s" / "codes" / "trust.yaml"
    assert project.codebook_path.read_text(encoding="utf-8").startswith("# Trust,")
    project.close()


def test_an_unknown_template_is_an_error_listing_the_templates(runner, tmp_path):
    result = runner.invoke(app, ["init", str(tmp_path / "s"), "--codebook-template", "trust"])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "Error: no codebook template 'trust'; the templates are: trust-empowerment-loyalty "
        "(`qcode codebook templates` describes them)")
    assert not (tmp_path / "s").exists()


def test_a_template_does_not_replace_a_codebook_already_there(runner, tmp_path):
    mine = write(tmp_path / "s" / "codebook.yaml", "name: mine\ncodes: []\n")
    result = runner.invoke(app, ["init", str(tmp_path / "s"),
                                 "--codebook-template", "trust-empowerment-loyalty"])
    assert result.exit_code == 1
    assert f"{mine}: already exists" in result.stderr
    assert mine.read_text() == "name: mine\ncodes: []\n"
    assert not (tmp_path / "s" / "qcode.yaml").exists()


def test_init_codebook_pointing_at_a_missing_file_is_an_error(runner, tmp_path):
    result = runner.invoke(app, ["init", str(tmp_path / "s2"),
                                 "--codebook", "trust-empowerment-loyalty"])
    assert result.exit_code == 1
    missing = tmp_path / "s2" / "trust-empowerment-loyalty"
    assert result.stderr.strip() == (
        f"Error: {missing}: no such codebook file (--codebook is relative to the project "
        "folder); for the shipped codebook use --codebook-template trust-empowerment-loyalty")
    assert not (tmp_path / "s2" / "qcode.yaml").exists()


def test_init_codebook_names_the_path_to_give_when_it_is_relative_to_here(runner, tmp_path):
    write(tmp_path / "books" / "mine.yaml", "name: mine\ncodes: []\n")
    result = runner.invoke(app, ["init", "s3", "--codebook", "books/mine.yaml"])
    assert result.exit_code == 1
    assert "seen from the project folder that file is ../books/mine.yaml" in result.stderr
    ok = runner.invoke(app, ["init", "s3", "--codebook", "../books/mine.yaml"])
    assert ok.exit_code == 0, ok.output
    assert Project.open("s3").codebook_path == tmp_path / "books" / "mine.yaml"


def test_init_codebook_and_template_together_need_a_new_file(runner, tmp_path):
    result = runner.invoke(app, ["init", str(tmp_path / "s"), "--codebook", "codes.yaml",
                                 "--codebook-template", "trust-empowerment-loyalty"])
    assert result.exit_code == 0, result.output
    assert "17 codes" in runner.invoke(app, ["-P", str(tmp_path / "s"), "codebook",
                                             "check"]).stderr


def test_the_starter_codebook_points_at_the_format_page(tmp_path):
    project = Project.init(tmp_path / "s")
    starter = project.codebook_path.read_text(encoding="utf-8")
    assert "qcode codebook format" in starter and "qcode repository" not in starter
    assert "qcode codebook templates" in starter
    project.close()


def test_codebook_templates_lists_the_shipped_codebooks(runner):
    result = runner.invoke(app, ["codebook", "templates", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["template"] for r in rows] == ["trust-empowerment-loyalty"]
    assert rows[0]["codes"] == 17 and rows[0]["name"] == "Trust, empowerment and loyalty"
    assert rows[0]["description"].startswith("How people who deal with the state")
    table = runner.invoke(app, ["codebook", "templates"])
    assert table.exit_code == 0
    line = next(line for line in table.stdout.splitlines() if "trust-empowerment" in line)
    assert "17" in line and "How people" in line


def test_codebook_format_prints_the_reference_outside_a_project(runner):
    result = runner.invoke(app, ["codebook", "format"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# Codebook format")
    assert "renamed_from" in result.stdout and "--codebook-template" in result.stdout


def test_the_shipped_codebook_points_at_the_format_page():
    head = CODEBOOK.read_text(encoding="utf-8").split("\nname:")[0]
    assert "qcode codebook format" in head


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_init_help_names_the_crypto_extra(runner, flag):
    text = runner.invoke(app, ["init", flag]).stdout
    assert "qcode[crypto]" in " ".join(text.split())
    assert "--codebook-template" in text

import csv
import io
import json
import subprocess
import sys

import pytest

from conftest import SAMPLE, write
from qcode import __version__
from qcode.cli.app import app


def test_the_help_test_sees_every_command():
    names = {" ".join(p) for p, _ in all_commands()}
    assert {"import", "codebook sync", "tag add", "memo edit", "undo"} <= names


def all_commands():
    """(path, click command) for every command and group."""
    import typer.main

    root = typer.main.get_command(app)

    def walk(command, path):
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, [*path, name])

    return list(walk(root, []))


@pytest.mark.parametrize("path", [" ".join(p) or "qcode" for p, _ in all_commands()])
def test_every_command_has_help_ending_with_an_example(runner, path):
    args = [] if path == "qcode" else path.split()
    for flag in ("-h", "--help"):
        result = runner.invoke(app, [*args, flag])
        assert result.exit_code == 0, result.output
        text = result.stdout.strip()
        assert "Example: qcode" in text[-300:], text


def test_version(runner):
    result = runner.invoke(app, ["--version"])
    assert result.stdout.strip() == f"qcode {__version__}"


def test_help_does_not_import_spacy_or_pydantic():
    code = ("import sys\nfrom qcode.cli.app import app\n"
            "try:\n    app(['--help'], prog_name='qcode')\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('spacy', 'pydantic', 'sqlite_utils', 'docx', 'textual') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_init_refuses_an_existing_project(runner, tmp_path):
    assert runner.invoke(app, ["init", str(tmp_path / "p")]).exit_code == 0
    result = runner.invoke(app, ["init", str(tmp_path / "p")])
    assert result.exit_code == 1
    assert result.stdout == "" and "already a qcode project" in result.stderr


def test_project_is_found_from_a_subfolder_or_the_environment(runner, tmp_path, monkeypatch):
    runner.invoke(app, ["init", str(tmp_path / "p")])
    (tmp_path / "p" / "deep" / "er").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "p" / "deep" / "er")
    result = runner.invoke(app, ["path", "--format", "json"])
    assert json.loads(result.stdout)[0] == {"what": "project", "path": str(tmp_path / "p")}
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["path", "-f", "jsonl"], env={"QCODE_PROJECT": str(tmp_path / "p")})
    assert json.loads(result.stdout.splitlines()[2])["what"] == "database"


def test_no_project_is_a_clear_error(runner):
    result = runner.invoke(app, ["docs"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: no qcode project in ")
    assert result.stdout == ""


def test_usage_errors_exit_2(runner):
    assert runner.invoke(app, ["docs", "--format", "xml"]).exit_code == 2
    assert runner.invoke(app, ["no-such-command"]).exit_code == 2


def test_import_docs_show_round_trip(cli, tmp_path):
    a = write(tmp_path / "in" / "a.txt", "Interviewer: Why?\nAnna: Because. We trusted them.\n")
    result = cli("import", a.parent, "--attr", "role=activist", "--attr", "year=2020")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "1 file(s) imported (1 documents, 3 sentences)" in result.stderr
    rows = json.loads(cli("docs", "--format", "json").stdout)
    assert rows[0]["name"] == "a" and rows[0]["attributes"] == {"role": "activist", "year": "2020"}
    table = list(csv.DictReader(io.StringIO(cli("docs", "-f", "csv").stdout)))
    assert table[0]["sentences"] == "3"
    shown = cli("show", "a").stdout
    assert "Anna:\n  [2] Because.\n  [3] We trusted them." in shown
    segments = [json.loads(line) for line in cli("show", "a", "-f", "jsonl").stdout.splitlines()]
    assert segments[2] == {"number": 3, "turn": 2, "speaker": "Anna", "start": 33, "end": 49,
                           "time_start": None, "text": "We trusted them."}
    again = cli("import", a)
    assert again.exit_code == 0 and "1 skipped as already imported" in again.stderr


def test_import_reports_bad_files_and_exits_1(cli, tmp_path):
    good = write(tmp_path / "good.txt", "Some text.")
    bad = write(tmp_path / "bad.txt", b"\x00\x01\x02")
    result = cli("import", good, bad)
    assert result.exit_code == 1
    assert "bad.txt (byte 0): looks like a binary file" in result.stderr
    assert "1 file(s) imported" in result.stderr and "1 failed" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_import_reports_the_guessed_encoding(cli, tmp_path):
    path = write(tmp_path / "ru.txt", "Интервьюер: Как вы начали?\nОльга: С двора.".encode("cp1251"))
    result = cli("import", path, "--language", "ru")
    assert result.exit_code == 0
    assert "decoded as cp1251" in result.stderr
    assert "Ольга:\n  [2] С двора." in cli("show", "ru").stdout


def test_docs_where_filters(cli):
    cli("import", SAMPLE)  # md files carry role in front matter; others have none
    names = lambda *w: [r["name"] for r in json.loads(cli("docs", *w, "-f", "json").stdout)]  # noqa: E731
    assert names("--where", "role=activist") == ["a01-housing-perm"]
    assert names("--where", "role=BUREAUCRAT") == ["b01-ngo-department-perm"]
    assert names("--where", "role=activist|bureaucrat") == ["a01-housing-perm",
                                                          "b01-ngo-department-perm"]
    assert len(names("--where", "role!=activist")) == 7


def test_docs_gives_each_attribute_its_own_column(cli, tmp_path):
    a = write(tmp_path / "in" / "a.txt", "Anna: We trusted them.\n")
    b = write(tmp_path / "in" / "b.txt", "Boris: We did not.\n")
    cli("import", a, "--attr", "role=activist", "--attr", "year=2020", "--attr", "format=phone")
    cli("import", b, "--attr", "role=bureaucrat", "--attr", "region=Perm Krai")
    table = list(csv.DictReader(io.StringIO(cli("docs", "-f", "csv").stdout)))
    assert list(table[0])[-4:] == ["attr_format", "role", "year", "region"]
    assert "attributes" not in table[0]
    assert (table[0]["role"], table[0]["year"], table[0]["region"]) == ("activist", "2020", "")
    # an attribute named like a listed column does not hide the file's format
    assert table[0]["format"] == "txt" and table[0]["attr_format"] == "phone"
    assert table[1]["region"] == "Perm Krai"
    shown = cli("docs").stdout.splitlines()
    assert [h.strip() for h in shown[-4].split("┃")][-4:] == ["attr format", "role", "year",
                                                              "region"]
    assert "│ bureaucrat │" in shown[-1] and "role=" not in "\n".join(shown)
    rows = json.loads(cli("docs", "-f", "json").stdout)  # JSON keeps one object
    assert rows[1]["attributes"] == {"role": "bureaucrat", "region": "Perm Krai"}


def test_docs_table_keeps_one_line_per_document(cli, tmp_path, monkeypatch):
    long = "a very long note about this interview " * 5
    for name in ("a", "b"):
        cli("import", write(tmp_path / f"{name}.txt", f"Anna: Yes, {name}.\n"), "--attr",
            f"note={long}", "--attr", "role=activist", "--attr", "region=Perm Krai",
            "--attr", "year=2020")
    monkeypatch.setenv("COLUMNS", "100")
    shown = cli("docs").stdout.splitlines()
    assert len(shown) == 4 and shown[2].startswith("a ") and shown[3].startswith("b ")
    assert all(len(line) <= 100 and "…" in line and line.endswith("2020") for line in shown[2:])


def test_show_unknown_document_suggests_names(cli, tmp_path):
    cli("import", write(tmp_path / "interview-01.txt", "Hello."))
    result = cli("show", "interview-1")
    assert result.exit_code == 1 and "did you mean 'interview-01'" in result.stderr


def test_codebook_commands(cli, project, tmp_path):
    from conftest import CODEBOOK

    check = cli("codebook", "check", "--file", CODEBOOK)
    assert check.exit_code == 0 and "17 codes (3 top-level) — valid" in check.stderr
    diff = cli("codebook", "diff", "--file", CODEBOOK, "-f", "json")
    assert len(json.loads(diff.stdout)) == 17
    assert cli("codebook", "show", "-f", "json").stdout.strip() == "[]"
    synced = cli("codebook", "sync", "--file", CODEBOOK)
    assert synced.exit_code == 0 and "Codebook applied: 17 add" in synced.stderr
    shown = json.loads(cli("codebook", "show", "-f", "json").stdout)
    assert shown[1]["path"] == "trust/interpersonal" and shown[1]["key"] == "i"
    bad = write(tmp_path / "bad.yaml", "name: x\ncodes:\n  - name: a\n    colour: red\n")
    result = cli("codebook", "sync", "--file", bad)
    assert result.exit_code == 1
    assert result.stderr.strip() == (f"Error: {bad}:4: unknown field 'colour' in code 'a' — "
                                     "did you mean 'color'?")


def test_doctor_cli(cli, project):
    ok = cli("doctor")
    assert ok.exit_code == 0 and "all checks passed" in ok.stderr
    project.db.execute("DROP TRIGGER revisions_immutable")
    project.db.execute("INSERT INTO documents (name, format, created) VALUES ('d', 'txt', 'x')")
    project.db.execute("INSERT INTO revisions (document_id, number, text, sha256, created) "
                       "VALUES (1, 1, 'abc', 'wrong', 'x')")
    bad = cli("doctor", "-f", "json")
    assert bad.exit_code == 1
    assert json.loads(bad.stdout)[0]["check"] == "text checksums"


@pytest.mark.parametrize("path", [" ".join(p) for p, _ in all_commands() if p])
def test_a_command_run_alone_helps_as_among_all(runner, path):
    """`qcode CMD …` turns only CMD into a click command (start-up, issue 15); what it
    says is what it says among all the commands."""
    from qcode.cli.app import _for

    args = ["-P", "somewhere", *path.split(), "--help"]
    alone = _for(args)
    assert alone is not app
    assert len(alone.registered_commands) + len(alone.registered_groups) == 1
    assert runner.invoke(alone, args).stdout == runner.invoke(app, args).stdout


@pytest.mark.parametrize("args", [[], ["--help"], ["-h"], ["--version"], ["nosuch"],
                                  ["-P", "x"], ["--project", "x", "--", "stats"]])
def test_without_a_command_every_command_stays(args):
    from qcode.cli.app import _for

    assert _for(args) is app


@pytest.mark.parametrize("args, name", [
    (["stats"], "stats"), (["--project=x", "stats"], "stats"), (["-Px", "excerpts"], "excerpts"),
    (["--key-file", "k", "-P", "x", "tag", "add", "a01"], "tag"), (["import", "x/"], "import"),
    (["-P", "stats", "agree"], "agree")])
def test_the_command_is_found_after_the_root_options(args, name):
    from typer.main import get_command_name

    from qcode.cli.app import _for

    alone = _for(args)
    assert [c.name or get_command_name(c.callback.__name__) for c in alone.registered_commands
            ] + [g.name for g in alone.registered_groups] == [name]


def test_a_data_command_does_not_import_rich(sample_project):
    """A listing for a script prints its count of rows without rich (0.04 s)."""
    code = ("import sys\nfrom qcode.cli.app import main\n"
            f"sys.argv = ['qcode', '-P', {str(sample_project.root)!r}, 'excerpts', '-f', "
            "'jsonl']\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('rich' in sys.modules, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stderr.splitlines() == ["1 excerpt(s)", "False"]
    assert json.loads(done.stdout)["coder"] == "anna"

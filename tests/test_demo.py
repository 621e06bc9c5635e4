import json

from conftest import SAMPLE
from qcode.cli.app import app
from qcode.documents import list_documents


def test_demo_builds_the_sample_project_and_is_rerunnable(runner, tmp_path):
    result = runner.invoke(app, ["demo", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.stderr
    assert "Created the demo project" in result.stderr
    assert "8 interviews" in result.stderr and "17 codes" in result.stderr
    # every table on stdout has a title that says what it shows
    assert "The sample interviews\n" in result.stdout
    assert "The 5 surest suggestions" in result.stdout
    assert ("Trust codes by role — cells: % of each role's documents · total: number of "
            "documents") in result.stdout
    assert "activist %" in result.stdout and "total documents" in result.stdout
    assert (tmp_path / "demo" / "exports" / "report.html").is_file()
    assert (tmp_path / "demo" / "exports" / "demo-excerpts.xlsx").is_file()
    assert "demo-excerpts.xlsx" in result.stderr
    assert "suggestions waiting for review" in result.stderr
    assert "2 interviews coded by hand (sample-codings.csv); the model learnt" in result.stderr
    # the demo coder's codings are by hand (import), the model is trained on them
    from qcode.project import Project

    demo = Project.open(tmp_path / "demo")  # its qcode.db, or (--backend postgresql) the server
    origins = dict(demo.db.execute("SELECT origin LIKE 'suggestion:%', count(*) FROM codings "
                                   "GROUP BY 1").fetchall())
    assert origins[0] == 100  # (False on the server: a boolean, equal to 0)
    assert demo.db.execute("SELECT count(*) FROM models").fetchone()[0] == 1
    demo.close()
    docs = json.loads(runner.invoke(app, ["-P", str(tmp_path / "demo"), "docs", "-f", "json"]).stdout)
    roles = sorted(d["attributes"]["role"] for d in docs)
    assert roles == ["activist"] * 4 + ["bureaucrat"] * 4
    assert all(d["attributes"]["fictional"] == "true" for d in docs)
    assert all({"region", "year", "language"} <= d["attributes"].keys() for d in docs)
    again = runner.invoke(app, ["demo", str(tmp_path / "demo")])
    assert again.exit_code == 0 and "Updated the demo project" in again.stderr
    assert runner.invoke(app, ["-P", str(tmp_path / "demo"), "doctor"]).exit_code == 0


def test_sample_corpus_shape():
    files = sorted(p for p in SAMPLE.iterdir())
    assert len(files) >= 8
    assert {p.suffix for p in files} >= {".md", ".txt", ".docx", ".vtt", ".srt", ".csv"}


def test_sample_interviews_are_800_to_2000_words(project):
    from qcode.ingest.importer import ImportOptions, import_paths

    import_paths(project.db, [SAMPLE], ImportOptions())
    for doc in list_documents(project.db):
        assert 800 <= doc["words"] <= 2000, doc["name"]

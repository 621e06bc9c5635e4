"""qcode export excerpts: spreadsheets that are complete, readable and safe to open."""

import csv
import json
import os
import stat

import openpyxl
import pytest

from conftest import CODEBOOK, write
from qcode.analysis.scope import Scope
from qcode.codebook.model import load_codebook
from qcode.codebook.sync import sync
from qcode.coding import add_coding
from qcode.documents import parse_filters
from qcode.errors import QcodeError
from qcode.export import excerpts as export
from qcode.export.excerpts import CELL_LIMIT, export_excerpts
from qcode.ingest.importer import ImportOptions, import_paths

PAYLOADS = ["=cmd|' /C calc'!A0", "@SUM(1)", "+1", "-1", "\tTab", "\rCR"]
LONG = 50_000  # over one Excel cell, under two


@pytest.fixture
def hostile(project, tmp_path):
    """A transcript whose sentences are formula payloads, Cyrillic, and one very long
    sentence, each coded."""
    db = project.db
    sync(db, load_codebook(CODEBOOK))
    body = "\n\n".join(f"Анна: {p}" for p in PAYLOADS)
    long_sentence = "слово " * (LONG // 6)
    write(tmp_path / "in" / "h01.md", f"---\nrole: activist\nregion: Пермь\n---\n{body}\n\n"
          f"Борис: Мы не доверяем чиновникам.\n\nБорис: {long_sentence.strip()}.\n")
    import_paths(db, [tmp_path / "in"], ImportOptions())
    for payload in PAYLOADS:
        add_coding(db, "h01", "distrust", coder="anna", quote=payload.strip())
    add_coding(db, "h01", "distrust", coder="boris", quote="Мы не доверяем чиновникам.",
               memo="=HYPERLINK(\"http://evil\")")
    start = db.execute("SELECT instr(text, 'слово') - 1 FROM revisions").fetchone()[0]
    add_coding(db, "h01", "appeals", coder="boris",
               span=f"{start}:{start + len(long_sentence.strip()) + 1}")
    return project


def test_xlsx_has_every_column_and_sheet_and_keeps_payloads_as_text(hostile, tmp_path):
    out = tmp_path / "x.xlsx"
    result = export_excerpts(hostile.db, Scope(), out)
    assert oct(stat.S_IMODE(os.stat(out).st_mode)) == "0o600"
    book = openpyxl.load_workbook(out)
    assert book.sheetnames[0] == "All" and book.sheetnames[-2:] == ["Codebook", "Documents"]
    assert {"trust", "empowerment"} <= set(book.sheetnames)
    sheet = book["All"]
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["document", "speaker", "region", "role"]
    assert {"code", "code_description", "excerpt", "before", "after", "segment", "start",
            "end", "coder", "origin", "memo", "created"} <= set(header)
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:")
    assert sheet["A1"].font.b
    rows = [dict(zip(header, (c.value for c in row), strict=True))
            for row in sheet.iter_rows(min_row=2)]
    texts = [r["excerpt"] for r in rows if r["excerpt"]]
    for payload in PAYLOADS:
        assert payload.strip() in [t.strip() for t in texts]
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            assert cell.data_type != "f"  # nothing came back as a formula
    memo = [r["memo"] for r in rows if r["memo"]]
    assert memo == ['=HYPERLINK("http://evil")']
    assert next(r for r in rows if r["excerpt"] == "Мы не доверяем чиновникам.")["region"] \
        == "Пермь"
    # the long excerpt is continued, not cut: its parts add up to the whole
    parts = [r for r in rows if r["code"] == "empowerment/appeals"]  # continuations repeat it
    assert len(parts) == 2 and all(len(p["excerpt"]) <= CELL_LIMIT for p in parts)
    whole = hostile.db.execute("SELECT substr(r.text, c.start + 1, c.\"end\" - c.start) FROM "
                               "codings c JOIN revisions r ON r.id = c.revision_id JOIN codes "
                               "g ON g.id = c.code_id WHERE g.name = 'appeals'").fetchone()[0]
    assert "".join(p["excerpt"] for p in parts) == whole
    assert parts[1]["document"] == "h01" and parts[1]["start"] == parts[0]["start"]
    # the excerpt before it has it as context 'after', so it is continued too
    assert result.excerpts == 8 and result.rows == 10
    assert len(result.warnings) == 2 and "continued over 2 rows" in result.warnings[0]
    # a per-code sheet holds that code's excerpts only
    trust = list(book["trust"].iter_rows(values_only=True))
    assert trust[0] == tuple(header)
    assert {row[header.index("code")] for row in trust[1:]} == {"trust/distrust"}
    assert len(trust) - 1 == sum(r["code"].startswith("trust/") for r in rows)
    codebook = book["Codebook"]
    assert [c.value for c in codebook[1]][:3] == ["path", "name", "description"]


def test_csv_defuses_formulas_has_a_bom_and_continues_long_cells(hostile, tmp_path):
    out = tmp_path / "x.csv"
    result = export_excerpts(hostile.db, Scope(), out)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines(keepends=True)))
    texts = {r["excerpt"] for r in rows}
    for payload in PAYLOADS[:4]:  # (the tab and CR ones are coded from their words)
        assert "'" + payload in texts
    for payload in PAYLOADS:
        assert export.defuse(payload) == "'" + payload
    assert export.defuse("Мы не доверяем") == "Мы не доверяем" and export.defuse(12) == 12
    assert {r["memo"] for r in rows} >= {"'=HYPERLINK(\"http://evil\")"}
    assert any("continued" in w for w in result.warnings)
    assert max(len(r["excerpt"]) for r in rows) <= CELL_LIMIT
    export_excerpts(hostile.db, Scope(), tmp_path / "raw.csv", raw=True)
    raw_rows = list(csv.DictReader((tmp_path / "raw.csv").read_text("utf-8-sig")
                                   .splitlines(keepends=True)))
    assert "=cmd|' /C calc'!A0" in {r["excerpt"] for r in raw_rows}


def test_jsonl_keeps_values_as_they_are(hostile, tmp_path):
    out = tmp_path / "x.jsonl"
    export_excerpts(hostile.db, Scope(code="trust", children=True), out)
    records = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert {r["code"] for r in records} == {"trust/distrust"}
    assert records[0]["attributes"]["role"] == "activist"
    assert "=cmd|' /C calc'!A0" in {r["excerpt"] for r in records}


def test_filters_and_context(hostile, tmp_path):
    out = tmp_path / "x.jsonl"
    export_excerpts(hostile.db, Scope(coders=["boris"], where=parse_filters(["role=activist"])),
                    out, context=1)
    records = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert {r["coder"] for r in records} == {"boris"}
    mine = next(r for r in records if r["excerpt"] == "Мы не доверяем чиновникам.")
    assert mine["before"] == "CR" and mine["after"].startswith("слово")


def test_refuses_to_overwrite_and_leaves_nothing_half_written(hostile, tmp_path, monkeypatch):
    out = tmp_path / "x.xlsx"
    out.write_text("keep me")
    with pytest.raises(QcodeError, match="exists; use --force"):
        export_excerpts(hostile.db, Scope(), out)
    assert out.read_text() == "keep me"

    def broken(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export, "_write_row", broken)
    with pytest.raises(QcodeError, match="No space left on device; nothing was written"):
        export_excerpts(hostile.db, Scope(), out, force=True)
    assert out.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    with pytest.raises(QcodeError, match="cannot tell the format"):
        export_excerpts(hostile.db, Scope(), tmp_path / "x.ods")


def test_sheet_names_are_valid_and_distinct():
    names = export.sheet_names(["a/b", "All", "x" * 40, "x" * 40, "'quoted'", "[x]:?*"])
    assert len(set(n.lower() for n in names.values())) == 5  # "x"*40 twice is one code
    assert all(len(n) <= 31 and not set(n) & set("[]:*?/\\") for n in names.values())
    assert names["All"] != "All" and names["'quoted'"] == "quoted"


def test_cli_writes_to_exports_by_default(cli, hostile):
    result = cli("export", "excerpts")
    assert result.exit_code == 0, result.stderr
    assert (hostile.exports_dir / "excerpts.xlsx").exists()
    assert "not encrypted" in result.stderr and "continued over" in result.stderr
    again = cli("export", "excerpts")
    assert again.exit_code == 1 and "--force" in again.stderr
    csv_run = cli("export", "excerpts", "-f", "csv", "--code", "trust", "--children")
    assert csv_run.exit_code == 0 and (hostile.exports_dir / "excerpts.csv").exists()


def test_a_killed_xlsx_export_leaves_no_interview_text_beside_the_project(hostile, tmp_path):
    """xlsxwriter writes each sheet's XML to temporary files first: they go to a private
    folder of qcode's, not the export's folder; one left by a killed export is reported
    by doctor and removed by the next export."""
    import subprocess
    import sys

    from qcode.export.files import scratch_root, stale_scratch

    target = tmp_path / "out" / "x.xlsx"
    target.parent.mkdir()
    script = (
        "import os, signal, sys\n"
        "import qcode.export.excerpts as x\n"
        "original, seen = x._write_row, []\n"
        "def row(*args):\n"
        "    seen.append(1)\n"
        "    if len(seen) == 6:\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    return original(*args)\n"
        "x._write_row = row\n"
        "from qcode.cli.app import main\n"
        f"sys.argv = ['qcode', '-P', {str(hostile.root)!r}, 'export', 'excerpts', '-o', "
        f"{str(target)!r}, '--force']\n"
        "main()\n")
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert killed.returncode == -9
    left = [p.name for p in target.parent.iterdir()]
    assert all(p.startswith(".x.xlsx.qcode-") for p in left)  # at most an empty placeholder
    assert all((target.parent / p).stat().st_size == 0 for p in left)
    stale = stale_scratch()
    assert stale and all(p.parent == scratch_root() for p in stale)
    assert stat.S_IMODE(scratch_root().stat().st_mode) == 0o700
    from typer.testing import CliRunner

    from qcode.cli.app import app

    doctor = CliRunner().invoke(app, ["-P", str(hostile.root), "doctor"])
    assert doctor.exit_code == 1 and "left by a killed export" in doctor.stdout
    export_excerpts(hostile.db, Scope(), target, force=True)
    assert stale_scratch() == [] and [p.name for p in target.parent.iterdir()] == ["x.xlsx"]


def test_xlsx_has_sheets_only_for_codes_in_the_export_and_numbers_as_numbers(project,
                                                                              tmp_path):
    """Issue 16, item 8: no empty sheets for codes outside the filter; a year, an age or
    a score is a number in the spreadsheet, so it sorts and sums."""
    db = project.db
    sync(db, load_codebook(CODEBOOK))
    write(tmp_path / "in" / "a.md", "---\nrole: activist\nyear: 2019\nage: 34\nscore: 2.5\n"
          "zip: '01234'\n---\nAnna: We trusted them.\n\nAnna: We wrote to the mayor.\n")
    import_paths(db, [tmp_path / "in"], ImportOptions())
    add_coding(db, "a", "distrust", coder="anna", segment=1)
    add_coding(db, "a", "appeals", coder="anna", segment=2)
    out = tmp_path / "trust.xlsx"
    export_excerpts(db, Scope(code="trust", children=True), out)
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["All", "trust", "Codebook", "Documents"]
    sheet = book["All"]
    header = [c.value for c in sheet[1]]
    row = dict(zip(header, (c.value for c in sheet[2]), strict=True))
    assert (row["year"], row["age"], row["score"]) == (2019, 34, 2.5)
    assert row["zip"] == "01234" and row["role"] == "activist"  # text stays text
    documents = book["Documents"]
    names = [c.value for c in documents[1]]
    assert dict(zip(names, (c.value for c in documents[2]), strict=True))["year"] == 2019
    everything = tmp_path / "all.xlsx"
    export_excerpts(db, Scope(), everything)
    # loyalty has no codings: no sheet for it either
    assert openpyxl.load_workbook(everything).sheetnames == [
        "All", "trust", "empowerment", "Codebook", "Documents"]

"""`qcode export matrix` (code × case for SPSS/R) and `qcode export memos`."""

import csv

import openpyxl
import pytest

from conftest import CODEBOOK, REPO, SAMPLE
from qcode.export.matrix import variable_names

ATTRIBUTES = REPO / "corpora" / "sample-attributes.csv"
A01, B04 = "a01-housing-perm", "b04-social-protection-kazan"


@pytest.fixture
def coded(cli):
    cli("codebook", "sync", "--file", CODEBOOK)
    assert cli("import", SAMPLE, "--attributes", ATTRIBUTES).exit_code == 0
    for doc, segment, code in [(A01, 3, "distrust"), (A01, 5, "distrust"),
                               (A01, 4, "trust/interpersonal"), (A01, 7, "loyalty/superiors"),
                               (B04, 4, "trust/interpersonal"), (B04, 2, "loyalty/superiors")]:
        assert cli("tag", "add", doc, "-s", segment, "-c", code).exit_code == 0
    return cli


def read_csv(path, encoding="utf-8"):
    with open(path, encoding=encoding, newline="") as f:
        return list(csv.DictReader(f))


def test_variable_names_are_valid_for_spss_and_r():
    assert variable_names(["trust/distrust", "2019 wave", "Доверие/институты", "a-b", "a_b",
                           "A/B", "x" * 80]) == [
        "trust_distrust", "v_2019_wave", "Доверие_институты", "a_b", "a_b_2", "A_B_3",
        "x" * 64]
    assert variable_names(["case"], {"case"}) == ["case_2"]


def test_matrix_documents_counts_with_attributes(coded, tmp_path):
    out = tmp_path / "m.csv"
    result = coded("export", "matrix", "-o", out, "--attributes")
    assert result.exit_code == 0, result.stderr
    assert "Wrote 8 document(s) × 17 code(s)" in result.stderr
    assert not out.read_bytes().startswith(b"\xef\xbb\xbf")  # R and SPSS want no BOM
    rows = {r["case"]: r for r in read_csv(out)}
    assert list(rows) == sorted(rows) and len(rows) == 8  # every document, coded or not
    header = list(rows[A01])
    assert header[0] == "case" and header.index("role") < header.index("trust")
    assert (rows[A01]["trust_distrust"], rows[A01]["trust_interpersonal"],
            rows[A01]["trust"], rows[A01]["loyalty"]) == ("2", "1", "3", "1")
    assert rows[B04]["role"] == "bureaucrat" and rows[B04]["year"] == "2022"
    assert rows["a02-landfill-arkhangelsk"]["trust"] == "0"


def test_matrix_by_speaker_binary_with_filters_to_xlsx(coded, tmp_path):
    out = tmp_path / "s.xlsx"
    result = coded("export", "matrix", "-o", out, "--by", "speaker", "--binary",
                   "--code", "trust", "--children", "--where", "role=bureaucrat",
                   "--attributes")
    assert result.exit_code == 0, result.stderr
    book = openpyxl.load_workbook(out)
    sheet = book["Matrix"]
    values = list(sheet.values)
    header = list(values[0])
    assert header[:3] == ["case", "document", "speaker"]
    assert header[-5:] == ["trust", "trust_interpersonal", "trust_network",
                           "trust_institutional", "trust_distrust"]
    rows = {row[0]: dict(zip(header, row, strict=True)) for row in values[1:]}
    assert {c.split("/")[0] for c in rows} == {"b01-ngo-department-perm",
                                               "b02-ministry-arkhangelsk",
                                               "b03-police-liaison-spb", B04}
    assert rows[f"{B04}/A"]["trust"] == 1 and rows[f"{B04}/A"]["trust_distrust"] == 0
    assert rows[f"{B04}/Q"]["trust"] == 0
    assert rows[f"{B04}/A"]["year"] == 2022  # a number, not text
    variables = dict(list(book["Variables"].values)[1:])
    assert variables["trust_interpersonal"] == "code trust/interpersonal"
    assert variables["year"] == "attribute year"


def test_matrix_keeps_a_leading_zero_and_writes_numbers_as_numbers(cli, tmp_path):
    """A postcode '01234' is stored as an integer attribute but is a code: the matrix,
    like the excerpts export, keeps it as written (int() would make it 1234)."""
    cli("codebook", "sync", "--file", CODEBOOK)
    assert cli("import", SAMPLE / f"{A01}.md", "--attr", "postcode=01234",
               "--attr", "age=42").exit_code == 0
    result = cli("export", "matrix", "-o", tmp_path / "m.csv", "--attributes")
    assert result.exit_code == 0, result.stderr
    row = read_csv(tmp_path / "m.csv")[0]
    assert (row["postcode"], row["age"]) == ("01234", "42")
    assert cli("export", "matrix", "-o", tmp_path / "m.xlsx", "--attributes").exit_code == 0
    values = list(openpyxl.load_workbook(tmp_path / "m.xlsx")["Matrix"].values)
    cells = dict(zip(values[0], values[1], strict=True))
    assert (cells["postcode"], cells["age"]) == ("01234", 42)


def test_matrix_refuses_bad_options(coded, tmp_path):
    result = coded("export", "matrix", "-o", tmp_path / "m.txt")
    assert result.exit_code == 1 and "cannot tell the format" in result.stderr
    assert coded("export", "matrix", "--by", "region", "-o", tmp_path / "m.csv").exit_code == 2
    (tmp_path / "m.csv").write_text("old")
    result = coded("export", "matrix", "-o", tmp_path / "m.csv")
    assert result.exit_code == 1 and "--force" in result.stderr
    assert (tmp_path / "m.csv").read_text() == "old"


@pytest.fixture
def memos(coded, project):
    coded("memo", "add", "--text", "Project start")
    coded("memo", "add", "--doc", A01, "--text", "=Recorded in a café")
    coded("memo", "add", "--code", "trust", "--title", "Definition", "--text", "Relational")
    coded("memo", "add", "--coding", "1", "--text", "Key passage")
    db = project.db
    with db.conn:  # a memo on a passage of a document
        revision = db.execute("SELECT r.id FROM current_revisions r JOIN documents d ON "
                              "d.id = r.document_id WHERE d.name = ?", [B04]).fetchone()[0]
        text = db.execute("SELECT text FROM revisions WHERE id = ?", [revision]).fetchone()[0]
        start = text.index("Please tell me")
        db.execute("INSERT INTO memos (target, document_id, revision_id, start, \"end\", "
                   "title, text, created, updated) SELECT 'document', document_id, id, ?, ?, "
                   "'', 'The opening question', 'x', 'x' FROM revisions WHERE id = ?",
                   [start, start + len("Please tell me about your work."), revision])
    return coded


def test_export_memos_csv_xlsx_md(memos, tmp_path):
    result = memos("export", "memos", "-o", tmp_path / "m.csv")
    assert result.exit_code == 0 and "Wrote 5 memo(s)" in result.stderr
    assert (tmp_path / "m.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # for Excel
    rows = read_csv(tmp_path / "m.csv", "utf-8-sig")
    got = [(r["on"], r["document"], r["code"], r["passage"], r["text"]) for r in rows]
    passage = "Please tell me about your work."
    assert got == [("project", "", "", "", "Project start"),
                   ("document", A01, "", "", "'=Recorded in a café"),
                   ("document", B04, "", passage, "The opening question"),
                   ("code", "", "trust", "", "Relational"),
                   ("coding", A01, "trust/distrust", rows[4]["passage"], "Key passage")]
    assert rows[4]["passage"] and rows[4]["coding"] == "1"
    # the sentence each passage starts in, as `qcode show` numbers them
    assert [r["sentence"] for r in rows] == ["", "", "2", "", rows[4]["sentence"]]  # 1: the note
    assert rows[4]["sentence"].isdigit()
    assert memos("export", "memos", "-o", tmp_path / "m.xlsx").exit_code == 0
    sheet = openpyxl.load_workbook(tmp_path / "m.xlsx")["Memos"]
    values = list(sheet.values)
    assert values[0][:3] == ("id", "on", "document") and len(values) == 6
    assert values[2][8] == "=Recorded in a café"  # text, not a formula
    assert memos("export", "memos", "-o", tmp_path / "m.md").exit_code == 0
    md = (tmp_path / "m.md").read_text()
    for heading in ("## Project memos", "## Document memos", "## Code memos",
                    "## Coding memos", "### trust — Definition"):
        assert heading in md
    assert f"> {passage}\n\nThe opening question" in md


def test_export_memos_of_a_project_without_memos(cli, tmp_path):
    assert cli("export", "memos", "-o", tmp_path / "m.md").exit_code == 0
    assert "No memos yet." in (tmp_path / "m.md").read_text()

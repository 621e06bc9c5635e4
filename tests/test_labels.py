"""Issue 18, item 6: NUL, line breaks and the invisible characters that reorder text
(U+202E RIGHT-TO-LEFT OVERRIDE) in document names, attribute values and code names were
accepted silently and carried into exports; "Trust" and "trust" could be sibling codes."""

import csv
import io

import pytest

from conftest import write
from qcode.codebook.model import codebook_from_text
from qcode.documents import list_documents
from qcode.errors import CodebookError
from qcode.ingest.importer import ImportOptions, import_file
from qcode.interop.codebook import _clean_names
from qcode.interop.refi import CodeNode
from qcode.labels import clean

RLO = "\u202e"
TRANSCRIPT = "Interviewer: How did it start?\nAnna: In our courtyard.\n"


@pytest.mark.parametrize("value, expected", [
    (f"interview-{RLO}txt.exe", "interview-txt.exe"),
    ("Perm\nregion", "Perm region"),
    ("a\x00b", "ab"),
    ("line\r\n\tbreak\u2028here", "line break here"),
    ("\u2067isolate\u2069 and \u200fmark", "isolate and mark"),
    ("Пермь", "Пермь"),  # letters of any script stay
    ("مقابلة", "مقابلة"),  # right-to-left letters are not controls
])
def test_clean(value, expected):
    assert clean(value) == expected


def test_import_strips_them_from_names_and_attributes_with_a_warning(project, tmp_path):
    path = write(tmp_path / f"a{RLO}gpj.md",
                 f'---\nrole: "activ{RLO}ist"\nregion: "Perm\\nkrai"\n---\n' + TRANSCRIPT)
    result = import_file(project.db, path, path.stem, ImportOptions())
    assert result.status == "imported" and result.documents == ["agpj"]
    assert len(result.warnings) == 3 and all(str(path) in w for w in result.warnings)
    assert all("\n" not in w and "right-to-left" in w for w in result.warnings)
    (doc,) = list_documents(project.db)
    assert doc["name"] == "agpj"
    assert doc["attributes"] == {"role": "activist", "region": "Perm krai"}


def test_cli_import_warns_and_the_csv_export_has_no_controls(runner, project, tmp_path):
    from qcode.cli.app import app

    path = write(tmp_path / "b.md", f"---\nregion: \"Perm{RLO}\"\n---\n" + TRANSCRIPT)
    done = runner.invoke(app, ["-P", str(project.root), "import", str(path)])
    assert done.exit_code == 0, done.stderr
    assert "right-to-left override" in done.stderr and "stored as 'Perm'" in done.stderr
    listed = runner.invoke(app, ["-P", str(project.root), "docs", "-f", "csv"])
    assert listed.exit_code == 0 and RLO not in listed.stdout
    assert any("Perm" in cell for row in csv.reader(io.StringIO(listed.stdout)) for cell in row)


@pytest.mark.parametrize("name", [f"tr{RLO}ust", "tr\x00ust", "trust\nme", "a\u2066b"])
def test_code_names_with_controls_are_refused(name):
    with pytest.raises(CodebookError, match="control characters"):
        codebook_from_text("name: t\ncodes:\n  - name: " + repr(name).replace("'", '"')
                           + "\n")  # a YAML double-quoted string with its escapes


def test_sibling_codes_differing_only_in_case_are_refused_with_the_line():
    text = ("name: t\ncodes:\n  - name: state\n    codes:\n      - name: Trust\n"
            "      - name: trust\n")
    with pytest.raises(CodebookError, match=r"'state/trust' differs from 'state/Trust' "
                                            r"\(line 5\) only in upper and lower case") as e:
        codebook_from_text(text, "codebook.yaml")
    assert e.value.line == 6
    # the same name under different parents, or a case-only rename by merging, is fine
    codebook_from_text("name: t\ncodes:\n  - name: a\n    codes:\n      - name: trust\n"
                       "  - name: b\n    codes:\n      - name: Trust\n")
    codebook_from_text("name: t\ncodes:\n  - name: trust\n  - name: Trust\n"
                       "    merged_into: trust\n")


def test_imported_codes_get_names_that_differ_in_more_than_case():
    nodes = [CodeNode(guid="1", name="Trust"), CodeNode(guid="2", name="trust"),
             CodeNode(guid="3", name=f"fe{RLO}ar")]
    warnings: list[str] = []
    _clean_names(nodes, warnings)
    assert [n.name for n in nodes] == ["Trust", "trust (2)", "fear"]
    assert len(warnings) == 2

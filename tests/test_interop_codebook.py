"""Codebooks to and from other programs: REFI-QDA .qdc, YAML, CSV, Markdown."""

from pathlib import Path

import pytest
from lxml import etree

from conftest import CODEBOOK, write
from qcode.codebook.model import load_codebook
from qcode.codebook.sync import sync
from qcode.errors import InteropError, QcodeError
from qcode.interop.codebook import (export_codebook, import_codebook, project_codes,
                                    read_codebook_file)
from qcode.project import Project

FIXTURES = Path(__file__).parent / "fixtures" / "refi"
FIELDS = ("path", "guid", "color", "description", "include", "exclude", "examples")


@pytest.fixture
def synced(project):
    sync(project.db, load_codebook(CODEBOOK))
    return project


def codes_of(project) -> list[dict]:
    return [{k: row[k] for k in FIELDS} for row in project_codes(project.db)]


def fresh(tmp_path, name) -> Project:
    return Project.init(tmp_path / name, coder="tester")


def test_qdc_validates_against_the_refi_schema(synced, tmp_path):
    out = export_codebook(synced.db, tmp_path / "c.qdc")
    schema = etree.XMLSchema(etree.parse(str(FIXTURES / "Codebook.repaired.xsd")))
    document = etree.parse(str(out))
    assert schema.validate(document), schema.error_log
    assert len(document.findall(".//{urn:QDA-XML:codebook:1.0}Code")) == len(codes_of(synced))


@pytest.mark.parametrize("fmt", ["qdc", "csv"])
def test_round_trip_keeps_guids_colours_definitions_and_rules(synced, tmp_path, fmt):
    out = export_codebook(synced.db, tmp_path / f"c.{fmt}")
    other = fresh(tmp_path, "other")
    result = import_codebook(out, other.codebook_path)
    assert result.warnings == [] and len(result.added) == len(codes_of(synced))
    sync(other.db, load_codebook(other.codebook_path))
    assert codes_of(other) == codes_of(synced)
    other.close()


def test_yaml_export_is_a_codebook_that_syncs_to_the_same_codes(synced, tmp_path):
    out = export_codebook(synced.db, tmp_path / "c.yaml")
    other = fresh(tmp_path, "other")
    sync(other.db, load_codebook(out))
    keep = ("path", "guid", "patterns", "exclude_patterns", "negated", "key", "description")
    assert [{k: r[k] for k in keep} for r in project_codes(other.db)] == \
        [{k: r[k] for k in keep} for r in project_codes(synced.db)]
    other.close()


def test_markdown_and_refusals(synced, tmp_path):
    text = export_codebook(synced.db, tmp_path / "c.md").read_text("utf-8")
    assert text.startswith("# Trust, empowerment and loyalty") or text.startswith("# ")
    assert "## trust" in text and "### trust/interpersonal" in text and "**Include:**" in text
    with pytest.raises(QcodeError, match="exists; use --force"):
        export_codebook(synced.db, tmp_path / "c.md")
    with pytest.raises(QcodeError, match="cannot tell the format"):
        export_codebook(synced.db, tmp_path / "c.docx")


def test_taguette_codebooks_become_a_tree(tmp_path):
    origin, nodes, warnings = read_codebook_file(FIXTURES / "taguette-codebook.qdc")
    assert origin == "Taguette 1.5.2" and warnings == []
    paths = [path for top in nodes for path, _ in top.walk()]
    assert paths == ["interesting", "emotion", "emotion/anxiety", "support", "support/family",
                     "support/community", "finance", "finance/rent", "fatigue"]
    anxiety = nodes[1].children[0]
    assert anxiety.guid == "6d718785-82a9-5e01-844a-c47794cfc5d2"  # kept, lower case
    origin, nodes, _ = read_codebook_file(FIXTURES / "taguette-codebook.csv")
    assert nodes[1].children[0].description == "Expressions of worry or anxiety"


def test_import_merges_only_when_asked_and_keeps_a_backup(synced, tmp_path):
    qdc = write(tmp_path / "nvivo.qdc", """<?xml version="1.0" encoding="utf-8"?>
<CodeBook xmlns="urn:QDA-XML:codebook:1:0" origin="NVivo 14">
 <Codes>
  <Code guid="{37D801ED-B1C6-5F2B-942E-531B25C0108F}" name="trust" isCodable="true">
   <Code guid="11111111-2222-3333-4444-555555555555" name="in courts / judges"
         isCodable="true" color="#AA0000"><Description>Trust in the courts.</Description></Code>
  </Code>
  <Code guid="66666666-2222-3333-4444-555555555555" name="fear" isCodable="true"/>
 </Codes>
</CodeBook>""")
    target = synced.codebook_path
    target.write_text(CODEBOOK.read_text("utf-8"), "utf-8")
    before = target.read_text("utf-8")
    with pytest.raises(QcodeError, match="already has codes; use --merge"):
        import_codebook(qdc, target)
    assert target.read_text("utf-8") == before
    result = import_codebook(qdc, target, merge=True)
    assert result.added == ["trust/in courts - judges", "fear"]
    assert result.backup.read_text("utf-8") == before
    assert result.warnings == ["code 'trust/in courts / judges' is named 'in courts - judges' "
                               "in qcode (names cannot hold / \\ or control characters, have "
                               "at most 80 characters and differ among siblings in more than case)"]
    merged = load_codebook(target)
    paths = [c.path for c in merged.codes]
    assert paths.index("trust/in courts - judges") < paths.index("empowerment")
    assert paths[-1] == "fear"
    courts = merged.by_path()["trust/in courts - judges"]
    assert courts.spec.guid == "11111111-2222-3333-4444-555555555555"
    assert courts.spec.color == "#AA0000" and courts.spec.description == "Trust in the courts."
    # the existing codes are untouched: same definitions and patterns
    original = load_codebook(CODEBOOK).by_path()
    assert all(merged.by_path()[p].spec.model_dump(exclude={"codes"})
               == c.spec.model_dump(exclude={"codes"}) for p, c in original.items())
    # importing the same file again adds nothing
    assert import_codebook(qdc, target, merge=True).added == []


@pytest.mark.parametrize(("text", "message"), [
    ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
     '<CodeBook><Codes><Code guid="11111111-2222-3333-4444-555555555555" name="&e;" '
     'isCodable="true"/></Codes></CodeBook>', "refused"),
    ('<CodeBook><Codes><Code guid="nope" name="a" isCodable="true"/></Codes></CodeBook>',
     "code 'a': not a GUID"),
    ("<CodeBook><Codes><Code", "not well-formed"),
    ("<Project/>", "not a REFI-QDA codebook"),
])
def test_bad_qdc_files_get_one_line_naming_the_file(tmp_path, text, message):
    path = write(tmp_path / "bad.qdc", text)
    target = tmp_path / "codebook.yaml"
    with pytest.raises(InteropError, match=message) as err:
        import_codebook(path, target)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
    assert not target.exists()


def test_cli_export_and_import(cli, synced, tmp_path):
    assert cli("export", "codebook").exit_code == 0
    assert (synced.exports_dir / "codebook.qdc").exists()
    other = fresh(tmp_path, "other")
    result = cli("-P", str(other.root), "import", "codebook",
                 str(synced.exports_dir / "codebook.qdc"))
    assert result.exit_code == 0, result.stderr
    assert "17 code(s)" in result.stderr and "qcode codebook sync" in result.stderr
    assert cli("-P", str(other.root), "codebook", "check").exit_code == 0
    again = cli("-P", str(other.root), "import", "codebook",
                str(FIXTURES / "taguette-codebook.qdc"))
    assert again.exit_code == 1 and "--merge" in again.stderr
    other.close()

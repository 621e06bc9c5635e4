"""REFI-QDA projects (.qdpx): export validates against the standard's schema, a round
trip keeps everything, real NVivo exports import onto word boundaries, hostile archives
are refused with nothing changed."""

import io
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from conftest import CODEBOOK, SAMPLE, table_counts
from qcode.codebook.model import load_codebook
from qcode.codebook.sync import sync
from qcode.coding import add_coding
from qcode.errors import InteropError
from qcode.ingest.attributes import read_attribute_table
from qcode.ingest.importer import ImportOptions, import_paths
from qcode.interop.qdpx import export_project
from qcode.interop.qdpx_import import import_project
from qcode.memos import add_memo
from qcode.project import Project

FIXTURES = Path(__file__).parent / "fixtures" / "refi"
NVIVO = Path(__file__).parents[2] / "shared" / "fixtures" / "refi" / "nvivo-win-12.6" \
    / "oltas0517.qdpx"
A01, B01 = "a01-housing-perm", "b01-ngo-department-perm"


@pytest.fixture
def rich(project):
    """Two coders, codings that share a span, memos on everything, attributes."""
    db = project.db
    sync(db, load_codebook(CODEBOOK))
    project.codebook_path.write_text(CODEBOOK.read_text("utf-8"), "utf-8")
    table = read_attribute_table(SAMPLE.parent / "sample-attributes.csv")
    import_paths(db, [SAMPLE], ImportOptions(table=table))
    first = add_coding(db, A01, "distrust", coder="anna", segment=3).coding_id
    add_coding(db, A01, "network", coder="anna", segment=3)  # same span, second code
    add_coding(db, A01, "distrust", coder="boris", segment=3)
    add_coding(db, B01, "superiors", coder="boris", segment=20)
    add_memo(db, "Recorded in a noisy café", coder="anna", document=A01)
    add_memo(db, "Check against the second interview", coder="boris", coding=first)
    add_memo(db, "Often overlaps with network", coder="anna", code="distrust")
    add_memo(db, "Wave 1 coding rules agreed on 3 May", coder="anna")
    return project


def snapshot(db) -> dict:
    return {
        "documents": db.execute("SELECT d.name, r.text FROM documents d JOIN current_revisions "
                                "r ON r.document_id = d.id ORDER BY d.name").fetchall(),
        "attributes": db.execute("SELECT d.name, a.key, a.value FROM attributes a JOIN "
                                 "documents d ON d.id = a.document_id ORDER BY 1, 2").fetchall(),
        "codes": db.execute("SELECT path, guid, color, description FROM codes WHERE status = "
                            "'active' ORDER BY path").fetchall(),
        "codings": db.execute("SELECT d.name, c.start, c.\"end\", g.path, k.name FROM codings c "
                              "JOIN documents d ON d.id = c.document_id JOIN codes g ON "
                              "g.id = c.code_id JOIN coders k ON k.id = c.coder_id "
                              "ORDER BY 1, 2, 3, 4, 5").fetchall(),
        "memos": db.execute("SELECT m.target, m.text, coalesce(d.name, ''), "
                            "coalesce(g.path, ''), k.name FROM memos m LEFT JOIN documents d ON "
                            "d.id = m.document_id LEFT JOIN codes g ON g.id = m.code_id "
                            "LEFT JOIN coders k ON k.id = m.coder_id ORDER BY 2").fetchall(),
    }


def test_export_validates_against_the_project_schema(rich, tmp_path):
    out = tmp_path / "study.qdpx"
    result = export_project(rich.db, out, name="Trust study")
    assert (result.documents, result.codings, result.memos) == (8, 4, 4)
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        qde = archive.read("project.qde")
        assert len([n for n in names if n.startswith("sources/")]) == 8
    schema = etree.XMLSchema(etree.parse(str(FIXTURES / "Project-mrt2019.xsd")))
    document = etree.fromstring(qde)
    assert schema.validate(document), schema.error_log
    ns = {"q": "urn:QDA-XML:project:1.0"}
    assert {u.get("name") for u in document.findall("q:Users/q:User", ns)} >= {"anna", "boris"}
    shared = [s for s in document.iterfind(".//q:PlainTextSelection", ns)
              if len(s.findall("q:Coding", ns)) == 3]
    assert len(shared) == 1  # one selection, three codings (two codes, two coders)
    assert document.find("q:Variables/q:Variable[@name='role']", ns) is not None
    assert document.find("q:Cases/q:Case", ns).find("q:SourceRef", ns) is not None
    # the same project exported twice gives the same GUIDs
    export_project(rich.db, tmp_path / "again.qdpx", name="Trust study")
    with zipfile.ZipFile(tmp_path / "again.qdpx") as archive:
        again = etree.fromstring(archive.read("project.qde"))
    guids = lambda doc: sorted(e.get("guid") for e in doc.iter() if e.get("guid"))  # noqa: E731
    assert guids(again) == guids(document)


def test_a_memo_on_a_passage_goes_out_and_comes_back_on_its_passage(rich, tmp_path):
    """A memo on a passage was exported as a note on the whole transcript; it is a
    selection with that note (no coding), which `import project` and `merge` read back
    onto the passage."""
    text = rich.db.execute("SELECT r.text FROM current_revisions r JOIN documents d ON "
                           "d.id = r.document_id WHERE d.name = ?", [A01]).fetchone()[0]
    start = text.index("Nobody asked us.")
    add_memo(rich.db, "Who should have asked?", coder="anna", document=A01,
             span=(start, start + 16))
    out = tmp_path / "study.qdpx"
    assert export_project(rich.db, out, name="Trust study").memos == 5
    with zipfile.ZipFile(out) as archive:
        document = etree.fromstring(archive.read("project.qde"))
    schema = etree.XMLSchema(etree.parse(str(FIXTURES / "Project-mrt2019.xsd")))
    assert schema.validate(document), schema.error_log
    other = Project.init(tmp_path / "other", coder="lead")
    result = import_project(other.db, out, codebook_path=other.codebook_path, coder="lead")
    assert result.memos == 5 and result.codings == 4
    assert other.db.execute(
        "SELECT k.name, substr(r.text, m.start + 1, m.\"end\" - m.start) FROM memos m JOIN "
        "revisions r ON r.id = m.revision_id JOIN coders k ON k.id = m.coder_id"
        ).fetchall() == [("anna", "Nobody asked us.")]
    assert snapshot(other.db) == snapshot(rich.db)
    again = import_project(other.db, out, codebook_path=other.codebook_path, coder="lead")
    assert again.memos == 0
    other.close()


def test_round_trip_keeps_documents_attributes_codes_codings_and_memos(rich, tmp_path):
    out = tmp_path / "study.qdpx"
    export_project(rich.db, out, name="Trust study")
    other = Project.init(tmp_path / "other", coder="lead")
    result = import_project(other.db, out, codebook_path=other.codebook_path, coder="lead")
    assert result.share == 1.0 and result.codings == 4 and result.memos == 4
    assert all(s.convention == "code points" for s in result.sources)
    assert snapshot(other.db) == snapshot(rich.db)
    # importing it again adds nothing
    before = table_counts(other.db)
    again = import_project(other.db, out, codebook_path=other.codebook_path, coder="lead")
    assert again.codings == 0 and again.memos == 0 and again.codes_added == []
    assert {s.status for s in again.sources} == {"existing"}
    counts = table_counts(other.db)
    assert {k: v for k, v in counts.items() if k != "changes"} == \
        {k: v for k, v in before.items() if k != "changes"}
    other.close()


@pytest.mark.skipif(not NVIVO.exists(), reason="needs ../shared/fixtures (the NVivo export)")
def test_nvivo_windows_export_lands_on_word_boundaries(project):
    result = import_project(project.db, NVIVO, codebook_path=project.codebook_path,
                            coder="tester")
    assert result.origin == "NVivo for Windows 12.6"
    assert result.codings == 303 and len(result.codes_added) == 152
    coded = next(s for s in result.sources if s.codings)
    assert coded.convention == "UTF-16 units"
    # 300 of 303 sit on word boundaries; the other three start or end inside a word in
    # NVivo's own file ("A|KI", "J|avitsatok", "hiede|lem"), while their neighbours fit
    assert round(coded.on_boundaries * 303) == 300
    assert result.coders == ["Gergo"]
    # the text holds characters beyond U+FFFF (emoji), which is why UTF-16 units matter
    text = project.db.execute("SELECT text FROM revisions r JOIN documents d ON "
                              "d.id = r.document_id WHERE d.name = ?", [coded.name]).fetchone()[0]
    assert any(ord(ch) > 0xFFFF for ch in text)
    described = project.db.execute("SELECT count(*) FROM codes WHERE description != ''"
                                   ).fetchone()[0]
    assert described == 82
    assert load_codebook(project.codebook_path).codes  # the YAML codebook has them


def _qdpx(tmp_path, members: dict, name="bad.qdpx") -> Path:
    path = tmp_path / name
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    path.write_bytes(buffer.getvalue())
    return path


QDE = ('<?xml version="1.0" encoding="utf-8"?><Project xmlns="urn:QDA-XML:project:1.0" '
       'name="x"><Sources><TextSource guid="11111111-2222-3333-4444-555555555555" name="s" '
       'plainTextPath="{path}"/></Sources></Project>')


@pytest.mark.parametrize(("members", "message"), [
    ({"project.qde": QDE.format(path="internal://../../etc/passwd")}, "leaves"),
    ({"project.qde": QDE.format(path="absolute:///etc/passwd")}, "only internal://"),
    ({"project.qde": QDE.format(path="internal://missing.txt")}, "no member"),
    ({"project.qde": '<?xml version="1.0"?><!DOCTYPE p [<!ENTITY e "x">]><Project name="&e;"/>'},
     "refused"),
    ({"project.qde": "<Project"}, "not well-formed"),
    ({"sources/a.txt": "x"}, "no project.qde"),
    ({"project.qde": QDE.format(path="internal://a.txt"), "../evil.txt": "x"},
     "member '../evil.txt' points outside"),
    ({"project.qde": QDE.format(path="internal://a.txt"), "/etc/cron.d/x": "x"},
     "points outside"),
    ({"project.qde": QDE.format(path="internal://a.txt"), "sources/a.txt": "\0" * (40 * 2**20)},
     "zip bomb"),
])
def test_hostile_archives_are_refused_and_nothing_changes(project, tmp_path, members, message):
    path = _qdpx(tmp_path, members)
    before = table_counts(project.db)
    codebook = project.codebook_path.read_text("utf-8")
    with pytest.raises(InteropError, match=message) as err:
        import_project(project.db, path, codebook_path=project.codebook_path, coder="t")
    assert str(path) in str(err.value) and "\n" not in str(err.value)
    assert table_counts(project.db) == before
    assert project.codebook_path.read_text("utf-8") == codebook


def test_a_failure_half_way_writes_nothing(rich, tmp_path, monkeypatch):
    out = tmp_path / "study.qdpx"
    export_project(rich.db, out, name="Trust study")
    other = Project.init(tmp_path / "other", coder="lead")
    before = table_counts(other.db)
    codebook = other.codebook_path.read_text("utf-8")
    from qcode.interop import qdpx_import

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(qdpx_import, "_guid_or_none", broken)  # fails while writing memos
    with pytest.raises(OSError):
        import_project(other.db, out, codebook_path=other.codebook_path, coder="lead")
    assert table_counts(other.db) == before
    assert other.codebook_path.read_text("utf-8") == codebook
    other.close()


def test_cli_export_and_import_project(cli, rich, tmp_path):
    result = cli("export", "project")
    assert result.exit_code == 0, result.stderr
    out = rich.exports_dir / f"{rich.root.name}.qdpx"
    assert out.exists() and "not encrypted" in result.stderr
    other = Project.init(tmp_path / "other", coder="lead")
    imported = cli("-P", str(other.root), "import", "project", str(out))
    assert imported.exit_code == 0, imported.stderr
    assert "4 coding(s)" in imported.stderr and "100% of codings" in imported.stderr
    other.close()


def _docx(text: str) -> bytes:
    import docx

    document = docx.Document()
    for line in text.split("\n"):
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_the_ways_producers_differ(project, tmp_path):
    """ATLAS.ti-style CRLF counted once, a namespace typo, GUIDs in braces and upper case,
    bare and Sources/ paths, text only in a .docx, a selection with two codings and one
    with none (a memo)."""
    crlf = "Мы не доверяем чиновникам.\r\nНикто нас не слушает.\r\nМы пишем жалобы."
    start = crlf.replace("\r\n", "\n").index("Мы пишем")  # ATLAS.ti: CRLF counts as one
    qde = f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1:0" name="atlas" origin="ATLAS.ti 23">
 <Users><User guid="{{AAAAAAAA-0000-0000-0000-000000000001}}" name="Olga"/></Users>
 <CodeBook><Codes>
  <Code guid="{{BBBBBBBB-0000-0000-0000-000000000001}}" name="complaints" isCodable="true"/>
  <Code guid="BBBBBBBB-0000-0000-0000-000000000002" name="distrust" isCodable="true"/>
 </Codes></CodeBook>
 <Sources>
  <TextSource guid="CCCCCCCC-0000-0000-0000-000000000001" name="t1"
              plainTextPath="cccccccc-0000-0000-0000-000000000001.txt">
   <PlainTextSelection guid="DDDDDDDD-0000-0000-0000-000000000001" startPosition="{start}"
       endPosition="{start + len('Мы пишем жалобы.')}"
       creatingUser="aaaaaaaa-0000-0000-0000-000000000001">
    <Coding guid="EEEEEEEE-0000-0000-0000-000000000001"
            creatingUser="{{AAAAAAAA-0000-0000-0000-000000000001}}">
     <CodeRef targetGUID="bbbbbbbb-0000-0000-0000-000000000001"/></Coding>
    <Coding guid="EEEEEEEE-0000-0000-0000-000000000002">
     <CodeRef targetGUID="{{BBBBBBBB-0000-0000-0000-000000000002}}"/></Coding>
   </PlainTextSelection>
   <PlainTextSelection guid="DDDDDDDD-0000-0000-0000-000000000002" startPosition="0"
       endPosition="2"><NoteRef targetGUID="FFFFFFFF-0000-0000-0000-000000000001"/>
   </PlainTextSelection>
  </TextSource>
  <TextSource guid="CCCCCCCC-0000-0000-0000-000000000002" name="from-word"
              richTextPath="internal://cccccccc-0000-0000-0000-000000000002.docx"/>
 </Sources>
 <Notes><Note guid="FFFFFFFF-0000-0000-0000-000000000001" name="n">
  <PlainTextContent>the chair speaks first</PlainTextContent></Note></Notes>
</Project>"""
    path = _qdpx(tmp_path, {
        "project.qde": qde,
        "Sources/cccccccc-0000-0000-0000-000000000001.txt": "\ufeff" + crlf,
        "Sources/cccccccc-0000-0000-0000-000000000002.docx": _docx("Only in Word.\nTwo lines."),
    }, name="atlas.qdpx")
    result = import_project(project.db, path, codebook_path=project.codebook_path,
                            coder="lead")
    assert result.codings == 2 and result.memos == 1 and result.coders == ["Olga"]
    assert result.sources[0].convention == "code points, CRLF as 1"
    rows = project.db.execute(
        "SELECT g.path, k.name, substr(r.text, c.start + 1, c.\"end\" - c.start) FROM codings "
        "c JOIN codes g ON g.id = c.code_id JOIN coders k ON k.id = c.coder_id JOIN revisions "
        "r ON r.id = c.revision_id ORDER BY g.path").fetchall()
    # the second coding names no creator: the selection's creator made it
    assert rows == [("complaints", "Olga", "Мы пишем жалобы."),
                    ("distrust", "Olga", "Мы пишем жалобы.")]
    texts = dict(project.db.execute("SELECT d.name, r.text FROM documents d JOIN revisions r "
                                    "ON r.document_id = d.id"))
    assert texts["from-word"] == "Only in Word.\nTwo lines."
    assert "\r" not in texts["t1"]
    # a document of the same name with other text is refused, and nothing changes
    before = table_counts(project.db)
    changed = qde.replace("ATLAS.ti 23", "ATLAS.ti 24")
    other = _qdpx(tmp_path, {
        "project.qde": changed,
        "Sources/cccccccc-0000-0000-0000-000000000001.txt": crlf + " Edited.",
        "Sources/cccccccc-0000-0000-0000-000000000002.docx": _docx("Only in Word.\nTwo lines."),
    }, name="edited.qdpx")
    with pytest.raises(InteropError, match="'t1': the project has a document of that name"):
        import_project(project.db, other, codebook_path=project.codebook_path, coder="lead")
    assert table_counts(project.db) == before


SELECTIONS = ('<?xml version="1.0" encoding="utf-8"?><Project xmlns="urn:QDA-XML:project:1.0" '
              'name="x"><CodeBook><Codes><Code guid="{code}" name="c" isCodable="true"/></Codes>'
              '</CodeBook><Sources><TextSource guid="11111111-2222-3333-4444-555555555555" '
              'name="s" plainTextPath="internal://a.txt">{selections}</TextSource></Sources>'
              '</Project>')
CODE = "99999999-2222-3333-4444-555555555555"


def _selection(guid, start, end):
    return (f'<PlainTextSelection guid="{guid}" startPosition="{start}" endPosition="{end}">'
            f'<Coding guid="{guid[:-4]}aaaa"><CodeRef targetGUID="{CODE}"/></Coding>'
            '</PlainTextSelection>')


@pytest.mark.parametrize(("start", "end", "why"), [(-50, 10, "a negative position"),
                                                   (811, 731, "ends before it starts")])
def test_impossible_selection_offsets_are_refused_not_guessed(project, tmp_path, start, end,
                                                                 why):
    bad = "12345678-2222-3333-4444-555555555555"
    selections = _selection("00000000-2222-3333-4444-555555555555", 0, 5) + \
        _selection(bad, start, end)
    path = _qdpx(tmp_path, {"project.qde": SELECTIONS.format(code=CODE, selections=selections),
                            "sources/a.txt": "Hello there. " * 80})
    before = table_counts(project.db)
    with pytest.raises(InteropError, match=f"{bad} \\({start}-{end}: {why}\\)"):
        import_project(project.db, path, codebook_path=project.codebook_path, coder="t")
    assert table_counts(project.db) == before


def test_an_empty_selection_is_reported_as_empty(project, tmp_path):
    selections = _selection("00000000-2222-3333-4444-555555555555", 0, 5) + \
        _selection("12345678-2222-3333-4444-555555555555", 7, 7)
    path = _qdpx(tmp_path, {"project.qde": SELECTIONS.format(code=CODE, selections=selections),
                            "sources/a.txt": "Hello there. " * 80})
    result = import_project(project.db, path, codebook_path=project.codebook_path, coder="t")
    assert result.codings == 1 and any("7-7 is empty" in w for w in result.warnings)

from pathlib import Path

import pytest

from conftest import SAMPLE, write
from qcode.errors import InputError
from qcode.ingest.importer import ImportOptions, parse_file

BAD = Path(__file__).parent / "fixtures" / "bad"


def parse(path, name=None):
    return parse_file(Path(path), name or Path(path).stem, ImportOptions())


def check_spans(doc):
    for turn in doc.turns:
        piece = doc.text[turn.start:turn.end]
        assert piece and piece == piece.strip()
        for cue in turn.cues:
            assert turn.start <= cue.start < cue.end <= turn.end


@pytest.mark.parametrize("file", sorted(p.name for p in SAMPLE.iterdir()))
def test_every_sample_transcript_reads_with_speakers(file):
    (doc,) = parse(SAMPLE / file)
    check_spans(doc)
    speakers = {t.speaker for t in doc.turns if t.speaker}
    assert len(speakers) == 2, speakers
    assert len(doc.text.split()) >= 800


def test_markdown_front_matter_becomes_attributes():
    (doc,) = parse(SAMPLE / "a01-housing-perm.md")
    assert doc.attributes["role"] == "activist"
    assert doc.attributes["year"] == 2019
    assert doc.attributes["fictional"] is True
    assert not doc.text.startswith("---")


def test_vtt_voices_times_and_merged_cues():
    (doc,) = parse(SAMPLE / "a02-landfill-arkhangelsk.vtt")
    first, second = doc.turns[:2]
    assert (first.speaker, first.time_start) == ("Interviewer", 3.0)
    assert second.speaker == "Pavel" and len(second.cues) > 1  # consecutive cues, one turn
    assert doc.text.startswith("Interviewer: Thank you")


def test_srt_name_prefix_on_first_cue_only():
    (doc,) = parse(SAMPLE / "b02-ministry-arkhangelsk.srt")
    assert [t.speaker for t in doc.turns[:3]] == ["Interviewer", "Nikolai", "Interviewer"]
    assert doc.turns[1].time_start == pytest.approx(6.4)


def test_csv_one_row_per_turn_and_per_document(tmp_path):
    (doc,) = parse(SAMPLE / "b03-police-liaison-spb.csv")
    assert doc.turns[1].speaker == "Dmitry" and doc.turns[1].time_start is not None
    table = write(tmp_path / "many.csv", 'document,text,role\nx,"Q: a?\nA: b.",activist\n'
                                         "y,Hello world.,bureaucrat\n")
    docs = parse(table)
    assert [(d.name, d.attributes) for d in docs] == [("x", {"role": "activist"}),
                                                      ("y", {"role": "bureaucrat"})]
    assert [t.speaker for t in docs[0].turns] == ["Q", "A"]


def test_csv_cells_over_the_default_field_limit(tmp_path):
    big = "word " * 40_000  # 200 kB: over csv's default 131,072-character field limit
    (doc,) = parse(write(tmp_path / "big.csv", f"speaker,text\nAnna,{big}\n"))
    assert len(doc.text) > 131_072


def test_docx_tables_become_turns(tmp_path):
    import docx

    document = docx.Document()
    document.add_paragraph("Interview 7")
    table = document.add_table(rows=2, cols=2)
    for row, (who, said) in zip(table.rows, [("Interviewer", "Why?"), ("Anna", "Because.")],
                                strict=True):
        row.cells[0].text, row.cells[1].text = who, said
    document.save(tmp_path / "t.docx")
    (doc,) = parse(tmp_path / "t.docx")
    assert [(t.speaker, doc.text[t.start:t.end]) for t in doc.turns] == [
        (None, "Interview 7"), ("Interviewer", "Why?"), ("Anna", "Because.")]


@pytest.mark.parametrize("file, message", [
    ("empty.txt", "empty"),
    ("binary.txt", r"binary.txt \(byte 6\): looks like a binary file"),
    ("nul.txt", "binary"),
    ("truncated.docx", "not a readable .docx"),
    ("broken-timing.vtt", r"broken-timing.vtt:6: malformed cue timing"),
    ("not-subtitles.vtt", "not a valid .vtt"),
    ("list-front-matter.md", r"list-front-matter.md:2: front matter must be a mapping"),
    ("nested-front-matter.md", "expected a single value"),
    ("tagged-front-matter.md", r"tagged-front-matter.md:2: YAML tags"),
    ("no-text-column.csv", r"no-text-column.csv:1: no text column"),
    ("bad-time.csv", r"bad-time.csv:3: not a time"),
    ("ragged.csv", r"ragged.csv:3: expected 2 fields"),
])
def test_bad_files_get_one_line_errors_naming_them(file, message):
    with pytest.raises(InputError, match=message) as err:
        parse(BAD / file)
    assert "\n" not in str(err.value)


def test_unsupported_type(tmp_path):
    with pytest.raises(InputError, match="unsupported file type '.pdf'"):
        parse(write(tmp_path / "x.pdf", "%PDF"))


def test_fifty_megabyte_single_line_is_refused_before_reading(tmp_path):
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as f:  # sparse: costs no disk
        f.truncate(50 * 2**20)
    with pytest.raises(InputError, match="over the limit of 16 MiB"):
        parse(huge)


def test_a_long_single_line_within_the_limit_imports(tmp_path):
    line = "We did not trust them at all. " * 70_000  # 2 MB, one line
    (doc,) = parse(write(tmp_path / "long.txt", line))
    assert doc.text == line and len(doc.turns) == 1

from pathlib import Path

import pytest

from conftest import SAMPLE, table_counts, write
from qcode.documents import document_segments, list_documents
from qcode.errors import InputError
from qcode.ingest.importer import ImportOptions, discover, import_file, import_paths

BAD = Path(__file__).parent / "fixtures" / "bad"
TRANSCRIPT = "Interviewer: How did it start?\nAnna: In our courtyard. We met weekly!\n"


def test_import_stores_text_turns_sentences_and_attributes(project, tmp_path):
    path = write(tmp_path / "a.md", "---\nrole: activist\nyear: 2019\n---\n" + TRANSCRIPT)
    result = import_file(project.db, path, "a", ImportOptions(coder="tester"))
    assert (result.status, result.documents, result.segments) == ("imported", ["a"], 3)
    (doc,) = list_documents(project.db)
    assert doc["attributes"] == {"role": "activist", "year": "2019"}
    types = dict(project.db.execute("SELECT key, type FROM attributes").fetchall())
    assert types == {"role": "text", "year": "integer"}
    segments = document_segments(project.db, doc["id"])
    assert [(s["speaker"], s["text"]) for s in segments] == [
        ("Interviewer", "How did it start?"), ("Anna", "In our courtyard."),
        ("Anna", "We met weekly!")]
    (change,) = project.db.execute("SELECT action, entity FROM changes").fetchall()
    assert change == ("import", "document")


def test_same_content_twice_is_skipped_not_duplicated(project, tmp_path):
    first = write(tmp_path / "a.txt", TRANSCRIPT)
    again = write(tmp_path / "copy" / "renamed.txt", TRANSCRIPT)
    results = import_paths(project.db, [first, again, first], ImportOptions())
    assert [r.status for r in results] == ["imported", "skipped", "skipped"]
    assert "same text as document 'a'" in results[1].message
    assert len(list_documents(project.db)) == 1


def test_same_name_different_text_is_an_error_and_changes_nothing(project, tmp_path):
    import_paths(project.db, [write(tmp_path / "a.txt", TRANSCRIPT)], ImportOptions())
    before = table_counts(project.db)
    with pytest.raises(InputError, match="already exists with different text"):
        import_file(project.db, write(tmp_path / "b" / "a.txt", TRANSCRIPT + "More."), "a",
                    ImportOptions())
    assert table_counts(project.db) == before


def test_a_bad_file_does_not_stop_the_others_and_leaves_nothing_behind(project, tmp_path):
    good = write(tmp_path / "good.txt", TRANSCRIPT)
    before = table_counts(project.db)
    results = import_paths(project.db, [BAD / "binary.txt", BAD / "truncated.docx", good],
                           ImportOptions())
    assert [r.status for r in results] == ["failed", "failed", "imported"]
    after = table_counts(project.db)
    assert after["documents"] == before["documents"] + 1


def test_a_multi_document_file_is_one_transaction(project, tmp_path):
    table = write(tmp_path / "docs.csv", "document,text\np,First one.\nq,Second one.\n")
    import_paths(project.db, [write(tmp_path / "x.txt", "Something else entirely.")],
                 ImportOptions())
    clash = write(tmp_path / "clash.csv", "document,text\nnew,Fresh text.\nx,Different text.\n")
    before = table_counts(project.db)
    with pytest.raises(InputError, match="'x' already exists"):
        import_file(project.db, clash, "clash", ImportOptions())
    assert table_counts(project.db) == before  # 'new' was not kept either
    assert import_file(project.db, table, "docs", ImportOptions()).status == "imported"


def test_attribute_precedence(project, tmp_path):
    path = write(tmp_path / "a.md", "---\nrole: activist\nregion: Perm\nyear: 2019\n---\n"
                 + TRANSCRIPT)
    options = ImportOptions(table={"a.md": {"region": "Kazan", "year": "2020"}},
                            attributes={"year": "2021"})
    import_file(project.db, path, "a", options)
    (doc,) = list_documents(project.db)
    assert doc["attributes"] == {"role": "activist", "region": "Kazan", "year": "2021"}


def test_language_from_option_front_matter_or_project(project, tmp_path):
    import_file(project.db, write(tmp_path / "a.md", "---\nlanguage: ru\n---\nТекст. Ещё."),
                "a", ImportOptions(default_language="en"))
    import_file(project.db, write(tmp_path / "b.txt", "Text here."), "b",
                ImportOptions(default_language="en"))
    import_file(project.db, write(tmp_path / "c.txt", "Text there."), "c",
                ImportOptions(language="de", default_language="en"))
    langs = dict(project.db.execute("SELECT name, language FROM documents").fetchall())
    assert langs == {"a": "ru", "b": "en", "c": "de"}


def test_discover_names_files_relative_to_the_folder(tmp_path):
    write(tmp_path / "in" / "a" / "01.txt", "x")
    write(tmp_path / "in" / "b" / "01.txt", "y")
    write(tmp_path / "in" / ".hidden" / "x.txt", "z")
    write(tmp_path / "in" / "~$lock.docx", "z")
    write(tmp_path / "in" / "notes.pdf", "z")
    found = [name for _, name in discover([tmp_path / "in"])]
    assert found == ["a/01", "b/01"]


def test_whole_sample_corpus_imports(project):
    results = import_paths(project.db, [SAMPLE], ImportOptions())
    assert [r.status for r in results] == ["imported"] * 8
    formats = {d["format"] for d in list_documents(project.db)}
    assert formats == {"md", "txt", "docx", "vtt", "srt", "csv"}

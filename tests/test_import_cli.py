"""qcode import: the attributes table beside the transcripts, the progress bar."""

import json
import os
import pty
import subprocess
import sys

from conftest import write
from qcode.ingest.importer import discover


def _interviews(folder):
    write(folder / "a01.txt", "Interviewer: Why?\nAnna: Because. We trusted them.\n")
    write(folder / "b01.txt", "Interviewer: And you?\nBoris: I did not.\n")
    return write(folder / "people.csv", "document,role\na01,activist\nb01,bureaucrat\n")


def test_the_attributes_table_in_the_imported_folder_is_not_a_transcript(cli, tmp_path):
    table = _interviews(tmp_path / "interviews")
    result = cli("import", tmp_path / "interviews", "--attributes", table)
    assert result.exit_code == 0, result.stderr
    assert "2 file(s) imported (2 documents" in result.stderr and "0 failed" in result.stderr
    rows = json.loads(cli("docs", "-f", "json").stdout)
    assert {r["name"]: r["attributes"] for r in rows} == {"a01": {"role": "activist"},
                                                          "b01": {"role": "bureaucrat"}}


def test_the_attributes_table_is_skipped_however_its_path_is_spelt(cli, tmp_path, monkeypatch):
    _interviews(tmp_path / "interviews")
    monkeypatch.chdir(tmp_path / "interviews")
    # a shell glob names the table too, and the path differs from the folder's spelling
    result = cli("import", "a01.txt", "b01.txt", "people.csv", "--attributes",
                 tmp_path / "interviews" / ".." / "interviews" / "people.csv")
    assert result.exit_code == 0, result.stderr
    assert "2 file(s) imported" in result.stderr


def test_discover_skips_the_files_it_is_told_to(tmp_path):
    table = _interviews(tmp_path / "i")
    names = [name for _, name in discover([tmp_path / "i"], skip=[table])]
    assert names == ["a01", "b01"]
    assert [n for _, n in discover([tmp_path / "i"])] == ["a01", "b01", "people"]


def test_import_of_many_files_shows_a_progress_bar_on_a_terminal(project, tmp_path):
    for i in range(12):
        write(tmp_path / "many" / f"i{i:02}.txt", f"Interviewer: Why?\nAnna: Reason {i}.\n")
    main, child = pty.openpty()
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm"}
    proc = subprocess.Popen([sys.executable, "-m", "qcode", "-P", str(project.root), "import",
                             str(tmp_path / "many")], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=child, env=env)
    os.close(child)
    seen = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(main)
    assert proc.wait(timeout=60) == 0 and proc.stdout.read() == b""
    text = seen.decode("utf-8", "replace")
    assert "importing" in text and "/12" in text
    assert "12 file(s) imported" in text


def test_import_of_many_files_piped_has_no_progress_bar(cli, tmp_path):
    for i in range(12):
        write(tmp_path / "many" / f"i{i:02}.txt", f"Interviewer: Why?\nAnna: Reason {i}.\n")
    result = cli("import", tmp_path / "many")
    assert result.exit_code == 0 and "importing" not in result.stderr

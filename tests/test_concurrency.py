"""Two processes importing into one project at once: nothing lost, nothing doubled,
and no 'database is locked' reaches the user."""

import subprocess
import sys

from conftest import write


def test_two_concurrent_imports(project, tmp_path):
    folder = tmp_path / "in"
    for i in range(12):
        write(folder / f"t{i:02d}.txt",
              f"Interviewer: Question {i}?\nAnna: Answer number {i}. " + "More words. " * 200)
    command = [sys.executable, "-m", "qcode", "-P", str(project.root), "import", str(folder)]
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in err and "busy" not in err
    assert project.db.execute("SELECT count(*) FROM documents").fetchone()[0] == 12
    imported = sum(int(err.split(" file(s) imported")[0].split()[-1]) for _, err in outputs)
    assert imported == 12  # each file stored by exactly one of the two processes

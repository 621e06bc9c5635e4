"""Real, human-coded data sets turned into qcode projects, for measuring suggestions.

* ``wac`` — World after Covid (../shared/eval/wac, MIT): 57 interviews, 5 questions,
  themes coded per answer. Each interview becomes a transcript: the interviewer's
  question (the protocol's wording, from codebook.md), then the scientist's answer, for
  each question asked. The codebook gets each theme's definition from codebook.md
  (not its example quotes: they are sentences of these very answers, and would leak
  the test folds into training).
* ``serdif`` — SERDIF think-aloud sessions (../shared/fixtures/taguette/serdif, GPL-3.0,
  read in place, never copied): 17 sessions, 22 tags with descriptions, 1,930 coded
  passages. Imported with `qcode import taguette`; tag descriptions become definitions.

Each builder returns the project and the names of the codes to score.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
WAC = SHARED / "eval" / "wac"
SERDIF = SHARED / "fixtures" / "taguette" / "serdif"
WAC_MIN_POSITIVES = 10


def wac_answers(folder: Path = WAC):
    """({participant: {question: answer}}, {(participant, question): {theme}}, themes)."""
    transcripts = csv.DictReader(io.StringIO(
        (folder / "transcripts.csv").read_text(encoding="utf-8", errors="replace")))
    answers = {row["Name"]: {q: row[q].strip() for q in ("Q1", "Q2", "Q3", "Q4", "Q5")
                             if row[q].strip()} for row in transcripts}
    codes = csv.DictReader(io.StringIO((folder / "codes.csv").read_text(encoding="cp1252")))
    labels: dict[tuple[str, str], set[str]] = {}
    for row in codes:
        for column, value in row.items():
            match = re.fullmatch(r"(.+)_q(\d)", column or "")
            if match and value and value.strip() == "1":
                labels.setdefault((row["Name"], f"Q{match.group(2)}"), set()).add(
                    match.group(1).strip().lower())
    counts: dict[str, int] = {}
    for key, themes in labels.items():
        if key[1] in answers.get(key[0], {}):
            for theme in themes:
                counts[theme] = counts.get(theme, 0) + 1
    kept = sorted(t for t, n in counts.items() if n >= WAC_MIN_POSITIVES)
    return answers, labels, kept


def wac_codebook_text(folder: Path = WAC) -> tuple[dict[str, str], dict[str, str]]:
    """({question: wording}, {theme heading (lowercase): definition}) from codebook.md."""
    text = (folder / "codebook.md").read_text(encoding="utf-8", errors="replace")
    questions = {f"Q{m.group(1)}": " ".join(m.group(2).split())
                 for m in re.finditer(r"(?m)^Q(\d)\.\s+(.+?)(?=\n\s*\n)", text, re.S)}
    definitions = {}
    for block in re.split(r"(?m)^### ", text)[1:]:
        heading, _, body = block.partition("\n")
        match = re.search(r"Definition:\s*(.+?)(?=\n\s*\n|\*\*Q|\Z)", body, re.S)
        if match:
            definitions[heading.strip().lower()] = " ".join(match.group(1).split())
    return questions, definitions


def code_name(theme: str) -> str:
    return theme.replace("/", "-").replace("&", "and")


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def build_wac(root: Path, *, definitions: bool = True, questions: bool = True):
    """The WAC interviews as a coded qcode project (see the module's docstring)."""
    from rapidfuzz import fuzz, process

    from qcode.codebook.model import codebook_from_text
    from qcode.codebook.sync import sync
    from qcode.coding import add_coding
    from qcode.ingest.importer import ImportOptions, import_paths
    from qcode.project import Project

    answers, labels, themes = wac_answers()
    wording, defined = wac_codebook_text()
    project = Project.init(root, name="wac", coder="wac")
    lines = ["name: WAC themes", "codes:"]
    for theme in themes:
        lines.append(f"  - name: {_quoted(code_name(theme))}")
        match = process.extractOne(theme, list(defined), scorer=fuzz.token_set_ratio)
        if definitions and match and match[1] >= 80:
            lines.append(f"    description: {_quoted(defined[match[0]])}")
    sync(project.db, codebook_from_text("\n".join(lines) + "\n"))
    table = root / "wac.csv"
    with table.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["document", "speaker", "text"])
        for name, by_question in sorted(answers.items()):
            for question, answer in sorted(by_question.items()):
                if questions:
                    writer.writerow([name, "Interviewer", wording[question]])
                writer.writerow([name, f"{name} {question}" if not questions else name, answer])
    import_paths(project.db, [table], ImportOptions())
    turns = {}
    for doc, start, end, speaker, number in project.db.execute(
            "SELECT d.name, s.start, s.\"end\", p.name, s.number FROM segments s JOIN "
            "current_revisions r ON r.id = s.revision_id JOIN documents d ON d.id = "
            "r.document_id JOIN speakers p ON p.id = s.speaker_id WHERE s.kind = 'turn' "
            "ORDER BY d.name, s.number"):
        if speaker != "Interviewer":
            turns.setdefault(doc, []).append((start, end))
    for name, by_question in sorted(answers.items()):
        for (start, end), question in zip(turns[name], sorted(by_question), strict=True):
            for theme in sorted(labels.get((name, question), set()) & set(themes)):
                add_coding(project.db, name, code_name(theme), coder="wac",
                           span=f"{start}:{end}")
    return project, [code_name(t) for t in themes]


def build_serdif(root: Path):
    """The SERDIF sessions as a qcode project, tag descriptions as definitions."""
    from qcode.interop.qdpx_import import import_parsed
    from qcode.interop.taguette import read_taguette
    from qcode.project import Project

    project = Project.init(root, name="serdif", coder="serdif")
    source = SERDIF / "SERDIF_P2_ThematicAnalysis.sqlite3"
    import_parsed(project.db, read_taguette(source), source, coder="serdif",
                  codebook_path=project.codebook_path)
    descriptions = {}
    with (SERDIF / "codebook_20220303_8.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            descriptions[row["tag"].strip()] = " ".join(row["description"].split())
    # the tag descriptions of the published codebook, as the codes' definitions
    with project.db.conn:
        for name, description in descriptions.items():
            project.db.execute("UPDATE codes SET description = ? WHERE path = ?",
                               [description, name])
    names = [r[0] for r in project.db.execute("SELECT path FROM codes WHERE status = 'active'")]
    return project, names


PROTOCOLS = {"wac": build_wac, "serdif": build_serdif}

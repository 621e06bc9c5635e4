"""The exact output of every analysis command (excerpts, stats, crosstab, cooccur, agree,
report) on a small seeded project, pinned so that making them faster (issue 15) cannot
change what they print. Timestamps are masked; everything else is compared byte for byte.

When an output is changed on purpose, rewrite the pinned file and review its diff:
    QCODE_PIN_OUTPUTS=1 .venv/bin/python -m pytest -q tests/test_analysis_outputs.py
"""

import json
import os
import random
import re
from pathlib import Path

import pytest

from conftest import CODEBOOK, SAMPLE
from qcode.codebook.model import load_codebook
from qcode.codebook.sync import sync
from qcode.coding import add_coding
from qcode.ingest.attributes import read_attribute_table
from qcode.ingest.importer import ImportOptions, import_paths

PINNED = Path(__file__).parent / "fixtures" / "analysis-outputs.json"

COMMANDS = {
    "excerpts": ["excerpts"],
    "excerpts-filtered-jsonl": ["excerpts", "--code", "trust", "--children", "--where",
                                "role=activist", "-f", "jsonl"],
    "excerpts-context-json": ["excerpts", "--coder", "c2", "--context", "1", "-f", "json"],
    "excerpts-doc-origin-csv": ["excerpts", "--doc", "a01-housing-perm", "--origin", "manual",
                                "-f", "csv"],
    "stats": ["stats"],
    "stats-by-role-csv": ["stats", "--by", "role", "-f", "csv"],
    "stats-by-coder-json": ["stats", "--by-coder", "-f", "json"],
    "stats-code-where-csv": ["stats", "--code", "trust", "--children", "--where",
                             "region!=Tatarstan", "-f", "csv"],
    "crosstab": ["crosstab", "--cols", "role"],
    "crosstab-document-col-csv": ["crosstab", "--code", "trust", "--children", "--cols", "role",
                                  "--unit", "document", "--percent", "col", "-f", "csv"],
    "crosstab-speaker-row-json": ["crosstab", "--cols", "region", "--unit", "speaker",
                                  "--percent", "row", "-f", "json"],
    "crosstab-excerpt-col-csv": ["crosstab", "--cols", "gender", "--percent", "col",
                                 "--coder", "c1", "-f", "csv"],
    "cooccur": ["cooccur"],
    "cooccur-pairs-csv": ["cooccur", "--pairs", "-f", "csv"],
    "cooccur-pairs-table": ["cooccur", "--pairs", "--top", "5"],
    "cooccur-turn-json": ["cooccur", "--unit", "turn", "-f", "json"],
    "cooccur-document-csv": ["cooccur", "--unit", "document", "--where", "role=activist",
                             "-f", "csv"],
    "agree-3-csv": ["agree", "--coders", "c1,c2,c3", "-f", "csv"],
    "agree-2": ["agree", "--coders", "c1,c2"],
    "agree-char-json": ["agree", "--coders", "c1,c2", "--unit", "char", "-f", "json"],
    "agree-code-csv": ["agree", "--coders", "c2,c3", "--code", "trust", "-f", "csv"],
    "agree-disagreements-jsonl": ["agree", "--coders", "c1,c2", "--disagreements", "-f",
                                  "jsonl"],
    "agree-char-disagreements-csv": ["agree", "--coders", "c1,c3", "--unit", "char",
                                     "--disagreements", "-f", "csv"],
}
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?")


@pytest.fixture
def seeded(project):
    """The sample corpus with attributes, ~150 codings by three coders who mostly agree
    (sentences, spans across sentences and inside one, overlaps), and a few memos."""
    db = project.db
    sync(db, load_codebook(CODEBOOK))
    import_paths(db, [SAMPLE], ImportOptions(table=read_attribute_table(
        SAMPLE.parent / "sample-attributes.csv")))
    rng = random.Random(15)
    documents = db.execute("SELECT d.name, r.id, length(r.text) FROM documents d JOIN "
                           "current_revisions r ON r.document_id = d.id ORDER BY d.name"
                           ).fetchall()
    codes = [r[0] for r in db.execute("SELECT path FROM codes WHERE status = 'active' "
                                      "ORDER BY path")]
    for _ in range(50):
        name, revision, length = rng.choice(documents)
        sentences = db.execute("SELECT start, \"end\" FROM segments WHERE revision_id = ? AND "
                               "kind = 'sentence' ORDER BY number", [revision]).fetchall()
        number = rng.randrange(len(sentences))
        start, end = sentences[number]
        shape = rng.random()
        if shape < 0.2:  # across two sentences
            end = sentences[min(number + 1, len(sentences) - 1)][1]
        elif shape < 0.35 and end - start > 6:  # inside one
            start, end = start + 2, end - 3
        code = rng.choice(codes)
        for coder in ("c1", "c2", "c3"):
            if rng.random() < 0.15:
                continue
            chosen = code if rng.random() < 0.75 else rng.choice(codes)
            memo = f"memo {coder} {name}" if rng.random() < 0.1 else None
            add_coding(db, name, chosen, coder=coder, span=f"{start}:{end}", memo=memo)
    return project


def _outputs(cli, project) -> dict[str, str]:
    out = {}
    for name, args in COMMANDS.items():
        result = cli(*args)
        assert result.exit_code == 0, (name, result.stderr)
        out[name] = STAMP.sub("<time>", result.stdout)
    report = project.root / "report.html"
    result = cli("report", "-o", str(report), "--max-excerpts", "5")
    assert result.exit_code == 0, result.stderr
    out["report"] = STAMP.sub("<time>", report.read_text(encoding="utf-8"))
    return out


def test_analysis_outputs_are_unchanged(seeded, cli):
    outputs = _outputs(cli, seeded)
    if os.environ.get("QCODE_PIN_OUTPUTS"):
        PINNED.write_text(json.dumps(outputs, indent=1, ensure_ascii=False) + "\n",
                          encoding="utf-8")
    pinned = json.loads(PINNED.read_text(encoding="utf-8"))
    assert sorted(outputs) == sorted(pinned)
    changed = [name for name in pinned if outputs[name] != pinned[name]]
    assert not changed, f"these outputs changed: {', '.join(changed)}"


def test_excerpts_read_from_the_cached_copy_are_unchanged(seeded, cli):
    """After an analysis has cached the codings (SQLite), `qcode excerpts` reads them from
    that copy (issue 15); what it prints is still the pinned output."""
    from qcode.analysis.frame import current_copy, on_postgres

    assert cli("stats").exit_code == 0
    if not on_postgres(seeded.db):
        assert current_copy(seeded.db) is not None
    pinned = json.loads(PINNED.read_text(encoding="utf-8"))
    changed = [name for name, args in COMMANDS.items() if name.startswith("excerpts")
               and STAMP.sub("<time>", cli(*args).stdout) != pinned[name]]
    assert not changed, f"these outputs changed: {', '.join(changed)}"

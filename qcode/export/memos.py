"""`qcode export memos`: every memo of the project — on the project, a document, a code, a
coding or a passage — in one CSV, XLSX or Markdown file, with what it is about (the
document, the code, and the coded text or passage it was written on)."""

from __future__ import annotations

import csv
from pathlib import Path

from qcode.errors import QcodeError
from qcode.export.files import atomic_output
from qcode.export.excerpts import defuse

FORMATS = ("xlsx", "csv", "md")
COLUMNS = ["id", "on", "document", "code", "coding", "sentence", "passage", "title", "text",
           "coder", "created", "updated"]
HEADINGS = {"project": "Project memos", "document": "Document memos", "code": "Code memos",
            "coding": "Coding memos"}


def memo_rows(db) -> list[dict]:
    """All memos, project first, then documents, codes and codings, each in the order
    written. ``passage`` is the coded text of a coding memo, or the passage a document
    memo was anchored to; ``sentence`` the one it starts in, numbered as `qcode show`
    numbers them."""
    from qcode.memos import Passages

    rows = [dict(r) for r in db.query(
        "SELECT m.id, m.target AS \"on\", d.name AS document, g.path AS code, "
        "m.coding_id AS coding, coalesce(c.revision_id, m.revision_id) AS revision_id, "
        "coalesce(c.start, m.start) AS start, coalesce(c.\"end\", m.\"end\") AS \"end\", "
        "m.title, m.text, k.name AS coder, m.created, m.updated FROM memos m "
        "LEFT JOIN codings c ON c.id = m.coding_id "
        "LEFT JOIN documents d ON d.id = coalesce(m.document_id, c.document_id) "
        "LEFT JOIN codes g ON g.id = coalesce(m.code_id, c.code_id) "
        "LEFT JOIN coders k ON k.id = m.coder_id "
        "ORDER BY CASE m.target WHEN 'project' THEN 0 WHEN 'document' THEN 1 "
        "WHEN 'code' THEN 2 ELSE 3 END, d.name, g.path, m.id")]
    passages = Passages(db, [r["revision_id"] for r in rows
                             if r["revision_id"] is not None and r["start"] is not None])
    for row in rows:
        revision, start, end = row.pop("revision_id"), row.pop("start"), row.pop("end")
        row["passage"] = row["sentence"] = None
        if revision is not None and start is not None and end is not None:
            row["passage"] = passages.text(revision, start, end)
            row["sentence"] = passages.sentence(revision, start)
    return rows


def export_memos(db, path: str | Path, *, fmt: str | None = None, raw: bool = False,
                 force: bool = False, project_name: str = "") -> tuple[Path, int, list[str]]:
    """Write the memos; (path, how many, warnings about cells continued on more rows)."""
    path = Path(path)
    fmt = fmt or path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise QcodeError(f"{path}: cannot tell the format; use --format xlsx|csv|md or a file "
                         "ending .xlsx, .csv or .md")
    rows = memo_rows(db)
    warnings: list[str] = []
    if fmt == "csv":
        with atomic_output(path, force=force) as f:
            f.write("\ufeff")  # the BOM: Excel then reads the file as UTF-8
            writer = csv.writer(f, lineterminator="\r\n")
            writer.writerow(COLUMNS)
            for row in rows:
                values = [row[c] for c in COLUMNS]
                writer.writerow(values if raw else [defuse(v) for v in values])
    elif fmt == "md":
        with atomic_output(path, force=force) as f:
            f.write(markdown(rows, project_name))
    else:
        _xlsx(rows, path, force, warnings)
    return path, len(rows), warnings


def markdown(rows: list[dict], project_name: str = "") -> str:
    parts = [f"# Memos{f' — {project_name}' if project_name else ''}\n"]
    target = None
    for row in rows:
        if row["on"] != target:
            target = row["on"]
            parts.append(f"\n## {HEADINGS.get(target, target)}\n")
        about = {"project": "", "document": row["document"] or "",
                 "code": row["code"] or "",
                 "coding": f"{row['document']} · {row['code']} (coding {row['coding']})"}
        title = row["title"] or f"Memo {row['id']}"
        heading = f"{about.get(target, '')} — {title}" if about.get(target) else title
        parts.append(f"\n### {heading}\n\n*{row['coder'] or 'unknown coder'} · "
                     f"{row['updated'] or row['created']}*\n")
        if row["passage"]:
            quoted = "\n".join(f"> {line}" if line else ">"
                               for line in row["passage"].splitlines())
            parts.append(f"\n{quoted}\n")
        parts.append(f"\n{row['text'].rstrip()}\n")
    if not rows:
        parts.append("\nNo memos yet.\n")
    return "".join(parts)


def _xlsx(rows: list[dict], path: Path, force: bool, warnings: list[str]) -> None:
    import io

    import xlsxwriter

    from qcode.export.excerpts import cells

    widths = {"passage": 50, "text": 70, "title": 24, "document": 20, "code": 24}
    buffer = io.BytesIO()
    with atomic_output(path, force=force, mode="wb") as f:
        book = xlsxwriter.Workbook(buffer, {"strings_to_formulas": False,
                                            "strings_to_urls": False,
                                            "strings_to_numbers": False, "in_memory": True})
        header = book.add_format({"bold": True, "bottom": 1, "valign": "top"})
        wrap = book.add_format({"text_wrap": True, "valign": "top"})
        sheet = book.add_worksheet("Memos")
        for i, column in enumerate(COLUMNS):
            sheet.set_column(i, i, widths.get(column, 11), wrap)
        sheet.write_row(0, 0, COLUMNS, header)
        number = 0
        for row in rows:
            # a memo longer than a cell holds continues on the rows below, never cut
            for values in cells(row, COLUMNS, warnings):
                number += 1
                sheet.write_row(number, 0, values)
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, max(number, 1), len(COLUMNS) - 1)
        book.close()
        f.write(buffer.getbuffer())


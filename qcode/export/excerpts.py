"""`qcode export excerpts`: coded excerpts to a spreadsheet (XLSX, CSV) or JSON lines.

Spreadsheets are where excerpts leave qcode, so they are written to be safe to open:
- XLSX: every text is written as a string (xlsxwriter's formula, URL and number
  conversions are off), so `=cmd|' /C calc'!A0` stays text;
- CSV: a cell starting with =, +, -, @, tab or CR gets a leading ' (unless raw), the
  common defence against formula injection; UTF-8 with a BOM so Excel reads Cyrillic;
- a cell longer than Excel's 32,767 characters is continued on the rows below (with the
  row's document, code, coder and offsets repeated), never cut, and reported;
- the file is written beside its destination and renamed when complete (mode 0600).
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from qcode.analysis.excerpts import excerpt_rows
from qcode.analysis.scope import Scope, documents_in_scope
from qcode.errors import QcodeError
from qcode.export.files import atomic_output, scratch

FORMATS = ("xlsx", "csv", "jsonl")
CELL_LIMIT = 32_767  # characters in one Excel cell
RISKY_STARTS = ("=", "+", "-", "@", "\t", "\r")
# the cells a continuation row repeats, so it still filters and sorts with its excerpt
KEYS = ("document", "code", "start", "end", "coder")
FIXED = ["document", "speaker", "code", "code_description", "excerpt", "before", "after",
         "segment", "start", "end", "coder", "origin", "memo", "created"]
WIDTHS = {"document": 18, "speaker": 14, "code": 26, "code_description": 32, "excerpt": 70,
          "before": 40, "after": 40, "segment": 9, "start": 9, "end": 9, "coder": 12,
          "origin": 16, "memo": 32, "created": 22}
WRAPPED = {"excerpt", "before", "after", "memo", "code_description"}
RESERVED_SHEETS = ("All", "Codebook", "Documents")


@dataclass
class ExportResult:
    path: Path
    excerpts: int
    rows: int
    warnings: list[str] = field(default_factory=list)


@dataclass
class Table:
    """What an export writes: the excerpt columns and rows, the codebook, the documents."""
    columns: list[str]
    rows: list[dict]
    attribute_columns: dict[str, str]  # attribute key -> its column name
    codes: list[dict]
    documents: list[dict]


def collect(db, scope: Scope, *, context: int = 1, only: set[int] | None = None) -> Table:
    """*only*: the coding ids to keep (what `--query`/`--near` selected)."""
    found = excerpt_rows(db, scope, context=context)
    if only is not None:
        found = [r for r in found if r["id"] in only]
    codes = [dict(r) for r in db.query(
        "SELECT id, path, name, description, include, exclude, examples, color, guid "
        "FROM codes WHERE status = 'active' ORDER BY position, path")]
    description = {c["id"]: c["description"] for c in codes}
    documents = documents_in_scope(db, scope)
    attributes = typed_attributes(db, documents)
    keys = sorted({k for values in attributes.values() for k in values})
    attribute_columns = {k: (f"attribute_{k}" if k in FIXED else k) for k in keys}
    rows = []
    for r in found:
        row = {"document": r["document"], "speaker": r["speaker"], "code": r["code"],
               "code_description": description.get(r["code_id"], ""), "excerpt": r["text"],
               "before": r.get("before", ""), "after": r.get("after", ""),
               "segment": r["segment"], "start": r["start"], "end": r["end"],
               "coder": r["coder"], "origin": _origin(r["origin"], r["run_id"]),
               "memo": r["memo"], "created": r["created"],
               "attributes": r["attributes"], "document_id": r["document_id"]}
        for key, column in attribute_columns.items():
            row[column] = attributes.get(r["document_id"], r["attributes"]).get(key)
        rows.append(row)
    columns = ["document", "speaker", *attribute_columns.values(), *FIXED[2:]]
    if not context:
        columns = [c for c in columns if c not in ("before", "after")]
    per_code = Counter(r["code"] for r in rows)
    per_document = Counter(r["document_id"] for r in rows)
    names = dict(db.execute("SELECT id, name FROM documents").fetchall())
    language = dict(db.execute("SELECT id, language FROM documents").fetchall())
    docs = [{"document": names[d], "language": language[d] or "",
             **{attribute_columns[k]: attributes.get(d, {}).get(k) for k in keys},
             "excerpts": per_document[d]} for d in documents]
    for code in codes:
        code["examples"] = "\n".join(json.loads(code["examples"] or "[]"))
        code["excerpts"] = per_code[code["path"]]
    return Table(columns, rows, attribute_columns, codes, docs)


def typed_attributes(db, document_ids: list[int]) -> dict[int, dict]:
    """Each document's attributes with integers and numbers as numbers (a year or an age
    is then a number in the spreadsheet: it sorts and sums), the rest as stored text."""
    wanted = set(document_ids)
    out: dict[int, dict] = {d: {} for d in document_ids}
    for doc_id, key, value, kind in db.execute(
            "SELECT document_id, key, value, type FROM attributes ORDER BY document_id, key"):
        if doc_id in wanted:
            out[doc_id][key] = attribute_value(value, kind)
    return out


def attribute_value(value: str | None, kind: str):
    """A stored attribute as a spreadsheet cell: integers and numbers as numbers, except
    a value with a leading zero or beyond Excel's precision (kept as the text it is)."""
    if value is None or kind not in ("integer", "number"):
        return value
    try:
        number = int(value) if kind == "integer" else float(value)
    except ValueError:
        return value
    if kind == "integer" and str(number) != value.strip():
        return value  # '01234' is a code (a postcode, an id), not the number 1234
    return number if abs(number) < 2 ** 53 else value  # beyond that Excel rounds: keep text


def _origin(origin: str, run_id: int | None) -> str:
    """'manual', 'suggestion (run 3)', 'import (…)': stored as kind[:detail]."""
    kind, _, detail = origin.partition(":")
    if kind == "suggestion":
        detail = detail or (str(run_id) if run_id else "")
        return f"suggestion (run {detail})" if detail else kind
    return f"{kind} ({detail})" if detail else kind


PSEUDONYMIZED = ("speaker", "excerpt", "before", "after", "memo")


def export_excerpts(db, scope: Scope, path: str | Path, *, fmt: str | None = None,
                    context: int = 1, raw: bool = False, force: bool = False,
                    names: dict[str, str] | None = None,
                    only: set[int] | None = None) -> ExportResult:
    """*names*: real name -> pseudonym, replaced in the exported text only; *only*: the
    coding ids to export (of those in scope)."""
    path = Path(path)
    fmt = fmt or path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise QcodeError(f"{path}: cannot tell the format; use --format "
                         f"{'|'.join(FORMATS)} or a file ending .xlsx, .csv or .jsonl")
    table = collect(db, scope, context=context, only=only)
    if names:
        from qcode.anonymize import pseudonymize

        for row in table.rows:
            for column in PSEUDONYMIZED:
                if isinstance(row.get(column), str):
                    row[column] = pseudonymize(row[column], names)
    if fmt == "jsonl":
        return _jsonl(table, path, force)
    warnings: list[str] = []
    if fmt == "csv":
        written = _csv(table, path, force, raw, warnings)
    else:
        written = _xlsx(table, path, force, warnings)
    return ExportResult(path, len(table.rows), written, warnings)


def cells(row: dict, columns: list[str], warnings: list[str]) -> list[list]:
    """The row as one or more lists of cells: cells over Excel's limit continue on the
    rows below, which repeat the row's KEYS."""
    values = [row.get(c) for c in columns]
    longest = max((len(v) for v in values if isinstance(v, str)), default=0)
    if longest <= CELL_LIMIT:
        return [values]
    parts = -(-longest // CELL_LIMIT)
    where = " ".join(str(row[k]) for k in (*KEYS, "path") if row.get(k) is not None)
    warnings.append(f"{where}: a cell of {longest:,} characters is continued over {parts} "
                    "rows (Excel holds 32,767 per cell)")
    out = []
    for part in range(parts):
        piece = slice(part * CELL_LIMIT, (part + 1) * CELL_LIMIT)
        out.append([v[piece] if isinstance(v, str) and len(v) > CELL_LIMIT
                    else (v if part == 0 or c in KEYS else None)
                    for c, v in zip(columns, values, strict=True)])
    return out


def defuse(value):
    """A CSV cell Excel or LibreOffice would not run as a formula."""
    if isinstance(value, str) and value.startswith(RISKY_STARTS):
        return "'" + value
    return value


def _csv(table: Table, path: Path, force: bool, raw: bool, warnings: list[str]) -> int:
    written = 0
    with atomic_output(path, force=force) as f:
        f.write("\ufeff")  # the BOM: Excel then reads the file as UTF-8
        writer = csv.writer(f, lineterminator="\r\n")
        writer.writerow(table.columns)
        for row in table.rows:
            for values in cells(row, table.columns, warnings):
                writer.writerow(values if raw else [defuse(v) for v in values])
                written += 1
    return written


def _jsonl(table: Table, path: Path, force: bool) -> ExportResult:
    keep = [c for c in table.columns if c not in table.attribute_columns.values()]
    with atomic_output(path, force=force) as f:
        for row in table.rows:
            record = {c: row[c] for c in keep}
            record["attributes"] = row["attributes"]
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return ExportResult(path, len(table.rows), len(table.rows))


def sheet_names(codes: list[str]) -> dict[str, str]:
    """A valid, distinct Excel sheet name for each top-level code: at most 31 characters,
    none of []:*?/\\, not starting or ending with ', case-insensitively unique."""
    taken = {name.lower() for name in RESERVED_SHEETS}
    names = {}
    for code in codes:
        base = "".join("_" if ch in "[]:*?/\\" else ch for ch in code).strip("'")[:31] or "code"
        name, n = base, 2
        while name.lower() in taken:
            suffix = f" ({n})"
            name, n = base[:31 - len(suffix)] + suffix, n + 1
        taken.add(name.lower())
        names[code] = name
    return names


def _xlsx(table: Table, path: Path, force: bool, warnings: list[str]) -> int:
    import xlsxwriter

    # one sheet per top-level code with excerpts here: codes outside the filter (--code,
    # --where, --coder…) or never coded get none
    present = {r["code"].split("/")[0] for r in table.rows}
    tops = [t for t in dict.fromkeys(c["path"].split("/")[0] for c in table.codes)
            if t in present]
    tops += sorted(present - set(tops))
    names = sheet_names(tops)
    import io

    # the zip is assembled in memory, then written: a failing disk then fails our write,
    # not xlsxwriter's half-closed zip (which would complain again when collected)
    buffer = io.BytesIO()
    with atomic_output(path, force=force, mode="wb") as f, scratch() as tmp:
        book = xlsxwriter.Workbook(buffer, {
            "constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
            "strings_to_numbers": False, "tmpdir": str(tmp)})
        header = book.add_format({"bold": True, "bottom": 1, "valign": "top"})
        wrap = book.add_format({"text_wrap": True, "valign": "top"})
        top = book.add_format({"valign": "top"})
        everything = book.add_worksheet("All")
        sheets = {code: book.add_worksheet(names[code]) for code in tops}
        written = {id(s): 0 for s in (everything, *sheets.values())}
        for sheet in (everything, *sheets.values()):
            _header(sheet, table.columns, header, wrap, top)
        for row in table.rows:
            for values in cells(row, table.columns, warnings):
                for sheet in (everything, sheets[row["code"].split("/")[0]]):
                    written[id(sheet)] += 1
                    _write_row(sheet, written[id(sheet)], values)
        for sheet in (everything, *sheets.values()):
            sheet.autofilter(0, 0, max(written[id(sheet)], 1), len(table.columns) - 1)
        _simple_sheet(book, "Codebook", ["path", "name", "description", "include", "exclude",
                                         "examples", "color", "guid", "excerpts"],
                      table.codes, (header, wrap, top), warnings)
        _simple_sheet(book, "Documents", list(table.documents[0]) if table.documents
                      else ["document"], table.documents, (header, wrap, top), warnings)
        book.close()
        f.write(buffer.getbuffer())
    return written[id(everything)]


def _header(sheet, columns: list[str], header, wrap, top) -> None:
    for i, column in enumerate(columns):
        sheet.set_column(i, i, WIDTHS.get(column, 14), wrap if column in WRAPPED else top)
        sheet.write_string(0, i, column, header)
    sheet.freeze_panes(1, 0)


def _write_row(sheet, number: int, values: list) -> None:
    # with strings_to_formulas, _urls and _numbers off, write_row writes every str as a
    # string (and None as nothing); one call per row is a fifth faster than per cell
    sheet.write_row(number, 0, values)


def _simple_sheet(book, name: str, columns: list[str], rows: list[dict], formats,
                  warnings: list[str]) -> None:
    sheet = book.add_worksheet(name)
    _header(sheet, columns, *formats)
    number = 0
    for row in rows:
        for values in cells(row, columns, warnings):
            number += 1
            _write_row(sheet, number, values)
    sheet.autofilter(0, 0, max(number, 1), len(columns) - 1)

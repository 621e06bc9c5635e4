"""`qcode export matrix`: a code × case table for SPSS, R or a spreadsheet.

One row per case — a document, or with ``by="speaker"`` each speaker of each document —
and one column per code: how many codings of the code (and its sub-codes: a parent's
column counts its whole subtree) the case has, or 0/1 with *binary*. Every case in scope
has a row, uncoded ones with zeros. The first column is the case id; with *attributes*
the document attributes follow (integers and numbers as numbers, but a value with a
leading zero, such as a postcode, as written).

Column names are valid SPSS and R variable names (letters, digits and ``_``, starting
with a letter, at most 64 characters, distinct ignoring case): ``trust/distrust`` becomes
``trust_distrust``. The XLSX has a second sheet, Variables, with each column's code path
or attribute.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from qcode.analysis.scope import Scope, documents_in_scope
from qcode.errors import QcodeError
from qcode.export.excerpts import attribute_value, defuse
from qcode.export.files import atomic_output

FORMATS = ("xlsx", "csv")
BY = ("document", "speaker")


@dataclass
class Matrix:
    columns: list[str]  # variable names, in order
    labels: dict[str, str]  # variable name -> what it holds (code path, attribute, ...)
    rows: list[dict]


def variable_names(labels: list[str], taken: set[str] | None = None) -> list[str]:
    """A distinct SPSS/R variable name for each label."""
    taken = {t.lower() for t in (taken or set())}
    out = []
    for label in labels:
        base = re.sub(r"\W+", "_", label).strip("_") or "v"
        if not base[0].isalpha():
            base = "v_" + base
        base = base[:64]
        name, n = base, 2
        while name.lower() in taken:
            suffix = f"_{n}"
            name, n = base[:64 - len(suffix)] + suffix, n + 1
        taken.add(name.lower())
        out.append(name)
    return out


def _codes(db, scope: Scope) -> list[tuple[int, str, set[int]]]:
    """(id, path, ids of its subtree) of the codes that get a column: every active code,
    or with --code the code (and with --children its sub-codes)."""
    from qcode.codes import descendants, resolve_code

    rows = db.execute("SELECT id, path FROM codes WHERE status = 'active' "
                      "ORDER BY position, path").fetchall()
    if scope.code:
        top = resolve_code(db, scope.code)["id"]
        keep = set(descendants(db, top)) if scope.children else {top}
        rows = [r for r in rows if r[0] in keep]
    return [(code_id, path, set(descendants(db, code_id))) for code_id, path in rows]


def _speaker_cases(db, documents: list[int]) -> list[tuple[int, str]]:
    """(document id, speaker) of every speaker with a turn in the documents' current
    revisions, in document order and then by first turn."""
    import json

    return [(doc, name) for doc, name in db.execute(
        "SELECT r.document_id, sp.name FROM segments s JOIN current_revisions r "
        "ON r.id = s.revision_id JOIN speakers sp ON sp.id = s.speaker_id "
        "JOIN documents d ON d.id = r.document_id WHERE s.kind = 'turn' AND r.document_id IN "
        "(SELECT value FROM json_each(?)) GROUP BY r.document_id, sp.id, d.name, sp.name "
        "ORDER BY d.name, min(s.number)", [json.dumps(documents)])]


def code_matrix(db, scope: Scope, *, by: str = "document", binary: bool = False,
                attributes: bool = False) -> Matrix:
    from qcode.analysis.scope import excerpts

    if by not in BY:
        raise QcodeError(f"--by: expected document or speaker, got {by!r}")
    documents = documents_in_scope(db, scope)
    codes = _codes(db, scope)
    names = dict(db.execute("SELECT id, name FROM documents").fetchall())
    found = excerpts(db, Scope(None, False, scope.where, scope.coders, scope.document,
                               scope.origin), with_text=by == "speaker")
    counts: Counter = Counter()
    for e in found:
        counts[(e.document_id, e.speaker) if by == "speaker" else e.document_id, e.code_id] += 1
    if by == "speaker":
        cases = _speaker_cases(db, documents)
        known = set(cases)
        # codings outside any named turn (a header, an unnamed paragraph) have no speaker
        cases += sorted({k for k, _ in counts if k not in known and k[0] in documents},
                        key=lambda k: (names[k[0]], k[1] or ""))
        keys = [((doc, speaker), {"case": f"{names[doc]}/{speaker or '(no speaker)'}",
                                  "document": names[doc], "speaker": speaker})
                for doc, speaker in cases]
    else:
        keys = [(doc, {"case": names[doc]}) for doc in documents]
    fixed = ["case", "document", "speaker"] if by == "speaker" else ["case"]
    labels = {"case": "case id" if by == "speaker" else "document",
              "document": "document", "speaker": "speaker"}
    attribute_keys, typed = [], {}
    if attributes:
        for doc, key, value, kind in db.execute(
                "SELECT document_id, key, value, type FROM attributes ORDER BY key"):
            typed[doc, key] = attribute_value(value, kind)
            if key not in attribute_keys:
                attribute_keys.append(key)
    attribute_names = variable_names(attribute_keys, set(fixed))
    code_names = variable_names([path for _, path, _ in codes], set(fixed) | set(attribute_names))
    labels.update({n: f"attribute {k}" for n, k in zip(attribute_names, attribute_keys,
                                                        strict=True)})
    labels.update({n: f"code {path}" for n, (_, path, _) in zip(code_names, codes, strict=True)})
    rows = []
    for key, row in keys:
        doc = key[0] if by == "speaker" else key
        for name, attribute in zip(attribute_names, attribute_keys, strict=True):
            row[name] = typed.get((doc, attribute))
        for name, (_, _, subtree) in zip(code_names, codes, strict=True):
            n = sum(counts[key, code_id] for code_id in subtree)
            row[name] = int(n > 0) if binary else n
        rows.append(row)
    return Matrix([*fixed, *attribute_names, *code_names], labels, rows)


def export_matrix(db, scope: Scope, path: str | Path, *, fmt: str | None = None,
                  by: str = "document", binary: bool = False, attributes: bool = False,
                  raw: bool = False, force: bool = False) -> tuple[Path, Matrix]:
    path = Path(path)
    fmt = fmt or path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise QcodeError(f"{path}: cannot tell the format; use --format xlsx|csv or a file "
                         "ending .xlsx or .csv")
    matrix = code_matrix(db, scope, by=by, binary=binary, attributes=attributes)
    if fmt == "csv":
        _csv(matrix, path, force, raw)
    else:
        _xlsx(matrix, path, force)
    return path, matrix


def _csv(matrix: Matrix, path: Path, force: bool, raw: bool) -> None:
    # no byte-order mark: R's read.csv and SPSS read UTF-8 without one (R would put it
    # into the first column's name); use the XLSX for Excel
    with atomic_output(path, force=force) as f:
        writer = csv.writer(f, lineterminator="\r\n")
        writer.writerow(matrix.columns)
        for row in matrix.rows:
            values = [row.get(c) for c in matrix.columns]
            writer.writerow(values if raw else [defuse(v) for v in values])


def _xlsx(matrix: Matrix, path: Path, force: bool) -> None:
    import io

    import xlsxwriter

    buffer = io.BytesIO()
    with atomic_output(path, force=force, mode="wb") as f:
        book = xlsxwriter.Workbook(buffer, {"strings_to_formulas": False,
                                            "strings_to_urls": False,
                                            "strings_to_numbers": False, "in_memory": True})
        header = book.add_format({"bold": True, "bottom": 1})
        sheet = book.add_worksheet("Matrix")
        sheet.write_row(0, 0, matrix.columns, header)
        for number, row in enumerate(matrix.rows, 1):
            sheet.write_row(number, 0, [row.get(c) for c in matrix.columns])
        sheet.freeze_panes(1, 1)
        sheet.set_column(0, 0, 28)
        sheet.autofilter(0, 0, max(len(matrix.rows), 1), len(matrix.columns) - 1)
        variables = book.add_worksheet("Variables")
        variables.write_row(0, 0, ["variable", "holds"], header)
        for number, column in enumerate(matrix.columns, 1):
            variables.write_row(number, 0, [column, matrix.labels.get(column, column)])
        variables.set_column(0, 1, 30)
        book.close()
        f.write(buffer.getbuffer())

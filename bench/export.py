"""Excerpts to XLSX at scale (issue 6): 100,000 coded excerpts exported with
`qcode export excerpts`, beside a bare xlsxwriter write of the same rows to the same
sheets in the same run (no formats, no safety, the rows already in memory). Target:
qcode's whole export (reading the project included) within 1.3 x the bare write.

    python bench/export.py [--documents 1120] [--keep DIR]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from analysis import ensure_project  # noqa: E402


def bare_write(table, path: Path) -> None:
    """What any script would do: one sheet of all rows, one per top-level code, the
    codebook and the documents, cell by cell with write_row."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    everything = book.add_worksheet("All")
    sheets = {}
    for code in dict.fromkeys(c["path"].split("/")[0] for c in table.codes):
        sheets[code] = book.add_worksheet(code[:31])
    count = dict.fromkeys(["All", *sheets], 0)
    for sheet in (everything, *sheets.values()):
        sheet.write_row(0, 0, table.columns)
    for row in table.rows:
        values = [row.get(c) for c in table.columns]
        top = row["code"].split("/")[0]
        count["All"] += 1
        everything.write_row(count["All"], 0, values)
        count[top] += 1
        sheets[top].write_row(count[top], 0, values)
    for name, rows in (("Codebook", table.codes), ("Documents", table.documents)):
        sheet = book.add_worksheet(name)
        columns = list(rows[0]) if rows else []
        sheet.write_row(0, 0, columns)
        for i, row in enumerate(rows, 1):
            sheet.write_row(i, 0, [row.get(c) for c in columns])
    book.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=1120)
    parser.add_argument("--keep", type=Path)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="qcode-bench-export-"))
    root = args.keep or tmp / "project"
    try:
        ensure_project(root, args.documents)
        from qcode.analysis.scope import Scope
        from qcode.export.excerpts import collect, export_excerpts
        from qcode.project import Project

        project = Project.open(root)
        table = collect(project.db, Scope(), context=1)
        print(f"{len(table.rows):,} excerpts, {len(table.columns)} columns")
        ours, bare = [], []
        for _ in range(3):
            start = time.perf_counter()
            export_excerpts(project.db, Scope(), tmp / "qcode.xlsx", force=True)
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            bare_write(table, tmp / "bare.xlsx")
            bare.append(time.perf_counter() - start)
        o, b = statistics.median(ours), statistics.median(bare)
        print(f"qcode export excerpts  median {o:6.2f} s  {len(table.rows) / o:9,.0f} excerpts/s")
        print(f"bare xlsxwriter write  median {b:6.2f} s  {len(table.rows) / b:9,.0f} excerpts/s")
        print(f"ratio {o / b:.2f} (target <= 1.30)")
        project.close()
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

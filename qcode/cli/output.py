"""All terminal output goes through here: data to stdout, messages to stderr."""

from __future__ import annotations

import csv
import json
import sys
from enum import Enum
from typing import Any

import typer


class Format(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"
    jsonl = "jsonl"


FORMAT_HELP = "Output format: table (for people) or csv, json, jsonl (for scripts)."


def _console(stderr: bool):
    import os

    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # A table piped to a file or pager should not be squeezed into 80 columns.
    width = None if stream.isatty() or os.environ.get("COLUMNS") else 160
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=width)


def message(text: str, style: str | None = None) -> None:
    """A message for the person at the terminal (stderr)."""
    _console(True).print(text, style=style, markup=False)


def warn(text: str) -> None:
    message(f"Warning: {text}", style="yellow")


def abort(text: str, code: int = 1) -> typer.Exit:
    """Print 'Error: …' on stderr and return an Exit to raise."""
    message(f"Error: {text}", style="red")
    return typer.Exit(code)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def emit(rows: list[dict], columns: list[str], fmt: Format, *, title: str | None = None,
         one_line: bool = False) -> None:
    """Write *rows* (dicts) to stdout in *fmt*, with *columns* in this order. A table with
    *one_line* keeps each row on one line, cutting long cells with an ellipsis."""
    out = sys.stdout
    if fmt is Format.json:
        json.dump([{c: r.get(c) for c in columns} for r in rows], out, ensure_ascii=False,
                  indent=2, default=str)
        out.write("\n")
    elif fmt is Format.jsonl:
        # one encoder for every row (json.dumps with options builds one per call) and
        # the lines written in blocks: most of a large listing's time was these two
        encode = json.JSONEncoder(ensure_ascii=False, default=str).encode
        lines = []
        for r in rows:
            lines.append(encode({c: r.get(c) for c in columns}))
            if len(lines) == 4096:
                out.write("\n".join(lines) + "\n")
                lines = []
        if lines:
            out.write("\n".join(lines) + "\n")
    elif fmt is Format.csv:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for r in rows:
            writer.writerow([_cell(r.get(c)) for c in columns])
    else:
        from rich.table import Table

        console = _console(False)
        table = Table(title=title, show_edge=False, header_style="bold", pad_edge=False)
        cells = [[_cell(r.get(c)) for c in columns] for r in rows]
        headers = [column.replace("_", " ") for column in columns]
        widths = _fitted_widths(headers, cells, console.width) if one_line else None
        one_line = widths is not None
        for index, header in enumerate(headers):
            if one_line:  # a header may take two lines; its cells take one
                from rich.text import Text

                header = Text(header, no_wrap=False, overflow="fold")
            table.add_column(header, overflow="ellipsis" if one_line else "fold",
                             no_wrap=one_line or index == 0,
                             width=widths[index] if widths else None)
        for row in cells:
            table.add_row(*row)
        console.print(table)


def _fitted_widths(headers: list[str], cells: list[list[str]], width: int) -> list[int] | None:
    """Column widths for one line per row: the widest cells are narrowed to one cap, never
    below the longest word of their header, and the first column (the row's name) keeps up
    to 32 characters. None when even that does not fit."""
    from rich.cells import cell_len

    natural = [max([cell_len(h), *(cell_len(row[i]) for row in cells)])
               for i, h in enumerate(headers)]
    floor = [max(cell_len(word) for word in h.split() or [""]) for h in headers]
    floor[0] = min(natural[0], 32)
    room = width - 3 * (len(headers) - 1)  # " │ " between columns
    for cap in range(max(natural), 5, -1):
        fitted = [max(min(w, cap), least) for w, least in zip(natural, floor)]
        if sum(fitted) <= room:
            return fitted
    return None


def shorten(text: str | None, width: int = 60) -> str:
    """One line of at most *width* characters, for table cells."""
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def emit_text(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")

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
    if style is None and _plain(text):
        # what rich prints for it, without importing rich (0.04 s of a data command)
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
        return
    _console(True).print(text, style=style, markup=False)


def _plain(text: str) -> bool:
    """Whether rich would print *text* as it is: one line of printable characters (no tab
    to expand, no control code to strip), no emoji code (``:name:``), no space at either
    end."""
    return text.isprintable() and ":" not in text and text == text.strip()


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


CHUNK = 8192  # rows joined into one write


def emit_columns(data: dict[str, list], columns: list[str], fmt: Format) -> None:
    """What ``emit`` writes for the rows these columns make (*data*: a list per column,
    an item per row), byte for byte, without a dictionary per row: each column is
    encoded at once, a value repeated down it (a document's name or attributes) once, and
    the lines are joined in C. 130,000 excerpts as JSON lines: a fifth of the time."""
    if fmt is Format.table:
        emit([dict(zip(data, values, strict=True)) for values in zip(*data.values())],
             columns, fmt)
        return
    out = sys.stdout
    rows = len(data[columns[0]]) if columns else 0
    if fmt is Format.csv:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for first in range(0, rows, CHUNK):  # a block at a time: a fraction of the memory
            writer.writerows(zip(*(_encoded(data[c][first:first + CHUNK], _cell, str)
                                   for c in columns)))
        return
    from itertools import repeat
    from json.encoder import encode_basestring

    if fmt is Format.jsonl:
        encode = json.JSONEncoder(ensure_ascii=False, default=str).encode
        keys = [encode_basestring(c) + ": " for c in columns]
        labels = ["{" + keys[0], *(", " + k for k in keys[1:])]
        start, between, end = "", "}\n", "}\n"
    else:  # json.dump(rows, indent=2): a value inside a row is two levels down
        indented = json.JSONEncoder(ensure_ascii=False, indent=2, default=str).encode

        def encode(value):
            return indented(value).replace("\n", "\n    ")

        keys = [encode_basestring(c) + ": " for c in columns]
        labels = ["  {\n    " + keys[0], *(",\n    " + k for k in keys[1:])]
        start, between, end = "[\n", "\n  },\n", "\n  }\n]\n"
        if not rows:
            out.write("[]\n")
            return
    out.write(start)
    width = 2 * len(columns) + 1  # label, value, ..., the row's closing
    for first in range(0, rows, CHUNK):  # a block at a time: a fraction of the memory
        last = min(first + CHUNK, rows)
        n = last - first
        # the pieces laid out by strided slice assignment (in C), not zipped and chained
        # into one tuple per row: 130,000 excerpts as JSON lines joined in half the time
        pieces = [between] * (n * width)
        for k, (label, column) in enumerate(zip(labels, columns, strict=True)):
            pieces[2 * k::width] = repeat(label, n)
            pieces[2 * k + 1::width] = _encoded(data[column][first:last], encode,
                                                encode_basestring)
        if last == rows:
            pieces[-1] = end
        out.write("".join(pieces))


def _encoded(values: list, encode, encode_str) -> list[str]:
    """*values* encoded by *encode*: a column of strings (texts, names) by *encode_str*
    straight and one of numbers by ``repr`` (as json and csv write them), in C; numbers
    with None once per distinct value; anything else (a document's
    attributes, shared by its rows) once per object."""
    kinds = set(map(type, values))
    if kinds == {str}:
        return list(map(encode_str, values))
    if kinds == {int}:  # ids, offsets
        return list(map(int.__repr__, values))
    if kinds <= {int, str, type(None)}:  # no bool: True would be taken for 1
        codes = {value: encode(value) for value in set(values)}
        return list(map(codes.__getitem__, values))
    objects = dict(zip(map(id, values), values))
    codes = {key: encode(value) for key, value in objects.items()}
    return list(map(codes.__getitem__, map(id, values)))


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

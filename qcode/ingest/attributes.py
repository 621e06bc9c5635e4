"""Typed document attributes: values are stored as text with a type beside them."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

from qcode.errors import InputError, read_utf8

_INT = re.compile(r"^[+-]?\d{1,18}$")
_NUMBER = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def typed(value: Any) -> tuple[str, str]:
    """(stored text, type) for an attribute value from YAML, CSV or the command line."""
    if isinstance(value, bool):
        return ("true" if value else "false"), "boolean"
    if isinstance(value, int):
        return str(value), "integer"
    if isinstance(value, float):
        return repr(value), "number"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat(), "date"
    text = str(value).strip()
    if _INT.match(text):
        return text, "integer"
    if _NUMBER.match(text):
        return text, "number"
    if _DATE.match(text):
        try:
            dt.date.fromisoformat(text)
            return text, "date"
        except ValueError:
            pass
    if text.lower() in ("true", "false"):
        return text.lower(), "boolean"
    return text, "text"


_KEY = re.compile(r"^[^\W\d][\w.\- ]{0,63}$")


def check_key(key: str, source: str = "--attr") -> str:
    key = key.strip()
    if not _KEY.match(key):
        raise InputError(source, f"attribute name {key!r} must start with a letter and use "
                         "letters, digits, '_', '-', '.' or spaces (at most 64)")
    return key


def parse_assignments(pairs: list[str]) -> dict[str, str]:
    """``["role=activist", "region=Perm"]`` -> dict; bad items are an InputError."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise InputError("--attr", f"expected key=value, got {pair!r}")
        out[check_key(key)] = value.strip()
    return out


def read_attribute_table(path: str | Path) -> dict[str, dict[str, str]]:
    """A CSV whose first column names documents (by name or file name); the other columns
    are attributes. Returns {document or file name: {key: value}}."""
    path = Path(path)
    text = read_utf8(path, "an attribute table")
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise InputError(path, "empty attribute table") from None
    if len(header) < 2:
        raise InputError(path, "expected a document column and at least one attribute column",
                         line=1)
    keys = [check_key(k, f"{path}:1") for k in header[1:]]
    table = {}
    try:
        for row in reader:
            if not any(c.strip() for c in row):
                continue
            if len(row) != len(header):
                raise InputError(path, f"expected {len(header)} fields, found {len(row)}",
                                 line=reader.line_num)
            table[row[0].strip()] = {k: v.strip() for k, v in zip(keys, row[1:], strict=True)
                                     if v.strip()}
    except csv.Error as exc:
        raise InputError(path, f"malformed CSV: {exc}", line=reader.line_num) from None
    return table

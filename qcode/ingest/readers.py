"""One reader per transcript format. Each returns ParsedDocuments; none touches the store.

Every reader raises InputError naming the file (and the line or byte offset) for
input it cannot read; nothing it does is partial.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

from qcode.errors import InputError
from qcode.ingest.decode import decode, normalise_newlines
from qcode.ingest.model import Cue, ParsedDocument, Turn, parse_time
from qcode.ingest.turns import LINE_LABEL, _plausible, detect_turns

Reader = Callable[[Path, bytes, str, str | None], list[ParsedDocument]]

# -- plain text and Markdown -------------------------------------------------------------


def read_text(path: Path, raw: bytes, name: str, speaker_pattern: str | None):
    text, encoding = decode(raw, str(path))
    return [_plain(path, name, text, "txt", encoding, {}, speaker_pattern)]


def _plain(path, name, text, fmt, encoding, attributes, speaker_pattern):
    turns = detect_turns(text, speaker_pattern)
    if not turns:
        raise InputError(path, "no text in the file")
    return ParsedDocument(name, text, turns, fmt, encoding, attributes)


_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)


def read_markdown(path: Path, raw: bytes, name: str, speaker_pattern: str | None):
    """Markdown; a YAML front matter block (between ``---`` lines) becomes attributes."""
    from qcode.safeyaml import loads

    text, encoding = decode(raw, str(path))
    attributes = {}
    match = _FRONT_MATTER.match(text)
    if match:
        data = loads(match.group(1) or "", str(path), line_offset=1).data or {}
        if not isinstance(data, dict):
            raise InputError(path, "front matter must be a mapping of key: value", line=2)
        attributes = _flat_attributes(data, path)
        text = text[match.end():]
    if not text.strip():
        raise InputError(path, "no transcript text after the front matter")
    return [_plain(path, name, text, "md", encoding, attributes, speaker_pattern)]


def _flat_attributes(data: dict, path: Path) -> dict:
    out = {}
    for key, value in data.items():
        if isinstance(value, (dict, list)):
            raise InputError(path, f"front matter key {key!r}: expected a single value, "
                             f"not a {type(value).__name__}")
        if value is not None:
            out[str(key)] = value
    return out


# -- Word --------------------------------------------------------------------------------

MAX_DOCX_UNCOMPRESSED = 256 * 1024 * 1024
MAX_DOCX_RATIO = 200


def read_docx(path: Path, raw: bytes, name: str, speaker_pattern: str | None):
    """Paragraphs (and two-column speaker|text table rows) in document order."""
    _check_zip(path, raw)
    import docx
    from docx.oxml.ns import qn

    try:
        document = docx.Document(io.BytesIO(raw))
    except Exception as exc:  # python-docx raises many kinds for damaged files
        raise InputError(path, f"not a readable .docx (truncated or damaged): "
                         f"{type(exc).__name__}") from None
    lines = []
    for block in document.element.body.iterchildren():
        if block.tag == qn("w:p"):
            lines.append("".join(t.text or "" for t in block.iter(qn("w:t"))))
        elif block.tag == qn("w:tbl"):
            for row in block.iter(qn("w:tr")):
                cells = ["".join(t.text or "" for t in cell.iter(qn("w:t"))).strip()
                         for cell in row.iter(qn("w:tc"))]
                cells = [c for c in cells if c]
                if len(cells) == 2 and len(cells[0]) <= 40:
                    lines.append(f"{cells[0]}: {cells[1]}")
                elif cells:
                    lines.append(" ".join(cells))
    text = normalise_newlines("\n".join(lines))
    if not text.strip():
        raise InputError(path, "the .docx has no text")
    return [_plain(path, name, text, "docx", None, {}, speaker_pattern)]


def _check_zip(path: Path, raw: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise InputError(path, "not a readable .docx (truncated or damaged zip)") from None
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if total > MAX_DOCX_UNCOMPRESSED or total / packed > MAX_DOCX_RATIO:
        raise InputError(path, "refusing a .docx that expands to "
                         f"{total // (1024 * 1024)} MiB (a zip bomb?)")


# -- subtitles ---------------------------------------------------------------------------

_TIMING = re.compile(r"^\s*(\d{1,2}:)?\d{1,2}:\d{2}[.,]\d{1,3}\s+-->\s+(\d{1,2}:)?\d{1,2}:\d{2}[.,]\d{1,3}")
_TAGS = re.compile(r"</?[a-zA-Z][^>]*>")


def read_subtitles(path: Path, raw: bytes, name: str, speaker_pattern: str | None):
    """WebVTT or SubRip: voices (``<v Name>``) or ``Name:`` prefixes become speakers;
    consecutive cues of one speaker form a turn; cue times are kept."""
    import webvtt
    from webvtt.errors import MalformedCaptionError, MalformedFileError

    fmt = "vtt" if path.suffix.lower() == ".vtt" else "srt"
    text, encoding = decode(raw, str(path))
    for number, line in enumerate(text.split("\n"), 1):
        if "-->" in line and not _TIMING.match(line):
            raise InputError(path, f"malformed cue timing {line.strip()[:60]!r}", line=number)
    try:
        captions = list(webvtt.from_buffer(io.StringIO(text), format=fmt))
    except (MalformedFileError, MalformedCaptionError, ValueError, IndexError) as exc:
        raise InputError(path, f"not a valid .{fmt} file: {exc or type(exc).__name__}") from None
    cues = []
    for caption in captions:
        body = " ".join(_TAGS.sub("", caption.raw_text).split())
        speaker = getattr(caption, "voice", None)
        if not speaker:
            match = LINE_LABEL.match(body)
            if match and _plausible(label := " ".join((match.group("name") or
                                                         match.group("bracket") or "").split())):
                speaker, body = label, body[match.end():].strip()
        if body:
            cues.append((speaker, body, parse_time(caption.start), parse_time(caption.end)))
    if not cues:
        raise InputError(path, f"no cues with text in the .{fmt} file")
    return [_subtitle_document(name, cues, fmt, encoding)]


def _subtitle_document(name, cues, fmt, encoding, *, merge: bool = True) -> ParsedDocument:
    """Lay the cues out as ``Speaker: utterance`` paragraphs and record the spans.

    With *merge*, a cue continues the current turn when it has the same speaker or none
    (voices are often given on a turn's first cue only)."""
    parts: list[str] = []
    length = 0
    turns: list[Turn] = []

    def add(piece: str) -> int:
        nonlocal length
        parts.append(piece)
        length += len(piece)
        return length

    for speaker, body, t0, t1 in cues:
        if merge and turns and turns[-1].speaker is not None and speaker in (
                None, turns[-1].speaker):
            add(" ")
        else:
            if turns:
                add("\n\n")
            if speaker:
                add(f"{speaker}: ")
            turns.append(Turn(length, length, speaker, t0, t1))
        start = length
        end = add(body)
        turn = turns[-1]
        turn.end, turn.time_end = end, t1
        turn.cues.append(Cue(start, end, t0, t1))
    return ParsedDocument(name, "".join(parts), turns, fmt, encoding, {})


# -- CSV ---------------------------------------------------------------------------------

TEXT_COLUMNS = ("text", "utterance", "transcript", "content")
SPEAKER_COLUMNS = ("speaker", "voice")
DOCUMENT_COLUMNS = ("document", "doc", "interview", "file", "name", "id")
TIME_COLUMNS = ("time", "start", "timestamp", "start_time")
END_COLUMNS = ("end", "end_time")


def read_csv(path: Path, raw: bytes, name: str, speaker_pattern: str | None):
    """Either one row per turn (speaker, text[, time][, document]) or one row per
    document (document/name, text, other columns become attributes)."""
    text, encoding = decode(raw, str(path))
    csv.field_size_limit(max(len(text), 131072))
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = [h.strip().lower() for h in next(reader)]
        rows = [(reader.line_num, row) for row in reader]
    except StopIteration:
        raise InputError(path, "empty CSV") from None
    except csv.Error as exc:
        raise InputError(path, f"malformed CSV: {exc}", line=reader.line_num) from None

    def column(options):
        return next((header.index(o) for o in options if o in header), None)

    text_col = column(TEXT_COLUMNS)
    if text_col is None:
        raise InputError(path, f"no text column (expected one of {', '.join(TEXT_COLUMNS)})",
                         line=1)
    speaker_col, doc_col = column(SPEAKER_COLUMNS), column(DOCUMENT_COLUMNS)
    for line, row in rows:
        if len(row) != len(header) and any(cell.strip() for cell in row):
            raise InputError(path, f"expected {len(header)} fields, found {len(row)}", line=line)
    rows = [(line, row) for line, row in rows if any(cell.strip() for cell in row)]
    if speaker_col is not None:
        return _csv_turns(path, name, header, rows, text_col, speaker_col, doc_col, encoding)
    return _csv_documents(path, name, header, rows, text_col, doc_col, encoding,
                          speaker_pattern)


def _csv_turns(path, name, header, rows, text_col, speaker_col, doc_col, encoding):
    time_col, end_col = (next((header.index(o) for o in opts if o in header), None)
                         for opts in (TIME_COLUMNS, END_COLUMNS))
    grouped: dict[str, list] = {}
    for line, row in rows:
        key = row[doc_col].strip() if doc_col is not None else name
        if not key:
            raise InputError(path, "empty document name", line=line)
        speaker = row[speaker_col].strip() or None
        body = normalise_newlines(row[text_col]).strip()
        try:
            t0 = parse_time(row[time_col]) if time_col is not None else None
            t1 = parse_time(row[end_col]) if end_col is not None else None
        except ValueError as exc:
            raise InputError(path, str(exc), line=line) from None
        if body:
            grouped.setdefault(key, []).append((speaker, body, t0, t1))
    if not grouped:
        raise InputError(path, "no rows with text")
    return [_subtitle_document(doc_name, cues, "csv", encoding, merge=False)
            for doc_name, cues in grouped.items()]


def _csv_documents(path, name, header, rows, text_col, doc_col, encoding, speaker_pattern):
    documents = []
    for line, row in rows:
        doc_name = row[doc_col].strip() if doc_col is not None else f"{name}-{line}"
        if not doc_name:
            raise InputError(path, "empty document name", line=line)
        body = normalise_newlines(row[text_col])
        if not body.strip():
            raise InputError(path, f"document {doc_name!r} has no text", line=line)
        attributes = {key: row[i].strip() for i, key in enumerate(header)
                      if i not in (text_col, doc_col) and key and row[i].strip()}
        turns = detect_turns(body, speaker_pattern)
        documents.append(ParsedDocument(doc_name, body, turns, "csv", encoding, attributes))
    if not documents:
        raise InputError(path, "no rows with text")
    return documents


READERS: dict[str, Reader] = {
    ".txt": read_text,
    ".md": read_markdown,
    ".markdown": read_markdown,
    ".docx": read_docx,
    ".vtt": read_subtitles,
    ".srt": read_subtitles,
    ".csv": read_csv,
}

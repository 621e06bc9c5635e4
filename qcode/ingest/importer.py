"""Import transcript files into a project: one transaction per file.

Parsing and sentence splitting happen before the write lock is taken; the write
re-checks for duplicates under the lock, so two imports of the same file at once
still store it once.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from qcode import faults
from qcode.errors import InputError, StoreError
from qcode.ingest.attributes import typed
from qcode.ingest.model import ParsedDocument
from qcode.ingest.readers import READERS
from qcode.ingest.segment import split_sentences
from qcode.store import transaction
from qcode.store.connection import db_errors
from qcode.store.records import coder_id, log_change, now
from qcode.store.words import store_segment_index, store_words


@dataclass
class FileResult:
    path: str
    status: str  # imported | skipped | failed
    documents: list[str] = field(default_factory=list)
    message: str = ""
    encoding: str | None = None
    segments: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass
class ImportOptions:
    attributes: dict[str, str] = field(default_factory=dict)  # --attr: wins over all
    table: dict[str, dict[str, str]] = field(default_factory=dict)  # --attributes CSV
    language: str | None = None
    default_language: str = "en"
    speaker_pattern: str | None = None
    max_bytes: int = 16 * 1024 * 1024
    coder: str | None = None


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def discover(paths: Iterable[str | Path],
             skip: Iterable[str | Path] = ()) -> Iterator[tuple[Path, str]]:
    """(file, document name) for every transcript under *paths*, in a stable order.

    A file named directly is named by its stem; files found in a folder by their path
    relative to it, so interviews/a/01.txt and interviews/b/01.txt stay apart. Files in
    *skip* (the --attributes table kept beside the transcripts) are left out, however
    their path is spelt.
    """
    skipped = {Path(s).resolve() for s in skip}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                relative = file.relative_to(path)
                if (file.is_file() and file.suffix.lower() in READERS
                        and not any(p.startswith((".", "~$")) for p in relative.parts)
                        and not (skipped and file.resolve() in skipped)):
                    yield file, relative.with_suffix("").as_posix()
        elif not (skipped and path.resolve() in skipped):
            yield path, path.stem


def parse_file(path: Path, name: str, options: ImportOptions) -> list[ParsedDocument]:
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise InputError(path, f"unsupported file type {path.suffix or '(none)'!r}; "
                         f"qcode reads {', '.join(sorted(READERS))}")
    try:
        size = path.stat().st_size
        if size > options.max_bytes:
            raise InputError(path, f"file is {size / 2**20:.0f} MiB, over the limit of "
                             f"{options.max_bytes // 2**20} MiB (import.max_file_mb in qcode.yaml)")
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror}") from None
    documents = reader(path, raw, name, options.speaker_pattern)
    for doc in documents:
        if not doc.turns:
            raise InputError(path, "no text to import")
    return documents


def _attributes_for(doc: ParsedDocument, path: Path, options: ImportOptions) -> dict:
    merged = dict(doc.attributes)
    for key in (path.name, path.stem, doc.name):
        merged.update(options.table.get(key, {}))
    merged.update(options.attributes)
    return merged


def _language(doc: ParsedDocument, attributes: dict, path: Path,
              options: ImportOptions) -> tuple[str, list[str]]:
    return document_language(doc.text, doc.name, str(path), attributes.get("language"),
                             options.default_language, options.language)


def document_language(text: str, name: str, where: str, attribute, default: str,
                      forced: str | None = None) -> tuple[str, list[str]]:
    """A document's language and any warning: *forced* (--language), else its own
    ``language`` attribute (front matter, CSV column, --attributes, --attr), else the
    language its text is in, else the project's *default*. A detected language other
    than the default is said, so that a Russian transcript is not quietly read as
    English."""
    from qcode.ingest.language import detect_language

    if forced:
        return forced, []
    value = str(attribute or "").strip().lower()
    if value.isalpha() and 2 <= len(value) <= 3:
        return value, []
    detected = detect_language(text)
    if detected is None or detected == default:
        return default, []
    return detected, [f"{where}: {name!r} is in language {detected!r}, not the project's "
                      f"default {default!r}: stored as {detected!r} (say otherwise with a "
                      "`language:` attribute or --language)"]


def import_file(db, path: Path, name: str, options: ImportOptions) -> FileResult:
    """Parse, segment and store one file. Raises InputError; writes all or nothing."""
    from qcode.labels import clean_document

    documents = parse_file(path, name, options)
    prepared = []
    notes = []
    for doc in documents:
        attributes = _attributes_for(doc, path, options)
        doc.name, attributes, found = clean_document(doc.name, attributes, str(path))
        if not doc.name:
            raise InputError(path, "the document's name is empty without its control "
                             "characters; rename the file")
        notes += found
        language, said = _language(doc, attributes, path, options)
        notes += said
        sentences = split_sentences(doc.text, doc.turns, language)
        prepared.append((doc, attributes, language, sentences))
    result = FileResult(str(path), "skipped", encoding=documents[0].encoding, warnings=notes)
    with transaction(db):
        who = coder_id(db, options.coder) if options.coder else None
        for doc, attributes, language, sentences in prepared:
            digest = sha256(doc.text)
            same = db.execute("SELECT d.name FROM revisions r JOIN documents d "
                              "ON d.id = r.document_id WHERE r.sha256 = ?", [digest]).fetchone()
            if same:
                result.message = f"same text as document {same[0]!r}"
                continue
            if db.execute("SELECT 1 FROM documents WHERE name = ?", [doc.name]).fetchone():
                raise InputError(path, f"a document named {doc.name!r} already exists with "
                                 "different text; rename the file to import it as a new document")
            result.segments += _store(db, doc, path, attributes, language, sentences, digest, who)
            result.documents.append(doc.name)
        faults.point("import")
    if result.documents:
        result.status, result.message = "imported", ""
    return result


def _store(db, doc, path, attributes, language, sentences, digest, who) -> int:
    created = now()
    document_id = db.execute(
        "INSERT INTO documents (name, source_path, format, language, created) "
        "VALUES (?, ?, ?, ?, ?)", [doc.name, str(path), doc.format, language, created]).lastrowid
    revision_id = db.execute(
        "INSERT INTO revisions (document_id, number, text, sha256, encoding, note, created) "
        "VALUES (?, 1, ?, ?, ?, 'imported', ?)",
        [document_id, doc.text, digest, doc.encoding, created]).lastrowid
    turns, count = store_segments(db, revision_id, doc, sentences)
    for key, value in attributes.items():
        text, kind = typed(value)
        db.execute("INSERT INTO attributes (document_id, key, value, type) VALUES (?, ?, ?, ?)",
                   [document_id, key, text, kind])
    log_change(db, "import", "document", document_id, coder=who,
               after={"name": doc.name, "source": str(path), "sha256": digest,
                      "sentences": count, "turns": turns})
    return count


def store_segments(db, revision_id: int, doc: ParsedDocument,
                   sentences: list[tuple[int, int, int]]) -> tuple[int, int]:
    """Write the speakers, turns, sentences and word and sentence indexes of one revision;
    returns the
    numbers of turns and sentences."""
    speakers = {}
    for turn in doc.turns:
        if turn.speaker and turn.speaker not in speakers:
            db.execute("INSERT OR IGNORE INTO speakers (name) VALUES (?)", [turn.speaker])
            speakers[turn.speaker] = db.execute("SELECT id FROM speakers WHERE name = ?",
                                                [turn.speaker]).fetchone()[0]
    turn_ids, turn_index = [], []
    for number, turn in enumerate(doc.turns, 1):
        turn_index.append((turn.start, turn.end, speakers.get(turn.speaker)))
        turn_ids.append(db.execute(
            "INSERT INTO segments (revision_id, kind, number, start, \"end\", speaker_id, "
            "time_start, time_end) VALUES (?, 'turn', ?, ?, ?, ?, ?, ?)",
            [revision_id, number, turn.start, turn.end, speakers.get(turn.speaker),
             turn.time_start, turn.time_end]).lastrowid)
    rows = []
    starts: dict[int, list[int]] = {}  # per turn, its cues' offsets, for bisection
    for number, (index, start, end) in enumerate(sentences, 1):
        turn = doc.turns[index]
        if index not in starts:
            starts[index] = [cue.start for cue in turn.cues]
        t0, t1 = _sentence_times(turn, starts[index], start, end)
        rows.append((revision_id, number, start, end, speakers.get(turn.speaker),
                     turn_ids[index], t0, t1))
    db.conn.executemany(
        "INSERT INTO segments (revision_id, kind, number, start, \"end\", speaker_id, turn_id, "
        "time_start, time_end) VALUES (?, 'sentence', ?, ?, ?, ?, ?, ?, ?)", rows)
    store_words(db, revision_id, doc.text)
    store_segment_index(db, revision_id, [(row[2], row[3]) for row in rows], turn_index)
    return len(turn_ids), len(rows)


def _sentence_times(turn, cue_starts: list[int], start: int,
                    end: int) -> tuple[float | None, float | None]:
    """The time the cue holding the sentence's start begins and the one holding its end
    ends (the turn's first or last cue when none does). The cues are laid out in order and
    do not overlap, so bisection finds them: a turn of one voice can hold 100,000 cues."""
    cues = turn.cues
    if not cues:
        return turn.time_start, None
    i = bisect.bisect_right(cue_starts, start) - 1
    first = cues[i] if i >= 0 and start < cues[i].end else cues[0]
    j = bisect.bisect_left(cue_starts, end) - 1
    last = cues[j] if j >= 0 and end <= cues[j].end else cues[-1]
    return first.time_start, last.time_end


ProgressFn = Callable[[FileResult], None]


def import_paths(db, paths: Iterable[str | Path], options: ImportOptions,
                 progress: ProgressFn | None = None) -> list[FileResult]:
    """Import every file under *paths*; a failing file does not stop the others."""
    return import_files(db, list(discover(paths)), options, progress)


def import_files(db, files: list[tuple[Path, str]], options: ImportOptions,
                 progress: ProgressFn | None = None) -> list[FileResult]:
    """Import (file, document name) pairs as found by discover()."""
    results = []
    for path, name in files:
        try:
            result = import_file(db, path, name, options)
        except InputError as exc:
            result = FileResult(str(path), "failed", message=str(exc))
        except (*db_errors(), StoreError) as exc:  # the store failed, not the file
            from qcode.store.connection import describe_sqlite_error

            why = str(exc) if isinstance(exc, StoreError) else describe_sqlite_error(exc)
            done = sum(r.status == "imported" for r in results)
            raise StoreError(f"{path}: {why}; it was not imported, nor the files after it; "
                             f"the {done} file(s) imported before it are kept") from None
        results.append(result)
        if progress:
            progress(result)
    return results

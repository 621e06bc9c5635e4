"""Where the words, sentences and turns of a revision are, so analyses can count without
reading transcripts or fetching one row per segment (one row per revision instead).

``revision_words``: the text's length and a bitmap of its characters, bit i (of byte
i // 8, least significant first) set when character i is not whitespace as ``str.split``
sees it, with at least one clear bit after the last character. Words are the runs of set
bits; a tenth of the size of the word offsets it replaced (schema 2).
``revision_sentences``: the start and end offsets of its sentences in number order (the
same spans as its 'sentence' segments).
``revision_turns``: the start and end offsets and speaker ids (-1: none) of its turns
in number order (as its 'turn' segments).
Offsets are little-endian uint32 arrays, speaker ids int32; revisions never change, so
neither do these indexes."""

from __future__ import annotations

import sys
from array import array

# what str.split() and re's \s treat as whitespace (str.isspace(); a test checks it)
WHITESPACE = (0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x85, 0xA0, 0x1680,
              *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000)


def _pack(values, typecode: str = "I") -> bytes:
    packed = array(typecode, values)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def _unpack(blob: bytes, typecode: str = "I") -> array:
    values = array(typecode)
    values.frombytes(blob)
    if sys.byteorder == "big":
        values.byteswap()
    return values


def nonspace_bitmap(text: str) -> bytes:
    import numpy as np

    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    bits = np.zeros(len(text) // 8 * 8 + 8, dtype=bool)
    bits[:len(codes)] = ~np.isin(codes, WHITESPACE)
    return np.packbits(bits, bitorder="little").tobytes()


def sentence_offsets(spans: list[tuple[int, int]]) -> tuple[bytes, bytes]:
    return _pack(s for s, _ in spans), _pack(e for _, e in spans)


def turn_offsets(turns: list[tuple[int, int, int | None]]) -> tuple[bytes, bytes, bytes]:
    """*turns*: (start, end, speaker id or None) per turn."""
    return (_pack(t[0] for t in turns), _pack(t[1] for t in turns),
            _pack((-1 if t[2] is None else t[2] for t in turns), "i"))


def store_words(db, revision_id: int, text: str) -> None:
    db.execute("INSERT INTO revision_words (revision_id, length, nonspace) VALUES (?, ?, ?)",
               [revision_id, len(text), nonspace_bitmap(text)])


def store_segment_index(db, revision_id: int, sentences: list[tuple[int, int]],
                        turns: list[tuple[int, int, int | None]]) -> None:
    """*sentences*: (start, end) of each, *turns*: (start, end, speaker id), in number
    order."""
    db.execute("INSERT INTO revision_sentences (revision_id, starts, ends) VALUES (?, ?, ?)",
               [revision_id, *sentence_offsets(sentences)])
    db.execute("INSERT INTO revision_turns (revision_id, starts, ends, speakers) "
               "VALUES (?, ?, ?, ?)",
               [revision_id, *turn_offsets(turns)])


def blob_rows(db, sql: str, params: list) -> list[tuple]:
    """The rows of a query that returns blobs (and integers); from a server in binary."""
    if getattr(getattr(db, "dialect", None), "name", "sqlite") == "postgresql":
        return db.conn.execute(sql, params, binary=True).fetchall()
    return db.execute(sql, params).fetchall()


def sentence_rows(db, revisions_json: str) -> list[tuple[int, bytes, bytes]]:
    """(revision id, starts, ends) of the revisions in *revisions_json* (a JSON list),
    in revision order."""
    return blob_rows(
        db, "SELECT revision_id, starts, ends FROM revision_sentences WHERE revision_id IN "
        "(SELECT value FROM json_each(?)) ORDER BY revision_id", [revisions_json])


def read_sentences(db, revisions_json: str) -> dict[int, tuple[array, array]]:
    """Per revision, the starts and ends of its sentences (sentence n at index n - 1)."""
    return {revision: (_unpack(starts), _unpack(ends))
            for revision, starts, ends in sentence_rows(db, revisions_json)}


def turn_rows(db, revisions_json: str) -> list[tuple[int, bytes, bytes, bytes]]:
    """(revision id, starts, ends, speakers) of the revisions in *revisions_json*, in
    revision order."""
    return blob_rows(
        db, "SELECT revision_id, starts, ends, speakers FROM revision_turns WHERE revision_id "
        "IN (SELECT value FROM json_each(?)) ORDER BY revision_id", [revisions_json])


def read_turns(db, revisions_json: str) -> dict[int, tuple[array, array]]:
    """Per revision, the starts and speaker ids (-1: none) of its turns."""
    return {revision: (_unpack(starts), _unpack(speakers, "i"))
            for revision, starts, _, speakers in turn_rows(db, revisions_json)}

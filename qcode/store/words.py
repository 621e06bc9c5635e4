"""Where the words of a revision are, so analyses can count coded words without reading
the transcripts: one row per revision with the text's length and the start and end
offsets of its words (maximal runs of non-whitespace, as ``str.split`` sees them), as
little-endian uint32 arrays. Revisions never change, so neither does this index."""

from __future__ import annotations

import re
import sys
from array import array

_WORD = re.compile(r"\S+")


def word_offsets(text: str) -> tuple[bytes, bytes]:
    starts, ends = array("I"), array("I")
    for match in _WORD.finditer(text):
        starts.append(match.start())
        ends.append(match.end())
    if sys.byteorder == "big":
        starts.byteswap()
        ends.byteswap()
    return starts.tobytes(), ends.tobytes()


def store_words(db, revision_id: int, text: str) -> None:
    starts, ends = word_offsets(text)
    db.execute("INSERT INTO revision_words (revision_id, length, starts, ends) "
               "VALUES (?, ?, ?, ?)", [revision_id, len(text), starts, ends])

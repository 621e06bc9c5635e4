"""Bytes of a transcript file -> text with `\\n` newlines, and the encoding used."""

from __future__ import annotations

import codecs
import re

from qcode.errors import InputError

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: its BOM starts the same way
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# C0 controls other than tab, newline, carriage return and form feed mark binary data
_BINARY = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")
_NEWLINES = re.compile(r"\r\n?|\u2028|\u2029|\x0c")


def normalise_newlines(text: str) -> str:
    if not any(c in text for c in "\r\u2028\u2029\x0c"):
        return text  # the usual case: a scan per character instead of the regex's search
    return _NEWLINES.sub("\n", text)


def decode(raw: bytes, path: str) -> tuple[str, str]:
    """Decode *raw*: strict UTF-8, BOM-marked UTF-8/16/32, else charset-normalizer's guess.

    Returns (text, encoding). Binary data and undecodable bytes are an InputError with
    the byte offset.
    """
    if not raw.strip():
        raise InputError(path, "file is empty")
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            try:
                return _clean(raw.decode(encoding), path), encoding
            except UnicodeDecodeError as exc:
                raise InputError(path, f"invalid {encoding} data", offset=exc.start) from None
    binary = _BINARY.search(raw)
    if binary:
        raise InputError(path, "looks like a binary file, not a transcript "
                         f"(control byte 0x{raw[binary.start()]:02x})", offset=binary.start())
    try:
        return _clean(raw.decode("utf-8"), path), "utf-8"
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    text, encoding = _guess(raw, path, first_bad)
    return _clean(text, path), encoding


def _guess(raw: bytes, path: str, first_bad: int) -> tuple[str, str]:
    cyrillic = _guess_cyrillic(raw)
    if cyrillic:
        return cyrillic
    from charset_normalizer import from_bytes

    best = from_bytes(raw, cp_isolation=_CANDIDATES).best()
    if best is None:
        best = from_bytes(raw).best()
    if best is None:
        raise InputError(path, "not UTF-8 and the encoding could not be recognised",
                         offset=first_bad)
    return str(best), best.encoding


def _guess_cyrillic(raw: bytes) -> tuple[str, str] | None:
    """Pick cp1251 or KOI8-R when the high bytes read as mostly lowercase Cyrillic.

    Running Russian text is ~95 % lowercase; cp1251 and KOI8-R swap the lowercase and
    uppercase byte ranges, so the wrong one reads as shouting. Statistical detectors
    get short texts wrong (cp1251 guessed as cp1250), which mangles every name.
    """
    high = sum(1 for byte in raw if byte >= 0x80)
    if high < 8 or _touching_ascii_letters(raw) > 0.1 * high:
        return None  # accented Latin letters sit inside ASCII words; Cyrillic words don't
    best = None
    for encoding in ("cp1251", "koi8_r"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        letters = [ch for ch in text if "\u0400" <= ch <= "\u04ff"]
        if len(letters) < 0.9 * high:
            continue
        lower = sum(1 for ch in letters if ch.islower()) / len(letters)
        if lower > 0.6 and (best is None or lower > best[0]):
            best = (lower, text, encoding)
    return (best[1], best[2]) if best else None


def _touching_ascii_letters(raw: bytes) -> int:
    def ascii_letter(byte: int) -> bool:
        return 0x41 <= byte <= 0x5A or 0x61 <= byte <= 0x7A

    return sum(1 for i, byte in enumerate(raw) if byte >= 0x80 and (
        (i > 0 and ascii_letter(raw[i - 1])) or (i + 1 < len(raw) and ascii_letter(raw[i + 1]))))


# Transcripts in this field are mostly Russian, Ukrainian and Western European;
# trying these first makes cp1251 vs koi8-r vs latin-1 much more reliable.
_CANDIDATES = ["cp1251", "koi8_r", "koi8_u", "cp1252", "latin_1", "iso8859_5", "cp866",
               "mac_cyrillic", "utf_16", "cp1250", "iso8859_2", "gb18030", "shift_jis"]


def _clean(text: str, path: str) -> str:
    text = normalise_newlines(text)
    nul = text.find("\x00")
    if nul >= 0:
        raise InputError(path, f"contains a NUL character at character {nul}")
    return text

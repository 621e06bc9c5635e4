import codecs

import pytest

from qcode.errors import InputError
from qcode.ingest.decode import decode

RUSSIAN = ("Интервьюер: Расскажите, пожалуйста, как вы начали заниматься общественной "
           "деятельностью?\nАктивист: Всё началось с нашего двора. Мы не доверяли управляющей "
           "компании и решили сами организоваться.")


@pytest.mark.parametrize("raw, encoding", [
    ("Hello — world".encode(), "utf-8"),
    (codecs.BOM_UTF8 + "Hello — world".encode(), "utf-8-sig"),
    ("Hello — world".encode("utf-16"), "utf-16"),
    (codecs.BOM_UTF16_BE + "Hello — world".encode("utf-16-be"), "utf-16"),
])
def test_unicode_encodings(raw, encoding):
    assert decode(raw, "f.txt") == ("Hello — world", encoding)


@pytest.mark.parametrize("encoding", ["cp1251", "koi8_r"])
@pytest.mark.parametrize("text", [RUSSIAN, "Привет, мир", "ГУВД ответил формально. Мы подали жалобу."])
def test_legacy_russian_encodings_come_out_right(text, encoding):
    decoded, guessed = decode(text.encode(encoding), "f.txt")
    assert decoded == text
    assert guessed == encoding


def test_accented_latin_is_not_mistaken_for_cyrillic():
    text = ("Intervieweur : Pouvez-vous décrire votre rôle au ministère ? Répondant : J'étais "
            "chargé des relations avec les associations. C'était délicat, naïvement je pensais "
            "que la confiance viendrait vite. Ça n'a pas été le cas, évidemment.")
    decoded, guessed = decode(text.encode("cp1252"), "f.txt")
    assert decoded == text
    assert guessed != "cp1251"


def test_newlines_are_normalised():
    assert decode(b"a\r\nb\rc\nd", "f.txt")[0] == "a\nb\nc\nd"


@pytest.mark.parametrize("raw, message", [
    (b"", "empty"),
    (b"   \n\n", "empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    (b"text with a NUL \x00 inside", "binary"),
])
def test_bad_bytes_are_refused_with_the_file_name(raw, message):
    with pytest.raises(InputError, match=message) as err:
        decode(raw, "interview.txt")
    assert "interview.txt" in str(err.value)


def test_mixed_encodings_decode_without_crashing():
    # UTF-8 Cyrillic followed by a cp1251 line: not valid UTF-8, so it is guessed as a whole
    raw = "Привет\n".encode() + "Пока, до свидания\n".encode("cp1251")
    text, encoding = decode(raw, "mixed.txt")
    assert text and encoding

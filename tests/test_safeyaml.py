import pytest

from qcode.errors import InputError
from qcode.safeyaml import MAX_DEPTH, load_file, loads


def test_loads_plain_yaml_and_records_lines():
    doc = loads("a: 1\nb:\n  - x\n  - {c: 2}\n")
    assert doc.data == {"a": 1, "b": ["x", {"c": 2}]}
    assert doc.line_of(("b",)) == 2
    assert doc.line_of(("b", 1, "c")) == 4
    assert doc.line_of(("b", 1, "missing")) == 4  # nearest known ancestor


@pytest.mark.parametrize("text, fragment", [
    ("a: !!python/object/apply:os.system ['echo hi']", "tags"),
    ("a: !!python/name:os.system", "tags"),
    ("a: !custom 1", "tags"),
    ("a: &x [1, 2]\nb: *x", "aliases"),
    ("a: [", "opened on this line is not closed with"),
])
def test_hostile_or_broken_yaml_is_refused_with_the_line(text, fragment):
    with pytest.raises(InputError, match=fragment) as err:
        loads(text, "cb.yaml")
    assert str(err.value).startswith("cb.yaml:")


def test_alias_bomb_is_refused_before_expansion():
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]")
    with pytest.raises(InputError, match="aliases"):
        loads("\n".join(lines))


def test_deep_nesting_is_refused():
    text = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    with pytest.raises(InputError, match="nested deeper"):
        loads(text)


def test_oversized_file_is_refused(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("a: " + "x" * (3 * 1024 * 1024))
    with pytest.raises(InputError, match="larger than"):
        load_file(big)


def test_non_utf8_yaml_names_the_offset(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"name: \xff\xfe")
    with pytest.raises(InputError, match=r"bad.yaml \(byte 6\)"):
        load_file(bad)

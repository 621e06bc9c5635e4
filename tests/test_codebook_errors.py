"""Issue 16, item 7: codebook errors in a researcher's words, at the right line."""

import pytest
import yaml

import qcode.safeyaml
from qcode.codebook.model import codebook_from_text
from qcode.errors import CodebookError, InputError
from qcode.safeyaml import loads

HEAD = "name: study\ncodes:\n  - name: trust\n"


@pytest.fixture(params=["libyaml", "python"])
def loader(request, monkeypatch):
    """PyYAML's C and Python parsers word the same mistakes differently; both are told."""
    if request.param == "python":
        monkeypatch.setattr(qcode.safeyaml, "Loader", yaml.SafeLoader)
    elif not hasattr(yaml, "CSafeLoader"):
        pytest.skip("PyYAML without libyaml")


@pytest.mark.parametrize("text, line, words", [
    # the example from the issue: "expected <block end>, but found '?'"
    (HEAD + "    description: x\n  name: distrust\n", 5,
     "'name: distrust' stands at the level of the list that starts on line 3, but a new "
     "item (a code) starts with '- '"),
    (HEAD + '    description: "unclosed\n  - name: b\n    description: "y"\n', 4,
     'the text in quotes that starts on this line has no closing "'),
    # a quoted text over two lines is fine: the mistake below it is the one told
    (HEAD + '    description: "a long text\n      that goes on"\n    examples: [x\n'
     "  - name: b\n", 6, "the '[' opened on this line is not closed with ']'"),
    (HEAD + '    description: "never closed\n  - name: b\n', 4,
     'the text in quotes that starts on this line has no closing "'),
    (HEAD + "    description: 'it's broken\n", 4,
     "the text in quotes ends early, at the ' before 's broken'; write '' (two single "
     "quotes)"),
    (HEAD + "    description: Trust: in people\n", 4,
     "this value contains ': ', which YAML reads as a new field; put the whole value in "
     'quotes: description: "Trust: in people"'),
    (HEAD + "\tdescription: x\n", 4, "a tab is used to indent this line"),
    (HEAD + "    description\n  - name: b\n", 4, "'description' is not followed by ':'"),
    (HEAD + "    examples: [a, b\n  - name: b\n", 4,
     "the '[' opened on this line is not closed with ']'"),
    (HEAD + "    description: x\n    - name: b\n", 5,
     "a '- ' item stands among the fields of the code above it"),
    (HEAD + " description: x\n", 4, "this line is indented by 1 space(s), which does not "
     "line up"),
    (HEAD + '    description: "C:\\qcode"\n', 4, "write \\\\ for a backslash"),
])
def test_yaml_mistakes_are_plain_sentences_at_the_right_line(loader, text, line, words):
    with pytest.raises(InputError) as err:
        loads(text, "codebook.yaml")
    message = str(err.value)
    assert message.startswith(f"codebook.yaml:{line}: "), message
    assert words in message
    for jargon in ("expected", "block", "scalar", "indicator", "token", "stream"):
        assert jargon not in message.replace("expected ':'", ""), message


@pytest.mark.parametrize("body, line, message", [
    ("    colour: '#ff0000'\n", 4,
     "unknown field 'colour' in code 'trust' — did you mean 'color'?"),
    ("    zzz: 1\n", 4, "unknown field 'zzz' in code 'trust' (the fields here are: name, "),
    ("    color: red\n", 4, "the color 'red' of code 'trust' is not a colour code; write # "
     'and six hexadecimal digits in quotes, e.g. color: "#1f77b4"'),
    ("    description: [a, b]\n", 4, "'description' of code 'trust' should be text, not a "
     "list"),
    ("    codes:\n      - name: inner\n        patterns:\n          - rely on\n"
     "          - {phrse: count on}\n", 8,
     "unknown field 'phrse' in pattern 2 of code 'trust/inner' ({phrse: count on}) — did "
     "you mean 'phrase'?"),
    ("    patterns:\n      - tokens: [{LEMMA: {REGEX: 'trust.*'}}]\n", 5,
     "pattern 1 of code 'trust' ({tokens: [{LEMMA: {REGEX: trust.*}}]}): regular "
     "expressions (REGEX) are not allowed in patterns"),
    ("    patterns:\n      - tokens: [{lemma: rely}]\n", 5,
     "pattern 1 of code 'trust' ({tokens: [{lemma: rely}]}): token attribute 'lemma' must "
     "be written in capitals: 'LEMMA'"),
    ("    exclude_patterns:\n      - {phrase: x, attr: lemma}\n", 5,
     "'attr' of exclude pattern 1 of code 'trust' ({phrase: x, attr: lemma}) is 'lemma'; "
     "it can be 'LEMMA' or 'LOWER'"),
    ("    patterns: [12]\n", 4, "pattern 1 of code 'trust' (12) is not a pattern"),
    ("    key: ab\n", 4, "'key' of code 'trust': a shortcut key is one printable character"),
    ("  - description: no name\n", 4, "the code at line 4 has no 'name'"),
    # the patterns field itself, not one pattern: named as the field, not as the code
    ("    patterns:\n", 4, "'patterns' of code 'trust' should be a list"),
    ("    exclude_patterns: 3\n", 4, "'exclude_patterns' of code 'trust' should be a list"),
    # a language key that is not text is the key's mistake, not a 6th pattern's
    ("    patterns: {en: [rely], 5: [x]}\n", 4,
     "the language 5 of the patterns of code 'trust' should be a language code such as "
     "en or ru"),
])
def test_validation_errors_name_the_code_the_field_and_the_line(body, line, message):
    with pytest.raises(CodebookError) as err:
        codebook_from_text(HEAD + body, "cb.yaml")
    assert str(err.value).startswith(f"cb.yaml:{line}: {message}"), str(err.value)
    assert "Extra inputs" not in str(err.value) and "codes[" not in str(err.value)


def test_top_level_mistakes_and_cross_checks_speak_of_codes():
    with pytest.raises(CodebookError, match="unknown field 'code' in the codebook — did you "
                                            "mean 'codes'"):
        codebook_from_text("name: x\ncode: []\n")
    with pytest.raises(CodebookError, match="the codebook has no 'name'"):
        codebook_from_text("codes: []\n")
    with pytest.raises(CodebookError, match=r":6: key of code 'b': shortcut 'k' is also used "
                                            r"by 'a'$"):
        codebook_from_text("name: x\ncodes:\n  - name: a\n    key: k\n  - name: b\n    key: "
                           "k\n", "cb.yaml")


def test_check_warns_of_a_phrase_written_as_a_regular_expression(cli, tmp_path):
    from conftest import write

    path = write(tmp_path / "cb.yaml", HEAD + "    description: d\n    examples: [e]\n"
                 "    patterns:\n      - trust.*\n      - rely on\n"
                 "    exclude_patterns: ['polic(e|ing)']\n")
    result = cli("codebook", "check", "--file", path)
    assert result.exit_code == 0, result.stderr
    assert ("Warning: trust: pattern 'trust.*' looks like a regular expression, but patterns "
            "are words") in result.stderr
    assert "exclude pattern 'polic(e|ing)' looks like a regular expression" in result.stderr
    assert "'rely on'" not in result.stderr

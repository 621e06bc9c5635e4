"""qcode.yaml: defaults, and a one-line error naming the file, line and setting."""

import pytest

from qcode.config import ProjectConfig, load_config, render_config
from qcode.errors import ProjectError


def write(tmp_path, text):
    path = tmp_path / "qcode.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_rendered_config_loads_back_with_its_values(tmp_path):
    config = ProjectConfig(name='Perm "2024"', language="ru", coder="anna")
    loaded = load_config(write(tmp_path, render_config(config)))
    assert loaded == config
    assert loaded.nlp.fuzzy_threshold == 88 and loaded.import_.max_file_mb == 16


def test_sections_may_be_left_out(tmp_path):
    loaded = load_config(write(tmp_path, "name: x\nnlp:\n  model: en_core_web_sm\n"))
    assert loaded.nlp.model == "en_core_web_sm" and loaded.import_.speaker_pattern is None


@pytest.mark.parametrize(("text", "expected"), [
    ("name: x\nlanguage: English\n", ":2: language: 'English' is not an ISO 639 code"),
    ("name: x\nnlp:\n  fuzzy_threshold: 20\n", ":3: nlp.fuzzy_threshold: must be a whole "
                                                "number from 50 to 100"),
    ("name: x\nimport:\n  max_file_mb: yes\n", ":3: import.max_file_mb: must be a whole"),
    ("name: x\nimport:\n  speaker_pattern: '(a'\n", ":3: import.speaker_pattern: not a valid "
                                                    "regular expression"),
    ("name: x\nimport:\n  speaker_pattern: '^(\\w+):'\n", "needs a named group"),
    ("name: x\nimport:\n  speaker_pattern: '^(?P<speaker>(a+)+):'\n",
     ":3: import.speaker_pattern: refused: a repetition inside a repetition"),
    ("name: x\nimport:\n  speaker_pattern: '^(?P<speaker>(\\w*\\s?)*):'\n", "exponential time"),
    ("name: x\nimport:\n  speaker_pattern: '^(?P<speaker>(?:x|(?=y)(b*)*)):'\n", "refused"),
    ("name: x\ncodebok: a.yaml\n", ":2: codebok: unknown setting; expected one of name,"),
    ("name: x\nnlp:\n  modle: x\n", ":3: nlp.modle: unknown setting"),
    ("name: x\nnlp: [1]\n", ":2: nlp: must be a mapping"),
    ("name: 12\n", ":1: name: must be a non-empty text"),
    ("language: en\n", "name: is required"),
    ("- a\n", "qcode.yaml must be a mapping"),
])
def test_bad_settings_name_the_file_line_and_key(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ProjectError) as err:
        load_config(path)
    message = str(err.value)
    assert message.startswith(str(path)) and expected in message and "\n" not in message


def test_init_refuses_a_bad_language(tmp_path):
    from qcode.project import Project

    with pytest.raises(ProjectError, match="language"):
        Project.init(tmp_path / "p", language="Russian")
    assert not (tmp_path / "p" / "qcode.yaml").exists()


def test_safe_speaker_patterns_pass_and_a_risky_one_really_is_slow():
    import re
    import time

    from qcode.saferegex import nested_repetition

    for safe in (r"^(?P<speaker>[A-Z][a-z]+):", r"^\*\*(?P<speaker>[^*]{1,40})\*\*",
                 r"^(?P<speaker>(?:Dr\. )?\w+(?: \w+)?):", r"(ab){2}(cd)?"):
        assert nested_repetition(safe) is None, safe
    risky = r"^(?P<speaker>(a+)+):"
    assert nested_repetition(risky)
    start = time.perf_counter()
    re.match(risky, "a" * 22 + "!")
    assert time.perf_counter() - start > 0.05  # what the refusal protects from

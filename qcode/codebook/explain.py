"""Codebook validation errors in a researcher's words.

pydantic reports ``codes.0.patterns.list.0.tokens.tokens: Value error, …`` or "Extra inputs
are not permitted"; a researcher needs "unknown field 'colour' in code 'trust' — did you
mean 'color'?". The YAML location is turned into the code's path, the field, and for
patterns their number (and language) and text.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

PATTERN_FIELDS = ("patterns", "exclude_patterns")
PATTERN_KINDS = ("phrase_text", "phrase", "tokens")  # pydantic's tags of the pattern union
PATTERNS_KINDS = ("list", "by_language")  # one list, or one list per language


@dataclass
class Place:
    """Where an error is: a YAML path without pydantic's union tags, and what it names."""

    loc: tuple  # the YAML path (keys and list indexes), for the line
    code: str | None  # the code's path, e.g. 'trust/interpersonal'
    code_loc: tuple  # YAML path of that code's mapping
    pattern: int | None = None  # index in patterns / exclude_patterns
    pattern_field: str | None = None  # patterns or exclude_patterns
    language: str | None = None
    pattern_kind: str | None = None  # phrase_text, phrase, tokens
    bad_language: Any = None  # a key of patterns-by-language that is not text (5: [...])

    def pattern_loc(self) -> tuple:
        loc = (*self.code_loc, self.pattern_field)
        if self.language is not None:
            loc += (self.language,)
        return (*loc, self.pattern)


def place(loc: tuple, data: Any) -> Place:
    """Drop the union tags pydantic puts in *loc*, and name the code it lies in."""
    clean: list = []
    found = Place((), None, ())
    index = 0
    while index < len(loc):
        part = loc[index]
        clean.append(part)
        index += 1
        if part in PATTERN_FIELDS and clean[:-1] == list(found.code_loc or clean[:-1]):
            found.pattern_field = part
            if index < len(loc) and loc[index] in PATTERNS_KINDS:
                by_language = loc[index] == "by_language"
                index += 1
                if by_language and loc[index + 1:index + 2] == ("[key]",):
                    found.bad_language = loc[index]  # the key itself, not a pattern
                    break
                if by_language and index < len(loc) and isinstance(loc[index], str):
                    found.language = loc[index]
                    clean.append(loc[index])
                    index += 1
            if index < len(loc) and isinstance(loc[index], int):
                found.pattern = loc[index]
                clean.append(loc[index])
                index += 1
                if index < len(loc) and loc[index] in PATTERN_KINDS:
                    found.pattern_kind = loc[index]
                    index += 1
        elif part == "codes" and index < len(loc) and isinstance(loc[index], int) \
                and found.pattern_field is None:
            clean.append(loc[index])
            index += 1
            found.code_loc = tuple(clean)
    found.loc = tuple(clean)
    found.code = _code_path(data, found.code_loc) if found.code_loc else None
    return found


def _code_path(data: Any, code_loc: tuple) -> str | None:
    names, node = [], data
    for part in code_loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
        if isinstance(part, int):
            name = node.get("name") if isinstance(node, dict) else None
            if not isinstance(name, str) or not name.strip():
                return None
            names.append(name.strip())
    return "/".join(names)


def _value_at(data: Any, loc: tuple) -> Any:
    node = data
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _short(value: Any, width: int = 60) -> str:
    import yaml

    if isinstance(value, str):
        text = value
    else:
        text = yaml.safe_dump(value, default_flow_style=True, width=10_000,
                              allow_unicode=True, sort_keys=False)
        text = text.strip().removesuffix("...").strip()
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"


def _owner(found: Place, data: Any, line_of) -> str:
    """'code 'trust'', 'pattern 2 of code 'trust' ({tokens: …})', 'the codebook'."""
    if found.code_loc:
        code = (f"code {found.code!r}" if found.code
                else f"the code at line {line_of(found.code_loc)}")
    else:
        code = "the codebook"
    if found.pattern is None:
        return code
    which = "exclude pattern" if found.pattern_field == "exclude_patterns" else "pattern"
    language = f" ({found.language})" if found.language else ""
    text = _short(_value_at(data, found.pattern_loc()))
    return f"{which} {found.pattern + 1}{language} of {code} ({text})"


def _fields(found: Place, data: Any) -> list[str]:
    from qcode.codebook.model import CodebookSpec, CodeSpec, PhrasePattern, TokenPattern

    if found.pattern is not None:
        value = _value_at(data, found.pattern_loc())
        model = TokenPattern if isinstance(value, dict) and "tokens" in value else PhrasePattern
    elif found.code_loc:
        model = CodeSpec
    else:
        model = CodebookSpec
    return list(model.model_fields)


_KINDS = {str: "text", int: "a number", float: "a number", bool: "yes/no", list: "a list",
          dict: "a set of fields", type(None): "empty"}


def _kind(value: Any) -> str:
    return _KINDS.get(type(value), type(value).__name__)


def explain(errors: list[dict], data: Any, line_of) -> tuple[tuple, str]:
    """(YAML path for the line, sentence) for the first of pydantic's *errors*.

    A missing field beside an unknown one ({phrse: …} for {phrase: …}) is told as the
    unknown one, with its "did you mean"."""
    first = errors[0]
    if first["type"] == "missing":
        owner = first["loc"][:-1]
        first = next((e for e in errors if e["type"] == "extra_forbidden"
                      and e["loc"][:-1] == owner), first)
    found = place(tuple(first["loc"]), data)
    return found.loc, _sentence(first, found, data, line_of)


def _sentence(err: dict, found: Place, data: Any, line_of) -> str:
    kind, value = err["type"], err.get("input")
    in_pattern = found.pattern is not None and found.loc[-1] != found.pattern
    field = found.loc[-1] if found.loc and isinstance(found.loc[-1], str) else None
    if kind == "extra_forbidden":
        owner_place = place(tuple(err["loc"][:-1]), data)
        owner = _owner(owner_place, data, line_of)
        fields = _fields(owner_place, data)
        close = difflib.get_close_matches(field, fields, n=1, cutoff=0.6)
        hint = (f" — did you mean {close[0]!r}?" if close
                else f" (the fields here are: {', '.join(fields)})")
        return f"unknown field {field!r} in {owner}{hint}"
    owner = _owner(found, data, line_of)
    if found.bad_language is not None:
        return (f"the language {found.bad_language!r} of the {found.pattern_field} of {owner} "
                "should be a language code such as en or ru")
    if field in PATTERN_FIELDS and kind != "value_error":
        subject = f"{field!r} of {owner}"  # the field itself: not a list, or empty
    elif field in PATTERN_FIELDS or field is None or (found.pattern is not None and (
            not in_pattern or field in ("tokens", "phrase"))):
        subject = owner  # the error is about the code, the codebook or a whole pattern
    elif field == "name" and found.code_loc and found.pattern is None:
        subject = f"the code name {_short(value)!r}"  # the name itself is what is wrong
    else:
        subject = f"{field!r} of {owner}"
    message = err["msg"].removeprefix("Value error, ")
    if kind == "missing":
        if field == "name" and found.code_loc and not found.pattern_field:
            return f"the code at line {line_of(found.code_loc)} has no 'name' (write " \
                   "'- name: …' to start a code)"
        if not found.code_loc and found.pattern is None:
            return f"the codebook has no {field!r} (write '{field}: …' at the top of the file)"
        return f"{owner} has no {field!r}"
    if kind == "string_pattern_mismatch" and field == "color":
        return (f"the color {value!r} of {owner} is not a colour code; write # and six "
                "hexadecimal digits in quotes, e.g. color: \"#1f77b4\"")
    if kind == "string_pattern_mismatch":
        return f"{subject} has the wrong form ({_short(value)!r})"
    if kind == "string_type":
        return f"{subject} should be text, not {_kind(value)}"
    if kind == "list_type":
        return (f"{subject} should be a list (items on lines starting with '- '), not "
                f"{_kind(value)}")
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"{subject} should be a set of 'field: value' lines, not {_kind(value)}"
    if kind in ("int_type", "int_parsing", "float_type", "float_parsing"):
        return f"{subject} should be a number, not {_kind(value)}"
    if kind == "literal_error":
        return f"{subject} is {value!r}; it can be {err.get('ctx', {}).get('expected', '')}"
    if kind in ("too_short", "string_too_short"):
        return f"{subject} is empty"
    if kind in ("too_long", "string_too_long"):
        limit = err.get("ctx", {}).get("max_length")
        return f"{subject} is too long" + (f" (at most {limit})" if limit else "")
    if kind == "pattern":
        return f"{owner} is not a pattern: {message}"
    return f"{subject}: {message}"

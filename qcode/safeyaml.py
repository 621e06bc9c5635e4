"""YAML loading for untrusted files: codebooks, qcode.yaml, Markdown front matter.

On top of PyYAML's SafeLoader we refuse explicit tags (``!!python/…``, ``!foo``) and
aliases (the "billion laughs" alias bomb), cap the size and nesting depth, and keep
the line of every value so validation errors can say where they apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from qcode.errors import InputError, read_utf8

MAX_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 40


@dataclass
class YamlDocument:
    data: Any
    lines: dict[tuple, int] = field(default_factory=dict)  # YAML path -> 1-based line

    def line_of(self, path: tuple) -> int | None:
        """The line of *path*, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())


# libyaml's parser when PyYAML was built with it (as its wheels are): the same events and
# nodes, with marks, some 10x faster (a codebook of 20,000 codes: 14 s -> 1.5 s)
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _screen_events(text: str, source: str, line_offset: int) -> None:
    depth = 0
    try:
        for event in yaml.parse(text, Loader=Loader):
            line = event.start_mark.line + 1 + line_offset
            if isinstance(event, yaml.AliasEvent):
                raise InputError(source, "YAML aliases (*name) are not allowed", line=line)
            tag = getattr(event, "tag", None)
            implicit = getattr(event, "implicit", True)
            explicit_tag = tag is not None and (
                implicit is False or (isinstance(implicit, tuple) and not any(implicit))
            )
            if explicit_tag:
                raise InputError(source, f"YAML tags such as {tag!r} are not allowed", line=line)
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise InputError(source, f"YAML nested deeper than {MAX_DEPTH} levels",
                                     line=line)
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.YAMLError as exc:
        line, message = explain(exc, text)
        raise InputError(source, message,
                         line=line + line_offset if line is not None else None) from None


def _record_lines(node: yaml.Node, path: tuple, lines: dict, line_offset: int,
                  line: int | None = None) -> None:
    lines[path] = line if line is not None else node.start_mark.line + 1 + line_offset
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            _record_lines(value_node, (*path, key), lines, line_offset,
                          key_node.start_mark.line + 1 + line_offset)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_lines(item, (*path, index), lines, line_offset)


def loads(text: str, source: str = "<yaml>", *, line_offset: int = 0,
          max_bytes: int = MAX_BYTES) -> YamlDocument:
    """Parse one YAML document safely. Errors are InputError naming *source* and the line."""
    if len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise InputError(source, f"YAML file larger than {max_bytes // 1024} KiB")
    _screen_events(text, source, line_offset)
    loader = Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlDocument(None, {})
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        line, message = explain(exc, text)
        raise InputError(source, message,
                         line=line + line_offset if line is not None else None) from None
    finally:
        loader.dispose()
    lines: dict[tuple, int] = {}
    _record_lines(node, (), lines, line_offset)
    return YamlDocument(data, lines)


def load_file(path: str | Path, *, max_bytes: int = MAX_BYTES) -> YamlDocument:
    path = Path(path)
    try:
        too_big = path.stat().st_size > max_bytes
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror}") from None
    if too_big:  # checked before reading: a huge file is never loaded
        raise InputError(path, f"YAML file larger than {max_bytes // 1024} KiB")
    return loads(read_utf8(path, "YAML"), str(path), max_bytes=max_bytes)


# --- parser errors in a researcher's words ------------------------------------------------
# PyYAML and libyaml word the same mistakes differently ("expected <block end>, but found
# '?'" / "did not find expected '-' indicator"); both are read from the marks they carry.

_QUOTES = {'"': 'write \\" for a " inside "…", or put the text in single quotes',
           "'": "write '' (two single quotes) for a ' inside '…', or put the text in double "
                "quotes"}


def explain(exc: yaml.YAMLError, text: str) -> tuple[int | None, str]:
    """(1-based line, plain sentence) for a YAML parse error in *text*."""
    lines = text.splitlines()
    mark = getattr(exc, "problem_mark", None)
    context_mark = getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    context_line = context_mark.line + 1 if context_mark is not None else None
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None) or ""

    def source_line(number: int | None) -> str:
        return lines[number - 1] if number and 0 < number <= len(lines) else ""

    if "tab" in problem or "'\\t'" in problem:
        return line, ("a tab is used to indent this line; YAML indents with spaces only "
                      "(replace the tab with spaces)")
    if "quoted scalar" in context and "escape" in problem:
        return line, ("a backslash inside \"…\" starts an escape such as \\n; write \\\\ for a "
                      "backslash, or put the text in single quotes")
    if "quoted scalar" in context:  # the quote never closes: point at where it opened
        quote = source_line(context_line)[context_mark.column:context_mark.column + 1] or '"'
        return context_line, (f"the text in quotes that starts on this line has no closing "
                              f"{quote}; close it on the same line ({_QUOTES.get(quote, '')})")
    if line is not None:  # a quote that closed too early, on this line or one above
        for number in range(context_line or 1, line + 1):
            trouble = _quote_trouble(source_line(number))
            if trouble and (trouble[0] == "early" or _reopened(lines[number:line], trouble[1])):
                return number, trouble[2]
    here = source_line(line).strip()
    if "mapping values" in problem:
        key, _, value = here.partition(": ")
        quoted = f'{key}: "{value}"' if key and value and '"' not in value else None
        return line, ("this value contains ': ', which YAML reads as a new field; put the "
                      "whole value in quotes" + (f": {quoted}" if quoted else ""))
    if "simple key" in context or "expected ':'" in problem:
        name = source_line(context_line).strip()
        return context_line, (f"{shorten_text(name)!r} is not followed by ':'; a field is "
                              "written 'name: value' (or put text that goes on from the line "
                              "above in quotes)")
    if "flow" in context:
        opened = _unclosed_bracket(lines[:line or len(lines)])
        number, bracket = opened or (context_line, "[" if "mapping" not in context else "{")
        closing = "]" if bracket == "[" else "}"
        return number, (f"the '{bracket}' opened on this line is not closed with "
                        f"'{closing}' (or two items lack a ',' between them)")
    if "block collection" in context and line is not None and not here.startswith("-"):
        return line, (f"{shorten_text(here)!r} stands at the level of the list that starts "
                      f"on line {context_line}, but a new item (a code) starts with '- '; "
                      "a field of the code above is indented like its 'name:'")
    if "block" in context and line is not None:
        indent = len(source_line(line)) - len(source_line(line).lstrip(" "))
        if here.startswith("-"):
            return line, ("a '- ' item stands among the fields of the code above it; "
                          "sub-codes go under 'codes:', or move the item left to start a new "
                          "code")
        return line, (f"this line is indented by {indent} space(s), which does not line up "
                      "with the lines above it: the fields of one code start in the same "
                      "column as its 'name:'")
    return line, f"the YAML cannot be read here ({problem})"


def _unclosed_bracket(lines: list[str]) -> tuple[int, str] | None:
    """(1-based line, bracket) of the last '[' or '{' left open in *lines*, outside quotes
    and comments."""
    stack: list[tuple[int, str]] = []
    for number, line in enumerate(lines, 1):
        quote = None
        for char in line:
            if quote:
                quote = None if char == quote else quote
            elif char in "\"'" and stack:
                quote = char
            elif char == "#":
                break
            elif char in "[{":
                stack.append((number, char))
            elif char in "]}" and stack:
                stack.pop()
    return stack[-1] if stack else None


def shorten_text(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def _quote_trouble(line: str) -> tuple[str, str, str] | None:
    """What is wrong with a quoted value on *line* (`key: "…"` or `- '…'`), if anything:
    ("open", quote, sentence) for a quote that does not close on the line, ("early", …)
    for one that closes before the text ends."""
    body = line.strip()
    if body.startswith("- "):
        body = body[2:].lstrip()
    if body[:1] not in _QUOTES:
        key, colon, body = body.partition(": ")
        if not colon or not key or key[0] in "\"'#[{":
            return None
        body = body.lstrip()
    quote = body[:1]
    if quote not in _QUOTES:
        return None
    index = 1
    while index < len(body):
        char = body[index]
        if quote == '"' and char == "\\":
            index += 2
            continue
        if char == quote:
            if quote == "'" and body[index + 1:index + 2] == "'":
                index += 2
                continue
            rest = body[index + 1:].strip()
            if rest and not rest.startswith("#") and rest[0] not in ",]}:":
                return "early", quote, (f"the text in quotes ends early, at the {quote} "
                                        f"before {shorten_text(rest, 20)!r}; {_QUOTES[quote]}")
            return None
        index += 1
    return "open", quote, (f"the text in quotes that starts on this line has no closing "
                           f"{quote}; close it on the same line ({_QUOTES[quote]})")


def _reopened(below: list[str], quote: str) -> bool:
    """Whether the quote left open above is 'closed' by one that opens a value below
    (`description: "…`): then it was never closed. A quote closing inside running text
    ends a legitimate quoted text over several lines."""
    for line in below:
        index = line.find(quote)
        if index >= 0:
            before = line[:index].rstrip()
            return not before.strip() or before.endswith((":", "-"))
    return True

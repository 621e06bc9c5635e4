"""Codebook YAML -> validated model. The format is documented in codebooks/README.md.

Validation errors name the file, the line and the YAML path of the offending value.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, Tag,
                      ValidationError, field_validator, model_validator)

from qcode.errors import CodebookError
from qcode.safeyaml import YamlDocument, load_file, loads

# Stable GUIDs for codes that have none in the YAML: the same path in the same place
# gets the same GUID in every project, so separately synced copies can be merged.
GUID_NAMESPACE = uuid.UUID("6f1c1f5e-3b7e-4c59-9a43-2f0d5d0b7a11")
# control characters, and the invisible ones that reorder text (U+202E and its kin)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e"
                      r"\u2066-\u2069]")
_GUID = re.compile(r"^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                   r"[0-9a-fA-F]{12})\}?$")


def _as_list(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    return value


TextList = Annotated[list[str], BeforeValidator(_as_list)]


class PhrasePattern(BaseModel):
    """A phrase matched on lemmas (default) or on lowercase words."""

    model_config = ConfigDict(extra="forbid")
    phrase: str = Field(min_length=1, max_length=200)
    attr: Literal["LEMMA", "LOWER"] = "LEMMA"
    id: str | None = None


class TokenPattern(BaseModel):
    """A spaCy Matcher token pattern, e.g. ``[{LEMMA: rely}, {LOWER: on}]``."""

    model_config = ConfigDict(extra="forbid")
    tokens: list[dict[str, Any]] = Field(min_length=1, max_length=12)
    id: str | None = None

    @field_validator("tokens")
    @classmethod
    def _check_tokens(cls, tokens: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for token in tokens:
            for key, value in token.items():
                if key.upper() != key:
                    raise ValueError(f"token attribute {key!r} must be written in "
                                     f"capitals: {key.upper()!r}")
                if isinstance(value, dict) and "REGEX" in value:
                    raise ValueError("regular expressions (REGEX) are not allowed in "
                                     "patterns, as one can make matching take hours; write "
                                     "the words: a phrase, LEMMA or LOWER, or an IN list "
                                     "of words")
                if key in _TEXT_ATTRS:
                    _check_text_value(key, value)
        return tokens


_TEXT_ATTRS = {"ORTH", "TEXT", "LOWER", "LEMMA", "NORM", "POS", "TAG", "DEP", "ENT_TYPE",
               "SHAPE", "MORPH"}


def _check_text_value(key: str, value: Any) -> None:
    values = value.get("IN", value.get("NOT_IN", [])) if isinstance(value, dict) else [value]
    for item in values if isinstance(values, list) else [values]:
        if isinstance(item, bool):
            raise ValueError(f"{key}: YAML read an unquoted yes/no/on/off/true/false as "
                             f"{str(item).lower()}; put the word in quotes")
        if not isinstance(item, str):
            raise ValueError(f"{key}: expected words, got {item!r}")


def _pattern_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "phrase_text"
    if isinstance(value, dict):
        return "tokens" if "tokens" in value else "phrase"
    if isinstance(value, (PhrasePattern, TokenPattern)):
        return "tokens" if isinstance(value, TokenPattern) else "phrase"
    return None


Pattern = Annotated[
    Annotated[str, Tag("phrase_text"), Field(min_length=1, max_length=200)]
    | Annotated[PhrasePattern, Tag("phrase")]
    | Annotated[TokenPattern, Tag("tokens")],
    Discriminator(_pattern_kind, custom_error_type="pattern",
                  custom_error_message="a pattern is a phrase, {phrase: …} or {tokens: […]}"),
]


def _patterns_kind(value: Any) -> str:
    return "by_language" if isinstance(value, dict) else "list"


# One list for every language, or a list per language: {en: [...], ru: [...]}
Patterns = Annotated[
    Annotated[list[Pattern], Tag("list")]
    | Annotated[dict[str, list[Pattern]], Tag("by_language")],
    Discriminator(_patterns_kind),
]
_LANGUAGE = re.compile(r"[a-z]{2,3}")


class CodeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    guid: str | None = None
    description: str = ""
    include: TextList = []
    exclude: TextList = []
    examples: TextList = []
    color: str | None = Field(None, pattern=r"^#[0-9A-Fa-f]{6}$")
    key: str | None = None
    patterns: Patterns = []
    exclude_patterns: Patterns = []
    negated: str | None = None
    renamed_from: TextList = []
    merged_into: str | None = None
    codes: list[CodeSpec] = []

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("a code needs a name")
        if len(value) > 80:
            raise ValueError("a code name has at most 80 characters")
        if "/" in value or "\\" in value:
            raise ValueError("a code name cannot contain '/' or '\\' (they separate levels)")
        if _CONTROL.search(value):
            raise ValueError("a code name cannot contain control characters (such as a "
                             "line break, NUL or the invisible right-to-left override)")
        if value in (".", ".."):
            raise ValueError("'.' and '..' are not code names")
        return value

    @field_validator("guid")
    @classmethod
    def _guid(cls, value: str | None) -> str | None:
        if value is None:
            return None
        match = _GUID.match(value.strip())
        if not match:
            raise ValueError("not a GUID (expected 8-4-4-4-12 hex digits)")
        return match.group(1).lower()

    @field_validator("key")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = str(value)
        if len(value) != 1 or not value.isprintable() or value.isspace():
            raise ValueError("a shortcut key is one printable character")
        return value

    @field_validator("patterns", "exclude_patterns")
    @classmethod
    def _languages(cls, value):
        for language in value if isinstance(value, dict) else ():
            if not _LANGUAGE.fullmatch(language):
                raise ValueError(f"patterns by language are listed under language codes "
                                 f"such as en or ru; {language!r} is not one")
        return value

    @field_validator("description")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @model_validator(mode="after")
    def _merge_has_no_children(self) -> CodeSpec:
        if self.merged_into and self.codes:
            raise ValueError("a code merged into another cannot have sub-codes")
        return self


class CodebookSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    version: str | int | None = None
    description: str = ""
    language: str | None = None
    codes: list[CodeSpec] = []


@dataclass
class FlatCode:
    path: str
    parent: str | None
    spec: CodeSpec
    loc: tuple  # YAML path, for error messages
    position: int

    @property
    def old_paths(self) -> list[str]:
        """``renamed_from`` as full paths: a bare name is a former sibling's name."""
        return [old if "/" in old or not self.parent else f"{self.parent}/{old}"
                for old in self.spec.renamed_from]

    @property
    def default_guid(self) -> str:
        return self.spec.guid or str(uuid.uuid5(GUID_NAMESPACE, self.path))


@dataclass
class Codebook:
    spec: CodebookSpec
    codes: list[FlatCode]
    source: str
    text: str

    def by_path(self) -> dict[str, FlatCode]:
        return {c.path: c for c in self.codes}

    @property
    def active(self) -> list[FlatCode]:
        return [c for c in self.codes if not c.spec.merged_into]


def flatten(spec: CodebookSpec) -> list[FlatCode]:
    out: list[FlatCode] = []

    def walk(codes: list[CodeSpec], parent: str | None, loc: tuple) -> None:
        for index, code in enumerate(codes):
            path = f"{parent}/{code.name}" if parent else code.name
            here = (*loc, "codes", index)
            out.append(FlatCode(path, parent, code, here, len(out)))
            walk(code.codes, path, here)

    walk(spec.codes, None, ())
    return out


def _cross_check(codes: list[FlatCode], source: str, doc: YamlDocument) -> None:
    def fail(code: FlatCode, field: str, message: str):
        loc = (*code.loc, field)
        what = f"code {code.path!r}" if field == "name" else f"{field} of code {code.path!r}"
        raise CodebookError(source, f"{what}: {message}", line=doc.line_of(loc))

    paths, keys, guids, folded = {}, {}, {}, {}
    for code in codes:
        if code.path in paths:
            fail(code, "name", f"duplicate code {code.path!r} (also at line "
                 f"{doc.line_of(paths[code.path].loc)})")
        twin = None if code.spec.merged_into else folded.get(code.path.casefold())
        if twin is not None:  # NVivo, ATLAS.ti and REFI-QDA take them for one code
            fail(code, "name", f"code {code.path!r} differs from {twin.path!r} (line "
                 f"{doc.line_of(twin.loc)}) only in upper and lower case; sibling codes "
                 "need names that differ in more than case")
        paths[code.path] = code
        if not code.spec.merged_into:
            folded[code.path.casefold()] = code
        if code.spec.key and not code.spec.merged_into:
            if code.spec.key in keys:
                fail(code, "key", f"shortcut {code.spec.key!r} is also used by "
                     f"{keys[code.spec.key].path!r}")
            keys[code.spec.key] = code
        if code.spec.guid:
            if code.spec.guid in guids:
                fail(code, "guid", f"GUID also used by {guids[code.spec.guid].path!r}")
            guids[code.spec.guid] = code
    for code in codes:
        for field in ("negated", "merged_into"):
            target = getattr(code.spec, field)
            if target is None:
                continue
            if target not in paths:
                fail(code, field, f"unknown code {target!r}{_closest(target, paths)}")
            if target == code.path:
                fail(code, field, "a code cannot point to itself")
            if paths[target].spec.merged_into:
                fail(code, field, f"{target!r} is itself merged into another code")
        for old in code.old_paths:
            if old in paths and old != code.path:
                fail(code, "renamed_from", f"{old!r} is still a code in this codebook")


def _closest(name: str, paths) -> str:
    from rapidfuzz import process

    found = process.extractOne(name, list(paths), score_cutoff=60)
    return f"; did you mean {found[0]!r}?" if found else ""


def _dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_codebook(doc: YamlDocument, source: str, text: str) -> Codebook:
    if not isinstance(doc.data, dict):
        raise CodebookError(source, "a codebook is a mapping with 'name' and 'codes'", line=1)
    try:
        spec = CodebookSpec.model_validate(doc.data)
    except ValidationError as exc:
        from qcode.codebook.explain import explain

        loc, message = explain(exc.errors(), doc.data, doc.line_of)
        raise CodebookError(source, message, line=doc.line_of(loc)) from None
    codes = flatten(spec)
    _cross_check(codes, source, doc)
    return Codebook(spec, codes, source, text)


# pydantic names the union member it tried inside error locations; drop those
_UNION_TAGS = {"phrase_text", "phrase", "tokens", "list", "by_language"}


def load_codebook(path: str | Path) -> Codebook:
    path = Path(path)
    doc = load_file(path)
    return parse_codebook(doc, str(path), path.read_text(encoding="utf-8-sig"))


def codebook_from_text(text: str, source: str = "<codebook>") -> Codebook:
    return parse_codebook(loads(text, source), source, text)

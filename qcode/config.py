"""qcode.yaml: the per-project settings.

Checked by hand rather than with pydantic: every command reads this file, and importing
pydantic and building the models cost ~0.1 s of each command's start (the codebook,
read by fewer commands, keeps its pydantic models)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qcode.errors import ProjectError
from qcode.safeyaml import load_file

CONFIG_NAME = "qcode.yaml"


class SettingError(ValueError):
    """A setting that is not valid; *where* is its key path in qcode.yaml."""

    def __init__(self, where: tuple, message: str) -> None:
        super().__init__(f"{'.'.join(map(str, where))}: {message}")
        self.where, self.message = where, message


@dataclass
class NlpSettings:
    model: str | None = None  # an installed spaCy package or a model folder
    fuzzy_threshold: int = 88


@dataclass
class SuggestSettings:
    interviewer_turns: bool = False  # suggest codes in interviewer turns too
    interviewer_speakers: list[str] = field(default_factory=list)  # more interviewer names
    retrain_every: int = 10  # review decisions between model updates; 0: never

    @property
    def interviewer_names(self) -> frozenset[str]:
        return frozenset(name.strip().lower() for name in self.interviewer_speakers)


@dataclass
class ImportSettings:
    speaker_pattern: str | None = None  # regex, named group 'speaker', at line starts
    max_file_mb: int = 16


@dataclass
class EncryptionSettings:
    enabled: bool = False  # the database is a SQLCipher file (qcode init --encrypt)
    key_file: str | None = None  # where its key is kept; null: asked for at a prompt


@dataclass
class ProjectConfig:
    name: str
    language: str = "en"
    codebook: str = "codebook.yaml"
    coder: str | None = None
    nlp: NlpSettings = field(default_factory=NlpSettings)
    suggest: SuggestSettings = field(default_factory=SuggestSettings)
    import_: ImportSettings = field(default_factory=ImportSettings)
    encryption: EncryptionSettings = field(default_factory=EncryptionSettings)
    # a shared project on a PostgreSQL server: postgresql://HOST/DB, never with credentials
    database: str | None = None

    def __post_init__(self) -> None:
        parse_config({"name": self.name, "language": self.language,
                      "codebook": self.codebook, "coder": self.coder,
                      "database": self.database})


Check = Callable[[Any, tuple], Any]


def _text(*, optional: bool = False, pattern: str | None = None, hint: str = "") -> Check:
    def check(value: Any, where: tuple) -> Any:
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value:
            raise SettingError(where, "must be a non-empty text" + (" or null" if optional
                                                                     else ""))
        if pattern and not re.fullmatch(pattern, value):
            raise SettingError(where, f"{value!r} is not {hint}")
        return value
    return check


def _integer(low: int, high: int) -> Check:
    def check(value: Any, where: tuple) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise SettingError(where, f"must be a whole number from {low} to {high}")
        return value
    return check


def _boolean(value: Any, where: tuple) -> bool:
    if not isinstance(value, bool):
        raise SettingError(where, "must be true or false")
    return value


def _names(value: Any, where: tuple) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise SettingError(where, "must be a list of speaker names, e.g. [Anna, Moderator]")
    return value


def _speaker_pattern(value: Any, where: tuple) -> str | None:
    value = _text(optional=True)(value, where)
    if value is None:
        return None
    try:
        compiled = re.compile(value)
    except re.error as exc:
        raise SettingError(where, f"not a valid regular expression: {exc}") from None
    if "speaker" not in compiled.groupindex:
        raise SettingError(where, "needs a named group (?P<speaker>...)")
    from qcode.saferegex import nested_repetition

    risky = nested_repetition(value)
    if risky:
        raise SettingError(where, f"refused: {risky} can take exponential time on some "
                           "lines; use a single repetition such as (?P<speaker>[A-Z][a-z]+)")
    return value


def _database(value: Any, where: tuple) -> str | None:
    value = _text(optional=True)(value, where)
    if value is None:
        return None
    from qcode.errors import QcodeError
    from qcode.store.postgres import check_url

    try:
        return check_url(value)
    except QcodeError as exc:
        raise SettingError(where, str(exc)) from None


def _section(fields: dict[str, Check], build: Callable[..., Any]) -> Check:
    def check(value: Any, where: tuple) -> Any:
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise SettingError(where, "must be a mapping of settings")
        for key in value:
            if key not in fields:
                raise SettingError((*where, key), "unknown setting; expected one of "
                                   + ", ".join(fields))
        return build(**{k: fields[k](value[k], (*where, k))
                        for k in fields if k in value})
    return check


_NLP = _section({"model": _text(optional=True), "fuzzy_threshold": _integer(50, 100)},
                NlpSettings)
_SUGGEST = _section({"interviewer_turns": _boolean, "interviewer_speakers": _names,
                     "retrain_every": _integer(0, 10000)}, SuggestSettings)
_IMPORT = _section({"speaker_pattern": _speaker_pattern, "max_file_mb": _integer(1, 1024)},
                   ImportSettings)
_ENCRYPTION = _section({"enabled": _boolean, "key_file": _text(optional=True)},
                       EncryptionSettings)
_FIELDS: dict[str, Check] = {
    "name": _text(), "language": _text(pattern=r"[a-z]{2,3}", hint="an ISO 639 code like en"),
    "codebook": _text(), "coder": _text(optional=True), "nlp": _NLP, "suggest": _SUGGEST,
    "import": _IMPORT,
    "encryption": _ENCRYPTION, "database": _database}


def parse_config(data: Any) -> dict[str, Any]:
    """The checked settings of *data* (the YAML mapping) as keyword arguments of
    ProjectConfig; raises SettingError."""
    if not isinstance(data, dict):
        raise SettingError((), "qcode.yaml must be a mapping of settings")
    if "name" not in data:
        raise SettingError(("name",), "is required")
    for key in data:
        if key not in _FIELDS:
            raise SettingError((key,), "unknown setting; expected one of " + ", ".join(_FIELDS))
    return {("import_" if k == "import" else k): check(data[k], (k,))
            for k, check in _FIELDS.items() if k in data}


def load_config(path: Path) -> ProjectConfig:
    doc = load_file(path)
    try:
        return ProjectConfig(**parse_config(doc.data or {}))
    except SettingError as exc:
        line = doc.line_of(exc.where) if exc.where else None
        raise ProjectError(f"{path}:{line}: {exc}" if line else f"{path}: {exc}") from None


def render_config(config: ProjectConfig) -> str:
    """qcode.yaml text with comments, so a researcher can edit it by hand."""
    coder = config.coder or ""
    model = config.nlp.model or ""
    return f"""\
# qcode project settings. Documented in README.md ("Project settings").
name: {_quote(config.name)}
# default language of transcripts (ISO 639-1); a document's `language` attribute wins
language: {config.language}
# the YAML codebook, relative to this folder; keep it under version control
codebook: {_quote(config.codebook)}
# default coder name for codings made in this project (else $QCODE_CODER, else your OS user)
coder: {_quote(coder) if coder else 'null'}
nlp:
  # an installed spaCy package (e.g. en_core_web_sm) or a model folder; null = blank pipeline
  model: {_quote(model) if model else 'null'}
  # 0-100: how close a word must be to a codebook keyword to count as a fuzzy match
  fuzzy_threshold: {config.nlp.fuzzy_threshold}
suggest:
  # suggest codes in interviewer turns too (Interviewer, Moderator, Q, I, ... and the names below)
  interviewer_turns: {str(config.suggest.interviewer_turns).lower()}
  # more speaker names that are the interviewer, e.g. [Anna]
  interviewer_speakers: [{", ".join(_quote(n) for n in config.suggest.interviewer_speakers)}]
  # while you review, the model learns from every this many decisions (0: only `qcode train`)
  retrain_every: {config.suggest.retrain_every}
import:
  # a regex with (?P<speaker>...) matched at line starts; null = built-in conventions
  speaker_pattern: null
  # larger transcript files are refused
  max_file_mb: {config.import_.max_file_mb}
""" + (render_encryption(config.encryption) if config.encryption.enabled else "") + (
        render_database(config.database) if config.database else "")


def render_database(url: str) -> str:
    return f"""\
# the project's database is on this PostgreSQL server, shared by the team; the user,
# password and TLS settings come from $PGUSER/$PGPASSWORD, ~/.pgpass or a service file
database: {_quote(url)}
"""


def with_database(text: str, url: str | None) -> str:
    """qcode.yaml's *text* with its `database:` set to *url* (None: taken out, so the
    project's database is qcode.db again), every other line as it was written. Raises
    ProjectError if the result would read differently in any other setting."""
    from qcode.errors import QcodeError
    from qcode.safeyaml import loads

    doc = loads(text, CONFIG_NAME)
    lines = text.splitlines(keepends=True)
    if isinstance(doc.data, dict) and "database" in doc.data:
        first = doc.lines[("database",)] - 1
        last = first + 1
        while last < len(lines) and lines[last][:1] in (" ", "\t"):  # a continued value
            last += 1
        comments = [line for line in render_database("").splitlines(keepends=True)
                    if line.startswith("#")]
        if lines[first - len(comments):first] == comments:
            first -= len(comments)
        lines[first:last] = []
    out = "".join(lines)
    if url is not None:
        out = out.rstrip("\n") + "\n" + render_database(url)
    before = parse_config(doc.data)
    before["database"] = url
    try:
        after = parse_config(loads(out, CONFIG_NAME).data)
    except (SettingError, QcodeError):
        after = {}
    if after.setdefault("database", None) != url or after != before:
        raise ProjectError(f"{CONFIG_NAME}: its `database:` setting could not be rewritten "
                           "without changing others")
    return out


def render_encryption(encryption: EncryptionSettings) -> str:
    key_file = _quote(encryption.key_file) if encryption.key_file else "null"
    return f"""\
encryption:
  # the database, its journal and its backups are encrypted (SQLCipher); exports are not
  enabled: true
  # the file holding the key (keep it outside this folder); null = ask for the passphrase
  key_file: {key_file}
"""


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

"""qcode.yaml: the per-project settings, validated with pydantic."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from qcode.errors import ProjectError
from qcode.safeyaml import load_file

CONFIG_NAME = "qcode.yaml"


class NlpSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str | None = Field(None, description="an installed spaCy package or a model folder")
    fuzzy_threshold: int = Field(88, ge=50, le=100)


class ImportSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    speaker_pattern: str | None = Field(
        None, description="regex with a named group 'speaker' matched at the start of a line")
    max_file_mb: int = Field(16, ge=1, le=1024)

    @field_validator("speaker_pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            compiled = re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        if "speaker" not in compiled.groupindex:
            raise ValueError("needs a named group (?P<speaker>...)")
        return value


class ProjectConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    language: str = Field("en", pattern=r"^[a-z]{2,3}$")
    codebook: str = "codebook.yaml"
    coder: str | None = None
    nlp: NlpSettings = NlpSettings()
    import_: ImportSettings = Field(ImportSettings(), alias="import")


def load_config(path: Path) -> ProjectConfig:
    doc = load_file(path)
    try:
        return ProjectConfig.model_validate(doc.data or {})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        line = doc.line_of(err["loc"])
        raise ProjectError(f"{path}:{line}: {where}: {err['msg']}" if line else
                           f"{path}: {where}: {err['msg']}") from None


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
import:
  # a regex with (?P<speaker>...) matched at line starts; null = built-in conventions
  speaker_pattern: null
  # larger transcript files are refused
  max_file_mb: {config.import_.max_file_mb}
"""


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

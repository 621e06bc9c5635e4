"""Where the shipped codebooks and sample corpus are: inside the wheel, or the checkout."""

from __future__ import annotations

from pathlib import Path

from qcode.errors import QcodeError

_PACKAGE = Path(__file__).resolve().parent


def shipped(name: str) -> Path:
    """``shipped("codebooks")`` or ``shipped("corpora")``."""
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise QcodeError(f"the shipped {name!r} folder is missing from this installation")


def codebook_template(name: str) -> Path:
    """The shipped codebook called *name* (its file name, with or without ``.yaml``)."""
    stem = name.removesuffix(".yaml")
    names = template_names()
    if stem not in names:
        listed = ", ".join(names) or "none"
        raise QcodeError(f"no codebook template {name!r}; the templates are: {listed} "
                         "(`qcode codebook templates` describes them)")
    return shipped("codebooks") / f"{stem}.yaml"


def template_names() -> list[str]:
    """The names of the shipped codebooks, for ``qcode init --codebook-template``."""
    return sorted(p.stem for p in shipped("codebooks").glob("*.yaml") if p.is_file())


def codebook_templates() -> list[dict]:
    """Each shipped codebook: its template name, title, number of codes and description."""
    from qcode.codebook.model import load_codebook

    rows = []
    for name in template_names():
        codebook = load_codebook(codebook_template(name))
        rows.append({"template": name, "name": codebook.spec.name,
                     "codes": len(codebook.active),
                     "description": " ".join(codebook.spec.description.split())})
    return rows


def codebook_format() -> str:
    """The codebook format reference (codebooks/README.md)."""
    return (shipped("codebooks") / "README.md").read_text(encoding="utf-8")

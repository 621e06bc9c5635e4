"""qcode export codebook, qcode import codebook: codebooks to and from other programs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qcode.cli.common import project_of
from qcode.cli.export import ForceOpt, OutputOpt, export_app
from qcode.cli.ingest import import_app
from qcode.cli.output import message, warn


def export_codebook(ctx: typer.Context, output: OutputOpt = None,
                    fmt: Annotated[str | None, typer.Option(
                        "--format", "-f", help="qdc (REFI-QDA: NVivo, ATLAS.ti, MAXQDA, "
                        "QualCoder, Taguette), yaml, csv or md (default: from the file name, "
                        "else qdc).")] = None,
                    force: ForceOpt = False) -> None:
    """Write the project's codes (as synced, with their GUIDs, colours, definitions,
    include/exclude rules and examples) for another program or for reading."""
    from qcode.interop.codebook import export_codebook as run_export

    project = project_of(ctx)
    if fmt is None and output is None:
        fmt = "qdc"
    path = run_export(project.db, output or project.exports_dir / f"codebook.{fmt}", fmt=fmt,
                      name=_codebook_name(project), force=force)
    message(f"Wrote {path}")


def _codebook_name(project) -> str:
    from qcode.codebook.model import load_codebook
    from qcode.errors import QcodeError

    try:
        return load_codebook(project.codebook_path).spec.name
    except (QcodeError, OSError):
        return project.config.name


def import_codebook(ctx: typer.Context,
                    file: Annotated[Path, typer.Argument(help="A .qdc (REFI-QDA) or .csv "
                                                         "codebook.")],
                    output: Annotated[Path | None, typer.Option(
                        "--output", "-o", help="YAML codebook to write (default: the "
                        "project's).")] = None,
                    merge: Annotated[bool, typer.Option(
                        "--merge", help="Add to a codebook that already has codes (its codes "
                        "are kept; the old file is saved as .bak).")] = False) -> None:
    """Bring a codebook from another program into the YAML codebook, keeping GUIDs,
    descriptions and colours. Then check and apply it with `qcode codebook sync`."""
    from qcode.interop.codebook import import_codebook as run_import

    target = output or project_of(ctx).codebook_path
    result = run_import(file, target, merge=merge)
    for note in result.warnings:
        warn(note)
    message(f"{len(result.added)} code(s) from {result.source.name} ({result.origin}) added to "
            f"{result.target}" + (f", {len(result.completed)} completed" if result.completed
                                  else ""))
    if result.backup:
        message(f"The previous codebook is in {result.backup} (comments are not carried over)")
    message("Next: qcode codebook check && qcode codebook sync --dry-run")


def register(app: typer.Typer) -> None:
    export_app.command("codebook", epilog="Example: qcode export codebook -o "
                       "exports/codebook.qdc")(export_codebook)
    import_app.command("codebook", epilog="Example: qcode import codebook nvivo-codebook.qdc "
                       "--merge")(import_codebook)

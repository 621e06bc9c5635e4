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


def export_project(ctx: typer.Context,
                   output: Annotated[Path | None, typer.Argument(
                       help="The .qdpx to write (default: exports/<project>.qdpx).")] = None,
                   force: ForceOpt = False) -> None:
    """Write the whole project as a REFI-QDA project (.qdpx) for NVivo, ATLAS.ti, MAXQDA,
    QualCoder and others: coders, codebook, transcripts, codings, attributes, memos."""
    from qcode.interop.qdpx import export_project as run_export

    project = project_of(ctx)
    path = output or project.exports_dir / f"{project.root.name}.qdpx"
    result = run_export(project.db, path, name=project.config.name, force=force)
    for note in result.warnings:
        warn(note)
    message(f"Wrote {result.path}: {result.documents} transcript(s), {result.codes} code(s), "
            f"{result.codings} coding(s), {result.memos} memo(s) (contains the transcripts; "
            "not encrypted)")


def import_project(ctx: typer.Context,
                   file: Annotated[Path, typer.Argument(help="A REFI-QDA project (.qdpx).")],
                   coder: Annotated[str | None, typer.Option(
                       help="Coder for codings whose creator the file does not name.")] = None
                   ) -> None:
    """Import a REFI-QDA project from NVivo, ATLAS.ti, MAXQDA, QualCoder, Taguette or qcode:
    transcripts, codes (merged into the YAML codebook), codings with their coders,
    attributes and memos, in one transaction. Offsets are converted and checked."""
    from qcode.interop.qdpx_import import import_project as run_import

    project = project_of(ctx)
    _report(run_import(project.db, file, codebook_path=project.codebook_path,
                       coder=project.coder_name(coder),
                       speaker_pattern=project.config.import_.speaker_pattern,
                       default_language=project.config.language))


def _report(result) -> None:
    for note in result.warnings:
        warn(note)
    for source in result.sources:
        message(f"  {source.name}: {source.status}, {source.codings} coding(s), "
                f"{source.on_boundaries:.0%} on word boundaries ({source.convention})")
    message(f"Imported {result.path.name} ({result.origin}): {len(result.sources)} source(s), "
            f"{len(result.codes_added)} new code(s), {result.codings} coding(s) by "
            f"{len(result.coders) or 1} coder(s), {result.memos} memo(s); "
            f"{result.share:.0%} of codings start and end on word boundaries")


def _import_parsed(ctx, read, file: Path, coder: str | None) -> None:
    from qcode.interop.qdpx_import import import_parsed

    project = project_of(ctx)
    _report(import_parsed(project.db, read(), file, codebook_path=project.codebook_path,
                          coder=project.coder_name(coder),
                          speaker_pattern=project.config.import_.speaker_pattern,
                          default_language=project.config.language))


CoderOption = Annotated[str | None, typer.Option(
    help="Coder for codings whose creator the file does not name.")]


def import_taguette(ctx: typer.Context,
                    file: Annotated[Path, typer.Argument(help="A Taguette project database "
                                                         "(.sqlite3).")],
                    taguette_project: Annotated[str | None, typer.Option(
                        help="Which project, by id or name, when the file holds several."
                    )] = None,
                    coder: CoderOption = None) -> None:
    """Import a Taguette project: documents (HTML to text, its byte offsets converted),
    tags (dotted paths become a tree, with descriptions) and highlights as codings."""
    from qcode.interop.taguette import read_taguette

    _import_parsed(ctx, lambda: read_taguette(file, taguette_project), file, coder)


def import_qualcoder(ctx: typer.Context,
                     folder: Annotated[Path, typer.Argument(
                         help="A QualCoder project folder (NAME.qda, holding data.qda).")],
                     coder: CoderOption = None) -> None:
    """Import a QualCoder project: text sources, the code tree (categories as parents,
    memos as descriptions, colours), text codings with their owners as coders, file and
    case attributes, and memos (sources, codings, annotations, journals)."""
    from qcode.interop.qualcoder import read_qualcoder

    _import_parsed(ctx, lambda: read_qualcoder(folder), folder, coder)


def register(app: typer.Typer) -> None:
    import_app.command("qualcoder", epilog="Example: qcode import qualcoder "
                       "~/QualCoder/study.qda")(import_qualcoder)
    import_app.command("taguette", epilog="Example: qcode import taguette "
                       "~/taguette/project.sqlite3")(import_taguette)
    import_app.command("project", epilog="Example: qcode import project "
                       "nvivo-export.qdpx")(import_project)
    export_app.command("project", epilog="Example: qcode export project "
                       "exports/trust-study.qdpx")(export_project)
    export_app.command("codebook", epilog="Example: qcode export codebook -o "
                       "exports/codebook.qdc")(export_codebook)
    import_app.command("codebook", epilog="Example: qcode import codebook nvivo-codebook.qdc "
                       "--merge")(import_codebook)

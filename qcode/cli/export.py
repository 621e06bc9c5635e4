"""qcode export excerpts|codebook: data leaving qcode, written safely."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qcode.cli.analysis import (ChildrenOpt, CodeOpt, CoderOpt, DocOpt, NearOpt, OriginOpt,
                                QueryOpt, UnitOpt, WhereOpt, _scope)
from qcode.cli.common import project_of
from qcode.cli.output import message, warn

export_app = typer.Typer(help="Write excerpts, the codebook or the project for other tools.",
                         no_args_is_help=True)
OutputOpt = Annotated[str | None, typer.Option("--output", "-o", help="File to write "
                                               "(default: in the project's exports/).")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace an existing file.")]


@export_app.command(epilog="Example: qcode export excerpts --code trust --children "
                    "--where role=activist -o exports/trust.xlsx")
def excerpts(ctx: typer.Context, output: OutputOpt = None,
             fmt: Annotated[str | None, typer.Option(
                 "--format", "-f", help="xlsx, csv or jsonl (default: from the file name, "
                 "else xlsx).")] = None,
             code: CodeOpt = None, children: ChildrenOpt = False,
             where: WhereOpt = [], coder: CoderOpt = [], doc: DocOpt = None,  # noqa: B006
             origin: OriginOpt = None,
             context: Annotated[int, typer.Option(min=0, max=20, help="Sentences of context "
                                                   "before and after (0: none).")] = 1,
             raw: Annotated[bool, typer.Option("--raw", help="CSV: do not prefix cells that "
                                               "start with = + - @ with '.")] = False,
             pseudonymize: Annotated[Path | None, typer.Option(
                 help="A names file (qcode anonymize scan): replace the names in the "
                 "exported text only.")] = None,
             query: QueryOpt = None, near: NearOpt = None, unit: UnitOpt = "sentence",
             force: ForceOpt = False) -> None:
    """Coded excerpts to a spreadsheet: document, speaker, every attribute, code and its
    description, excerpt with context, offsets, coder, origin, memo. XLSX has an All
    sheet, one per top-level code, a Codebook and a Documents sheet."""
    from qcode.export.excerpts import export_excerpts

    project = project_of(ctx)
    if fmt is None and output is None:
        fmt = "xlsx"
    path = output or project.exports_dir / f"excerpts.{fmt}"
    names = None
    if pseudonymize:
        from qcode.anonymize import load_names

        names = load_names(pseudonymize)
    scope = _scope(code, children, where, coder, doc, origin)
    only = None
    if query is not None or near is not None:
        from qcode.analysis.query import matching_codings

        only = matching_codings(project.db, scope, query=query, near=near, unit=unit)
    result = export_excerpts(project.db, scope, path, fmt=fmt, context=context, raw=raw,
                             force=force, names=names, only=only)
    for note in result.warnings:
        warn(note)
    message(f"Wrote {result.excerpts} excerpt(s) to {result.path} "
            "(contains interview excerpts; not encrypted)")


@export_app.command(epilog="Example: qcode export matrix --by speaker --binary --attributes "
                    "-o exports/matrix.csv")
def matrix(ctx: typer.Context, output: OutputOpt = None,
           fmt: Annotated[str | None, typer.Option(
               "--format", "-f", help="xlsx or csv (default: from the file name, else "
               "xlsx).")] = None,
           by: Annotated[str, typer.Option(help="Cases: document, or speaker (each speaker "
                                           "of each document).")] = "document",
           binary: Annotated[bool, typer.Option("--binary", help="1 if the case has the "
                                                "code, else 0 (default: counts).")] = False,
           attributes: Annotated[bool, typer.Option(
               "--attributes", help="Document attributes as columns after the case id.")
           ] = False,
           code: CodeOpt = None, children: ChildrenOpt = False,
           where: WhereOpt = [], coder: CoderOpt = [], doc: DocOpt = None,  # noqa: B006
           origin: OriginOpt = None,
           raw: Annotated[bool, typer.Option("--raw", help="CSV: do not prefix cells that "
                                             "start with = + - @ with '.")] = False,
           force: ForceOpt = False) -> None:
    """Code × case matrix for SPSS, R or a spreadsheet: one row per document (or speaker),
    the case id first, one column per code with its number of codings (a parent counts
    its sub-codes) or 0/1. Column names are valid SPSS/R variable names; the XLSX lists
    them with their codes on a Variables sheet."""
    from qcode.export.matrix import BY, export_matrix

    if by not in BY:
        raise typer.BadParameter("document or speaker", param_hint="--by")
    project = project_of(ctx)
    if fmt is None and output is None:
        fmt = "xlsx"
    path = output or project.exports_dir / f"matrix.{fmt}"
    path, result = export_matrix(project.db, _scope(code, children, where, coder, doc, origin),
                                 path, fmt=fmt, by=by, binary=binary, attributes=attributes,
                                 raw=raw, force=force)
    codes = sum(1 for label in result.labels.values() if label.startswith("code "))
    message(f"Wrote {len(result.rows)} {by}(s) × {codes} code(s) to {path}")


@export_app.command(epilog="Example: qcode export memos -o exports/memos.md")
def memos(ctx: typer.Context, output: OutputOpt = None,
          fmt: Annotated[str | None, typer.Option(
              "--format", "-f", help="xlsx, csv or md (default: from the file name, else "
              "xlsx).")] = None,
          raw: Annotated[bool, typer.Option("--raw", help="CSV: do not prefix cells that "
                                            "start with = + - @ with '.")] = False,
          force: ForceOpt = False) -> None:
    """Every memo — on the project, documents, codes, codings and passages — in one file,
    with its document, code, the coded text or passage, title, coder and dates."""
    from qcode.export.memos import export_memos

    project = project_of(ctx)
    if fmt is None and output is None:
        fmt = "xlsx"
    path = output or project.exports_dir / f"memos.{fmt}"
    path, count, notes = export_memos(project.db, path, fmt=fmt, raw=raw, force=force,
                                      project_name=project.config.name)
    for note in notes:
        warn(note)
    message(f"Wrote {count} memo(s) to {path} (memos may quote interviews; not encrypted)")


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export",
                  epilog="Example: qcode export excerpts -o exports/excerpts.xlsx")

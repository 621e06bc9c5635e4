"""qcode coders, qcode log, qcode undo."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from qcode.cli.common import project_of
from qcode.cli.output import FORMAT_HELP, Format, emit, message, shorten

FormatOption = Annotated[Format, typer.Option("--format", "-f", help=FORMAT_HELP)]


def coders(ctx: typer.Context, fmt: FormatOption = Format.table) -> None:
    """List the coders of this project with their codings, documents and memos."""
    from qcode.history import list_coders

    emit(list_coders(project_of(ctx).db),
         ["coder", "codings", "documents", "memos", "last_change"], fmt)


def log(
    ctx: typer.Context,
    coder: Annotated[str | None, typer.Option(help="Only this coder's changes.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many, newest first.")] = 30,
    fmt: FormatOption = Format.table,
) -> None:
    """Show the change log: every change to codings, memos, codes and documents."""
    from qcode.history import read_log

    rows = read_log(project_of(ctx).db, coder=coder, limit=limit)
    if fmt is Format.table:
        for row in rows:
            row["detail"] = shorten(json.dumps(row["after"] or row["before"], ensure_ascii=False,
                                               default=str), 70)
        emit(rows, ["id", "at", "coder", "action", "entity", "entity_id", "detail"], fmt)
    else:
        emit(rows, ["id", "at", "coder", "action", "entity", "entity_id", "before", "after",
                    "batch"], fmt)


def undo(
    ctx: typer.Context,
    coder: Annotated[str | None, typer.Option(help="Whose last change (default: yours).")] = None,
) -> None:
    """Revert the last change to codings or memos made by a coder; repeat to go further back."""
    from qcode.history import undo as run_undo

    project = project_of(ctx)
    result = run_undo(project.db, coder=project.coder_name(coder))
    what = ", ".join(f"{action} {entity} {entity_id}" for action, entity, entity_id
                     in result.reverted)
    message(f"Undid: {what}")


def register(app: typer.Typer) -> None:
    app.command(epilog="Example: qcode coders --format csv")(coders)
    app.command(epilog="Example: qcode log --coder anna -n 10")(log)
    app.command(epilog="Example: qcode undo --coder anna")(undo)

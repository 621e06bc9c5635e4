"""qcode coders, qcode log, qcode undo."""

from __future__ import annotations

from typing import Annotated

import typer

from qcode.cli.common import project_of
from qcode.cli.output import FORMAT_HELP, Format, emit, emit_text, message

FormatOption = Annotated[Format, typer.Option("--format", "-f", help=FORMAT_HELP)]


def coders(ctx: typer.Context, fmt: FormatOption = Format.table) -> None:
    """List the coders of this project with their codings, documents and memos; in a
    shared project on PostgreSQL, also who has it open now (`connected`: their qcode
    sessions besides this command, and since when)."""
    from qcode.history import list_coders

    project = project_of(ctx)
    rows = list_coders(project.db)
    columns = ["coder", "codings", "documents", "memos", "last_change"]
    if project.on_server:
        from qcode.store.postgres import connected

        sessions: dict[str, list[dict]] = {}
        for session in connected(project.db):
            if session["state"] != "this command":
                sessions.setdefault(session["coder"] or "?", []).append(session)
        known = {row["coder"] for row in rows}
        rows += [{"coder": name, "codings": 0, "documents": 0, "memos": 0, "last_change": None}
                 for name in sessions if name not in known]
        for row in rows:
            mine = sessions.get(row["coder"], [])
            row["connected"] = len(mine)
            row["since"] = min((s["since"] for s in mine), default=None)
        columns += ["connected", "since"]
    emit(rows, columns, fmt)


def log(
    ctx: typer.Context,
    coder: Annotated[str | None, typer.Option(help="Only this coder's changes.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many, newest first.")] = 30,
    fmt: FormatOption = Format.table,
) -> None:
    """Show the change log, newest first: one line per change to codings, memos, codes and
    documents, in words. --format json (or csv, jsonl) gives the raw records."""
    from qcode.history import describe_changes, read_log

    db = project_of(ctx).db
    rows = read_log(db, coder=coder, limit=limit)
    for row, summary in zip(rows, describe_changes(db, rows)):
        row["summary"] = summary
    if fmt is not Format.table:
        emit(rows, ["id", "at", "coder", "action", "entity", "entity_id", "summary", "before",
                    "after", "batch"], fmt)
        return
    if not rows:
        message("The change log is empty" + (f" for coder {coder!r}" if coder else ""))
        return
    width = max(len(str(row["id"])) for row in rows)
    coders = max(len(row["coder"] or "") for row in rows)
    emit_text("\n".join(
        f"#{row['id']:<{width}}  {_when(row['at'])}  {row['coder'] or '':<{coders}}  "
        f"{row['summary']}" for row in rows))


def _when(stamp: str | None) -> str:
    """2026-12-03T12:47:34+00:00 -> 2026-12-03 12:47 (as stored: UTC)."""
    return (stamp or "")[:16].replace("T", " ")


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

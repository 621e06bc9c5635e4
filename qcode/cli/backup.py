"""qcode backup, qcode restore."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from qcode.cli.common import project_of
from qcode.cli.output import FORMAT_HELP, Format, emit, message


def backup(ctx: typer.Context,
           output: Annotated[Path | None, typer.Option(
               "--output", "-o", help="Where to write (default: backups/qcode-<time>.db in "
               "the project).")] = None,
           force: Annotated[bool, typer.Option("--force", help="Replace an existing "
                                               "file.")] = False,
           list_them: Annotated[bool, typer.Option("--list", help="List the project's "
                                                   "backups instead.")] = False,
           fmt: Annotated[Format, typer.Option("--format", "-f", help=FORMAT_HELP)] = Format.table
           ) -> None:
    """Copy the project database safely while it may be in use (SQLite's online backup),
    check the copy, and keep it private (mode 0600). Destructive commands take one
    automatically; the last 10 automatic backups are kept in backups/. A project on a
    PostgreSQL server is copied into the same kind of file: one snapshot of the server,
    checked table by table, while the team goes on coding."""
    from qcode.store.backup import backup as run_backup
    from qcode.store.backup import list_backups

    project = project_of(ctx)
    if list_them:
        emit([{"file": str(b.path), "size_mb": round(b.size / 2**20, 2),
               "created": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(b.created)),
               "automatic": b.automatic} for b in list_backups(project.db)],
             ["file", "size_mb", "created", "automatic"], fmt)
        return
    path = run_backup(project.db, output, force=force)
    message(f"Backed up {'the server project ' if project.on_server else ''}to {path} "
            "(checked; contains the transcripts, "
            + ("encrypted with the project's key)" if project.db.key else "not encrypted)"))


def restore(ctx: typer.Context,
            file: Annotated[Path, typer.Argument(help="A backup made by qcode backup.")],
            yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for "
                                              "confirmation.")] = False) -> None:
    """Replace the project database by a backup, after checking the backup. The current
    state is first saved as an automatic backup, so a restore can be undone. On a
    PostgreSQL server only the project's owner may restore: it replaces the whole team's
    work, in one transaction."""
    from qcode.store.backup import check_backup
    from qcode.store.backup import restore as run_restore

    project = project_of(ctx)
    check_backup(file, project.db.key)
    where = "the server project (the whole team's work)" if project.on_server \
        else str(project.db_path)
    if not yes and not typer.confirm(f"Replace everything in {where} by {file}?", err=True):
        message("Nothing was changed.")
        raise typer.Exit(1)
    saved = run_restore(project.db, file)
    message(f"Restored {file}. The state before it is in {saved}.")


def register(app: typer.Typer) -> None:
    app.command(epilog="Example: qcode backup -o ~/safe/trust-study-2024-05-01.db")(backup)
    app.command(epilog="Example: qcode restore backups/qcode-20240501-101500.db")(restore)

"""qcode migrate: move a project between its SQLite file and a PostgreSQL server."""

from __future__ import annotations

from typing import Annotated

import typer

from qcode.cli.common import project_of
from qcode.cli.output import FORMAT_HELP, Format, emit, message


def migrate(
    ctx: typer.Context,
    to: Annotated[str, typer.Option(
        "--to", metavar="TARGET",
        help="postgresql://HOST/DB: an empty database on the server (user and password "
             "from $PGUSER/$PGPASSWORD, ~/.pgpass or a service file, never the URL); "
             "sqlite: back into qcode.db in the project folder.")],
    fmt: Annotated[Format, typer.Option("--format", "-f", help=FORMAT_HELP)] = Format.table,
) -> None:
    """Move the project to a PostgreSQL server, or from one back to its SQLite file: every
    table copied with its ids in one transaction, then compared table by table (rows and
    checksums); only then does qcode.yaml name the new database. The old one is kept as it
    was. Close every other qcode on the project first."""
    from qcode.store.migrate_backend import move_to_server, move_to_sqlite
    from qcode.store.postgres import check_url, is_url

    if not is_url(to) and to.lower() != "sqlite":
        check_url(to)  # says what a server URL looks like, without repeating a password
    project = project_of(ctx)

    def copied(table: str, rows: int) -> None:
        message(f"  {table}: {rows:,} rows copied")

    if is_url(to):
        moved = move_to_server(project, check_url(to), copied)
    else:
        moved = move_to_sqlite(project, copied)
    emit([{"table": t.table, "rows": t.rows, "checksum": t.checksum[:16], "same": "yes"}
          for t in moved.tables], ["table", "rows", "checksum", "same"], fmt)
    message(f"Moved to {moved.target}: every table has the same rows and checksum on both "
            "sides, and qcode.yaml now names it.")
    if is_url(to):
        message(f"The SQLite file {moved.source} is kept as it was, no longer used: delete "
                "it once you have checked the project on the server (it holds the "
                "transcripts). Teammates join with qcode init --database " + moved.target)
    else:
        message(f"The server's database {moved.source} is left as it was: teammates whose "
                "qcode.yaml names it still work there, and their changes from now on are "
                "not in this file. Drop it (dropdb) when nobody needs it.")


def register(app: typer.Typer) -> None:
    app.command(epilog="Example: qcode migrate --to postgresql://db.example.org/trust_study"
                )(migrate)

"""qcode team: who may code a project on a PostgreSQL server (run by its owner)."""

from __future__ import annotations

from typing import Annotated

import typer

from qcode.cli.common import project_of
from qcode.cli.output import FORMAT_HELP, Format, emit, message

team_app = typer.Typer(
    help="The team of a project on a PostgreSQL server: coders and leads are database "
         "roles. A coder changes only their own codings, memos and decisions; a lead also "
         "the codebook and documents. Run by the project's owner (who created it).",
    no_args_is_help=True)


def _server_db(ctx: typer.Context):
    from qcode.store.team import require_server

    db = project_of(ctx).db
    require_server(db)
    return db


@team_app.command("add", epilog="Example: qcode team add anna   (or: qcode team add "
                                "maria --lead)")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(
        help="The person's database role, which is also their coder name; created (able "
             "to log in, no password) if the server has none by that name.")],
    lead: Annotated[bool, typer.Option(
        "--lead", help="A lead (codebook, documents, anyone's codings) instead of a coder.")
    ] = False,
) -> None:
    """Add a coder (or lead) to the project; again to change their role."""
    from qcode.store.team import add_member

    added = add_member(_server_db(ctx), name, lead=lead)
    message(f"{added['name']} is now a {added['role']} of this project"
            + (" (a new role on the server)" if added["created"] else "") + ".")
    if added["created"]:
        message(f"Set their password on the server (psql: \\password {added['name']}) or "
                "let it authenticate them another way; they join with qcode init "
                "--database URL --coder " + added["name"])


@team_app.command("remove", epilog="Example: qcode team remove anna")
def remove(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A member's database role.")],
) -> None:
    """Take someone out of the project's team; their role, codings and memos stay."""
    from qcode.store.team import remove_member

    remove_member(_server_db(ctx), name)
    message(f"{name} is no longer in this project's team.")


@team_app.command("list", epilog="Example: qcode team list --format json")
def list_(
    ctx: typer.Context,
    fmt: Annotated[Format, typer.Option("--format", "-f", help=FORMAT_HELP)] = Format.table,
) -> None:
    """The project's leads and coders, with how many codings are theirs."""
    from qcode.store.team import list_team

    emit(list_team(_server_db(ctx)), ["name", "role", "login", "codings"], fmt)


def register(app: typer.Typer) -> None:
    app.add_typer(team_app, name="team", epilog="Example: qcode team add anna")

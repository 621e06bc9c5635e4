"""The `qcode` command. Sub-commands live in one small module each."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from typer.core import TyperGroup

from qcode import __version__
from qcode.errors import QcodeError


class QcodeGroup(TyperGroup):
    """Turns library errors into one line on stderr and exit code 1 — the only place."""

    def invoke(self, ctx: typer.Context):
        from qcode.cli.output import abort

        try:
            return super().invoke(ctx)
        except QcodeError as exc:
            raise abort(str(exc)) from None
        except Exception as exc:
            from qcode.store.connection import db_errors, describe_sqlite_error

            if not isinstance(exc, db_errors()):
                raise
            raise abort(describe_sqlite_error(exc)) from None
        except KeyboardInterrupt:
            raise abort("interrupted; nothing half-written was kept", 130) from None


app = typer.Typer(
    cls=QcodeGroup,
    help="qcode: qualitative coding of interview transcripts, from the terminal.",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    epilog="Example: qcode init study && cd study && qcode import ~/interviews/",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"qcode {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    project: Annotated[str | None, typer.Option(
        "--project", "-P", envvar="QCODE_PROJECT", show_envvar=True,
        help="Project folder (default: found by walking up from the current folder).")] = None,
    key_file: Annotated[str | None, typer.Option(
        "--key-file", help="The key of an encrypted project (default: qcode.yaml's "
        "encryption.key_file, else a passphrase prompt).")] = None,
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """qcode: qualitative coding of interview transcripts, from the terminal."""
    ctx.obj = {"project": project, "key_file": key_file}


def _register() -> None:
    from qcode.cli import (analysis, anonymize, backup, code, codebook, demo, doc, export,
                           history, ingest, interop, memo, merge, migrate, project, suggest,
                           tag, team)

    for module in (project, ingest, doc, codebook, code, tag, memo, history, suggest, analysis,
                   export, interop, backup, anonymize, merge, migrate, team, demo):
        module.register(app)


_register()


def main() -> None:
    os.umask(0o077)  # the database, its WAL, backups and exports are private to the user
    _for(sys.argv[1:])(prog_name="qcode")


# the root options that take a value (the rest, --help and --version, list or exit)
_VALUED = ("--project", "-P", "--key-file")


def _for(args: list[str]) -> typer.Typer:
    """The app with only the command that *args* run (its group whole), when they name one:
    Typer turns every registered command into a click command before it runs one, and for
    55 commands that is half of start-up (0.14 s of `qcode excerpts`). Every command
    stays for listing them: no command, --help, --version, shell completion, or a name
    that is none of them (for its error and suggestions)."""
    import copy

    from typer.main import get_command_name

    if any(key.startswith("_QCODE_COMPLETE") for key in os.environ):
        return app
    name, rest = None, list(args)
    while rest and name is None:
        arg = rest.pop(0)
        if arg in _VALUED:
            rest = rest[1:]
        elif arg.startswith(("--project=", "--key-file=")) or (
                arg.startswith("-P") and not arg.startswith("--")):  # -PDIR
            continue
        elif arg.startswith("-"):
            return app
        else:
            name = arg
    commands = [c for c in app.registered_commands
                if (c.name or get_command_name(c.callback.__name__)) == name]
    groups = [g for g in app.registered_groups if g.name == name]
    if not commands and not groups:
        return app
    only = copy.copy(app)
    only.registered_commands, only.registered_groups = commands, groups
    return only

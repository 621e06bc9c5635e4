"""Helpers shared by the command modules."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from typer.core import TyperGroup

from qcode.errors import ProjectError

if TYPE_CHECKING:
    from qcode.project import Project


def project_of(ctx: typer.Context) -> Project:
    """The project named by --project / $QCODE_PROJECT, or found from the current folder."""
    from qcode.project import Project

    options = ctx.find_root().obj or {}
    project = Project.find(options.get("project"))
    if options.get("key_file"):
        project.key_file = Path(options["key_file"]).expanduser()
    if sys.stdin.isatty():
        project.ask_key = ask_passphrase
    return project


@contextmanager
def paused_gc() -> Iterator[None]:
    """Python's cycle collector paused while a command builds a large listing: it walks
    every container alive each time enough new ones pile up, so 130,000 rows fetched and
    kept are walked again and again (0.1-0.15 s of `qcode excerpts` at 10,000
    transcripts). Rows, lists and strings hold no cycles; it runs again after."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def ask_passphrase(prompt: str) -> str:
    """Read a passphrase from the terminal without echoing it."""
    import getpass

    try:
        return getpass.getpass(prompt, stream=sys.stderr)
    except (EOFError, KeyboardInterrupt):
        raise ProjectError("no passphrase given") from None


class DefaultCommandGroup(TyperGroup):
    """A group whose first argument is a sub-command, or else the start of its default
    command's arguments: `qcode import interviews/` runs `qcode import transcripts
    interviews/`, while `qcode import codebook FILE` runs the codebook import."""

    default_command = "transcripts"

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


DOC_HELP = ("The document, as an option: for a name that starts with '-' (--doc=-2+3), "
            "or in scripts.")
DocName = Annotated[str | None, typer.Option("--doc", "-d", show_default=False, help=DOC_HELP)]


def the_document(argument: str | None, option: str | None) -> str:
    """The document named as the argument or with --doc (exactly one of them)."""
    if argument is not None and option is not None and argument != option:
        raise typer.BadParameter(f"name the document once, as the argument ({argument!r}) or "
                                 f"with --doc ({option!r})", param_hint="DOCUMENT")
    name = option if option is not None else argument
    if name is None:
        raise typer.BadParameter("name a document: as the argument, or with --doc NAME (for "
                                 "a name that starts with '-': --doc=-2+3, or put it after "
                                 "`--` at the end)", param_hint="DOCUMENT")
    return name

"""Helpers shared by the command modules."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:
    from qcode.project import Project


def project_of(ctx: typer.Context) -> Project:
    """The project named by --project / $QCODE_PROJECT, or found from the current folder."""
    from qcode.project import Project

    root = ctx.find_root()
    return Project.find((root.obj or {}).get("project"))


class DefaultCommandGroup(TyperGroup):
    """A group whose first argument is a sub-command, or else the start of its default
    command's arguments: `qcode import interviews/` runs `qcode import transcripts
    interviews/`, while `qcode import codebook FILE` runs the codebook import."""

    default_command = "transcripts"

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)

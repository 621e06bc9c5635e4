"""Helpers shared by the command modules."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from qcode.project import Project


def project_of(ctx: typer.Context) -> Project:
    """The project named by --project / $QCODE_PROJECT, or found from the current folder."""
    from qcode.project import Project

    root = ctx.find_root()
    return Project.find((root.obj or {}).get("project"))

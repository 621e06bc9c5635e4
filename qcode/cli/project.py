"""qcode init, qcode path, qcode doctor."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qcode.cli.common import project_of
from qcode.cli.output import FORMAT_HELP, Format, emit, message


def init(
    directory: Annotated[Path, typer.Argument(help="Folder for the new project.")] = Path("."),
    name: Annotated[str | None, typer.Option(help="Project name (default: the folder's).")] = None,
    language: Annotated[str, typer.Option(help="Default transcript language (ISO 639-1).")] = "en",
    codebook: Annotated[str | None, typer.Option(
        help="Path of the codebook YAML, relative to the project (default: codebook.yaml, "
             "created with a starter).")] = None,
    coder: Annotated[str | None, typer.Option(help="Default coder name for this project.")] = None,
) -> None:
    """Create a project: qcode.yaml, qcode.db, a starter codebook and exports/."""
    from qcode.project import Project

    project = Project.init(directory, name=name, language=language, codebook=codebook,
                           coder=coder)
    message(f"Created qcode project {project.config.name!r} in {project.root}")
    message("Next: edit codebook.yaml, run `qcode codebook sync`, then `qcode import FILES`.")


def path(
    ctx: typer.Context,
    fmt: Annotated[Format, typer.Option("--format", "-f", help=FORMAT_HELP)] = Format.table,
) -> None:
    """Print where the project, its database, codebook and exports are."""
    paths = project_of(ctx).paths()
    emit([{"what": k, "path": v} for k, v in paths.items()], ["what", "path"], fmt)


def doctor(
    ctx: typer.Context,
    fmt: Annotated[Format, typer.Option("--format", "-f", help=FORMAT_HELP)] = Format.table,
) -> None:
    """Check the database: SQLite integrity, foreign keys and qcode's invariants.

    Exits with 1 if anything is wrong.
    """
    from qcode.store.doctor import check

    project = project_of(ctx)
    problems = check(project.db)
    if problems:
        emit([{"check": p.check, "problem": p.message} for p in problems],
             ["check", "problem"], fmt)
        message(f"{len(problems)} problem(s) found in {project.db_path}", style="red")
        raise typer.Exit(1)
    message(f"{project.db_path}: all checks passed")


def register(app: typer.Typer) -> None:
    app.command(epilog="Example: qcode init trust-study --language ru --coder anna")(init)
    app.command(epilog="Example: qcode path --format json")(path)
    app.command(epilog="Example: qcode doctor && echo healthy")(doctor)

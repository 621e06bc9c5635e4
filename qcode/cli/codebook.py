"""qcode codebook check|show|sync|diff|templates|format."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qcode.cli.common import project_of
from qcode.cli.output import FORMAT_HELP, Format, emit, message, shorten, warn

codebook_app = typer.Typer(help="Check the YAML codebook and apply it to the project.",
                           no_args_is_help=True)
FileOption = Annotated[Path | None, typer.Option(
    "--file", help="Codebook YAML (default: the one named in qcode.yaml).")]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help=FORMAT_HELP)]


def _load(ctx: typer.Context, file: Path | None):
    from qcode.codebook.model import load_codebook

    project = None if file else project_of(ctx)
    return load_codebook(file or project.codebook_path), project


@codebook_app.command(epilog="Example: qcode codebook check --file codebooks/trust.yaml")
def check(ctx: typer.Context, file: FileOption = None) -> None:
    """Validate the codebook YAML; exits with 1 and the line of the first error."""
    from qcode.codebook.lint import lint

    codebook, _ = _load(ctx, file)
    for note in lint(codebook):
        warn(note)
    top = sum(1 for c in codebook.active if c.parent is None)
    message(f"{codebook.source}: {len(codebook.active)} codes ({top} top-level) — valid")


@codebook_app.command(epilog="Example: qcode codebook show --all --format json")
def show(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Include retired and merged codes.")] = False,
    fmt: FormatOption = Format.table,
) -> None:
    """List the project's codes (as last synced) with shortcuts and coding counts."""
    from qcode.codes import list_codes

    project = project_of(ctx)
    rows = list_codes(project.db, include_inactive=all_)
    if not rows:
        message("No codes in the project yet: run `qcode codebook sync`.")
    if fmt is Format.table:
        for row in rows:
            row["code"] = "  " * row["path"].count("/") + row["name"]
            row["description"] = shorten(row["description"])
        columns = ["code", "key", "codings", "documents", "description"]
        if all_:
            columns.insert(1, "status")
    else:
        columns = ["path", "guid", "key", "color", "status", "codings", "documents",
                   "description"]
    emit(rows, columns, fmt)


TABLE_ROWS = 200  # a terminal table of more changes is unreadable (and slow to draw)


def _report(result, fmt: Format) -> None:
    rows = [{"action": c.action, "code": c.path, "detail": c.describe()}
            for c in result.changes]
    shown = rows if fmt is not Format.table or len(rows) <= TABLE_ROWS else rows[:TABLE_ROWS]
    if rows or fmt is not Format.table:
        emit(shown, ["action", "code", "detail"], fmt)
    if len(shown) < len(rows):
        message(f"… and {len(rows) - len(shown):,} more change(s); --format csv lists them all")
    counts = result.counts()
    summary = ", ".join(f"{n} {action}" for action, n in counts.items()) or "no changes"
    verb = "would apply" if result.dry_run else "applied"
    message(f"Codebook {verb}: {summary}")


@codebook_app.command(epilog="Example: qcode codebook sync --dry-run")
def sync(
    ctx: typer.Context,
    file: FileOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", "-n",
                                          help="Show what would change; change nothing.")] = False,
    coder: Annotated[str | None, typer.Option(help="Who syncs (for the change log).")] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Apply the codebook YAML to the project in one transaction.

    Adds new codes, updates changed ones, follows renamed_from and merged_into
    (codings move with them) and retires codes that disappeared (codings are kept).
    """
    from qcode.codebook.model import load_codebook
    from qcode.codebook.sync import sync as run_sync

    project = project_of(ctx)
    codebook = load_codebook(file or project.codebook_path)
    result = run_sync(project.db, codebook, coder=project.coder_name(coder), dry_run=dry_run)
    _report(result, fmt)


@codebook_app.command(epilog="Example: qcode codebook diff --format csv")
def diff(ctx: typer.Context, file: FileOption = None, fmt: FormatOption = Format.table) -> None:
    """Show how the codebook YAML differs from the project's codes (what sync would do)."""
    from qcode.codebook.model import load_codebook
    from qcode.codebook.sync import sync as run_sync

    project = project_of(ctx)
    codebook = load_codebook(file or project.codebook_path)
    _report(run_sync(project.db, codebook, dry_run=True), fmt)


@codebook_app.command(epilog="Example: qcode init study --codebook-template "
                      "trust-empowerment-loyalty")
def templates(fmt: FormatOption = Format.table) -> None:
    """List the codebooks shipped with qcode, for `qcode init --codebook-template NAME`."""
    from qcode.resources import codebook_templates

    rows = codebook_templates()
    if fmt is Format.table:
        for row in rows:
            row["description"] = shorten(row["description"], 90)
    emit(rows, ["template", "name", "codes", "description"], fmt)


@codebook_app.command("format", epilog="Example: qcode codebook format | less")
def format_() -> None:
    """Print the codebook format reference (Markdown): every field of a code, what sync
    does, the safety rules."""
    from qcode.cli.output import emit_text
    from qcode.resources import codebook_format

    emit_text(codebook_format())


def register(app: typer.Typer) -> None:
    app.add_typer(codebook_app, name="codebook",
                  epilog="Example: qcode codebook check && qcode codebook sync")

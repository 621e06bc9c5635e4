"""qcode code: the keyboard coding screen."""

from __future__ import annotations

from typing import Annotated

import typer

from qcode.cli.common import DocName, project_of, the_document


def code(
    ctx: typer.Context,
    document: Annotated[str | None, typer.Argument(help="Document name.",
                                                   show_default=False)] = None,
    doc: DocName = None,
    coder: Annotated[str | None, typer.Option(
        help="Coder name (default: $QCODE_CODER, then qcode.yaml, then the OS user).")] = None,
) -> None:
    """Open the full-screen coding screen on a transcript.

    Keys: ↑/↓ move, tab next uncoded, : jump, / search, a code's key or ? apply/remove,
    ( ) " narrow the span, ; memo, enter/backspace accept/reject a suggestion,
    ctrl+z undo, ctrl+q quit. Every action is saved at once.
    """
    from qcode.tui.coding import CodingApp

    project = project_of(ctx)
    CodingApp(project, the_document(document, doc), project.coder_name(coder)).run()


def register(app: typer.Typer) -> None:
    app.command(epilog="Example: qcode code a01 --coder anna")(code)

"""qcode memo add|list|show|edit|rm."""

from __future__ import annotations

from typing import Annotated

import typer

from qcode.cli.common import project_of
from qcode.cli.output import FORMAT_HELP, Format, emit, emit_text, message, shorten
from qcode.cli.tag import Quote, Segment, Span
from qcode.errors import QcodeError

memo_app = typer.Typer(help="Memos on the project, a document, a code or a coding.",
                       no_args_is_help=True)
Coder = Annotated[str | None, typer.Option(help="Coder name (default: as for coding).")]


def _from_editor(initial: str = "") -> str:
    from qcode.cli.editor import edit

    text = edit(initial)
    if text is None or not text.strip():
        raise QcodeError("empty memo; nothing was saved")
    return text.strip()


@memo_app.command(epilog='Example: qcode memo add --doc a01 --text "Recorded in a café."')
def add(
    ctx: typer.Context,
    doc: Annotated[str | None, typer.Option("--doc", "-d", help="A document.")] = None,
    code: Annotated[str | None, typer.Option("--code", "-c", help="A code.")] = None,
    coding: Annotated[int | None, typer.Option(help="A coding id.")] = None,
    title: Annotated[str, typer.Option(help="A short title.")] = "",
    text: Annotated[str | None, typer.Option(help="The memo (default: opens $EDITOR).")] = None,
    segment: Segment = None,
    span: Span = None,
    quote: Quote = None,
    coder: Coder = None,
) -> None:
    """Write a memo on a coding, a code, a document, a passage of a document (--doc with
    --segment, --span or --quote), or (with none of them) the project."""
    from qcode.memos import add_memo

    project = project_of(ctx)
    place = {k: v for k, v in (("segment", segment), ("span", span), ("quote", quote))
             if v is not None}
    if place and not doc:
        raise typer.BadParameter("--segment, --span and --quote need --doc")
    body = text if text is not None else _from_editor()
    memo_id = add_memo(project.db, body, coder=project.coder_name(coder), title=title,
                       document=doc, code=code, coding=coding, place=place or None)
    message(f"Saved memo {memo_id}" + (f" on the passage of {doc}" if place else ""))


@memo_app.command("list", epilog="Example: qcode memo list --doc a01 -f json")
def list_(
    ctx: typer.Context,
    doc: Annotated[str | None, typer.Option("--doc", "-d", help="Only this document.")] = None,
    code: Annotated[str | None, typer.Option("--code", "-c", help="Only this code.")] = None,
    on: Annotated[str | None, typer.Option(help="Only memos on: project, document, code, "
                                           "coding.")] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help=FORMAT_HELP)] = Format.table,
) -> None:
    """List memos; a memo on a passage of a document gives the sentence it starts in
    (numbered as `qcode show` numbers them) and the passage."""
    from qcode.memos import list_memos

    rows = list_memos(project_of(ctx).db, document=doc, code=code, target=on)
    if fmt is Format.table:
        for row in rows:
            row["text"] = shorten(row["text"])
            if row["passage"] is not None:
                row["passage"] = _where(row, 40)
        emit(rows, ["id", "target", "document", "sentence", "passage", "code", "coding",
                    "coder", "title", "text", "updated"], fmt)
    else:
        emit(rows, ["id", "target", "document", "revision", "start", "end", "sentence",
                    "passage", "code", "coding", "coder", "title", "text", "needs_review",
                    "created", "updated"], fmt)


def _where(memo: dict, width: int) -> str:
    """A passage memo's quote, and its revision when the passage could not follow the
    transcript to its current revision."""
    quote = f"“{shorten(memo['passage'], width)}”"
    if not memo["current"]:
        flag = ", needs review" if memo["needs_review"] else ""
        quote += f" (revision {memo['revision']}{flag})"
    return quote


@memo_app.command(epilog="Example: qcode memo show 3")
def show(ctx: typer.Context, memo_id: Annotated[int, typer.Argument(help="Memo id.")]) -> None:
    """Print one memo in full (for a memo on a passage: its sentence and a quote)."""
    from qcode.memos import get_memo

    memo = get_memo(project_of(ctx).db, memo_id)
    on = {"project": "the project", "document": f"document {memo['document']}",
          "code": f"code {memo['code']}", "coding": f"coding {memo['coding']} ({memo['code']})"}
    where = on[memo["target"]]
    if memo["passage"] is not None:
        sentence = f"sentence {memo['sentence']}" if memo["sentence"] else \
            f"{memo['start']}:{memo['end']}"
        where = f"{where}, {sentence}: {_where(memo, 80)}"
    emit_text(f"# {memo['title'] or f'Memo {memo_id}'}\n"
              f"on {where} · {memo['coder']} · {memo['updated']}\n\n{memo['text']}")


@memo_app.command(epilog="Example: qcode memo edit 3   (opens $EDITOR)")
def edit(
    ctx: typer.Context,
    memo_id: Annotated[int, typer.Argument(help="Memo id.")],
    text: Annotated[str | None, typer.Option(help="New text (default: opens $EDITOR).")] = None,
    title: Annotated[str | None, typer.Option(help="New title.")] = None,
    coder: Coder = None,
) -> None:
    """Change a memo's text (the old text stays in the change log)."""
    from qcode.memos import edit_memo, get_memo

    project = project_of(ctx)
    body = text if text is not None else _from_editor(get_memo(project.db, memo_id)["text"])
    edit_memo(project.db, memo_id, body, coder=project.coder_name(coder), title=title)
    message(f"Saved memo {memo_id}")


@memo_app.command(epilog="Example: qcode memo rm 3")
def rm(ctx: typer.Context, memo_id: Annotated[int, typer.Argument(help="Memo id.")],
       coder: Coder = None) -> None:
    """Remove a memo (logged; `qcode undo` restores it)."""
    from qcode.memos import remove_memo

    project = project_of(ctx)
    remove_memo(project.db, memo_id, coder=project.coder_name(coder))
    message(f"Removed memo {memo_id}")


def register(app: typer.Typer) -> None:
    app.add_typer(memo_app, name="memo", epilog='Example: qcode memo add --text "First pass done"')

"""qcode tag add|rm|list|auto|import: scriptable coding."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qcode.cli.common import DocName, project_of, the_document
from qcode.cli.output import FORMAT_HELP, Format, emit, message, shorten
from qcode.errors import NotFoundError

tag_app = typer.Typer(help="Apply, remove, list and bulk-import codings.", no_args_is_help=True)
Segment = Annotated[int | None, typer.Option("--segment", "-s",
                                             help="Sentence number, as shown by `qcode show`.")]
Span = Annotated[str | None, typer.Option(help="Character offsets START:END.")]
Quote = Annotated[str | None, typer.Option(
    "--quote", "-q", help="Text to find: exactly, else fuzzily; ambiguous or weak matches "
    "are refused.")]
Coder = Annotated[str | None, typer.Option(
    help="Coder name (default: $QCODE_CODER, qcode.yaml, the OS user).")]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help=FORMAT_HELP)]


@tag_app.command(epilog='Example: qcode tag add a01 --quote "nobody listens" --code distrust')
def add(
    ctx: typer.Context,
    code: Annotated[str, typer.Option("--code", "-c", help="Code path, unique suffix or GUID.")],
    document: Annotated[str | None, typer.Argument(help="Document name.",
                                                   show_default=False)] = None,
    doc: DocName = None,
    segment: Segment = None,
    span: Span = None,
    quote: Quote = None,
    coder: Coder = None,
    memo: Annotated[str | None, typer.Option(help="A memo on the new coding.")] = None,
) -> None:
    """Apply a code to a sentence, a character span or a quoted passage."""
    from qcode.coding import add_coding

    project = project_of(ctx)
    document = the_document(document, doc)
    result = add_coding(project.db, document, code, coder=project.coder_name(coder),
                        segment=segment, span=span, quote=quote, memo=memo)
    located = result.located
    how = f"fuzzy match {located.score:.0f}/100" if located.how == "fuzzy" else located.how
    verb = "Coded" if result.created else "Already coded (nothing changed):"
    message(f"{verb} {document} {located.start}:{located.end} ({how}) as coding "
            f"{result.coding_id}")


@tag_app.command(epilog="Example: qcode tag rm 12 13   or   qcode tag rm a01 -s 4 -c distrust")
def rm(
    ctx: typer.Context,
    targets: Annotated[list[str] | None, typer.Argument(
        help="Coding ids, or one document name followed by --code and a place.",
        show_default=False)] = None,
    doc: DocName = None,
    code: Annotated[str | None, typer.Option("--code", "-c", help="Code of the coding.")] = None,
    segment: Segment = None,
    span: Span = None,
    quote: Quote = None,
    coder: Coder = None,
) -> None:
    """Remove codings, by id or by document, code and place (logged; `qcode undo` restores)."""
    from qcode.coding import find_codings, remove_codings

    project = project_of(ctx)
    targets = targets or []
    if doc is not None:  # a document named like a coding id ("12") or an option ("-2+3")
        if len(targets) > 1 or not code:
            raise typer.BadParameter("with --doc, give --code and a place (no coding ids)")
        targets = [the_document(targets[0] if targets else None, doc)]
    if targets and all(t.isdigit() for t in targets) and code is None and doc is None:
        ids = [int(t) for t in targets]
    elif len(targets) == 1 and code:
        ids = find_codings(project.db, targets[0], code, coder=coder, segment=segment,
                           span=span, quote=quote)
        if not ids:
            raise NotFoundError(f"no {code} coding there in {targets[0]}")
    else:
        raise typer.BadParameter("give coding ids, or one document with --code and a place")
    removed = remove_codings(project.db, ids, coder=project.coder_name(coder))
    message(f"Removed {removed} coding(s): {', '.join(map(str, ids))}")


@tag_app.command("list", epilog="Example: qcode tag list --code trust --children "
                 "--where role=activist -f json")
def list_(
    ctx: typer.Context,
    doc: Annotated[str | None, typer.Option("--doc", "-d", help="Only this document.")] = None,
    code: Annotated[str | None, typer.Option("--code", "-c", help="Only this code.")] = None,
    children: Annotated[bool, typer.Option(help="With --code: include its sub-codes.")] = False,
    coder: Annotated[str | None, typer.Option(help="Only this coder's codings.")] = None,
    origin: Annotated[str | None, typer.Option(
        help="Only codings made this way: manual, suggestion, import, auto.")] = None,
    where: Annotated[list[str], typer.Option(
        "--where", "-w", help="Document attribute filter: key=value, key!=value, key=a|b "
        "(repeatable).")] = [],  # noqa: B006
    fmt: FormatOption = Format.table,
) -> None:
    """List codings with document, sentence number, span, code, coder, origin, memo and
    the coded text."""
    from qcode.coding import CodingFilter, list_codings
    from qcode.documents import parse_filters

    rows = list_codings(project_of(ctx).db, CodingFilter(doc, code, children, coder, origin,
                                                         parse_filters(where)))
    if fmt is Format.table:
        for row in rows:
            row["text"] = shorten(row["text"], 50)
            row["memo"] = shorten(row["memo"], 30) if row["memo"] else None
        emit(rows, ["id", "document", "segment", "start", "end", "code", "coder", "origin",
                    "memo", "text"], fmt)
    else:
        emit(rows, ["id", "document", "segment", "start", "end", "code", "coder", "origin",
                    "needs_review", "created", "memo", "text"], fmt)


@tag_app.command("auto", epilog='Example: qcode tag auto --role interviewer --code question '
                 '--dry-run   or   qcode tag auto --search "trust the courts" --where '
                 'role=activist --code trust/institutional')
def auto(
    ctx: typer.Context,
    code: Annotated[str, typer.Option("--code", "-c", help="Code to apply: path, unique "
                                      "suffix or GUID.")],
    speaker: Annotated[str | None, typer.Option(help="What this speaker said (the "
                                                "speaker label, any case).")] = None,
    role: Annotated[str | None, typer.Option(
        help="interviewer: the interviewer's turns (Interviewer, Q, Moderator… and "
        "suggest.interviewer_speakers); respondent: everyone else's.")] = None,
    where: Annotated[list[str], typer.Option(
        "--where", "-w", help="Only documents with these attributes: key=value, key!=value, "
        "key=a|b (repeatable).")] = [],  # noqa: B006
    search: Annotated[str | None, typer.Option(
        help="Units containing this phrase, word by word by lemma (\"trusting\" finds "
        "\"trust\").")] = None,
    doc: Annotated[str | None, typer.Option("--doc", "-d", help="Only this document.")] = None,
    unit: Annotated[str, typer.Option(help="What each coding covers: sentence, turn or "
                                      "document.")] = "sentence",
    dry_run: Annotated[bool, typer.Option("--dry-run", "-n", help="Show what would be "
                                          "coded; change nothing.")] = False,
    coder: Coder = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Code every sentence, turn or document picked by speaker, role, document attributes
    and/or a phrase (all given must hold), in one transaction that `qcode undo` reverts
    at once."""
    from qcode.autocode import AutoRule, auto_code
    from qcode.documents import parse_filters

    project = project_of(ctx)
    rule = AutoRule(speaker=speaker, role=role, where=parse_filters(where), search=search,
                    document=doc, unit=unit)
    result = auto_code(project.db, code, rule, coder=project.coder_name(coder),
                       dry_run=dry_run, default_language=project.config.language,
                       interviewer_names=project.config.suggest.interviewer_names,
                       model=project.config.nlp.model)
    if dry_run:
        rows = [{"document": p.document, "number": p.number, "start": p.start, "end": p.end,
                 "speaker": p.speaker,
                 "new": p.new if fmt is not Format.table else ("yes" if p.new else
                                                               "already coded"),
                 "text": shorten(p.text, 60) if fmt is Format.table else p.text}
                for p in result.planned]
        emit(rows, ["document", "number", "start", "end", "speaker", "new", "text"], fmt)
        message(f"Dry run: would code {result.added} {unit}(s) as {code} "
                f"({result.already} already coded); nothing was changed")
        return
    message(f"Coded {result.added} {unit}(s) as {code} ({result.already} already coded), "
            f"origin {result.origin!r}; `qcode undo` removes them all")


@tag_app.command("import", epilog="Example: qcode tag import codings.csv --coder anna")
def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(
        help="CSV or JSONL with document, code and start/end, segment or quote; optional "
             "coder, memo.")],
    coder: Annotated[str | None, typer.Option(help="Coder for rows that name none.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", "-n", help="Check every row; "
                                          "write nothing.")] = False,
) -> None:
    """Bulk-import codings, all or nothing: any row that cannot be placed is reported
    with its line, and then nothing is written."""
    from qcode.coding import import_codings

    project = project_of(ctx)
    result = import_codings(project.db, file, default_coder=project.coder_name(coder),
                            dry_run=dry_run)
    for problem in result.problems:
        message(f"Error: {problem}", style="red")
    if result.problems:
        message(f"{len(result.problems)} row(s) could not be placed; nothing was imported")
        raise typer.Exit(1)
    verb = "would import" if dry_run else "imported"
    message(f"{result.added} coding(s) {verb}, {result.duplicates} already present")


def register(app: typer.Typer) -> None:
    app.add_typer(tag_app, name="tag", epilog="Example: qcode tag add a01 -s 3 -c trust")

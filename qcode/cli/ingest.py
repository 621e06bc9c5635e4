"""qcode import, qcode docs, qcode show."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qcode.cli.common import DefaultCommandGroup, DocName, project_of, the_document
from qcode.cli.output import FORMAT_HELP, Format, emit, emit_text, message, shorten, warn


def import_(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(
        metavar="PATH...", help="Transcript files or folders (searched recursively): .txt .md .docx .vtt .srt "
             ".csv")],
    attr: Annotated[list[str], typer.Option(
        "--attr", "-a", help="key=value attribute for every imported document (repeatable); "
        "wins over front matter and --attributes.")] = [],  # noqa: B006 - typer needs a list
    attributes: Annotated[Path | None, typer.Option(
        "--attributes", help="CSV table: first column a document or file name, the others "
        "attributes. It may lie among the transcripts: it is not imported as one.")] = None,
    language: Annotated[str | None, typer.Option(
        help="Language of these transcripts, an ISO 639 code such as en or ru (default: a "
        "`language` attribute, else the language found in the text, else the project's).")
    ] = None,
    coder: Annotated[str | None, typer.Option(help="Who imports (for the change log).")] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help=FORMAT_HELP)] = Format.table,
) -> None:
    """Import transcripts. Each file is one transaction; a file already imported is skipped.

    A bad file is reported with its name (and line or byte offset); the other files
    still import, and the exit code is 1.
    """
    from qcode.ingest.attributes import parse_assignments, read_attribute_table
    from qcode.ingest.importer import ImportOptions, discover

    project = project_of(ctx)
    options = ImportOptions(
        attributes=parse_assignments(attr),
        table=read_attribute_table(attributes) if attributes else {},
        language=language, default_language=project.config.language,
        speaker_pattern=project.config.import_.speaker_pattern,
        max_bytes=project.config.import_.max_file_mb * 2**20,
        coder=project.coder_name(coder))
    for path in paths:
        if not path.exists():
            raise typer.BadParameter(f"{path}: no such file or folder", param_hint="PATHS")
    files = list(discover(paths, skip=[attributes] if attributes else []))
    results = _run_with_progress(project, files, options)
    imported = [r for r in results if r.status == "imported"]
    failed = [r for r in results if r.status == "failed"]
    skipped = [r for r in results if r.status == "skipped"]
    for r in results:
        for note in r.warnings:
            warn(note)
        if r.status == "failed":
            message(f"Error: {r.message}", style="red")
        elif r.encoding and r.encoding not in ("utf-8", "utf-8-sig", "utf-16", "utf-32"):
            warn(f"{r.path}: not UTF-8; decoded as {r.encoding} (check the text with qcode show)")
    if fmt is not Format.table:
        emit([{"path": r.path, "status": r.status, "documents": r.documents,
               "sentences": r.segments, "encoding": r.encoding, "message": r.message}
              for r in results],
             ["path", "status", "documents", "sentences", "encoding", "message"], fmt)
    message(f"{len(imported)} file(s) imported ({sum(len(r.documents) for r in imported)} "
            f"documents, {sum(r.segments for r in imported)} sentences), "
            f"{len(skipped)} skipped as already imported, {len(failed)} failed")
    if failed or not results:
        if not results:
            message("Error: no transcript files found", style="red")
        raise typer.Exit(1)


def _run_with_progress(project, files, options):
    from qcode.ingest.importer import import_files

    total = len(files)
    if total <= 1:
        return import_files(project.db, files, options)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn("importing"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.description}"), console=Console(stderr=True),
                  transient=True) as progress:
        task = progress.add_task("", total=total)
        return import_files(project.db, files, options,
                            progress=lambda r: progress.update(
                                task, advance=1, description=Path(r.path).name))


def docs(
    ctx: typer.Context,
    where: Annotated[list[str], typer.Option(
        "--where", "-w", help="Filter on an attribute: key=value, key!=value, key=a|b "
        "(repeatable; all must hold).")] = [],  # noqa: B006
    fmt: Annotated[Format, typer.Option("--format", "-f", help=FORMAT_HELP)] = Format.table,
) -> None:
    """List documents with their counts and attributes (one column each; JSON keeps them
    in one "attributes" object)."""
    from qcode.documents import list_documents, parse_filters

    rows = list_documents(project_of(ctx).db, parse_filters(where))
    columns = ["name", "format", "language", "turns", "sentences", "words", "codings"]
    if fmt in (Format.json, Format.jsonl):
        emit(rows, [*columns, "attributes"], fmt)
        return
    keys = list(dict.fromkeys(k for row in rows for k in row["attributes"]))
    # an attribute named like a listed column (a 'language' attribute beside the detected
    # language) keeps its own column
    header = {k: f"attr_{k}" if k in columns else k for k in keys}
    for row in rows:
        row.update({header[k]: shorten(v, 24) if fmt is Format.table and isinstance(v, str)
                    else v for k, v in row.pop("attributes").items()})
    emit(rows, [*columns, *header.values()], fmt, one_line=True)


def show(
    ctx: typer.Context,
    document: Annotated[str | None, typer.Argument(help="Document name (or id).",
                                                   show_default=False)] = None,
    doc: DocName = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help=FORMAT_HELP)] = Format.table,
) -> None:
    """Print a transcript with speakers and sentence numbers."""
    from qcode.documents import document_segments, resolve_document

    db = project_of(ctx).db
    doc = resolve_document(db, the_document(document, doc))
    segments = document_segments(db, doc["id"])
    if fmt is not Format.table:
        emit(segments, ["number", "turn", "speaker", "start", "end", "time_start", "text"], fmt)
        return
    lines, last_turn = [], None
    width = len(str(len(segments)))
    for seg in segments:
        if seg["turn"] != last_turn:
            lines.append(f"\n{seg['speaker'] or '—'}:" + (
                f"  [{_clock(seg['time_start'])}]" if seg["time_start"] is not None else ""))
            last_turn = seg["turn"]
        lines.append(f"  [{seg['number']:>{width}}] {seg['text']}")
    header = " ".join(f"{k}={v}" for k, v in doc["attributes"].items())
    emit_text(f"{doc['name']}  ({header})" + "\n".join(lines))


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


import_app = typer.Typer(
    cls=DefaultCommandGroup, no_args_is_help=True,
    help="Import transcripts (the default: qcode import PATH...), a codebook, or a project "
    "from another program.")


def register(app: typer.Typer) -> None:
    import_app.command("transcripts", epilog="Example: qcode import interviews/ --attr "
                       "role=activist --attributes people.csv")(import_)
    app.add_typer(import_app, name="import", epilog="Example: qcode import interviews/ "
                  "&& qcode import codebook nvivo-codebook.qdc")
    app.command(epilog="Example: qcode docs --where role=bureaucrat --format csv")(docs)
    app.command(epilog="Example: qcode show a01 | less")(show)

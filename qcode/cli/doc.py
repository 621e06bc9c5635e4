"""qcode doc update|history: transcript revisions that keep their codings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qcode.cli.common import DocName, project_of, the_document
from qcode.cli.output import FORMAT_HELP, Format, emit, message, shorten, warn

doc_app = typer.Typer(help="Revisions of one transcript.", no_args_is_help=True)
FormatOption = Annotated[Format, typer.Option("--format", "-f", help=FORMAT_HELP)]


@doc_app.command(epilog="Example: qcode doc update a01 corrected/a01.md --note 'names removed'")
def update(
    ctx: typer.Context,
    document: Annotated[str | None, typer.Argument(help="Document name.",
                                                   show_default=False)] = None,
    file: Annotated[Path | None, typer.Argument(help="The corrected transcript (any import "
                                                "format).", show_default=False)] = None,
    doc: DocName = None,
    note: Annotated[str, typer.Option(help="Why this revision exists.")] = "",
    coder: Annotated[str | None, typer.Option(help="Who revises (for the change log).")] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Store a new revision of a transcript and re-anchor its codings, memos and
    suggestions: through the diff, then by search, then fuzzily when unique and strong.
    Anything that cannot be placed with confidence is flagged for review, never deleted."""
    from qcode.ingest.importer import ImportOptions
    from qcode.revisions import update_document

    project = project_of(ctx)
    options = ImportOptions(default_language=project.config.language,
                            speaker_pattern=project.config.import_.speaker_pattern,
                            max_bytes=project.config.import_.max_file_mb * 2**20)
    if doc is not None and file is None and document is not None:
        document, file = None, Path(document)  # `doc update --doc NAME FILE`
    if file is None:
        raise typer.BadParameter("give the corrected transcript's file", param_hint="FILE")
    result = update_document(project.db, the_document(document, doc), file, options=options,
                             coder=project.coder_name(coder), note=note)
    if result.unchanged:
        message(f"{result.document}: the text is unchanged; no new revision")
        return
    rows = [{"entity": m.entity, "id": m.id, "method": m.method, "old": f"{m.old[0]}:{m.old[1]}",
             "new": f"{m.new[0]}:{m.new[1]}" if m.new else "", "score": m.score}
            for m in result.moved if fmt is not Format.table or m.method in ("fuzzy", "flagged")]
    if rows:
        emit(rows, ["entity", "id", "method", "old", "new", "score"], fmt)
    counts = ", ".join(f"{n} {method}" for method, n in sorted(result.counts().items()))
    message(f"{result.document}: revision {result.revision} stored; "
            f"re-anchored: {counts or 'nothing to move'}")
    if result.flagged:
        warn(f"{len(result.flagged)} item(s) need review: they stay on the previous revision "
             "(see `qcode tag list --doc " + result.document + "`)")


@doc_app.command(epilog="Example: qcode doc history a01")
def history(
    ctx: typer.Context,
    document: Annotated[str | None, typer.Argument(help="Document name.",
                                                   show_default=False)] = None,
    doc: DocName = None,
    fmt: FormatOption = Format.table,
) -> None:
    """List the revisions of a transcript with their checksums and codings."""
    from qcode.revisions import history as read_history

    rows = read_history(project_of(ctx).db, the_document(document, doc))
    if fmt is Format.table:
        for row in rows:
            row["note"] = shorten(row["note"], 40)
    emit(rows, ["number", "created", "sha256", "encoding", "characters", "words", "codings",
                "needs_review", "note"], fmt)


def register(app: typer.Typer) -> None:
    app.add_typer(doc_app, name="doc", epilog="Example: qcode doc history a01")

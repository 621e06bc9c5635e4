"""qcode demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qcode.cli.output import Format, emit, emit_text, message


def demo(
    directory: Annotated[Path, typer.Argument(help="Where to build the demo project.")] = Path(
        "qcode-demo"),
) -> None:
    """Build a demo project from the sample interviews and the shipped codebook.

    Runs the main path offline: create the project, sync the codebook, import the
    corpus and a coder's hand coding of two interviews, train the model on it, suggest
    codes for the rest; then prints a summary and where everything is. Safe to run again.
    """
    from qcode.codes import list_codes
    from qcode.demo import DEMO_CODINGS, build_demo
    from qcode.documents import list_documents

    result = build_demo(directory)
    project = result.project
    failed = [r for r in result.imported if r.status == "failed"]
    for r in failed:
        message(f"Error: {r.message}", style="red")
    docs = list_documents(project.db)
    for row in docs:
        row["role"] = row["attributes"].get("role", "")
        row["region"] = row["attributes"].get("region", "")
    emit(docs, ["name", "format", "role", "region", "turns", "sentences", "words"], Format.table,
         title="The sample interviews")
    codes = list_codes(project.db)
    _show_suggestions(project)
    _show_crosstab(project)
    message(f"\n{'Created' if result.created else 'Updated'} the demo project in {project.root}")
    message(f"  {len(docs)} interviews, {sum(d['sentences'] for d in docs)} sentences, "
            f"{len(codes)} codes from {project.codebook_path.name}")
    message(f"  database: {project.db_path}")
    message(f"  exports:  {project.exports_dir}")
    pending = project.db.execute("SELECT count(*) FROM suggestions WHERE status = 'pending'"
                                 ).fetchone()[0]
    trained = result.trained
    message(f"  2 interviews coded by hand ({DEMO_CODINGS}); the model learnt "
            f"{len(trained.positives)} codes from {trained.units} sentences")
    message(f"  {pending} suggestions waiting for review "
            f"({result.accepted} scoring 0.8 or more were accepted as coder 'demo')")
    message(f"  report:   {result.report}")
    message(f"  excerpts: {result.spreadsheet}  (coded excerpts for Excel / LibreOffice)")
    message(f"Try: qcode -P {project.root} review   ·   qcode -P {project.root} code "
            f"{docs[0]['name'] if docs else 'DOC'}")
    if failed:
        raise typer.Exit(1)


def _show_suggestions(project, count: int = 5) -> None:
    """A few of the surest suggestions, with the words that triggered them."""
    from qcode.review import context, queue

    rows = []
    for item in queue(project.db, order="score")[:count]:
        rows.append({"document": item["document"], "code": item["code"],
                     "score": item["score"], "sentence": context(project.db, item)["text"],
                     "why": item["rationale"]})
    if rows:
        emit_text("")
        emit(rows, ["document", "code", "score", "sentence", "why"], Format.table,
             title=f"The {len(rows)} surest suggestions (qcode review goes through them all)")


def _show_crosstab(project) -> None:
    """Trust codes by role: the share of each role's interviews with the code."""
    from qcode.analysis.frequencies import crosstab
    from qcode.analysis.scope import Scope
    from qcode.cli.analysis import emit_crosstab

    columns, rows = crosstab(project.db, Scope(code="trust", children=True), cols="role",
                             unit="document", percent="col")
    emit_text("")
    emit_crosstab(columns, rows, cols="role", unit="document", percent="col",
                  title="Trust codes by role")


def register(app: typer.Typer) -> None:
    app.command(epilog="Example: qcode demo /tmp/qcode-demo")(demo)

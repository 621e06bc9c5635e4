"""qcode anonymize scan|apply."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qcode.cli.common import project_of
from qcode.cli.output import FORMAT_HELP, Format, emit, message, warn

anonymize_app = typer.Typer(help="Find names in the transcripts and replace them by "
                            "pseudonyms.", no_args_is_help=True)


@anonymize_app.command(epilog="Example: qcode anonymize scan -o names.yaml")
def scan(ctx: typer.Context,
         output: Annotated[Path | None, typer.Option(
             "--output", "-o", help="Write a names file to review (YAML: real: pseudonym).")
         ] = None,
         force: Annotated[bool, typer.Option("--force", help="Replace an existing "
                                             "file.")] = False,
         fmt: Annotated[Format, typer.Option("--format", "-f", help=FORMAT_HELP)] = Format.table
         ) -> None:
    """Propose names to replace: speakers, capitalised words that are not ordinary words,
    and the entities of the project's spaCy model if it names one."""
    from qcode.anonymize import render_names
    from qcode.anonymize import scan as run_scan
    from qcode.export.files import atomic_output

    project = project_of(ctx)
    found = run_scan(project.db, model=project.config.nlp.model,
                     language=project.config.language)
    if output:
        with atomic_output(output, force=force) as f:
            f.write(render_names(found))
        message(f"{len(found)} name(s) written to {output}: review it, then "
                f"qcode anonymize apply {output} (keep the file private: it links names "
                "to pseudonyms, and it is not encrypted)")
        return
    emit([{"name": c.name, "count": c.count, "documents": c.documents, "why": c.why}
          for c in found], ["name", "count", "documents", "why"], fmt)


@anonymize_app.command(epilog="Example: qcode anonymize apply names.yaml")
def apply(ctx: typer.Context,
          names: Annotated[Path, typer.Argument(help="The reviewed names file.")],
          keep_history: Annotated[bool, typer.Option(
              "--keep-history", help="Keep the earlier revisions (with the real names).")
          ] = False,
          coder: Annotated[str | None, typer.Option(help="Who anonymises (change log).")] = None
          ) -> None:
    """Replace every listed name in the transcripts: a new revision of each transcript
    that has one (codings follow), and in memos; then the old text is removed (earlier
    revisions, the values the change log recorded) unless --keep-history."""
    from qcode.anonymize import apply as run_apply
    from qcode.anonymize import load_names
    from qcode.ingest.importer import ImportOptions

    project = project_of(ctx)
    mapping = load_names(names)
    result = run_apply(project.db, mapping, coder=project.coder_name(coder),
                       keep_history=keep_history,
                       options=ImportOptions(
                           default_language=project.config.language,
                           speaker_pattern=project.config.import_.speaker_pattern))
    if not result.documents and not result.memos:
        message("None of the names occurs in the transcripts or memos; nothing was changed.")
        return
    for kept in result.kept:
        warn(f"{kept}: kept with its text until those items are reviewed")
    message(f"{result.replaced} occurrence(s) replaced in {len(result.documents)} "
            f"transcript(s) and {result.memos} memo(s); {result.purged} earlier revision(s) "
            f"removed; names cleaned from {result.log_entries} change-log entries"
            + (f"; {result.flagged} item(s) flagged for review (qcode doc history)"
               if result.flagged else "") + f". Backup first: {result.backup}")
    if result.models:
        warn("the trained model was removed (its vocabulary held the real names): run "
             "`qcode train` again")
    if not keep_history:
        warn(f"the automatic backup {result.backup} still holds the real names: delete it "
             "when you no longer need it")
    if project.on_server and not keep_history:
        warn("the project's tables on the server were rewritten without the real names, "
             "but the server's write-ahead log, its archives and the server's backups still "
             "hold them until they are recycled: ask its administrator to expire them")


def register(app: typer.Typer) -> None:
    app.add_typer(anonymize_app, name="anonymize",
                  epilog="Example: qcode anonymize scan -o names.yaml && qcode anonymize "
                  "apply names.yaml")

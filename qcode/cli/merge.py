"""qcode merge."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qcode.cli.common import project_of
from qcode.cli.output import message, warn


def merge(ctx: typer.Context,
          other: Annotated[Path, typer.Argument(help="Another qcode project (folder or "
                                                "qcode.db) or a .qdpx.")],
          dry_run: Annotated[bool, typer.Option("--dry-run", "-n", help="Show what would be "
                                                "added and every conflict; change "
                                                "nothing.")] = False,
          prefer: Annotated[str, typer.Option(help="Conflicting code definitions and "
                                              "attribute values: keep ours or take "
                                              "theirs.")] = "ours",
          coder: Annotated[str | None, typer.Option(help="Who merges (change log).")] = None
          ) -> None:
    """Merge another copy of the project (coded on another machine) into this one:
    documents by content, codes by GUID, coders by name. Adds documents, codes, codings,
    memos, attributes and suggestion decisions; overwrites and deletes nothing; merging
    twice adds nothing. A transcript revised on one side: the older side's codings are
    re-anchored to the newer text, and flagged for review where that is unsure."""
    from qcode.merge import merge as run_merge

    project = project_of(ctx)
    result = run_merge(project.db, other, codebook_path=project.codebook_path,
                       coder=project.coder_name(coder), prefer=prefer, dry_run=dry_run,
                       speaker_pattern=project.config.import_.speaker_pattern,
                       default_language=project.config.language)
    for note in result.warnings:
        warn(note)
    for conflict in result.conflicts:
        warn(f"conflict: {conflict}")
    added = sum(s.status == "added" for s in result.sources)
    if not result.changed:
        message(f"Nothing to add from {other}: all of it is here already (merged before?); "
                "nothing was changed")
        return
    message(("Would add" if dry_run else "Added") + f" from {other}: {added} document(s), "
            f"{len(result.codes_added)} code(s), {result.codings} coding(s) by "
            f"{', '.join(result.coders) or 'no new coder'}, {result.memos} memo(s), "
            f"{result.attributes} attribute value(s), {result.decisions} suggestion "
            f"decision(s); {len(result.revised)} document(s) with other text reconciled; "
            f"{len(result.conflicts)} conflict(s)"
            + ("; nothing was changed (dry run)" if dry_run else ""))
    if result.backup:
        message(f"Backup of this project before the merge: {result.backup}")


def register(app: typer.Typer) -> None:
    app.command(epilog="Example: qcode merge ../boris-copy --dry-run && qcode merge "
                "../boris-copy")(merge)

"""qcode suggest, qcode train, qcode evaluate, qcode review."""

from __future__ import annotations

from typing import Annotated

import typer

from qcode.cli.common import project_of
from qcode.cli.output import FORMAT_HELP, Format, emit, emit_text, message, shorten, warn

FormatOption = Annotated[Format, typer.Option("--format", "-f", help=FORMAT_HELP)]
Using = Annotated[str, typer.Option(help="Suggesters, comma-separated: rules, fuzzy, model.")]


def suggest(
    ctx: typer.Context,
    documents: Annotated[list[str] | None, typer.Argument(
        help="Documents (default: all).")] = None,
    doc: Annotated[list[str], typer.Option(
        "--doc", "-d", help="A document, as an option (repeatable; for a name that starts "
        "with '-': --doc=-2+3).")] = [],  # noqa: B006
    codes: Annotated[list[str], typer.Option(
        "--codes", "-c", help="Only these codes and their sub-codes (repeatable).")] = [],  # noqa: B006
    using: Using = "rules,fuzzy,model",
    min_score: Annotated[float | None, typer.Option(
        min=0.0, max=1.0, show_default=False,
        help="Keep every suggestion scoring at least this \\[default: each code's threshold "
        "from `qcode train` for the model; 0.2 for rules and fuzzy matches].")] = None,
    coder: Annotated[str | None, typer.Option(help="Who runs it (recorded on the run).")] = None,
    jobs: Annotated[int | None, typer.Option(min=1, max=16, help="Worker processes "
                                             "(default: the CPU count, at most 4).")] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Suggest codes for every sentence, in a batch run you then review.

    Each score is a probability: a pattern's precision in your decisions so far, or the
    trained model's calibrated estimate. Interviewer turns are not suggested (qcode.yaml:
    suggest.interviewer_turns). Commits per document; a killed run resumes where it
    stopped when the same command runs again. Suggestions already made, decided or coded
    are not repeated. Never creates codings.
    """
    from qcode.nlp.run import SuggestOptions, run_suggestions

    project = project_of(ctx)
    options = SuggestOptions([*(documents or []), *doc], codes, tuple(_split(using)), min_score,
                             project.coder_name(coder), jobs)
    result = _with_progress(project, options, run_suggestions)
    for note in result.warnings:
        warn(note)
    rows = [{"code": path, **{k: v for k, v in row.items() if k != "by"},
             "by": ", ".join(f"{k} {v}" for k, v in sorted(row["by"].items()))}
            for path, row in result.per_code.items()]
    emit(rows, ["code", "suggestions", "documents", "mean_score", "by"], fmt)
    verb = "Resumed" if result.resumed else "Finished"
    message(f"{verb} run {result.run_id}: {result.suggestions} new suggestion(s) in "
            f"{result.documents} document(s)" + (f", {result.skipped_documents} already done"
                                                  if result.skipped_documents else "")
            + ". Review them with `qcode review`.")


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _with_progress(project, options, run):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    total = len(options.documents) or project.db.execute(
        "SELECT count(*) FROM documents").fetchone()[0]
    with Progress(TextColumn("suggesting"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.description}"), console=Console(stderr=True),
                  transient=True) as progress:
        task = progress.add_task("", total=total)
        return run(project, options,
                   progress=lambda name, added: progress.update(task, advance=1,
                                                                description=name))


def train(
    ctx: typer.Context,
    coder: Annotated[str | None, typer.Option(help="Learn from this coder only "
                                              "(default: every coder).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed of the calibration folds, for "
                                      "reproducible models.")] = 0,
    fmt: FormatOption = Format.table,
) -> None:
    """Train the learned suggester on the project's codings (used by later `qcode suggest`).

    Positives are sentences a coder coded with a code; negatives are the other sentences
    of the documents they coded, and suggestions they rejected; each code's definition,
    include criteria and examples count as two more coded sentences. Scores are
    calibrated on held-out documents, where each code's threshold is chosen; the table
    shows what those held-out predictions achieved.
    """
    from qcode.nlp.models import train as run_train

    project = project_of(ctx)
    result = _staged_progress(lambda progress: run_train(project, coder=coder, seed=seed,
                                                         progress=progress))
    rows = []
    for path, n in sorted(result.positives.items()):
        held = result.held_out.get(path, {})
        predicted, tp, support = held.get("predicted", 0), held.get("tp", 0), held.get("support")
        rows.append({"code": path, "coded": n, "threshold": result.thresholds[path],
                     "held_out_precision": round(tp / predicted, 2) if predicted else None,
                     "held_out_recall": round(tp / support, 2) if support else None,
                     "definition": "yes" if path in result.seeded else "no"})
    emit(rows, ["code", "coded", "threshold", "held_out_precision", "held_out_recall",
                "definition"], fmt)
    message(f"Trained on {result.units} sentences; model {result.model_id} is now used by "
            "`qcode suggest`")


def _staged_progress(work):
    """Run work(progress) under a progress bar of its stages, on stderr."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("starting", total=None)

        def update(stage: str, done: int, total: int) -> None:
            progress.update(task, description=stage, completed=done, total=total)

        return work(update)


def evaluate(
    ctx: typer.Context,
    coder: Annotated[str | None, typer.Option(help="Compare with this coder's codings.")] = None,
    folds: Annotated[int | None, typer.Option(
        min=2, max=20, show_default=False,
        help="Cross-validation folds (by document) \\[default: 5, or the number of coded "
        "documents if fewer].")] = None,
    using: Using = "rules,fuzzy,model",
    unit: Annotated[str, typer.Option(help="segment (sentence) or turn.")] = "segment",
    codes: Annotated[list[str], typer.Option(
        "--codes", "-c", help="Only these codes and their sub-codes (repeatable).")] = [],  # noqa: B006
    rollup: Annotated[bool, typer.Option(
        "--rollup", help="Score each code as its top-level code (with --codes: as the code "
        "named), so a theme and its sub-codes are one label.")] = False,
    min_score: Annotated[float | None, typer.Option(
        min=0.0, max=1.0, show_default=False,
        help="One cut for every suggester \\[default: as `qcode suggest`].")] = None,
    seed: Annotated[int, typer.Option(help="Which split: the documents are shuffled by "
                                      "this seed and dealt into the folds.")] = 0,
    per_code: Annotated[bool, typer.Option("--per-code/--summary-only",
                                           help="Also list every code.")] = True,
    fmt: FormatOption = Format.table,
) -> None:
    """Measure each suggester against the human codings: precision, recall, F1.

    Every suggester is cross-validated by document: scored only on documents it did
    not learn from. `all` is what `qcode suggest` would store. With --format json the
    output is one object: summary, per-code scores and the split (document -> fold).
    """
    from qcode.nlp.evaluate import evaluate as run_evaluate

    if unit not in ("segment", "turn"):
        raise typer.BadParameter("segment or turn", param_hint="--unit")
    project = project_of(ctx)
    result = _staged_progress(lambda progress: run_evaluate(
        project, coder=coder, folds=folds, using=tuple(_split(using)), unit=unit,
        min_score=min_score, seed=seed, codes=codes or None, rollup=rollup,
        progress=progress))
    summary_columns = ["suggester", "unit", "units", "codes", "suggestions", "macro_precision",
                       "macro_recall", "macro_f1", "micro_precision", "micro_recall",
                       "micro_f1", "precision_top20"]
    code_columns = ["suggester", "code", "support", "predicted", "precision", "recall", "f1"]
    if fmt is Format.json:
        import json

        emit_text(json.dumps({"summary": result.summary,
                              "codes": [s.row() for s in result.scores],
                              "split": result.split, "folds": result.folds, "seed": seed},
                             ensure_ascii=False,
                             indent=2))
        return
    message(f"{result.folds}-fold cross-validation by document (seed {seed})")
    emit(result.summary, summary_columns, fmt, title="Summary")
    if per_code:
        emit([s.row() for s in result.scores], code_columns, fmt, title="Per code")


def review(
    ctx: typer.Context,
    code: Annotated[str | None, typer.Option("--code", "-c", help="Only this code "
                                             "(and sub-codes).")] = None,
    doc: Annotated[str | None, typer.Option("--doc", "-d", help="Only this document.")] = None,
    order: Annotated[str, typer.Option(help="uncertain (the codes take turns, each offering "
                                       "the suggestion nearest its threshold), score (surest "
                                       "first) or document.")] = "uncertain",
    accept_above: Annotated[float | None, typer.Option(
        help="Accept every pending suggestion scoring at least this, without asking.")] = None,
    reject_below: Annotated[float | None, typer.Option(
        help="Reject every pending suggestion scoring below this, without asking.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", "-n",
                                          help="With --accept-above/--reject-below: only "
                                          "list what would be decided.")] = False,
    coder: Annotated[str | None, typer.Option(help="Who decides.")] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Review suggestions one at a time, in context, or decide many by score.

    Keys in the loop (one press each, no Enter): a accept, r reject, s or Enter skip,
    j adjust the span (type a quote), c accept as another code, m memo on the passage,
    u undo, q quit; each decision is confirmed on one line. Every suggest.retrain_every
    decisions (qcode.yaml) the model learns from them in the background and the queue is
    re-ordered. Suggestions in interviewer turns are never accepted in bulk.
    """
    from qcode.review import ORDERS, bulk

    if order not in ORDERS:
        raise typer.BadParameter(", ".join(ORDERS), param_hint="--order")
    project = project_of(ctx)
    who = project.coder_name(coder)
    if accept_above is not None or reject_below is not None:
        if accept_above is not None and reject_below is not None:
            raise typer.BadParameter("use --accept-above or --reject-below, not both")
        result = bulk(project.db, coder=who, accept_above=accept_above,
                      reject_below=reject_below, code=code, document=doc, dry_run=dry_run,
                      interviewer_names=project.config.suggest.interviewer_names)
        emit([{"id": s["id"], "document": s["document"], "code": s["code"],
               "score": s["score"], "text": s["rationale"] if fmt is not Format.table
               else shorten(s["rationale"], 50)} for s in result.decided],
             ["id", "document", "code", "score", "text"], fmt)
        verb = f"would {result.action}" if dry_run else f"{result.action}ed"
        message(f"{len(result.decided)} suggestion(s) {verb}")
        if result.interviewer:
            message(f"{result.interviewer} suggestion(s) in interviewer turns left for you to "
                    "decide (never accepted in bulk)")
        if result.decided and not dry_run:
            message("Run `qcode train` for the model to learn from them.")
        return
    from qcode.cli.review_loop import run_loop

    run_loop(project, who, code=code, document=doc, order=order)


def register(app: typer.Typer) -> None:
    app.command(epilog="Example: qcode suggest --using rules,fuzzy --min-score 0.5")(suggest)
    app.command(epilog="Example: qcode train --coder anna")(train)
    app.command(epilog="Example: qcode evaluate --folds 5 --format json")(evaluate)
    app.command(epilog="Example: qcode review --code trust --order score")(review)

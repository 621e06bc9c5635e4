"""qcode excerpts, stats, crosstab, agree: what researchers do once codings exist."""

from __future__ import annotations

from typing import Annotated

import typer

from qcode.cli.common import paused_gc, project_of
from qcode.cli.output import (FORMAT_HELP, Format, emit, emit_columns, emit_text, message,
                              shorten)

CodeOpt = Annotated[str | None, typer.Option("--code", "-c", help="Only this code.")]
ChildrenOpt = Annotated[bool, typer.Option(help="With --code: include its sub-codes.")]
WhereOpt = Annotated[list[str], typer.Option(
    "--where", "-w", help="Document attribute filter: key=value, key!=value, key=a|b "
    "(repeatable).")]
CoderOpt = Annotated[list[str], typer.Option("--coder", help="Only these coders (repeatable).")]
DocOpt = Annotated[str | None, typer.Option("--doc", "-d", help="Only this document.")]
OriginOpt = Annotated[str | None, typer.Option(help="Only codings made manually, from "
                                               "suggestions, imported or by tag auto: manual, "
                                               "suggestion, import, auto.")]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help=FORMAT_HELP)]
QueryOpt = Annotated[str | None, typer.Option(
    "--query", "-q", help="Codes that meet on the same unit: AND, OR, NOT and parentheses "
    "over code names (a code includes its sub-codes), e.g. \"trust AND NOT distrust\".")]
NearOpt = Annotated[str | None, typer.Option(
    help="CODE,CODE:N: codings of either code within N sentences of a coding of the other.")]
UnitOpt = Annotated[str, typer.Option(help="With --query: sentence, turn or document.")]


def _scope(code, children, where, coder, doc, origin):
    from qcode.analysis.scope import ORIGINS, Scope
    from qcode.documents import parse_filters

    if origin and origin not in ORIGINS:
        raise typer.BadParameter(", ".join(ORIGINS), param_hint="--origin")
    return Scope(code, children, parse_filters(where), coder, doc, origin)


def excerpts(ctx: typer.Context, code: CodeOpt = None, children: ChildrenOpt = False,
             where: WhereOpt = [], coder: CoderOpt = [], doc: DocOpt = None,  # noqa: B006
             origin: OriginOpt = None,
             context: Annotated[int, typer.Option(min=0, max=20, help="Sentences of context "
                                                   "before and after.")] = 0,
             query: QueryOpt = None, near: NearOpt = None, unit: UnitOpt = "sentence",
             fmt: FormatOpt = Format.table) -> None:
    """Coded excerpts with document, speaker, attributes, code, coder and memo."""
    from qcode.analysis.excerpts import excerpt_columns

    db = project_of(ctx).db
    scope = _scope(code, children, where, coder, doc, origin)
    chosen = None
    if query is not None or near is not None:
        from qcode.analysis.query import matching_codings

        chosen = matching_codings(db, scope, query=query, near=near, unit=unit)
    with paused_gc():
        found = excerpt_columns(db, scope, context=context)
        if chosen is not None:
            keep = [i for i, coding in enumerate(found["id"]) if coding in chosen]
            found = {name: [values[i] for i in keep] for name, values in found.items()}
        columns = ["document", "segment", "speaker", "code", "coder", "text"]
        if fmt is Format.table:
            found["text"] = [shorten(text, 70) for text in found["text"]]
        else:
            columns = ["id", "document", "segment", "speaker", "attributes", "code", "coder",
                       "origin", "memo", "created", "start", "end", "text"]
            if context:
                columns += ["before", "after"]
        # as columns, not a dictionary per row: 130,000 excerpts (10,000 transcripts) in 1 s
        emit_columns(found, columns, fmt)
    message(f"{len(found['id'])} excerpt(s)")


def stats(ctx: typer.Context, code: CodeOpt = None, children: ChildrenOpt = False,
          where: WhereOpt = [], coder: CoderOpt = [], doc: DocOpt = None,  # noqa: B006
          origin: OriginOpt = None,
          by: Annotated[str | None, typer.Option(help="Split by a document attribute.")] = None,
          by_coder: Annotated[bool, typer.Option("--by-coder", help="Split by coder.")] = False,
          fmt: FormatOpt = Format.table) -> None:
    """Per code: excerpts, documents, speakers, words coded and % of documents.
    Parents count their sub-codes' codings as distinct things (never more than the
    number of documents)."""
    from qcode.analysis.frequencies import stats as run_stats

    rows = run_stats(project_of(ctx).db, _scope(code, children, where, coder, doc, origin),
                     by=by, by_coder=by_coder)
    split = [by] if by else (["coder"] if by_coder else [])
    emit(rows, ["code", *split, "excerpts", "documents", "speakers", "words",
                "percent_documents"], fmt)


def crosstab(ctx: typer.Context,
             cols: Annotated[str, typer.Option("--cols", help="Document attribute for the "
                                               "columns, e.g. role.")],
             unit: Annotated[str, typer.Option(help="Count excerpts, documents or "
                                               "speakers.")] = "excerpt",
             percent: Annotated[str | None, typer.Option(help="row or col percentages.")] = None,
             code: CodeOpt = None, children: ChildrenOpt = False, where: WhereOpt = [],  # noqa: B006
             coder: CoderOpt = [], doc: DocOpt = None, origin: OriginOpt = None,  # noqa: B006
             fmt: FormatOpt = Format.table) -> None:
    """Codes (rows, parents rolled up) against the values of a document attribute."""
    from qcode.analysis.frequencies import crosstab as run_crosstab

    if percent not in (None, "row", "col"):
        raise typer.BadParameter("row or col", param_hint="--percent")
    columns, rows = run_crosstab(project_of(ctx).db,
                                 _scope(code, children, where, coder, doc, origin),
                                 cols=cols, unit=unit, percent=percent)
    if fmt is Format.table:
        emit_crosstab(columns, rows, cols=cols, unit=unit, percent=percent)
    else:
        emit(rows, columns, fmt)


def emit_crosstab(columns: list[str], rows: list[dict], *, cols: str, unit: str,
                  percent: str | None, title: str | None = None) -> None:
    """A crosstab table whose headers and title say which cells are percentages and that
    the total column is a count (of excerpts, documents or speakers)."""
    noun = f"{unit}s"
    values = columns[1:-1]
    header = {"code": "code", "total": f"total {noun}"}
    if percent:
        header.update({v: f"{v} %" for v in values})
        share = (f"% of each {cols}'s {noun}" if percent == "col"
                 else f"% of the code's {noun} in each {cols}")
        caption = f"cells: {share} · total: number of {noun}"
    else:
        header.update({v: v for v in values})
        caption = f"cells: number of {noun} by {cols}"
    labelled = [{header[c]: row.get(c) for c in columns} for row in rows]
    emit(labelled, [header[c] for c in columns], Format.table,
         title=f"{title} — {caption}" if title else caption.capitalize())


def agree(ctx: typer.Context,
          coders: Annotated[str, typer.Option("--coders", help="Two or more coders: a,b[,c].")],
          unit: Annotated[str, typer.Option(help="segment (sentence) or char.")] = "segment",
          code: CodeOpt = None,
          where: WhereOpt = [], doc: DocOpt = None,  # noqa: B006
          disagreements: Annotated[bool, typer.Option(
              "--disagreements", help="List every unit where the coders differ.")] = False,
          fmt: FormatOpt = Format.table) -> None:
    """Intercoder agreement per code and overall: percent agreement, Cohen's kappa
    (two coders), Krippendorff's alpha (nominal), and the number of units."""
    from qcode.analysis.agreement import agreement
    from qcode.analysis.scope import documents_in_scope

    names = [c.strip() for c in coders.split(",") if c.strip()]
    db = project_of(ctx).db
    documents = (documents_in_scope(db, _scope(None, False, where, [], doc, None))
                 if where or doc else None)
    results, found = agreement(db, names, unit=unit, code=code, disagreements=disagreements,
                               documents=documents)
    if disagreements:
        rows = [{"document": d.document, "segment": d.segment, "start": d.start, "end": d.end,
                 "code": d.code, "coded_by": ", ".join(d.coded_by),
                 "not_by": ", ".join(d.not_by),
                 "text": shorten(d.text, 70) if fmt is Format.table else d.text} for d in found]
        emit(rows, ["document", "segment", "start", "end", "code", "coded_by", "not_by",
                    "text"], fmt)
        message(f"{len(rows)} disagreement(s)")
        return
    rows = [r.row() for r in results]
    columns = ["code", "units", "percent_agreement", "cohen_kappa", "krippendorff_alpha"]
    if fmt is not Format.table:
        emit(rows, columns, fmt)
        return
    emit_agreement(rows, columns, pair=len(names) == 2)


UNDEFINED = "n/a*"


def emit_agreement(rows: list[dict], columns: list[str], *, pair: bool) -> None:
    """The agreement table, with a footnote saying why a kappa or alpha is blank (beside
    an agreement of 1.0, which looks like a mistake without it)."""
    notes = []
    one_category = [r for r in rows if r["units"] and (
        (pair and r["cohen_kappa"] is None) or r["krippendorff_alpha"] is None)]
    for row in one_category:
        for column in ("cohen_kappa", "krippendorff_alpha"):
            if row[column] is None and (pair or column != "cohen_kappa"):
                row[column] = UNDEFINED
    if one_category:
        notes.append(f"{UNDEFINED} kappa and alpha are undefined when every unit falls in one "
                     "category (no coder applied the code, or all applied it to every unit): "
                     "agreement is then complete, but there is nothing to compare with "
                     "chance.")
    if not pair:
        notes.append("Cohen's kappa compares two coders; with more, read Krippendorff's "
                     "alpha.")
    emit(rows, columns, Format.table)
    if notes:
        emit_text("\n".join(notes))


def cooccur(ctx: typer.Context,
            unit: Annotated[str, typer.Option(help="segment, turn or document.")] = "segment",
            pairs: Annotated[bool, typer.Option("--pairs", help="List the pairs, most "
                                                "frequent first, with an example.")] = False,
            top: Annotated[int, typer.Option(help="With --pairs: how many.")] = 20,
            code: CodeOpt = None, children: ChildrenOpt = False, where: WhereOpt = [],  # noqa: B006
            coder: CoderOpt = [], doc: DocOpt = None, origin: OriginOpt = None,  # noqa: B006
            fmt: FormatOpt = Format.table) -> None:
    """How often codes occur together (counts and Jaccard) per sentence, turn or document."""
    from qcode.analysis.cooccurrence import cooccurrence, example_text, jaccard

    db = project_of(ctx).db
    codes, counts, together = cooccurrence(
        db, _scope(code, children, where, coder, doc, origin), unit=unit)
    if pairs or fmt is not Format.table:
        ranked = sorted(together.items(), key=lambda kv: (-kv[1][0], kv[0]))
        if pairs:
            ranked = ranked[:top]
        rows = [{"code_a": a, "code_b": b, "count": n, "jaccard": jaccard(counts, n, a, b),
                 **({"example": (shorten(example_text(db, key), 70) if fmt is Format.table
                                 else example_text(db, key))} if pairs else {})}
                for (a, b), (n, key) in ranked]
        emit(rows, ["code_a", "code_b", "count", "jaccard", *(["example"] if pairs else [])],
             fmt)
        return
    short = {c: c.rsplit("/", 1)[-1] for c in codes}
    rows = []
    for a in codes:
        row = {"code": a}
        for b in codes:
            key = (a, b) if a < b else (b, a)
            row[short[b]] = counts[a] if a == b else together.get(key, (0, None))[0]
        rows.append(row)
    emit(rows, ["code", *[short[c] for c in codes]], fmt)


def report(ctx: typer.Context,
           output: Annotated[str | None, typer.Option("--output", "-o", help="Where to write "
                                                      "(default: exports/report.html).")] = None,
           by: Annotated[str | None, typer.Option(help="Attribute for the frequency chart "
                                                  "(default: role, if present).")] = None,
           max_excerpts: Annotated[int, typer.Option(help="Excerpts shown per code.")] = 100,
           force: Annotated[bool, typer.Option("--force", help="Replace an existing "
                                               "file.")] = False,
           query: QueryOpt = None, near: NearOpt = None, unit: UnitOpt = "sentence") -> None:
    """Write one self-contained HTML report: codebook, frequencies chart, co-occurrence
    heatmap, intercoder agreement and excerpts per code (no scripts, no network). With
    --query/--near it quotes only the excerpts they select, as `qcode excerpts` does."""
    from qcode.export.report import write_report

    path = write_report(project_of(ctx), output, by=by, max_excerpts=max_excerpts, force=force,
                        query=query, near=near, unit=unit)
    message(f"Wrote {path} (contains interview excerpts; not encrypted)")


def register(app: typer.Typer) -> None:
    app.command(epilog="Example: qcode excerpts --code trust --children --where role=activist "
                "--context 1   or   qcode excerpts --query \"trust AND NOT distrust\" "
                "--near \"trust,loyalty:2\"")(excerpts)
    app.command(epilog="Example: qcode stats --by role --format csv")(stats)
    app.command(epilog="Example: qcode crosstab --code trust --children --cols role "
                "--unit document --percent col")(crosstab)
    app.command(epilog="Example: qcode agree --coders anna,boris --disagreements")(agree)
    app.command(epilog="Example: qcode cooccur --unit turn --pairs --top 10")(cooccur)
    app.command(epilog="Example: qcode report -o exports/trust-report.html --by region")(report)

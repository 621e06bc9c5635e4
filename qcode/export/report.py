"""`qcode report`: one self-contained HTML file (inline CSS and SVG; no scripts, no
network fetches) with the codebook, code frequencies by an attribute, a co-occurrence
heatmap, intercoder agreement and the excerpts per code. Every text is escaped."""

from __future__ import annotations

from html import escape
from pathlib import Path

from qcode.analysis.scope import Scope
from qcode.errors import QcodeError
from qcode.store.connection import read_snapshot
from qcode.store.records import now

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf"]
CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;color:#222;padding:0 1rem}
h1{margin-bottom:.2rem} .meta{color:#666} table{border-collapse:collapse;margin:1rem 0}
td,th{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:left;vertical-align:top}
.sw{display:inline-block;width:.8em;height:.8em;border-radius:2px;margin-right:.4em}
.note{background:#fff5d6;border-left:4px solid #e0b000;padding:.5rem 1rem}
blockquote{margin:.4rem 0 .8rem;padding:.2rem .8rem;border-left:3px solid #ccc}
.who{color:#666;font-size:.9em} svg text{font:12px system-ui,sans-serif}
"""


def _codes(db) -> list[dict]:
    return [dict(r) for r in db.query(
        "SELECT id, path, key, color, description, include, exclude FROM codes "
        "WHERE status = 'active' ORDER BY position, path")]


def _bar_chart(rows: list[dict], by: str) -> str:
    """Grouped horizontal bars: % of documents per code for each attribute value."""
    values = sorted({r[by] for r in rows})
    codes = list(dict.fromkeys(r["code"] for r in rows))
    if not codes or not values:
        return "<p>No codings to chart.</p>"
    bar, gap, label_w, width = 12, 10, 260, 420
    height = len(codes) * (len(values) * bar + gap) + 40
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + width + 80}" '
             f'height="{height}" role="img" aria-label="code frequencies by {escape(by)}">']
    lookup = {(r["code"], r[by]): r["percent_documents"] for r in rows}
    y = 10
    for code in codes:
        parts.append(f'<text x="{label_w - 8}" y="{y + bar * len(values) / 2 + 4}" '
                     f'text-anchor="end">{escape(code)}</text>')
        for i, value in enumerate(values):
            pct = lookup.get((code, value), 0.0)
            parts.append(f'<rect x="{label_w}" y="{y}" width="{width * pct / 100:.1f}" '
                         f'height="{bar - 2}" fill="{PALETTE[i % len(PALETTE)]}">'
                         f'<title>{escape(code)} · {escape(value)}: {pct}%</title></rect>')
            parts.append(f'<text x="{label_w + width * pct / 100 + 4:.1f}" y="{y + bar - 3}">'
                         f'{pct:g}%</text>')
            y += bar
        y += gap
    legend_x = label_w
    for i, value in enumerate(values):
        parts.append(f'<rect x="{legend_x}" y="{y + 4}" width="10" height="10" '
                     f'fill="{PALETTE[i % len(PALETTE)]}"/><text x="{legend_x + 14}" '
                     f'y="{y + 13}">{escape(value)}</text>')
        legend_x += 14 + 8 * len(value) + 20
    parts.append("</svg>")
    return "".join(parts)


def _heatmap(codes: list[str], counts, pairs) -> str:
    from qcode.analysis.cooccurrence import jaccard

    if len(codes) < 2:
        return "<p>Fewer than two codes in use: nothing co-occurs.</p>"
    cell, label_w = 22, 240
    size = label_w + cell * len(codes) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
             'role="img" aria-label="co-occurrence heatmap (Jaccard)">']
    for i, code in enumerate(codes):
        parts.append(f'<text x="{label_w - 6}" y="{label_w + i * cell + 15}" '
                     f'text-anchor="end">{escape(code)}</text>')
        parts.append(f'<text transform="translate({label_w + i * cell + 15},{label_w - 6}) '
                     f'rotate(-60)">{escape(code)}</text>')
    for i, a in enumerate(codes):
        for j, b in enumerate(codes):
            if a == b:
                value, both = 1.0, counts[a]
            else:
                both = pairs.get((a, b) if a < b else (b, a), (0, None))[0]
                value = jaccard(counts, both, a, b)
            shade = int(255 - 200 * value)
            parts.append(f'<rect x="{label_w + j * cell}" y="{label_w + i * cell}" '
                         f'width="{cell - 1}" height="{cell - 1}" '
                         f'fill="rgb({shade},{shade},255)"><title>{escape(a)} + {escape(b)}: '
                         f'{both} units, Jaccard {value:.2f}</title></rect>')
    parts.append("</svg>")
    return "".join(parts)


def build_report(project, *, by: str | None = None, max_excerpts: int = 100,
                 query: str | None = None, near: str | None = None,
                 unit: str = "sentence") -> str:
    """The report's HTML. *query* / *near* (as `qcode excerpts --query/--near`, over
    *unit*) choose which excerpts it quotes; the rest of the report covers every coding."""
    with read_snapshot(project.db):  # every section from one state of the project
        return _build_report(project, by=by, max_excerpts=max_excerpts, query=query,
                             near=near, unit=unit)


def _build_report(project, *, by: str | None, max_excerpts: int, query: str | None,
                  near: str | None, unit: str) -> str:
    from qcode.analysis.agreement import agreement
    from qcode.analysis.cooccurrence import cooccurrence
    from qcode.analysis.excerpts import excerpt_rows
    from qcode.analysis.frequencies import stats

    db = project.db
    only = None
    if query is not None or near is not None:
        from qcode.analysis.query import matching_codings

        only = matching_codings(db, Scope(), query=query, near=near, unit=unit)
    codes = _codes(db)
    if by is None:
        by = "role" if db.execute("SELECT 1 FROM attributes WHERE key = 'role'").fetchone() \
            else None
    counts = {k: db.execute(f"SELECT count(*) FROM {k}").fetchone()[0]
              for k in ("documents", "codings", "coders")}
    html = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(project.config.name)} — qcode report</title>"
            f"<style>{CSS}</style></head><body>",
            f"<h1>{escape(project.config.name)}</h1>",
            f"<p class=\"meta\">qcode report, {escape(now())} · {counts['documents']} documents · "
            f"{len(codes)} codes · {counts['codings']} codings · {counts['coders']} coders</p>",
            "<p class=\"note\">This report quotes interview excerpts. Handle it as "
            "confidentially as the transcripts themselves; it is not encrypted.</p>",
            "<h2>Codebook</h2><table><tr><th>Code</th><th>Key</th><th>Definition</th>"
            "<th>Include</th><th>Exclude</th></tr>"]
    for i, code in enumerate(codes):
        color = code["color"] or PALETTE[i % len(PALETTE)]
        html.append(f"<tr><td><span class=\"sw\" style=\"background:{escape(color)}\"></span>"
                    f"{escape(code['path'])}</td><td>{escape(code['key'] or '')}</td>"
                    f"<td>{escape(code['description'])}</td>"
                    f"<td>{escape(code['include']).replace(chr(10), '<br>')}</td>"
                    f"<td>{escape(code['exclude']).replace(chr(10), '<br>')}</td></tr>")
    html.append("</table>")
    if by:
        html.append(f"<h2>Code frequencies by {escape(by)}</h2><p>Share of documents with "
                    f"each code (sub-codes included), per value of <em>{escape(by)}</em>.</p>")
        html.append(_bar_chart(stats(db, Scope(), by=by), by))
    else:
        html.append("<h2>Code frequencies</h2><table><tr><th>Code</th><th>Excerpts</th>"
                    "<th>Documents</th><th>% of documents</th></tr>")
        for row in stats(db, Scope()):
            html.append(f"<tr><td>{escape(row['code'])}</td><td>{row['excerpts']}</td>"
                        f"<td>{row['documents']}</td><td>{row['percent_documents']}</td></tr>")
        html.append("</table>")
    used, occurrences, pairs = cooccurrence(db, Scope(), unit="segment")
    html.append("<h2>Co-occurrence</h2><p>Jaccard index of codes applied to the same sentence."
                "</p>" + _heatmap(used, occurrences, pairs))
    coders = [r[0] for r in db.execute("SELECT DISTINCT k.name FROM codings c JOIN coders k "
                                       "ON k.id = c.coder_id ORDER BY k.name")]
    if len(coders) >= 2:
        html.append(f"<h2>Intercoder agreement</h2><p>Coders: {escape(', '.join(coders))}; "
                    "units: sentences of the documents every one of them coded.</p>")
        try:
            results, _ = agreement(db, coders)
            html.append("<table><tr><th>Code</th><th>Units</th><th>Agreement</th>"
                        "<th>Cohen's κ</th><th>Krippendorff's α</th></tr>")
            for r in (x.row() for x in results):
                fmt = lambda v: "—" if v is None else f"{v:.3f}"  # noqa: E731
                html.append(f"<tr><td>{escape(r['code'])}</td><td>{r['units']}</td>"
                            f"<td>{fmt(r['percent_agreement'])}</td><td>{fmt(r['cohen_kappa'])}"
                            f"</td><td>{fmt(r['krippendorff_alpha'])}</td></tr>")
            html.append("</table>")
        except QcodeError as exc:
            html.append(f"<p>{escape(str(exc))}.</p>")
    chosen = [f"--query {query}" if query is not None else "",
              f"--near {near}" if near is not None else "",
              f"--unit {unit}" if only is not None and unit != "sentence" else ""]
    chosen = " ".join(c for c in chosen if c)
    html.append("<h2>Excerpts per code</h2>")
    if only is not None:
        html.append(f"<p class=\"meta\">Only the excerpts that <code>{escape(chosen)}</code> "
                    f"selects: {len(only)}.</p>")
    first, totals = _first_excerpts(db, [code["id"] for code in codes], max_excerpts, only)
    rows_of: dict[int, list[dict]] = {}
    for row in excerpt_rows(db, Scope(), ids=sorted(i for ids in first.values() for i in ids)):
        rows_of.setdefault(row["code_id"], []).append(row)
    for code in codes:
        rows = rows_of.get(code["id"], [])
        if not rows:
            continue
        total = totals[code["id"]]
        html.append(f"<h3>{escape(code['path'])} <span class=\"meta\">({total})</span></h3>")
        for row in rows:
            who = " · ".join(escape(str(x)) for x in (row["document"], row["speaker"],
                                                       row["coder"]) if x)
            html.append(f"<blockquote>{escape(row['text'])}<div class=\"who\">{who}</div>"
                        "</blockquote>")
        if total > len(rows):
            html.append(f"<p class=\"meta\">…and {total - len(rows)} more "
                        f"(see <code>qcode excerpts --code {escape(code['path'])}"
                        f"{' ' + escape(chosen) if chosen else ''}</code>).</p>")
    html.append("</body></html>")
    return "\n".join(html)


def _first_excerpts(db, code_ids: list[int], limit: int, only: set[int] | None = None
                    ) -> tuple[dict[int, list[int]], dict[int, int]]:
    """Per code, the ids of its first *limit* codings in the order `qcode excerpts` lists
    them (document name, start, end, id; a negative limit: all), and how many it has
    (of the codings in *only*, when given).
    From the analyses' columns in one pass, instead of sorting every code's codings in
    SQL (and counting them) once per code."""
    import numpy as np

    from qcode.analysis.frame import coding_columns

    ids, revision, start, end, code, _ = coding_columns(db)[:6]
    if only is not None:
        keep = np.isin(ids, np.fromiter(only, dtype=np.int64, count=len(only)))
        ids, revision, start, end, code = (a[keep] for a in (ids, revision, start, end, code))
    # every revision of a document ranks as the document, by name
    by_name = np.array(db.execute("SELECT r.id, d.id FROM revisions r JOIN documents d ON "
                                  "d.id = r.document_id ORDER BY d.name").fetchall(),
                       dtype=np.int64).reshape(-1, 2)
    rank = np.zeros(int(max(revision.max(initial=0), by_name[:, 0].max(initial=0))) + 1,
                    dtype=np.int64)
    changed = np.ones(len(by_name), dtype=np.int64)
    changed[1:] = by_name[1:, 1] != by_name[:-1, 1]
    rank[by_name[:, 0]] = np.cumsum(changed)
    order = np.lexsort((ids, end, start, rank[revision], code))
    code, ids = code[order], ids[order]
    first, totals = {}, {}
    for code_id in code_ids:
        lo, hi = np.searchsorted(code, [code_id, code_id + 1])
        totals[code_id] = int(hi - lo)
        first[code_id] = ids[lo:hi if limit < 0 else min(hi, lo + limit)].tolist()
    return first, totals


def write_report(project, path: str | Path | None = None, *, by: str | None = None,
                 max_excerpts: int = 100, force: bool = False, query: str | None = None,
                 near: str | None = None, unit: str = "sentence") -> Path:
    from qcode.export.files import atomic_output

    target = Path(path) if path else project.exports_dir / "report.html"
    html = build_report(project, by=by, max_excerpts=max_excerpts, query=query, near=near,
                        unit=unit)  # a bad query fails before any file is touched
    with atomic_output(target, force=force) as f:
        f.write(html)
    return target

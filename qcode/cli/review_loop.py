"""The interactive review loop: one suggestion at a time, in context (stderr/stdin)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from qcode.errors import QcodeError

KEYS = "[a]ccept [r]eject [s]kip [j] adjust span [c] other code [m] memo [u]ndo [q]uit"


def run_loop(project, coder: str, *, code=None, document=None, order="uncertain") -> None:
    from qcode.history import undo
    from qcode.nlp.active import Learner
    from qcode.review import queue
    from qcode.suggestions import accept, reject

    db = project.db
    console = Console(stderr=True, highlight=False)
    names = project.config.suggest.interviewer_names

    def pending():
        return queue(db, code=code, document=document, order=order, interviewer_names=names)

    items = pending()
    if not items:
        console.print("No pending suggestions. Run `qcode suggest` first.")
        return
    learner = Learner(project)
    decided: list[dict] = []
    counts = {"accepted": 0, "rejected": 0, "skipped": 0}
    i = 0
    while i < len(items):
        update = learner.poll()
        if update is not None:
            items = items[:i] + _reranked(pending(), items[:i])
            console.print(_update_line(update), style="dim")
            if i >= len(items):
                break
        item = items[i]
        _show(console, db, item, i + 1, len(items))
        try:
            answer = console.input("> ").strip().lower()[:1]
        except EOFError:  # input ended (a pipe, or ctrl+d): stop as if 'q'
            answer = "q"
        try:
            if answer == "a":
                accept(db, item["id"], coder=coder)
                counts["accepted"] += 1
            elif answer == "r":
                reject(db, item["id"], coder=coder)
                counts["rejected"] += 1
            elif answer == "s" or answer == "":
                counts["skipped"] += 1
            elif answer == "j":
                start, end = _adjust(console, db, item)
                accept(db, item["id"], coder=coder, start=start, end=end)
                counts["accepted"] += 1
            elif answer == "c":
                accept(db, item["id"], coder=coder, code_id=_other_code(console, db))
                counts["accepted"] += 1
            elif answer == "m":
                from qcode.memos import add_memo

                text = console.input("memo> ").strip()
                if text:
                    add_memo(db, text, coder=coder, document=item["document"])
                continue
            elif answer == "u":
                if not decided:
                    console.print("nothing to undo in this session")
                    continue
                undo(db, coder=coder)
                learner.decided()
                back = decided.pop()
                counts[back["outcome"]] -= 1
                i = back["index"]
                continue
            elif answer == "q":
                break
            else:
                console.print(escape(KEYS))
                continue
        except QcodeError as exc:
            console.print(f"[red]{escape(str(exc))}[/red]")
            continue
        if answer != "s" and answer != "":
            outcome = "rejected" if answer == "r" else "accepted"
            decided.append({"index": i, "outcome": outcome})
            learner.decided()
        i += 1
    console.print(f"{counts['accepted']} accepted, {counts['rejected']} rejected, "
                  f"{counts['skipped']} skipped; {len(items) - i} left in the queue")
    if learner.running():
        console.print("Finishing the model update from your decisions…", style="dim")
        update = learner.wait()
        if update is not None:
            console.print(_update_line(update), style="dim")


def _reranked(fresh: list[dict], seen: list[dict]) -> list[dict]:
    """The pending queue in its new order, without what this session has shown."""
    shown = {item["id"] for item in seen}
    return [item for item in fresh if item["id"] not in shown]


def _update_line(update) -> str:
    if update.error:
        return f"(the model could not learn yet: {update.error})"
    return (f"(learnt from your decisions: model {update.model_id}; {update.rescored} "
            "suggestion(s) scored again, the queue re-ordered)")


def _show(console: Console, db, item: dict, position: int, total: int) -> None:
    from qcode.review import context

    ctx = context(db, item)
    definition = db.execute("SELECT description FROM codes WHERE id = ?",
                            [item["code_id"]]).fetchone()[0]
    where = " · interviewer turn" if item.get("interviewer") else ""
    console.rule(f"{position}/{total} · {escape(item['document'])} · sentence "
                 f"{ctx['number']}{where}")
    for line in ctx["lines"]:
        who = escape(line["speaker"] or "—")
        text = escape(line["text"])
        if line["current"]:
            console.print(f"[bold]{who}: {text}[/bold]")
        else:
            console.print(f"[dim]{who}: {text}[/dim]")
    console.print(f"Suggested [bold]{escape(item['code'])}[/bold] {item['score']:.2f} "
                  f"({escape(item['suggester'])}): {escape(item['rationale'])}")
    if definition:
        console.print(f"[italic]{escape(definition)}[/italic]")
    console.print(escape(KEYS), style="dim")


def _adjust(console: Console, db, item: dict) -> tuple[int, int]:
    from qcode.locate import find_quote

    text = db.execute("SELECT text FROM revisions WHERE id = ?",
                      [item["revision_id"]]).fetchone()[0]
    quote = console.input("quote to code> ").strip()
    hit = find_quote(text[item["start"]:item["end"]], quote)
    return item["start"] + hit.start, item["start"] + hit.end


def _other_code(console: Console, db) -> int:
    from qcode.codes import resolve_code

    return resolve_code(db, console.input("code> ").strip())["id"]

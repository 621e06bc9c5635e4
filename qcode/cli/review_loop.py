"""The interactive review loop: one suggestion at a time, in context (stderr/stdin).

On a terminal each decision is one key press, as in the coding screen; from a pipe (a
script, a test) each line is one key."""

from __future__ import annotations

import os
import sys

from rich.console import Console
from rich.markup import escape

from qcode.errors import QcodeError

KEYS = "[a]ccept [r]eject [s]kip [j] adjust span [c] other code [m] memo [u]ndo [q]uit"


def read_key(stream=None) -> str:
    """One key, lowercased: from a terminal without waiting for Enter (Enter gives '',
    ctrl+c, ctrl+d and Escape 'q'); from anything else the first letter of a line.
    Raises EOFError when the input has ended."""
    stream = sys.stdin if stream is None else stream
    try:
        fd = stream.fileno()
        terminal = os.isatty(fd)
    except (AttributeError, OSError, ValueError):  # a StringIO, CliRunner's input
        terminal = False
    if not terminal:
        line = stream.readline()
        if not line:
            raise EOFError
        return line.strip().lower()[:1]
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd, termios.TCSANOW)  # keep what was typed ahead
        first = os.read(fd, 1)
        if first == b"\x1b":  # Escape quits; an arrow or function key's sequence is no key
            return "?" if _drain(fd) else "q"
        if first >= b"\x80":  # the rest of a UTF-8 letter
            need = 1 if first < b"\xe0" else 2 if first < b"\xf0" else 3
            first += os.read(fd, need)
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
    if not first or first in (b"\x00", b"\x03", b"\x04"):  # ctrl+d typed ahead reads as NUL
        return "q"
    key = first.decode("utf-8", "replace")
    return "" if key in ("\r", "\n") else key.lower()


def _drain(fd: int) -> bool:
    """Read what else is waiting (the rest of an escape sequence); True if anything was."""
    import select

    more = False
    while select.select([fd], [], [], 0.02)[0]:
        if not os.read(fd, 16):
            break
        more = True
    return more


def run_loop(project, coder: str, *, code=None, document=None, order="uncertain") -> None:
    from qcode.history import undo
    from qcode.nlp.active import Learner
    from qcode.review import memo_on_passage, place, queue
    from qcode.suggestions import accept, reject

    db = project.db
    console = Console(stderr=True, highlight=False)
    names = project.config.suggest.interviewer_names

    def pending():
        return queue(db, code=code, document=document, order=order, interviewer_names=names)

    def said(text: str) -> None:
        console.print(escape(text))

    items = pending()
    if not items:
        console.print("No pending suggestions. Run `qcode suggest` first.")
        return
    learner = Learner(project)
    done: list[dict] = []  # this session's undoable steps: decisions and memos
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
        where = f"{item['code']} → {place(item)}"
        _show(console, db, item, i + 1, len(items))
        console.print("> ", end="")
        try:
            answer = read_key()
        except (EOFError, KeyboardInterrupt):  # input ended (a pipe, ctrl+d): as if 'q'
            answer = "q"
        console.print(answer or "enter")  # ends the prompt line
        try:
            if answer == "a":
                accept(db, item["id"], coder=coder)
                said(f"accepted {where}")
            elif answer == "r":
                reject(db, item["id"], coder=coder)
                said(f"rejected {where}")
            elif answer == "s" or answer == "":
                counts["skipped"] += 1
                said(f"skipped {where}")
            elif answer == "j":
                start, end = _adjust(console, db, item)
                accept(db, item["id"], coder=coder, start=start, end=end)
                quote = _shorten(_text(db, item, start, end))
                said(f"accepted {item['code']} → {place(item)}, only “{quote}”")
            elif answer == "c":
                other = _other_code(console, db)
                accept(db, item["id"], coder=coder, code_id=other["id"])
                said(f"accepted as {other['path']} (not {item['code']}) → {place(item)}")
            elif answer == "m":
                text = console.input("memo> ").strip()
                if text:
                    memo = memo_on_passage(db, item, text, coder=coder)
                    done.append({"index": i, "outcome": None, "what": f"memo {memo}"})
                    said(f"memo {memo} on the passage {place(item)} "
                         f"(“{_shorten(_text(db, item, item['start'], item['end']))}”), "
                         "not on a coding; it stays whatever you decide")
                else:
                    said("empty memo; nothing saved")
                continue
            elif answer == "u":
                if not done:
                    said("nothing to undo in this session")
                    continue
                undo(db, coder=coder)
                back = done.pop()
                if back["outcome"] is not None:
                    learner.decided()
                    counts[back["outcome"]] -= 1
                said(f"undid: {back['what']}")
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
            counts[outcome] += 1
            done.append({"index": i, "outcome": outcome, "what": f"{outcome} {where}"})
            learner.decided()
        i += 1
    console.print(f"{counts['accepted']} accepted, {counts['rejected']} rejected, "
                  f"{counts['skipped']} skipped; {len(items) - i} left in the queue")
    if learner.running():
        console.print("Finishing the model update from your decisions…", style="dim")
        update = learner.wait()
        if update is not None:
            console.print(_update_line(update), style="dim")


def _text(db, item: dict, start: int, end: int) -> str:
    text = db.execute("SELECT text FROM revisions WHERE id = ?",
                      [item["revision_id"]]).fetchone()[0]
    return text[start:end]


def _shorten(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"


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


def _other_code(console: Console, db) -> dict:
    from qcode.codes import resolve_code

    return resolve_code(db, console.input("code> ").strip())

"""The keyboard coding screen: `qcode code DOC`.

Every action calls the core and is committed at once in its own transaction, so
quitting, a crash or a power cut loses nothing. Keys (also in the footer):

  ↑/↓ PgUp/PgDn   move            tab   next segment you have not coded
  :               jump to number  /     search text (matches listed, ↑↓ enter jumps)
  a code's key    apply / remove  ?     find a code (codes listed, ↑↓ enter applies/removes)
  ( )             narrow the span by a word from the left / right
  "               narrow to a typed quote        esc   whole segment again
  ;               memo (on your coding, else the passage)
  enter / backspace   accept / reject suggestion (coding it by key accepts it too)
  ctrl+z          undo            ctrl+q              quit
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import (Footer, Header, Input, Label, ListItem, ListView, OptionList, Static,
                             Tree)
from textual.widgets.option_list import Option

from qcode.errors import QcodeError

RESERVED = set(':/?"();')
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf"]


@dataclass
class Segment:
    number: int
    start: int
    end: int
    speaker: str | None
    turn: int
    text: str


Choice = tuple[str, object]  # (what the list shows, what Enter returns)


class Prompt(ModalScreen):
    """One line of input; Enter returns it, Escape returns None.

    With *matcher* (text -> choices) the choices matching what is typed are listed under
    the input as you type; ↑/↓ move through them and Enter returns the highlighted one's
    value (None when nothing matches). *start* picks the choice highlighted first."""

    BINDINGS = [Binding("escape", "cancel", "cancel"),
                Binding("down", "choice(1)", show=False),
                Binding("up", "choice(-1)", show=False)]

    def __init__(self, title: str, value: str = "", matcher=None, start=None):
        super().__init__()
        self.title_text, self.value, self.matcher, self.start = title, value, matcher, start
        self.found: list[Choice] = []
        self.typed, self.submitted = value, False

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt"):
            yield Label(Text(self.title_text))
            yield Input(value=self.value, id="prompt-input")
            if self.matcher is not None:
                yield Label("", id="prompt-count")
                yield OptionList(id="prompt-choices")

    def on_mount(self) -> None:
        if self.matcher is not None:
            self._list(self.value)

    def on_input_changed(self, event: Input.Changed) -> None:
        self.typed = event.value
        if self.matcher is not None:
            self._list(event.value)

    def _list(self, value: str) -> None:
        self.found = self.matcher(value)
        choices = self.query_one("#prompt-choices", OptionList)
        choices.clear_options()
        choices.add_options([Option(Text(label)) for label, _ in self.found])  # no markup
        count = len(self.found)
        self.query_one("#prompt-count", Label).update(
            "no matches" if not count else f"{count} match{'es' if count != 1 else ''}"
            + (" · ↑↓ choose, enter takes the highlighted one" if count > 1 else ""))
        if count:
            first = self.start(self.found) if self.start else 0
            choices.highlighted = first

    def action_choice(self, step: int) -> None:
        if self.matcher is None or not self.found:
            return
        choices = self.query_one("#prompt-choices", OptionList)
        now = choices.highlighted or 0
        choices.highlighted = max(0, min(len(self.found) - 1, now + step))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.submitted = True
        if self.matcher is None:
            self.dismiss(event.value)
            return
        highlighted = self.query_one("#prompt-choices", OptionList).highlighted
        self.dismiss(self.found[highlighted][1] if self.found and highlighted is not None
                     else None)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.found[event.option_index][1])  # a click on a choice

    def action_cancel(self) -> None:
        self.dismiss(None)


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"


def rank_codes(codes: list[dict], typed: str) -> list[dict]:
    """The codes a typed name most likely means, best first: the code named exactly, then
    names and path parts that start with it, then those containing it, then close
    spellings (rapidfuzz); every code when nothing is typed."""
    from rapidfuzz import fuzz

    typed = typed.strip().casefold()
    if not typed:
        return list(codes)

    def rank(code: dict) -> tuple[int, float] | None:
        path, name = code["path"].casefold(), code["name"].casefold()
        parts = path.split("/")
        if typed in (path, name) or typed == (code["key"] or "").casefold():
            return (0, 0.0)
        if any(part.startswith(typed) for part in parts) or path.startswith(typed):
            return (1, 0.0)
        if typed in path:
            return (2, 0.0)
        score = max(fuzz.ratio(typed, part) for part in parts)
        return (3, -score) if score >= 60 else None

    ranked = [(r, i, c) for i, c in enumerate(codes) if (r := rank(c)) is not None]
    return [c for _, _, c in sorted(ranked, key=lambda x: (x[0], x[1]))]


class CodingApp(App):
    CSS = """
    #transcript { width: 2fr; }
    #side { width: 1fr; min-width: 30; border-left: solid $primary; }
    #codebook { height: 1fr; }
    #definition { height: auto; max-height: 12; padding: 0 1; border-top: solid $primary; }
    #detail { height: auto; max-height: 10; padding: 0 1; border-top: solid $primary; }
    ListItem { padding: 0 1; }
    #prompt { width: 90; height: auto; border: thick $primary; background: $surface;
              padding: 1 2; }
    #prompt-choices { height: auto; max-height: 14; }
    Prompt { align: center middle; }
    #status { height: 1; padding: 0 1; background: $panel; }
    #status.error { color: $error; text-style: bold; }
    """
    BINDINGS = [
        # priority: the transcript's own PgUp/PgDn would scroll without moving the cursor
        Binding("pagedown", "move(10)", "", show=False, priority=True),
        Binding("pageup", "move(-10)", "", show=False, priority=True),
        Binding("tab", "next_uncoded", "next uncoded", priority=True),
        Binding("colon", "jump", "jump"),
        Binding("slash", "search", "search"),
        Binding("question_mark", "find_code", "find code"),
        Binding("left_parenthesis", "narrow('left')", "narrow", show=False),
        Binding("right_parenthesis", "narrow('right')", "", show=False),
        Binding("quotation_mark", "narrow_quote", "quote"),
        Binding("escape", "whole_segment", "", show=False),
        Binding("semicolon", "memo", "memo"),
        Binding("backspace", "reject", "reject"),
        Binding("ctrl+z", "undo", "undo"),
        Binding("ctrl+q", "quit", "quit"),
    ]

    def __init__(self, project, document: str, coder: str):
        super().__init__()
        from qcode.documents import resolve_document

        self.project, self.db, self.coder = project, project.db, coder
        self.doc = resolve_document(self.db, document)
        self.segments = self._load_segments()
        if not self.segments:
            raise QcodeError(f"document {self.doc['name']!r} has no segments")
        self.codes = [dict(r) for r in self.db.query(
            "SELECT id, guid, path, name, key, color, description, include, exclude, parent_id "
            "FROM codes WHERE status = 'active' ORDER BY position, path")]
        for i, code in enumerate(self.codes):
            code["color"] = code["color"] or PALETTE[i % len(PALETTE)]
        self.by_key = {c["key"]: c for c in self.codes if c["key"] and c["key"] not in RESERVED}
        self.index = 0
        self.selection: tuple[int, int] | None = None
        self.codings: list[dict] = []
        self.suggestions: list[dict] = []
        self.memos: list[dict] = []
        self.search_text = ""
        self.nodes: dict = {}
        self.shown_code: dict | None = None

    # -- data ---------------------------------------------------------------------------
    def _load_segments(self) -> list[Segment]:
        from qcode.documents import document_segments

        return [Segment(s["number"], s["start"], s["end"], s["speaker"], s["turn"], s["text"])
                for s in document_segments(self.db, self.doc["id"])]

    def _reload_codings(self) -> None:
        from qcode.coding import CodingFilter, list_codings
        from qcode.suggestions import pending_for

        revision = self.doc["revision_id"]
        self.codings = [c for c in list_codings(self.db, CodingFilter(document=self.doc["name"]))
                        if c["revision_id"] == revision]  # flagged ones stay on older text
        self.suggestions = pending_for(self.db, revision)
        self.memos = [dict(r) for r in self.db.query(  # memos on passages, as from `review`
            "SELECT m.id, m.start, m.\"end\", m.text, k.name AS coder FROM memos m "
            "LEFT JOIN coders k ON k.id = m.coder_id WHERE m.revision_id = ? AND "
            "m.target = 'document' AND m.start IS NOT NULL ORDER BY m.id", [revision])]

    def _overlapping(self, items, start: int, end: int) -> list[dict]:
        return [i for i in items if i["start"] < end and i["end"] > start]

    @property
    def segment(self) -> Segment:
        return self.segments[self.index]

    @property
    def span(self) -> tuple[int, int]:
        return self.selection or (self.segment.start, self.segment.end)

    # -- layout -------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            yield ListView(*[ListItem(Static(id=f"seg-{i}")) for i in range(len(self.segments))],
                           id="transcript")
            with Vertical(id="side"):
                yield Tree("Codebook", id="codebook")
                yield Static(id="definition")
                yield Static(id="detail")
        yield Static(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.title = self.doc["name"]
        self.sub_title = f"coder {self.coder} · revision {self.doc['revision']}"
        tree = self.query_one(Tree)
        tree.root.expand()
        nodes = {None: tree.root}
        parents = {c["parent_id"] for c in self.codes}
        for code in self.codes:
            label = Text.assemble((f"[{code['key']}] " if code["key"] else "    ", "bold"),
                                  (code["name"], code["color"]))
            parent = nodes.get(code["parent_id"], tree.root)
            if code["id"] in parents:
                nodes[code["id"]] = parent.add(label, data=code, expand=True)
            else:
                nodes[code["id"]] = parent.add_leaf(label, data=code)
        self.nodes = nodes
        self._reload_codings()
        self._render_all()
        transcript = self.query_one(ListView)
        transcript.index = 0
        transcript.focus()
        self._show_detail()
        here = self._code_here()
        if here or self.codes:
            self.call_after_refresh(self.highlight_code, here or self.codes[0])
        from qcode.nlp.active import Learner

        self.learner = Learner(self.project)  # decisions here teach the model too
        self.set_interval(1.0, self._learnt)

    def on_unmount(self) -> None:
        learner = getattr(self, "learner", None)
        if learner is not None:
            learner.wait()  # a model update in progress is finished, not cut off

    def _learnt(self) -> None:
        """A model update from this session's decisions has finished: show new scores."""
        update = self.learner.poll()
        if update is not None:
            self.notify_status(f"the model learnt from your decisions (model {update.model_id})"
                               if not update.error else f"the model could not learn: "
                               f"{update.error}", error=bool(update.error))
            self._refresh(everything=True)

    def _label(self, code_id: int) -> tuple[str, str]:
        code = next((c for c in self.codes if c["id"] == code_id), None)
        return (code["name"], code["color"]) if code else ("?", "white")

    def _render(self, i: int) -> None:
        seg = self.segments[i]
        line = Text()
        line.append(f"{seg.number:>4} ", style="dim")
        first_of_turn = i == 0 or self.segments[i - 1].turn != seg.turn
        line.append(f"{(seg.speaker or '—') if first_of_turn else '':<12.12} ", style="bold")
        body = Text(seg.text)
        if i == self.index and self.selection:
            body.stylize("reverse", self.selection[0] - seg.start, self.selection[1] - seg.start)
        line.append_text(body)
        for coding in self._overlapping(self.codings, seg.start, seg.end):
            path = coding["code"]
            code = next((c for c in self.codes if c["path"] == path), None)
            color = code["color"] if code else "white"
            partial = "~" if (coding["start"], coding["end"]) != (seg.start, seg.end) else ""
            memo = "✎" if coding["memo"] else ""
            line.append(f"  ■{partial}{path.rsplit('/', 1)[-1]}{memo}", style=f"bold {color}")
            if coding["coder"] != self.coder:
                line.append(f"({coding['coder']})", style="dim")
        for sug in self._overlapping(self.suggestions, seg.start, seg.end):
            line.append(f"  ?{sug['code'].rsplit('/', 1)[-1]} {sug['score']:.2f}",
                        style="italic dim")
        if self._overlapping(self.memos, seg.start, seg.end):
            line.append("  ✎", style="bold")
        self.query_one(f"#seg-{i}", Static).update(line)

    def _render_all(self) -> None:
        for i in range(len(self.segments)):
            self._render(i)

    def _show_detail(self) -> None:
        seg = self.segment
        lines = [f"Segment {seg.number} · {seg.speaker or 'no speaker'} · "
                 f"{seg.start}:{seg.end}"]
        if self.selection:
            lines.append(f"Selected {self.selection[0]}:{self.selection[1]}: "
                         f"“{self.doc['text'][self.selection[0]:self.selection[1]]}”")
        for c in self._overlapping(self.codings, seg.start, seg.end):
            lines.append(f"■ {c['code']} — {c['coder']}" + (f" — memo: {c['memo']}"
                                                             if c["memo"] else ""))
        for s in self._overlapping(self.suggestions, seg.start, seg.end):
            lines.append(f"? {s['code']} {s['score']:.2f} ({s['suggester']}: {s['rationale']})")
        for m in self._overlapping(self.memos, seg.start, seg.end):
            lines.append(f"✎ {m['coder']}: {m['text']}")
        self.query_one("#detail", Static).update("\n".join(lines))

    def notify_status(self, text: str, error: bool = False) -> None:
        """What the last key did, on the status line above the footer (a toast would hide
        the marks or the panes)."""
        status = self.query_one("#status", Static)
        status.update(Text(text))
        status.set_class(error, "error")

    # -- moving -------------------------------------------------------------------------
    def on_list_view_highlighted(self, event: ListView.Highlighted) -> None:
        if event.list_view.index is not None and event.list_view.index != self.index:
            previous, self.index, self.selection = self.index, event.list_view.index, None
            self._render(previous)
            self._render(self.index)
            self._show_detail()
            here = self._code_here()
            if here is not None:
                self.highlight_code(here)

    def go(self, index: int) -> None:
        self.query_one(ListView).index = max(0, min(len(self.segments) - 1, index))

    def action_move(self, delta: int) -> None:
        if isinstance(self.screen, Prompt):
            self.screen.action_choice(delta)  # PgUp/PgDn page through a prompt's choices
        elif not isinstance(self.screen, ModalScreen):
            self.go(self.index + delta)

    def action_next_uncoded(self) -> None:
        if isinstance(self.screen, ModalScreen):
            return  # tab is bound with priority (so focus stays put); not while prompting
        mine = [c for c in self.codings if c["coder"] == self.coder]
        for i in list(range(self.index + 1, len(self.segments))) + list(range(self.index)):
            seg = self.segments[i]
            if not self._overlapping(mine, seg.start, seg.end):
                self.go(i)
                return
        self.notify_status("every segment has a coding of yours")

    def action_jump(self) -> None:
        def done(value: str | None) -> None:
            if value and value.strip().isdigit():
                number = int(value)
                match = next((i for i, s in enumerate(self.segments) if s.number == number), None)
                if match is None:
                    self.notify_status(f"no segment {number}", error=True)
                else:
                    self.go(match)

        self.push_screen(Prompt("Jump to segment number"), done)

    def action_search(self) -> None:
        """List the sentences containing a text; enter jumps to the highlighted one (at
        first the next after this sentence)."""
        def matcher(value: str) -> list[Choice]:
            needle = value.strip().casefold()
            if not needle:
                return []
            return [(f"{seg.number:>4} {(seg.speaker or '—')[:12]:<12} {_clip(seg.text, 64)}",
                     i) for i, seg in enumerate(self.segments)
                    if needle in seg.text.casefold()]

        def after_here(found: list[Choice]) -> int:
            return next((n for n, (_, i) in enumerate(found) if i > self.index), 0)

        prompt = Prompt("Search text", self.search_text, matcher=matcher, start=after_here)

        def done(index: int | None) -> None:
            self.search_text = prompt.typed
            if index is not None:
                self.go(index)
            elif prompt.typed.strip() and prompt.submitted:
                self.notify_status(f"“{prompt.typed}” not found", error=True)

        self.push_screen(prompt, done)

    # -- coding -------------------------------------------------------------------------
    def on_key(self, event) -> None:
        if isinstance(self.screen, ModalScreen) or not event.character:
            return
        code = self.by_key.get(event.character)
        if code is not None:
            event.stop()
            self.toggle(code)

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted) -> None:
        if event.node.data:
            self._show_definition(event.node.data)

    def _show_definition(self, code: dict) -> None:
        """The definition pane: the code's path, definition, include and exclude rules."""
        parts = [Text(code["path"], style=f"bold {code['color']}"),
                 Text(code["description"].strip() or "(no definition in the codebook)",
                      style="" if code["description"].strip() else "dim")]
        if code["include"]:
            parts.append(Text("Include: " + code["include"].replace("\n", "; "), style="green"))
        if code["exclude"]:
            parts.append(Text("Exclude: " + code["exclude"].replace("\n", "; "), style="red"))
        self.shown_code = code
        self.query_one("#definition", Static).update(Text("\n").join(parts))

    def highlight_code(self, code: dict) -> None:
        """Put the codebook's cursor on *code* and show its definition."""
        node = self.nodes.get(code["id"])
        if node is not None:
            self.query_one(Tree).move_cursor(node)
        self._show_definition(code)

    def _code_here(self) -> dict | None:
        """The code this sentence is about: its best pending suggestion's, else the latest
        coding's (yours first)."""
        seg = self.segment
        sug = self._first_suggestion()
        codings = self._overlapping(self.codings, seg.start, seg.end)
        codings.sort(key=lambda c: (c["coder"] == self.coder, c["id"]))
        path = sug["code"] if sug else codings[-1]["code"] if codings else None
        return next((c for c in self.codes if c["path"] == path), None)

    def on_tree_node_selected(self, event: Tree.NodeSelected) -> None:
        if event.node.data:
            self.toggle(event.node.data)
            self.query_one(ListView).focus()

    def action_find_code(self) -> None:
        def matcher(value: str) -> list[Choice]:
            return [(f"{'[' + c['key'] + ']' if c['key'] else '   '} {c['path']:<32} "
                     f"{_clip(c['description'], 40)}", c) for c in rank_codes(self.codes, value)]

        def done(code: dict | None) -> None:
            if code:
                self.toggle(code)

        self.push_screen(Prompt("Find a code (enter applies or removes the highlighted one)",
                                matcher=matcher), done)

    def toggle(self, code: dict) -> None:
        """Remove this coder's codings of *code* on the span, or else apply it there; a
        pending suggestion of that code here is accepted rather than left pending."""
        from qcode.coding import add_coding, remove_codings
        from qcode.suggestions import accept

        start, end = self.span
        mine = [c for c in self._overlapping(self.codings, start, end)
                if c["coder"] == self.coder and c["code"] == code["path"]]
        suggested = [s for s in self._overlapping(self.suggestions, start, end)
                     if s["code"] == code["path"]]
        number = self.segment.number
        try:
            if mine:
                remove_codings(self.db, [c["id"] for c in mine], coder=self.coder)
                self.notify_status(f"removed {code['path']} from segment {number}")
            elif suggested:
                accept(self.db, suggested[0]["id"], coder=self.coder, start=start, end=end)
                self.learner.decided()
                self.notify_status(f"coded segment {number} as {code['path']} "
                                   "(its suggestion accepted)")
            else:
                add_coding(self.db, self.doc["name"], code["guid"], coder=self.coder,
                           span=f"{start}:{end}")
                self.notify_status(f"coded segment {number} as {code['path']}")
        except QcodeError as exc:
            self.notify_status(str(exc), error=True)
        self.selection = None
        self._refresh()
        self.highlight_code(code)

    def _refresh(self, everything: bool = False) -> None:
        self._reload_codings()
        if everything:
            self._render_all()
        else:
            self._render(self.index)
        self._show_detail()

    def action_narrow(self, side: str) -> None:
        """Drop one word from the left or right end of the span to be coded."""
        import re

        start, end = self.span
        words = [(start + m.start(), start + m.end())
                 for m in re.finditer(r"\S+", self.doc["text"][start:end])]
        if len(words) < 2:
            return
        self.selection = (words[1][0], end) if side == "left" else (start, words[-2][1])
        self._render(self.index)
        self._show_detail()

    def action_narrow_quote(self) -> None:
        from qcode.locate import find_quote

        def done(value: str | None) -> None:
            if not value:
                return
            seg = self.segment
            try:
                hit = find_quote(seg.text, value)
            except QcodeError as exc:
                self.notify_status(str(exc), error=True)
                return
            self.selection = (seg.start + hit.start, seg.start + hit.end)
            self._render(self.index)
            self._show_detail()

        self.push_screen(Prompt("Narrow to this quote within the segment"), done)

    def action_whole_segment(self) -> None:
        self.selection = None
        self._render(self.index)
        self._show_detail()

    def action_memo(self) -> None:
        """A memo on your latest coding of this sentence, else on the passage: the
        sentence, or the narrowed span."""
        from qcode.memos import add_memo

        seg = self.segment
        start, end = self.span
        mine = [c for c in self._overlapping(self.codings, seg.start, seg.end)
                if c["coder"] == self.coder]
        if mine:
            target = f"your coding {mine[-1]['id']} ({mine[-1]['code']})"
        elif self.selection:
            target = f"the passage “{_clip(self.doc['text'][start:end], 40)}”"
        else:
            target = f"sentence {seg.number}"

        def done(value: str | None) -> None:
            if not value or not value.strip():
                return
            try:
                if mine:
                    add_memo(self.db, value, coder=self.coder, coding=mine[-1]["id"])
                else:
                    add_memo(self.db, value, coder=self.coder, document=self.doc["name"],
                             span=(start, end))
            except QcodeError as exc:
                self.notify_status(str(exc), error=True)
                return
            self.notify_status(f"memo saved on {target}")
            self._refresh()

        self.push_screen(Prompt(f"Memo on {target}"), done)

    # -- suggestions and undo -----------------------------------------------------------
    def _first_suggestion(self) -> dict | None:
        seg = self.segment
        found = self._overlapping(self.suggestions, seg.start, seg.end)
        return max(found, key=lambda s: s["score"]) if found else None

    def on_list_view_selected(self, event: ListView.Selected) -> None:
        self.action_accept()  # Enter on the transcript

    def action_accept(self) -> None:
        from qcode.suggestions import accept

        sug = self._first_suggestion()
        if sug is None:
            self.notify_status("no pending suggestion on this segment")
            return
        start, end = self.selection or (sug["start"], sug["end"])
        accept(self.db, sug["id"], coder=self.coder, start=start, end=end)
        self.learner.decided()
        self.notify_status(f"accepted {sug['code']}")
        self.selection = None
        self._refresh()

    def action_reject(self) -> None:
        from qcode.suggestions import reject

        sug = self._first_suggestion()
        if sug is None:
            self.notify_status("no pending suggestion on this segment")
            return
        reject(self.db, sug["id"], coder=self.coder)
        self.learner.decided()
        self.notify_status(f"rejected {sug['code']}")
        self._refresh()

    def action_undo(self) -> None:
        from qcode.history import undo

        try:
            result = undo(self.db, coder=self.coder)
        except QcodeError as exc:
            self.notify_status(str(exc), error=True)
            return
        self.notify_status(f"undid {len(result.reverted)} change(s)")
        self._refresh(everything=True)

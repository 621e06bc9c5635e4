"""The keyboard coding screen: `qcode code DOC`.

Every action calls the core and is committed at once in its own transaction, so
quitting, a crash or a power cut loses nothing. Keys (also in the footer):

  ↑/↓ PgUp/PgDn   move            tab   next segment you have not coded
  :               jump to number  /     search text
  a code's key    apply / remove  ?     find a code by name, apply / remove it
  ( )             narrow the span by a word from the left / right
  "               narrow to a typed quote        esc   whole segment again
  ;               memo            enter / backspace   accept / reject suggestion
  ctrl+z          undo            ctrl+q              quit
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Header, Input, Label, ListItem, ListView, Static, Tree

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


class Prompt(ModalScreen[str | None]):
    """One line of input; Enter returns it, Escape returns None."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, title: str, value: str = "", choices: list[str] | None = None):
        super().__init__()
        self.title_text, self.value, self.choices = title, value, choices

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt"):
            yield Label(self.title_text)
            yield Input(value=self.value, id="prompt-input")
            if self.choices is not None:
                yield Static("", id="prompt-choices")

    def on_input_changed(self, event: Input.Changed) -> None:
        if self.choices is not None:
            self.query_one("#prompt-choices", Static).update("\n".join(self.matches(event.value)))

    def matches(self, value: str) -> list[str]:
        from rapidfuzz import process

        if not value.strip():
            return self.choices[:8]
        return [m[0] for m in process.extract(value, self.choices, limit=8)]

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if self.choices is not None:
            found = self.matches(event.value)
            self.dismiss(found[0] if found and event.value.strip() else None)
        else:
            self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class CodingApp(App):
    CSS = """
    #transcript { width: 2fr; }
    #side { width: 1fr; min-width: 30; border-left: solid $primary; }
    #codebook { height: 1fr; }
    #definition { height: auto; max-height: 12; padding: 0 1; border-top: solid $primary; }
    #detail { height: auto; max-height: 10; padding: 0 1; border-top: solid $primary; }
    ListItem { padding: 0 1; }
    #prompt { width: 70; height: auto; border: thick $primary; background: $surface;
              padding: 1 2; }
    Prompt { align: center middle; }
    """
    BINDINGS = [
        Binding("pagedown", "move(10)", "", show=False),
        Binding("pageup", "move(-10)", "", show=False),
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
        self.search_text = ""

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
                parent.add_leaf(label, data=code)
        self._reload_codings()
        self._render_all()
        transcript = self.query_one(ListView)
        transcript.index = 0
        transcript.focus()
        self._show_detail()
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
        self.query_one("#detail", Static).update("\n".join(lines))

    def notify_status(self, text: str, error: bool = False) -> None:
        self.notify(text, severity="error" if error else "information", timeout=4)

    # -- moving -------------------------------------------------------------------------
    def on_list_view_highlighted(self, event: ListView.Highlighted) -> None:
        if event.list_view.index is not None and event.list_view.index != self.index:
            previous, self.index, self.selection = self.index, event.list_view.index, None
            self._render(previous)
            self._render(self.index)
            self._show_detail()

    def go(self, index: int) -> None:
        self.query_one(ListView).index = max(0, min(len(self.segments) - 1, index))

    def action_move(self, delta: int) -> None:
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
        def done(value: str | None) -> None:
            if not value:
                return
            self.search_text = value
            needle = value.casefold()
            order = list(range(self.index + 1, len(self.segments))) + list(range(self.index + 1))
            hit = next((i for i in order if needle in self.segments[i].text.casefold()), None)
            if hit is None:
                self.notify_status(f"“{value}” not found", error=True)
            else:
                self.go(hit)

        self.push_screen(Prompt("Search text", self.search_text), done)

    # -- coding -------------------------------------------------------------------------
    def on_key(self, event) -> None:
        if isinstance(self.screen, ModalScreen) or not event.character:
            return
        code = self.by_key.get(event.character)
        if code is not None:
            event.stop()
            self.toggle(code)

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted) -> None:
        code = event.node.data
        if code:
            parts = [Text(code["path"], style=f"bold {code['color']}"), Text(code["description"])]
            if code["include"]:
                parts.append(Text("Include: " + code["include"].replace("\n", "; "), style="green"))
            if code["exclude"]:
                parts.append(Text("Exclude: " + code["exclude"].replace("\n", "; "), style="red"))
            self.query_one("#definition", Static).update(Text("\n").join(parts))

    def on_tree_node_selected(self, event: Tree.NodeSelected) -> None:
        if event.node.data:
            self.toggle(event.node.data)
            self.query_one(ListView).focus()

    def action_find_code(self) -> None:
        paths = [c["path"] for c in self.codes]

        def done(value: str | None) -> None:
            if value:
                self.toggle(next(c for c in self.codes if c["path"] == value))

        self.push_screen(Prompt("Find a code (Enter applies or removes the top match)",
                                choices=paths), done)

    def toggle(self, code: dict) -> None:
        """Remove this coder's codings of *code* on the span, or else apply it there."""
        from qcode.coding import add_coding, remove_codings

        start, end = self.span
        mine = [c for c in self._overlapping(self.codings, start, end)
                if c["coder"] == self.coder and c["code"] == code["path"]]
        try:
            if mine:
                remove_codings(self.db, [c["id"] for c in mine], coder=self.coder)
                self.notify_status(f"removed {code['path']} from segment {self.segment.number}")
            else:
                add_coding(self.db, self.doc["name"], code["guid"], coder=self.coder,
                           span=f"{start}:{end}")
                self.notify_status(f"coded segment {self.segment.number} as {code['path']}")
        except QcodeError as exc:
            self.notify_status(str(exc), error=True)
        self.selection = None
        self._refresh()

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
        from qcode.memos import add_memo

        seg = self.segment
        mine = [c for c in self._overlapping(self.codings, seg.start, seg.end)
                if c["coder"] == self.coder]
        target = f"coding {mine[-1]['id']} ({mine[-1]['code']})" if mine else "the document"

        def done(value: str | None) -> None:
            if not value or not value.strip():
                return
            add_memo(self.db, value, coder=self.coder, document=self.doc["name"],
                     coding=mine[-1]["id"] if mine else None)
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

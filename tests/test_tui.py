"""The coding screen, driven headless by textual's Pilot."""

import asyncio

import pytest

from conftest import CODEBOOK, SAMPLE
from qcode.codebook.model import load_codebook
from qcode.codebook.sync import sync
from qcode.coding import CodingFilter, list_codings
from qcode.ingest.importer import ImportOptions, import_paths
from qcode.memos import list_memos
from qcode.project import Project
from qcode.store import transaction
from qcode.store.records import now

DOC = "a01-housing-perm"


@pytest.fixture
def demo(project):
    sync(project.db, load_codebook(CODEBOOK))
    import_paths(project.db, [SAMPLE / f"{DOC}.md"], ImportOptions())
    return project


def drive(project, coder, *keys, inspect=None):
    from qcode.tui.coding import CodingApp

    async def run():
        app = CodingApp(Project.open(project.root), DOC, coder)
        async with app.run_test(size=(140, 40)) as pilot:
            for key in keys:
                await pilot.press(*key) if isinstance(key, tuple) else await pilot.press(key)
            await pilot.pause()
            result = inspect(app) if inspect else None
            await pilot.press("ctrl+q")
        return result

    return asyncio.run(run())


def codings(project, **flt):
    db = Project.open(project.root).db
    return [(c["code"], c["text"], c["coder"]) for c in list_codings(db, CodingFilter(**flt))]


def test_code_by_keys_narrow_undo_quit_and_reopen(demo):
    drive(demo, "anna",
          "down", "down", "i",                              # segment 3: interpersonal
          "down", "left_parenthesis", "right_parenthesis", "d",  # segment 4 narrowed: distrust
          "down", "c", "ctrl+z")                            # segment 5: coded, then undone
    assert codings(demo) == [
        ("trust/interpersonal", "It started with our building, really.", "anna"),
        ("trust/distrust", "the spring the city announced that the house would be transferred "
                           "to a new management company, one we had never heard", "anna")]
    # reopen: the screen shows what is in the store, and a key toggles a coding off
    shown = drive(demo, "anna", "down", "down", "i",
                  inspect=lambda app: [c["code"] for c in app.codings])
    assert shown == ["trust/distrust"]
    assert [c for c, _, _ in codings(demo)] == ["trust/distrust"]


def test_find_code_memo_quote_jump_search_and_next_uncoded(demo):
    position = drive(
        demo, "boris",
        "tab",                                          # next uncoded after segment 1: 2
        ("question_mark", *"cooptation", "enter"),             # fuzzy-find a code
        ("semicolon", *"said with irony", "enter"),            # memo on that coding
        ("colon", *"16", "enter"),                             # jump to segment 16
        ("quotation_mark", *"nobody listens", "enter", "d"),   # narrow to a quote, code it
        ("slash", *"Galina Petrovna was", "enter"),            # search
        inspect=lambda app: app.segment.number)
    assert codings(demo, coder="boris") == [
        ("loyalty/co-optation", "Could you start with how you became involved in the "
                                "housing campaign?", "boris"),
        ("trust/distrust", "nobody listens", "boris")]
    (memo,) = list_memos(Project.open(demo.root).db)
    assert (memo["target"], memo["text"], memo["code"]) == ("coding", "said with irony",
                                                            "loyalty/co-optation")
    assert position == 28  # "Galina Petrovna was the heart of it, ..."


def test_suggestions_are_marked_and_accepted_or_rejected(demo):
    db = demo.db
    segs = db.execute("SELECT start, \"end\" FROM segments WHERE kind = 'sentence' "
                      "ORDER BY number LIMIT 2").fetchall()
    with transaction(db):
        run = db.execute("INSERT INTO runs (kind, started) VALUES ('suggest', ?)",
                         [now()]).lastrowid
        for (start, end), code in zip(segs, (1, 2), strict=True):
            db.execute("INSERT INTO suggestions (run_id, document_id, revision_id, start, "
                       "\"end\", code_id, score, suggester, rationale, created) VALUES "
                       "(?, 1, 1, ?, ?, ?, 0.8, 'rules', 'matched words', ?)",
                       [run, start, end, code, now()])
    marks = drive(demo, "anna", "enter", "down", "backspace",
                  inspect=lambda app: [s["id"] for s in app.suggestions])
    assert marks == []  # both decided
    statuses = dict(db.execute("SELECT id, status FROM suggestions").fetchall())
    assert statuses == {1: "accepted", 2: "rejected"}
    (coding,) = list_codings(db)
    assert coding["origin"] == f"suggestion:{run}" and coding["coder"] == "anna"


def test_acceptance_demo_coded_by_keys_and_by_script(tmp_path, runner):
    """Issue 3: code a demo document by keys in the screen and by `tag add`; both show in
    `qcode tag list --format json` with coder and origin."""
    import json

    from qcode.cli.app import app
    from qcode.demo import build_demo

    project = build_demo(tmp_path / "demo").project
    db = project.db
    document, start, end = db.execute(
        "SELECT r.document_id, s.start, s.\"end\" FROM segments s JOIN revisions r ON "
        "r.id = s.revision_id JOIN documents d ON d.id = r.document_id WHERE d.name = ? AND "
        "s.kind = 'sentence' AND s.number = 3", [DOC]).fetchone()
    # Whether the demo's suggester proposed this code here depends on the model; what must
    # hold is that a key press on a suggested segment records the suggestion as the origin.
    suggested = db.execute(
        "SELECT s.run_id FROM suggestions s JOIN codes c ON c.id = s.code_id WHERE "
        "c.path = 'trust/interpersonal' AND s.status = 'pending' AND s.document_id = ? AND "
        "s.start = ? AND s.\"end\" = ?", [document, start, end]).fetchone()
    drive(project, "anna", "down", "down", "i", "down", "a")
    result = runner.invoke(app, ["-P", str(project.root), "tag", "add", DOC, "--quote",
                                 "nobody listens", "--code", "distrust", "--coder", "boris"])
    assert result.exit_code == 0, result.stderr
    rows = json.loads(runner.invoke(app, ["-P", str(project.root), "tag", "list",
                                          "--format", "json"]).stdout)
    assert [(r["code"], r["coder"], r["origin"]) for r in rows
            if r["coder"] in ("anna", "boris")] == [
        ("trust/interpersonal", "anna", f"suggestion:{suggested[0]}" if suggested else "manual"),
        ("empowerment/appeals", "anna", "manual"),
        ("trust/distrust", "boris", "manual")]


# -- what the screen shows, key by key (the README's coding-screen table) -----------------

def screen(app, selector: str | None = None) -> str:
    """The text on the terminal, or only inside one widget's region, its lines joined with
    spaces (so a wrapped sentence reads whole)."""
    update = app.screen._compositor.render_update(full=True)
    rows = ["".join(segment.text for segment in strip) for strip in update.strips]
    if selector is None:
        return "\n".join(rows)
    from textual.css.query import NoMatches

    for layer in reversed(app.screen_stack):  # a prompt above the coding screen first
        try:
            region = layer.query_one(selector).region
            break
        except NoMatches:
            continue
    else:
        raise AssertionError(f"nothing on screen is {selector}")
    inside = [row[region.x:region.right] for row in rows[region.y:region.bottom]]
    return " ".join(" ".join(inside).split())


def steps(project, coder, *plan):
    """Press each step's keys, then run its check on the app (after the screen settles)."""
    from qcode.tui.coding import CodingApp

    async def run():
        app = CodingApp(Project.open(project.root), DOC, coder)
        async with app.run_test(size=(140, 40), notifications=True) as pilot:
            await pilot.pause()
            for keys, check in plan:
                for key in keys:
                    await pilot.press(key)
                await pilot.pause(0.05)  # a toast (notification) is shown a moment later
                await pilot.pause()
                check(app)
            if app.is_running:
                await pilot.press("ctrl+q")

    asyncio.run(run())


def suggest_here(db, *numbers_and_codes):
    """Pending suggestions on sentences of DOC: (sentence number, code path) pairs."""
    with transaction(db):
        run = db.execute("INSERT INTO runs (kind, started) VALUES ('suggest', ?)",
                         [now()]).lastrowid
        for number, path in numbers_and_codes:
            start, end = db.execute("SELECT start, \"end\" FROM segments WHERE kind = "
                                    "'sentence' AND number = ?", [number]).fetchone()
            code = db.execute("SELECT id FROM codes WHERE path = ?", [path]).fetchone()[0]
            db.execute("INSERT INTO suggestions (run_id, document_id, revision_id, start, "
                       "\"end\", code_id, score, suggester, rationale, created) VALUES "
                       "(?, 1, 1, ?, ?, ?, 0.8, 'rules', 'matched words', ?)",
                       [run, start, end, code, now()])
    return run


def _row(app, number: int) -> str:
    """Sentence *number* in the transcript pane as shown, its wrapped lines joined."""
    import re

    region = app.screen_stack[0].query_one("#transcript").region
    rows = [row[region.x:region.right] for row in screen(app).splitlines()]
    first = next(i for i, row in enumerate(rows) if row.lstrip().startswith(f"{number} "))
    rest = []
    for row in rows[first + 1:region.bottom]:
        if re.match(r"\s*\d+ ", row):
            break
        rest.append(row)
    return " ".join(" ".join([rows[first], *rest]).split())


def test_definition_pane_shows_the_code_in_hand(demo):
    suggest_here(demo.db, (16, "trust/distrust"))
    steps(demo, "anna",
          ((), lambda app: (  # on opening: the codebook's cursor is on the first code
              _has(screen(app, "#definition"), "trust", "Talk about relying on others",
                   "Include: statements about whether someone or something can be relied on",
                   "Exclude: confidence in oneself"))),
          (("down", "down", "i"), lambda app: _has(
              screen(app, "#definition"), "trust/interpersonal",
              "Trust grounded in personal acquaintance", "Include: joining an action")),
          (("colon", *"16", "enter"), lambda app: _has(  # a suggestion's code, to judge it
              screen(app, "#definition"), "trust/distrust", "Distrust of institutions")),
          (("up",), lambda app: _has(screen(app, "#definition"), "trust/distrust")),
          (("colon", *"3", "enter"), lambda app: _has(  # a coded sentence: its code
              screen(app, "#definition"), "trust/interpersonal")))


def _has(text: str, *parts: str) -> None:
    for part in parts:
        assert part in text, f"{part!r} not on screen: {text!r}"


def test_find_code_lists_the_matches_and_enter_takes_the_highlighted_one(demo):
    steps(demo, "anna",
          (("down", "down", "question_mark"), lambda app: _has(  # before typing: every code
              screen(app, "#prompt"), "17 matches", "[t] trust", "[i] trust/interpersonal",
              "[l] loyalty", "Trust grounded in personal")),
          (tuple("trust"), lambda app: _has(screen(app, "#prompt"), "5 matches")),
          (("down", "enter"), lambda app: _has(_row(app, 3), "■interpersonal")),
          (("question_mark", *"distrst", "enter"), lambda app: _has(_row(app, 3), "■distrust")),
          (("question_mark", *"zzzz"), lambda app: _has(screen(app, "#prompt"), "no matches")),
          (("enter",), lambda app: _has(screen(app, "#detail"), "Segment 3")))
    assert sorted(c for c, _, _ in codings(demo)) == ["trust/distrust", "trust/interpersonal"]


def test_search_lists_the_sentences_and_jumps_to_the_chosen_one(demo):
    galina = [n for n, in demo.db.execute(
        "SELECT number FROM segments WHERE kind = 'sentence' AND "
        "substr((SELECT text FROM revisions WHERE id = 1), start + 1, \"end\" - start) "
        "LIKE '%Galina%' ORDER BY number")]
    assert len(galina) >= 2
    steps(demo, "anna",
          (("slash", *"galina"), lambda app: _has(
              screen(app, "#prompt"), f"{len(galina)} matches",
              *[f"{n} Marina" for n in galina])),
          (("down", "enter"), lambda app: _has(screen(app, "#detail"),
                                               f"Segment {galina[1]} ·")),
          (("slash",), lambda app: _has(screen(app, "#prompt"), "galina")),  # kept
          (("enter",), lambda app: _has(screen(app, "#detail"),  # the next after here
                                        f"Segment {(galina + galina)[2]} ·")),
          (("slash", *"xylophone", "enter"), lambda app: _has(screen(app), "not found")))


def test_coding_a_suggested_sentence_by_hand_accepts_the_suggestion(demo):
    run = suggest_here(demo.db, (3, "trust/interpersonal"), (3, "trust/distrust"))
    steps(demo, "anna",
          (("down", "down"), lambda app: _has(_row(app, 3), "?interpersonal 0.80",
                                              "?distrust 0.80")),
          (("i",), lambda app: (_has(_row(app, 3), "■interpersonal", "?distrust 0.80"),
                                _hasnt(_row(app, 3), "?interpersonal"))))
    statuses = dict(demo.db.execute("SELECT c.path, s.status FROM suggestions s JOIN codes c "
                                    "ON c.id = s.code_id").fetchall())
    assert statuses == {"trust/interpersonal": "accepted", "trust/distrust": "pending"}
    (coding,) = list_codings(demo.db)
    assert coding["origin"] == f"suggestion:{run}"


def _hasnt(text: str, *parts: str) -> None:
    for part in parts:
        assert part not in text, f"{part!r} still on screen: {text!r}"


def test_every_key_of_the_readme_table_does_what_it_says(demo):
    suggest_here(demo.db, (5, "trust/distrust"), (6, "empowerment/appeals"))
    checked = set()

    def at(number):
        return lambda app: _has(screen(app, "#detail"), f"Segment {number} ·")

    def key(name, *keys_and_check):
        checked.add(name)
        return keys_and_check

    plan = [
        key("↑ ↓ PgUp PgDn", ("down", "down"), at(3)),
        key("↑ ↓ PgUp PgDn", ("pagedown",), at(13)),
        key("↑ ↓ PgUp PgDn", ("pageup", "up"), at(2)),
        key("a code's key", ("down", "i"), lambda app: _has(_row(app, 3), "■interpersonal")),
        key("tab", ("up", "tab"), at(4)),  # 3 is coded, so tab goes from 2 to 4
        key("( )", ("left_parenthesis",), lambda app: _has(
            screen(app, "#detail"), "Selected", "“the spring the city")),
        key("( )", ("right_parenthesis",), lambda app: _has(
            screen(app, "#detail"), "never heard”")),
        key("esc", ("escape",), lambda app: _hasnt(screen(app, "#detail"), "Selected")),
        key('"', ("quotation_mark", *"management company", "enter"), lambda app: _has(
            screen(app, "#detail"), "“management company”")),
        key("a code's key", ("d",), lambda app: _has(_row(app, 4), "■~distrust")),
        key("a code's key", ("d",), lambda app: _hasnt(_row(app, 4), "distrust")),  # removed
        key(";", ("semicolon",), lambda app: _has(screen(app, "#prompt"), "Memo on sentence 4")),
        key(";", (*"a rumour", "enter"), lambda app: (
            _has(_row(app, 4), "✎"), _has(screen(app, "#detail"), "✎ anna: a rumour"))),
        key(";", ("up", "semicolon", *"said flatly", "enter"), lambda app: (
            _has(_row(app, 3), "■interpersonal✎"),
            _has(screen(app, "#detail"), "memo: said flatly"))),
        key(": /", ("colon", *"5", "enter"), at(5)),
        key("enter / backspace", ("enter",), lambda app: (
            _has(_row(app, 5), "■distrust"), _hasnt(_row(app, 5), "?distrust"))),
        key("enter / backspace", ("down", "backspace"), lambda app: (
            _hasnt(_row(app, 6), "?appeals", "■appeals"), _has(screen(app), "rejected"))),
        key(": /", ("slash", *"Nobody asked", "enter"), at(5)),
        key("ctrl+z", ("ctrl+z",), lambda app: (
            _has(_row(app, 6), "?appeals 0.80"), _has(screen(app), "undid"))),
        key("ctrl+z", ("ctrl+z",), lambda app: (
            _has(_row(app, 5), "?distrust 0.80"), _hasnt(_row(app, 5), "■distrust"))),
        key("?", ("question_mark", *"co-opt", "enter"), lambda app: _has(
            _row(app, 5), "■co-optation")),
        key("ctrl+q", ("ctrl+q",), lambda app: _hasnt_running(app)),
    ]
    steps(demo, "anna", *plan)
    readme = (CODEBOOK.parent.parent / "README.md").read_text(encoding="utf-8")
    table = readme.split("**The coding screen**", 1)[1].split("\n\n", 2)[1]
    keys = {row.split("|")[1].strip().replace("`", "") for row in table.splitlines()[2:]}
    documented = {"↑ ↓ PgUp PgDn", "tab", ": / /", "a code's key", "?", "( )", ";",
                  "enter / backspace", "ctrl+z / ctrl+q"}
    assert keys == documented, keys  # a new row in the README needs its check here
    assert checked >= {"↑ ↓ PgUp PgDn", "tab", ": /", "a code's key", "?", "( )", '"', "esc",
                       ";", "enter / backspace", "ctrl+z", "ctrl+q"}


def _hasnt_running(app) -> None:
    assert not app.is_running

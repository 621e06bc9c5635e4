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
    drive(project, "anna", "down", "down", "i", "down", "a")
    result = runner.invoke(app, ["-P", str(project.root), "tag", "add", DOC, "--quote",
                                 "nobody listens", "--code", "distrust", "--coder", "boris"])
    assert result.exit_code == 0, result.stderr
    rows = json.loads(runner.invoke(app, ["-P", str(project.root), "tag", "list",
                                          "--format", "json"]).stdout)
    assert [(r["code"], r["coder"], r["origin"]) for r in rows
            if r["coder"] in ("anna", "boris")] == [
        ("trust/interpersonal", "anna", "manual"),
        ("empowerment/appeals", "anna", "manual"),
        ("trust/distrust", "boris", "manual")]

"""qcode merge: a lead copies the project, two coders code their copies, the lead merges
both and compares them."""

import shutil

import pytest

from conftest import CODEBOOK, SAMPLE, table_counts
from qcode.analysis.agreement import agreement
from qcode.codebook.model import load_codebook
from qcode.codebook.sync import sync
from qcode.coding import add_coding
from qcode.errors import QcodeError
from qcode.ingest.attributes import read_attribute_table
from qcode.ingest.importer import ImportOptions, import_paths
from qcode.memos import add_memo
from qcode.merge import merge
from qcode.project import Project
from qcode.store.doctor import check

A01, B01 = "a01-housing-perm", "b01-ngo-department-perm"


def copy_project(root, dest):
    """A coder's own copy of the project folder. Of a project on a server (pytest
    --backend postgresql) a SQLite one: its backup as the copy's qcode.db, qcode.yaml
    naming no server, as a coder who takes the shared project onto a laptop has it."""
    from qcode.config import with_database
    from qcode.store.backup import backup

    project = Project.open(root)
    try:
        if not project.on_server:
            shutil.copytree(root, dest)
            return
        shutil.copytree(root, dest, ignore=shutil.ignore_patterns("backups"))
        backup(project.db, dest / "qcode.db")
        config = dest / "qcode.yaml"
        config.write_text(with_database(config.read_text("utf-8"), None), "utf-8")
    finally:
        project.close()


@pytest.fixture
def team(tmp_path):
    """The lead's project and two copies, coded separately by anna and boris."""
    lead = Project.init(tmp_path / "lead", coder="lead")
    lead.codebook_path.write_text(CODEBOOK.read_text("utf-8"), "utf-8")
    sync(lead.db, load_codebook(lead.codebook_path))
    table = read_attribute_table(SAMPLE.parent / "sample-attributes.csv")
    import_paths(lead.db, [SAMPLE], ImportOptions(table=table))
    lead.close()
    copies = {}
    for coder, segments in (("anna", range(1, 11)), ("boris", range(6, 16))):
        copy_project(tmp_path / "lead", tmp_path / coder)
        copy = Project.open(tmp_path / coder)
        for n in segments:
            add_coding(copy.db, A01, "distrust", coder=coder, segment=n)
        add_coding(copy.db, B01, "superiors", coder=coder, segment=20)
        add_memo(copy.db, f"{coder}: check segment 7 again", coder=coder, document=A01)
        copy.close()
        copies[coder] = tmp_path / coder
    return Project.open(tmp_path / "lead"), copies


def test_the_lead_merges_both_coders_and_compares_them(team):
    lead, copies = team
    before = table_counts(lead.db)
    preview = merge(lead.db, copies["anna"], codebook_path=lead.codebook_path, coder="lead",
                    dry_run=True)
    assert preview.codings == 11 and preview.memos == 1 and preview.conflicts == []
    assert table_counts(lead.db) == before  # a dry run changes nothing
    for coder in ("anna", "boris"):
        result = merge(lead.db, copies[coder], codebook_path=lead.codebook_path,
                       coder="lead")
        assert result.codings == 11 and result.coders == [coder]
        assert {s.status for s in result.sources} == {"existing"}
        assert result.backup is not None and result.backup.exists()
    results, found = agreement(lead.db, ["anna", "boris"], code="distrust",
                               disagreements=True)
    assert results[0].units > 0 and len(found) == 10  # segments 1-5 and 11-15
    assert check(lead.db) == []
    # merging again adds nothing
    again = merge(lead.db, copies["anna"], codebook_path=lead.codebook_path, coder="lead")
    assert again.codings == 0 and again.memos == 0 and again.codes_added == []
    lead.close()


def test_a_renamed_code_is_matched_by_guid_and_conflicts_are_listed(team, tmp_path):
    lead, copies = team
    copy = Project.open(copies["boris"])
    text = copy.codebook_path.read_text("utf-8")
    text = text.replace("- name: distrust", "- name: mistrust\n        renamed_from: distrust", 1)
    text = text.replace("negated: trust/distrust", "negated: trust/mistrust")
    copy.codebook_path.write_text(text, "utf-8")
    sync(copy.db, load_codebook(copy.codebook_path))
    copy.db.execute("UPDATE attributes SET value = 'Kazan' WHERE key = 'region' AND "
                    "document_id = (SELECT id FROM documents WHERE name = ?)", [A01])
    copy.close()
    result = merge(lead.db, copies["boris"], codebook_path=lead.codebook_path, coder="lead")
    assert result.codes_added == []  # same GUID: boris's 'mistrust' is our 'distrust'
    assert lead.db.execute("SELECT count(*) FROM codings c JOIN codes g ON g.id = c.code_id "
                           "WHERE g.path = 'trust/distrust'").fetchone()[0] == 10
    assert any("attribute region is 'Perm Krai' here, 'Kazan' there (ours kept)" in c
               for c in result.conflicts)
    assert lead.db.execute("SELECT value FROM attributes a JOIN documents d ON "
                           "d.id = a.document_id WHERE d.name = ? AND key = 'region'",
                           [A01]).fetchone()[0] == "Perm Krai"
    theirs = merge(lead.db, copies["boris"], codebook_path=lead.codebook_path, coder="lead",
                   prefer="theirs")
    assert lead.db.execute("SELECT value FROM attributes a JOIN documents d ON "
                           "d.id = a.document_id WHERE d.name = ? AND key = 'region'",
                           [A01]).fetchone()[0] == "Kazan"
    assert any("(theirs taken)" in c for c in theirs.conflicts)
    lead.close()


def _revise(project_root, text_of, coder):
    """Store a new revision of A01 in the project at *project_root*."""
    from qcode.revisions import update_document

    project = Project.open(project_root)
    path = project_root / f"{A01}.md"
    path.write_text(text_of((SAMPLE / f"{A01}.md").read_text("utf-8")), "utf-8")
    update_document(project.db, A01, path, options=ImportOptions(), coder=coder)
    project.close()


def _codings(db, coder):
    return db.execute(
        "SELECT r.number, c.needs_review, substr(r.text, c.start + 1, c.\"end\" - c.start) "
        "FROM codings c JOIN coders k ON k.id = c.coder_id JOIN revisions r ON "
        "r.id = c.revision_id JOIN documents d ON d.id = c.document_id WHERE k.name = ? AND "
        "d.name = ? ORDER BY c.start", [coder, A01]).fetchall()


def test_their_codings_on_our_earlier_revision_are_re_anchored(team):
    """The lead corrected the transcript after copying it; anna coded the old text."""
    lead, copies = team
    lead.close()
    _revise(lead.root, lambda t: t.replace("Nobody asked us.", "No one consulted the "
                                           "residents.").replace("a music teacher",
                                                                 "a piano teacher"), "lead")
    lead = Project.open(lead.root)
    anna = _codings(Project.open(copies["anna"]).db, "anna")
    result = merge(lead.db, copies["anna"], codebook_path=lead.codebook_path, coder="lead")
    assert result.revised == [A01] and not result.conflicts
    line = next(w for w in result.warnings if w.startswith(f"document {A01!r}"))
    assert "their text is this project's revision 1, ours is revision 2" in line
    assert "1 flagged for review" in line
    merged = _codings(lead.db, "anna")
    assert len(merged) == len(anna) == 10
    flagged = [m for m in merged if m[1]]
    assert flagged == [(1, 1, "Nobody asked us.")]  # left on revision 1, for review
    # the others moved to revision 2 with their text unchanged
    assert sorted(t for n, _, t in merged if n == 2) == sorted(
        t for _, _, t in anna if t != "Nobody asked us.")
    assert check(lead.db) == []
    again = merge(lead.db, copies["anna"], codebook_path=lead.codebook_path, coder="lead")
    assert again.codings == 0 and again.decisions == 0
    lead.close()


def test_their_newer_revision_becomes_ours_and_our_codings_follow(team):
    """boris corrected the transcript in his copy; the lead had coded the old text."""
    lead, copies = team
    add_coding(lead.db, A01, "trust", coder="lead", segment=3)  # the sentence boris edits
    add_coding(lead.db, A01, "trust", coder="lead", segment=4)
    ours = _codings(lead.db, "lead")
    lead.close()
    _revise(copies["boris"], lambda t: t.replace("It started with our building, really.",
                                                 "It all started with our building."),
            "boris")
    lead = Project.open(lead.root)
    before = table_counts(lead.db)
    preview = merge(lead.db, copies["boris"], codebook_path=lead.codebook_path,
                    coder="lead", dry_run=True)
    assert preview.revised == [A01] and table_counts(lead.db) == before
    result = merge(lead.db, copies["boris"], codebook_path=lead.codebook_path, coder="lead")
    assert any("their text is a newer revision of ours: stored as revision 2" in w
               for w in result.warnings)
    text = lead.db.execute("SELECT r.text FROM current_revisions r JOIN documents d ON "
                           "d.id = r.document_id WHERE d.name = ?", [A01]).fetchone()[0]
    assert "It all started with our building." in text
    # ours re-anchored; the coding of the sentence boris rewrote is flagged on revision 1
    assert _codings(lead.db, "lead") == [(1, 1, ours[0][2]), (2, 0, ours[1][2])]
    assert any("1 flagged for review" in w for w in result.warnings)
    boris = _codings(lead.db, "boris")
    assert len(boris) == 10 and {n for n, _, _ in boris} == {2}
    assert result.codings == 11
    assert check(lead.db) == []
    again = merge(lead.db, copies["boris"], codebook_path=lead.codebook_path, coder="lead")
    assert again.codings == 0 and again.revised == []
    lead.close()


def test_diverged_texts_keep_ours_unless_theirs_is_preferred(team):
    lead, copies = team
    lead.close()
    _revise(lead.root, lambda t: t.replace("Nobody asked us.", "Nobody asked us at all."),
            "lead")
    # anna's revision flags her coding of the sentence she rewrote; she codes the new one
    _revise(copies["anna"], lambda t: t.replace("Nobody asked us.", "They asked no one."),
            "anna")
    anna = Project.open(copies["anna"])
    add_coding(anna.db, A01, "distrust", coder="anna", quote="They asked no one.")
    anna.close()
    lead = Project.open(lead.root)
    before = table_counts(lead.db)
    result = merge(lead.db, copies["anna"], codebook_path=lead.codebook_path, coder="lead")
    line = next(c for c in result.conflicts if c.startswith(f"document {A01!r}"))
    assert "neither is a revision of the other: ours kept" in line
    assert "9 moved exactly, 1 not placed (left out)" in line
    assert table_counts(lead.db)["revisions"] == before["revisions"]
    # 9 re-anchored to our revision 2, the flagged one onto revision 1 (same text on both
    # sides), still flagged; "They asked no one." has no place here
    assert sorted((n, f) for n, f, _ in _codings(lead.db, "anna")) == [(1, 1)] + [(2, 0)] * 9
    assert check(lead.db) == []
    theirs = merge(lead.db, copies["anna"], codebook_path=lead.codebook_path, coder="lead",
                   prefer="theirs")
    assert any("theirs taken (--prefer theirs): stored as revision 3" in c
               for c in theirs.conflicts)
    assert theirs.codings == 1  # the passage that had no place in our text
    assert sorted((n, f) for n, f, _ in _codings(lead.db, "anna")) == [(1, 1)] + [(3, 0)] * 10
    assert check(lead.db) == []
    lead.close()


def _passage_memo(root, coder, quote, text):
    """A memo by *coder* on the passage *quote* of A01's current revision (as review's
    `m` writes it)."""
    project = Project.open(root)
    stored = project.db.execute("SELECT r.text FROM current_revisions r JOIN documents d ON "
                                "d.id = r.document_id WHERE d.name = ?", [A01]).fetchone()[0]
    start = stored.index(quote)
    add_memo(project.db, text, coder=coder, document=A01, span=(start, start + len(quote)))
    project.close()


def _passage_memos(db):
    return db.execute(
        "SELECT m.text, r.number, m.needs_review, substr(r.text, m.start + 1, m.\"end\" - "
        "m.start) FROM memos m LEFT JOIN revisions r ON r.id = m.revision_id "
        "WHERE m.target = 'document' AND m.text NOT LIKE '%check segment 7%' ORDER BY m.text"
        ).fetchall()


def test_memos_on_a_passage_arrive_on_their_passage(team):
    """A memo on a passage (review's `m`, the screen's `;`) arrived as a memo on the whole
    document; it keeps its passage, moved as their codings are."""
    lead, copies = team
    lead.close()
    _passage_memo(copies["anna"], "anna", "Nobody asked us.", "who should have asked?")
    _passage_memo(copies["anna"], "anna", "I trusted her, not the idea.", "trust in a person")
    lead = Project.open(lead.root)
    result = merge(lead.db, copies["anna"], codebook_path=lead.codebook_path, coder="lead")
    assert result.memos == 3
    assert _passage_memos(lead.db) == [("trust in a person", 1, 0, "I trusted her, not the idea."),
                                       ("who should have asked?", 1, 0, "Nobody asked us.")]
    assert check(lead.db) == []
    again = merge(lead.db, copies["anna"], codebook_path=lead.codebook_path, coder="lead")
    assert again.memos == 0 and not again.changed
    # merged before passages were kept: the memo here has none, and is not added again
    lead.db.execute("UPDATE memos SET revision_id = NULL, start = NULL, \"end\" = NULL")
    again = merge(lead.db, copies["anna"], codebook_path=lead.codebook_path, coder="lead")
    assert again.memos == 0 and not again.changed
    lead.close()


def test_passage_memos_follow_revisions_as_codings_do(team):
    """The lead corrected the transcript after copying it; anna wrote memos on the old
    text: they are re-anchored to ours, the one whose sentence changed is flagged on
    revision 1. boris corrected his copy: his text becomes our revision 3, his memos go
    onto it, and one his correction left on his revision 1 stays there, flagged."""
    lead, copies = team
    lead.close()
    _passage_memo(copies["anna"], "anna", "Nobody asked us.", "who should have asked?")
    _passage_memo(copies["anna"], "anna", "I trusted her, not the idea.", "trust in a person")
    _revise(lead.root, lambda t: t.replace("Nobody asked us.", "No one consulted the "
                                           "residents.").replace("a music teacher",
                                                                 "a piano teacher"), "lead")
    lead = Project.open(lead.root)
    merge(lead.db, copies["anna"], codebook_path=lead.codebook_path, coder="lead")
    assert _passage_memos(lead.db) == [("trust in a person", 2, 0, "I trusted her, not the idea."),
                                       ("who should have asked?", 1, 1, "Nobody asked us.")]
    assert check(lead.db) == []
    assert merge(lead.db, copies["anna"], codebook_path=lead.codebook_path,
                 coder="lead").memos == 0
    lead.close()
    # boris: a memo on a sentence he then rewrites (flagged on his revision 1, which is
    # the lead's too), and one written after on his revision 2
    _passage_memo(copies["boris"], "boris", "It started with our building, really.", "origin")
    text = lambda t: t.replace("It started with our building, really.",  # noqa: E731
                               "It all started with our building.")
    _revise(copies["boris"], text, "boris")
    _passage_memo(copies["boris"], "boris", "It all started with our building.", "reworded")
    boris = Project.open(copies["boris"])
    assert boris.db.execute("SELECT needs_review FROM memos WHERE text = 'origin'"
                            ).fetchone() == (1,)
    boris.close()
    lead = Project.open(lead.root)
    merge(lead.db, copies["boris"], codebook_path=lead.codebook_path, coder="lead",
          prefer="theirs")
    memos = {m[0]: m[1:] for m in _passage_memos(lead.db)}
    assert memos["origin"] == (1, 1, "It started with our building, really.")
    assert memos["reworded"] == (3, 0, "It all started with our building.")
    assert check(lead.db) == []
    lead.close()


def test_a_passage_memo_with_no_place_here_is_kept_on_the_document(team):
    lead, copies = team
    lead.close()
    _revise(lead.root, lambda t: t.replace("Nobody asked us.", "Nobody asked us at all."),
            "lead")
    _revise(copies["anna"], lambda t: t.replace("Nobody asked us.", "They asked no one."),
            "anna")
    _passage_memo(copies["anna"], "anna", "They asked no one.", "who should have asked?")
    lead = Project.open(lead.root)
    result = merge(lead.db, copies["anna"], codebook_path=lead.codebook_path, coder="lead")
    assert _passage_memos(lead.db) == [("who should have asked?", None, 0, None)]
    assert any("a memo on their passage “They asked no one.”, which has no place in our "
               "text, is merged as a memo on the document" in w for w in result.warnings)
    line = next(c for c in result.conflicts if c.startswith(f"document {A01!r}"))
    assert line.endswith("(coded or decided): 9 moved exactly")  # the memo is not left out
    lead.close()


def test_suggestion_decisions_are_merged(team, tmp_path):
    from qcode.nlp.run import SuggestOptions, run_suggestions
    from qcode.suggestions import accept, reject

    lead, _ = team
    copy_project(lead.root, tmp_path / "plain")  # a copy that never ran suggest
    run_suggestions(lead, SuggestOptions(using=("rules",)))
    lead.close()
    copy_project(lead.root, tmp_path / "carla")
    carla = Project.open(tmp_path / "carla")
    pending = [r[0] for r in carla.db.execute(
        "SELECT id FROM suggestions WHERE status = 'pending' ORDER BY id LIMIT 4")]
    accept(carla.db, pending[0], coder="carla")
    accept(carla.db, pending[1], coder="carla")
    reject(carla.db, pending[2], coder="carla")
    reject(carla.db, pending[3], coder="carla")
    carla.close()
    lead = Project.open(lead.root)
    reject(lead.db, pending[0], coder="lead")  # decided the other way here
    result = merge(lead.db, tmp_path / "carla", codebook_path=lead.codebook_path,
                   coder="lead")
    assert result.decisions == 3 and result.codings == 2
    assert any("is rejected here, accepted there (ours kept)" in c for c in result.conflicts)
    status = dict(lead.db.execute(
        "SELECT s.id, s.status || ':' || k.name FROM suggestions s JOIN coders k ON "
        "k.id = s.decided_by WHERE s.id IN (?, ?, ?, ?)", pending))
    assert status == {pending[0]: "rejected:lead", pending[1]: "accepted:carla",
                      pending[2]: "rejected:carla", pending[3]: "rejected:carla"}
    assert lead.db.execute("SELECT k.name FROM suggestions s JOIN codings c ON "
                           "c.id = s.coding_id JOIN coders k ON k.id = c.coder_id "
                           "WHERE s.id = ?", [pending[1]]).fetchone()[0] == "carla"
    assert check(lead.db) == []
    assert merge(lead.db, tmp_path / "carla", codebook_path=lead.codebook_path,
                 coder="lead").decisions == 0
    lead.close()
    plain = Project.open(tmp_path / "plain")
    added = merge(plain.db, tmp_path / "carla", codebook_path=plain.codebook_path,
                  coder="lead")
    assert added.decisions == 4
    assert plain.db.execute("SELECT count(*), min(r.kind) FROM suggestions s JOIN runs r ON "
                            "r.id = s.run_id WHERE s.status != 'pending'"
                            ).fetchone() == (4, "merge")
    assert check(plain.db) == []
    plain.close()


def test_a_project_cannot_merge_itself(team):
    lead, _ = team
    with pytest.raises(QcodeError, match="that is this project"):
        merge(lead.db, lead.root, codebook_path=lead.codebook_path, coder="lead")
    lead.close()


def test_cli_merge(runner, team):
    from qcode.cli.app import app

    lead, copies = team
    lead.close()
    preview = runner.invoke(app, ["-P", str(lead.root), "merge", str(copies["anna"]),
                                  "--dry-run"])
    assert preview.exit_code == 0, preview.stderr
    assert "Would add" in preview.stderr and "nothing was changed" in preview.stderr
    done = runner.invoke(app, ["-P", str(lead.root), "merge", str(copies["anna"])])
    assert done.exit_code == 0 and "11 coding(s) by anna" in done.stderr
    again = runner.invoke(app, ["-P", str(lead.root), "merge", str(copies["anna"])])
    assert again.exit_code == 0 and "Nothing to add" in again.stderr
    assert "Backup" not in again.stderr
    assert runner.invoke(app, ["-P", str(lead.root), "merge", str(copies["boris"])]
                         ).exit_code == 0
    # the README's flow goes on to compare the two coders
    agree = runner.invoke(app, ["-P", str(lead.root), "agree", "--coders", "anna,boris",
                                "--code", "distrust", "--format", "json"])
    assert agree.exit_code == 0, agree.stderr
    import json

    assert json.loads(agree.stdout)[0]["units"] > 0
    found = runner.invoke(app, ["-P", str(lead.root), "agree", "--coders", "anna,boris",
                                "--code", "distrust", "--disagreements", "--format", "csv"])
    assert found.exit_code == 0 and len(found.stdout.strip().splitlines()) == 1 + 10


def test_kill_9_during_a_merge_leaves_the_project_unchanged(team):
    import signal

    from test_faults import counts, healthy, qcode

    lead, copies = team
    lead.close()
    before = counts(lead.root)
    codebook = lead.codebook_path.read_text("utf-8")
    crashed = qcode(lead.root, "merge", str(copies["anna"]), fault="project-import")
    assert crashed.returncode == -signal.SIGKILL
    healthy(lead.root)
    assert counts(lead.root) == before
    assert lead.codebook_path.read_text("utf-8") == codebook
    finished = qcode(lead.root, "merge", str(copies["anna"]))
    assert finished.returncode == 0, finished.stderr
    assert counts(lead.root)["codings"] == before["codings"] + 11


def test_merge_names_only_the_coders_it_added_and_a_repeat_takes_no_backup(team):
    """Issue 18, item 7: the summary named every coder of the other project, and a merge
    that added nothing still wrote a backup (and pruned an older one)."""
    lead, copies = team
    anna = Project.open(copies["anna"])
    add_coding(anna.db, A01, "superiors", coder="otto", segment=3)
    anna.close()
    first = merge(lead.db, copies["anna"], codebook_path=lead.codebook_path, coder="lead")
    assert first.coders == ["anna", "otto"] and first.backup.exists()
    anna = Project.open(copies["anna"])
    add_coding(anna.db, A01, "superiors", coder="otto", segment=4)
    anna.close()
    second = merge(lead.db, copies["anna"], codebook_path=lead.codebook_path, coder="lead")
    assert second.codings == 1 and second.coders == ["otto"]  # anna's are here already
    backups = sorted((lead.root / "backups").glob("*.db"))
    before = table_counts(lead.db)
    again = merge(lead.db, copies["anna"], codebook_path=lead.codebook_path, coder="lead")
    assert not again.changed and again.backup is None and again.coders == []
    assert sorted((lead.root / "backups").glob("*.db")) == backups
    assert table_counts(lead.db) == before
    lead.close()


def test_merge_creates_no_files_in_the_other_project(team):
    """Issue 18, item 6: merging opened the other project in a way that made -wal and
    -shm files in its folder; a project whose last commits are still in its write-ahead
    log is read from a private copy, with those commits."""
    import sqlite3

    lead, copies = team
    folder = copies["anna"]
    before = sorted(p.name for p in folder.iterdir())
    merge(lead.db, folder, codebook_path=lead.codebook_path, coder="lead")
    assert sorted(p.name for p in folder.iterdir()) == before
    # anna is still working: her last coding is only in the WAL
    anna = Project.open(folder)
    anna.db.execute("PRAGMA wal_autocheckpoint = 0")
    add_coding(anna.db, A01, "superiors", coder="anna", segment=30)
    assert (folder / "qcode.db-wal").stat().st_size > 0
    during = sorted(p.name for p in folder.iterdir())
    result = merge(lead.db, folder, codebook_path=lead.codebook_path, coder="lead")
    assert result.codings == 1
    assert sorted(p.name for p in folder.iterdir()) == during
    anna.close()
    lead.close()
    assert sqlite3.connect(folder / "qcode.db").execute("PRAGMA quick_check").fetchone() == ("ok",)

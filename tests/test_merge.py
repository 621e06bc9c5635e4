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
        shutil.copytree(tmp_path / "lead", tmp_path / coder)
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


def test_a_document_with_other_text_is_a_conflict_not_a_change(team, tmp_path):
    lead, copies = team
    copy = Project.open(copies["anna"])
    from qcode.revisions import update_document

    path = tmp_path / f"{A01}.md"
    path.write_text((SAMPLE / f"{A01}.md").read_text("utf-8") + "\nMarina: One more.\n",
                    "utf-8")
    update_document(copy.db, A01, path, options=ImportOptions(), coder="anna")
    copy.close()
    before = table_counts(lead.db)
    result = merge(lead.db, copies["anna"], codebook_path=lead.codebook_path, coder="lead")
    assert any(f"document {A01!r}: same name, different text" in c for c in result.conflicts)
    texts = dict(lead.db.execute("SELECT d.name, r.text FROM documents d JOIN "
                                 "current_revisions r ON r.document_id = d.id"))
    assert "One more." not in texts[A01]
    assert result.codings == 1  # anna's coding in b01 only
    assert table_counts(lead.db)["documents"] == before["documents"]
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

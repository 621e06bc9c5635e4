import json

import numpy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import CODEBOOK, SAMPLE
from qcode.analysis.agreement import agreement
from qcode.analysis.excerpts import excerpt_rows
from qcode.analysis.frequencies import crosstab, stats
from qcode.analysis.scope import Scope
from qcode.codebook.model import load_codebook
from qcode.codebook.sync import sync
from qcode.coding import add_coding
from qcode.documents import parse_filters
from qcode.errors import QcodeError
from qcode.ingest.attributes import read_attribute_table
from qcode.ingest.importer import ImportOptions, import_paths

A01, B01 = "a01-housing-perm", "b01-ngo-department-perm"


@pytest.fixture
def coded(project):
    db = project.db
    sync(db, load_codebook(CODEBOOK))
    table = read_attribute_table(SAMPLE.parent / "sample-attributes.csv")
    import_paths(db, [SAMPLE], ImportOptions(table=table))
    for n in range(1, 11):
        add_coding(db, A01, "distrust", coder="anna", segment=n)
    for n in range(6, 16):
        add_coding(db, A01, "distrust", coder="boris", segment=n)
    add_coding(db, A01, "interpersonal", coder="anna", segment=7)
    add_coding(db, A01, "network", coder="anna", segment=7)  # same sentence, second child
    add_coding(db, B01, "superiors", coder="anna", segment=20)
    add_coding(db, B01, "superiors", coder="boris", segment=20)
    add_coding(db, B01, "distrust", coder="boris", segment=30)
    return project


def test_stats_roll_parents_up_as_distinct_counts(coded):
    rows = {r["code"]: r for r in stats(coded.db, Scope())}
    assert rows["trust/distrust"]["documents"] == 2
    assert rows["trust/distrust"]["excerpts"] == 16  # sentences 1-15 of a01, 30 of b01
    trust = rows["trust"]
    # sentence 7 of a01 carries distrust, interpersonal and network: one excerpt, not three
    assert trust["excerpts"] == 16 and trust["documents"] == 2
    assert trust["documents"] <= 8 and trust["percent_documents"] == 25.0
    assert rows["loyalty"]["documents"] == 1 and rows["loyalty"]["speakers"] == 1
    assert rows["trust/distrust"]["words"] < sum(
        len(r["text"].split()) for r in excerpt_rows(coded.db, Scope(code="distrust")))


def test_stats_by_attribute_and_by_coder(coded):
    by_role = [r for r in stats(coded.db, Scope(), by="role") if r["code"] == "trust/distrust"]
    assert [(r["role"], r["documents"], r["percent_documents"]) for r in by_role] == [
        ("activist", 1, 25.0), ("bureaucrat", 1, 25.0)]
    by_coder = {r["coder"]: r for r in stats(coded.db, Scope(), by_coder=True)
                if r["code"] == "trust/distrust"}
    assert by_coder["anna"]["excerpts"] == 10 and by_coder["boris"]["excerpts"] == 11


def test_crosstab_trust_by_role(coded):
    columns, rows = crosstab(coded.db, Scope(code="trust", children=True), cols="role",
                             unit="document", percent="col")
    assert columns == ["code", "activist", "bureaucrat", "total"]
    distrust = next(r for r in rows if r["code"] == "trust/distrust")
    assert (distrust["activist"], distrust["bureaucrat"], distrust["total"]) == (25.0, 25.0, 2)
    _, counts = crosstab(coded.db, Scope(), cols="role", unit="excerpt")
    assert next(r for r in counts if r["code"] == "loyalty/superiors")["bureaucrat"] == 1


def test_excerpts_filters_and_context(coded):
    rows = excerpt_rows(coded.db, Scope(code="distrust", where=parse_filters(["role=bureaucrat"])),
                        context=1)
    assert [(r["document"], r["segment"], r["coder"]) for r in rows] == [(B01, 30, "boris")]
    assert rows[0]["before"] and rows[0]["after"] and rows[0]["attributes"]["role"] == "bureaucrat"
    assert len(excerpt_rows(coded.db, Scope(coders=["anna"], code="trust", children=True))) == 12


def sentence_count(db, document):
    """The number of sentences of *document* (the units of segment-level agreement)."""
    return db.execute("SELECT count(*) FROM segments s JOIN current_revisions r ON r.id = "
                      "s.revision_id JOIN documents d ON d.id = r.document_id WHERE "
                      "d.name = ? AND s.kind = 'sentence'", [document]).fetchone()[0]


def test_segment_agreement_matches_sklearn_and_krippendorff(coded):
    sklearn = pytest.importorskip("sklearn.metrics")
    krippendorff = pytest.importorskip("krippendorff")
    db = coded.db
    results, found = agreement(db, ["anna", "boris"], code="distrust", disagreements=True)
    (distrust, overall) = results
    # build the same units by hand: sentences of a01 and b01 (both coded by both coders)
    n_a01 = sentence_count(db, A01)
    n_b01 = sentence_count(db, B01)
    anna = [int(1 <= i <= 10) for i in range(1, n_a01 + 1)] + [0] * n_b01
    boris = [int(6 <= i <= 15) for i in range(1, n_a01 + 1)] + \
        [int(i == 30) for i in range(1, n_b01 + 1)]
    assert distrust.units == n_a01 + n_b01
    assert distrust.kappa == pytest.approx(sklearn.cohen_kappa_score(anna, boris))
    assert distrust.alpha == pytest.approx(krippendorff.alpha(
        reliability_data=[anna, boris], level_of_measurement="nominal"))
    assert distrust.percent == pytest.approx(1 - 11 / (n_a01 + n_b01))
    assert len(found) == 11 and {d.code for d in found} == {"trust/distrust"}
    assert found[0].coded_by == ["anna"] and found[0].not_by == ["boris"]


def test_char_agreement_and_three_coders(coded):
    db = coded.db
    results, _ = agreement(db, ["anna", "boris"], unit="char", code="superiors")
    superiors = results[0]
    assert superiors.percent == 1.0 and superiors.alpha == pytest.approx(1.0)
    add_coding(db, A01, "distrust", coder="carol", segment=3)
    add_coding(db, B01, "superiors", coder="carol", segment=21)
    results, _ = agreement(db, ["anna", "boris", "carol"])
    overall = results[-1]
    assert overall.code == "(overall)" and overall.kappa is None and overall.alpha is not None


def test_agreement_errors(coded):
    with pytest.raises(QcodeError, match="at least two coders"):
        agreement(coded.db, ["anna"])
    with pytest.raises(QcodeError, match="no coder 'zoe'"):
        agreement(coded.db, ["anna", "zoe"])


def test_cli_analysis_commands(coded, cli):
    out = cli("stats", "--by", "role", "-f", "json")
    assert out.exit_code == 0, out.stderr
    assert any(r["code"] == "trust" and r["role"] == "activist" for r in json.loads(out.stdout))
    tab = cli("crosstab", "--code", "trust", "--children", "--cols", "role", "--unit",
              "document", "--percent", "col", "-f", "csv")
    assert tab.stdout.splitlines()[0] == "code,activist,bureaucrat,total"
    shown = cli("crosstab", "--code", "trust", "--children", "--cols", "role", "--unit",
                "document", "--percent", "col").stdout.splitlines()
    # the table says which cells are percentages and that the total is a count
    assert shown[0] == "Cells: % of each role's documents · total: number of documents"
    assert [h.strip() for h in shown[1].split("┃")] == ["code", "activist %", "bureaucrat %",
                                                       "total documents"]
    counts = cli("crosstab", "--cols", "role").stdout.splitlines()
    assert counts[0] == "Cells: number of excerpts by role" and "total excerpts" in counts[1]
    rows = cli("crosstab", "--cols", "role", "--percent", "row").stdout.splitlines()
    assert rows[0] == "Cells: % of the code's excerpts in each role · total: number of excerpts"
    ex = cli("excerpts", "--code", "superiors", "--coder", "anna", "-f", "jsonl", "--context", "1")
    assert json.loads(ex.stdout.splitlines()[0])["speaker"] == "Interviewer"  # b01, sentence 20
    ag = cli("agree", "--coders", "anna,boris", "-f", "json")
    assert json.loads(ag.stdout)[-1]["code"] == "(overall)"
    dis = cli("agree", "--coders", "anna,boris", "--disagreements")
    assert "disagreement(s)" in dis.stderr
    bad = cli("crosstab", "--cols", "role", "--unit", "paragraph")
    assert bad.exit_code == 1 and "--unit is one of" in bad.stderr


def test_cooccurrence_counts_jaccard_and_pairs(coded, cli):
    from qcode.analysis.cooccurrence import cooccurrence, jaccard

    codes, counts, pairs = cooccurrence(coded.db, Scope(), unit="segment")
    both, example = pairs[("trust/distrust", "trust/interpersonal")]
    assert both == 1 and counts["trust/interpersonal"] == 1  # sentence 7 of a01
    assert counts["trust/distrust"] == 16
    assert jaccard(counts, both, "trust/distrust", "trust/interpersonal") == round(1 / 16, 3)
    _, doc_counts, doc_pairs = cooccurrence(coded.db, Scope(), unit="document")
    assert doc_pairs[("loyalty/superiors", "trust/distrust")][0] == 1  # b01
    out = cli("cooccur", "--pairs", "--top", "3", "-f", "json")
    top = json.loads(out.stdout)
    assert len(top) == 3 and top[0]["count"] >= top[-1]["count"] and top[0]["example"]
    matrix = cli("cooccur", "--unit", "turn")
    assert matrix.exit_code == 0 and "distrust" in matrix.stdout


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 3000), st.integers(1, 400)), min_size=1, max_size=12))
def test_words_coded_are_the_words_of_the_union_of_spans(coded, spans):
    """The word index gives what splitting the merged coded text gives."""
    from qcode.analysis.frame import CodingFrame

    db = coded.db
    revision, text = db.execute("SELECT r.id, r.text FROM current_revisions r JOIN documents "
                                "d ON d.id = r.document_id WHERE d.name = ?", [A01]).fetchone()
    rows = [(1, revision, min(s, len(text)), min(s + n, len(text)), 1, 1) for s, n in spans]
    covered = sorted((a, b) for _, _, a, b, _, _ in rows)
    merged: list[list[int]] = []
    for a, b in covered:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    expected = sum(len(text[a:b].split()) for a, b in merged)
    frame = CodingFrame(db, rows)
    assert frame.words(numpy.ones(len(rows), dtype=bool)) == expected


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.text("aб. \n\t\u3000\u00a0\x1c", max_size=40),
                          st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)),
                                   max_size=5)), min_size=1, max_size=3))
def test_word_bitmaps_count_what_str_split_counts(revisions):
    """Across several revisions laid end to end, with Unicode whitespace and spans at the
    very start and end of a text: the word bitmap counts the words of the merged spans."""
    import sqlite3

    from qcode.analysis.frame import CodingFrame
    from qcode.store.words import store_words

    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE revision_words (revision_id INTEGER PRIMARY KEY, length, nonspace)")
    rows, expected = [], 0
    for revision, (text, spans) in enumerate(revisions, 1):
        store_words(db, revision, text)
        spans = [(min(a, b, len(text)), min(max(a, b), len(text))) for a, b in spans]
        spans = [(a, b) for a, b in spans if a < b]  # codings are never empty
        rows += [(1, revision, a, b, 1, 1) for a, b in spans]
        merged: list[list[int]] = []
        for a, b in sorted(spans):
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        expected += sum(len(text[a:b].split()) for a, b in merged)
    if rows:
        frame = CodingFrame(db, rows)
        assert frame.words(numpy.ones(len(rows), dtype=bool)) == expected


def test_analysis_sees_each_change_and_one_state_per_read_snapshot(coded):
    """What one process reads once (the server's coding memo, the SQLite coding cache) is
    never served after a change: its own or another connection's. Inside `read_snapshot`
    (a report) every section sees the same state, whatever commits meanwhile."""
    from qcode.project import Project
    from qcode.store.connection import read_snapshot

    def excerpts(db):
        return {r["code"]: r["excerpts"] for r in stats(db, Scope())}["trust/distrust"]

    db = coded.db
    assert excerpts(db) == 16
    add_coding(db, B01, "distrust", coder="anna", segment=31)
    assert excerpts(db) == 17  # this connection's own change
    other = Project.open(coded.root)
    try:
        add_coding(other.db, B01, "distrust", coder="anna", segment=32)
        assert excerpts(db) == 18  # another connection's
        with read_snapshot(db):
            assert excerpts(db) == 18
            add_coding(other.db, B01, "distrust", coder="anna", segment=33)
            assert excerpts(db) == 18  # still the state the report began with
        assert excerpts(db) == 19
    finally:
        other.close()


def test_read_snapshot_writes_nothing_on_the_server(coded):
    from qcode.store.connection import read_snapshot

    db = coded.db
    if not db.on_postgres:
        pytest.skip("a PostgreSQL read-only transaction")
    with pytest.raises(Exception, match="read-only"):
        with read_snapshot(db):
            db.execute("DELETE FROM codings")
    assert not db.conn.in_transaction
    assert db.execute("SELECT count(*) FROM codings").fetchone()[0] == 25

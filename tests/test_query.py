"""Queries on codings (qcode.analysis.query) and `qcode excerpts --query/--near`."""

import json

import pytest

from conftest import CODEBOOK, REPO, SAMPLE
from qcode.analysis.query import (And, Code, Coding, Near, Not, Or, QueryError, evaluate,
                                  parse_near, parse_query, positive_codes, select, unit_range)

ATTRIBUTES = REPO / "corpora" / "sample-attributes.csv"
A01, B04 = "a01-housing-perm", "b04-social-protection-kazan"


# -- parsing -----------------------------------------------------------------------------


def test_precedence_not_over_and_over_or():
    tree = parse_query("a OR b AND NOT c")
    assert tree == Or(Code("a", 1), And(Code("b", 6), Not(Code("c", 16))))
    assert parse_query("(a or b) and c") == And(Or(Code("a", 2), Code("b", 7)), Code("c", 14))


def test_quoted_names_and_keywords_as_names():
    tree = parse_query("\"civic trust\" AND NOT 'and'")
    assert tree == And(Code("civic trust", 1), Not(Code("and", 23)))
    assert parse_query("trust/distrust") == Code("trust/distrust", 1)


@pytest.mark.parametrize(("text", "position", "words"), [
    ("", 1, "empty"),
    ("trust AND", 10, "expected a code name, NOT or '(' at position 10, found the end"),
    ("trust AND (distrust", 11, "the '(' at position 11 is not closed"),
    ("trust distrust", 7, "expected AND, OR or the end of the query at position 7"),
    ("trust) OR x", 6, "')' at position 6 closes nothing"),
    ("OR trust", 1, "found 'OR'"),
    ("(a OR b c)", 9, "expected AND, OR or ')' at position 9, found 'c'"),
    ("a AND 'b", 7, "the quote ' opened at position 7 is not closed"),
    ("a AND ()", 8, "found ')'"),
])
def test_bad_queries_name_the_position(text, position, words):
    with pytest.raises(QueryError) as caught:
        parse_query(text)
    assert caught.value.position == position
    assert words in str(caught.value) and str(caught.value).startswith("--query: ")


def test_evaluate_and_positive_codes():
    tree = parse_query("(a OR b) AND NOT (c AND NOT d)")
    assert [c.name for c in positive_codes(tree)] == ["a", "b", "d"]
    truth = {frozenset(s): evaluate(tree, lambda n, s=s: n in s)
             for s in ({"a"}, {"a", "c"}, {"a", "c", "d"}, {"c", "d"}, set())}
    assert truth == {frozenset({"a"}): True, frozenset({"a", "c"}): False,
                     frozenset({"a", "c", "d"}): True, frozenset({"c", "d"}): False,
                     frozenset(): False}


def test_parse_near():
    assert parse_near("trust,state:2") == Near("trust", "state", 2)
    assert parse_near(" trust , loyalty/superiors ") == Near("trust", "loyalty/superiors", 1)
    assert parse_near("a,b:0").distance == 0
    with pytest.raises(QueryError, match="after .:. at position 5"):
        parse_near("a,b:two")
    with pytest.raises(QueryError, match="two codes"):
        parse_near("trust")
    with pytest.raises(QueryError, match="two codes"):
        parse_near("a,b,c:1")


# -- selection ---------------------------------------------------------------------------

# one revision, five sentences: 0-10, 10-20, 20-30, 30-40, 40-50
SENTENCES = {1: ([0, 10, 20, 30, 40], [10, 20, 30, 40, 50])}
IDS = {"a": frozenset({1}), "b": frozenset({2}), "c": frozenset({3}), "ab": frozenset({1, 2})}


def codings(*items):
    return [Coding(i, 1, start, end, code) for i, (start, end, code) in enumerate(items, 1)]


def test_unit_range():
    assert unit_range(SENTENCES[1], 12, 18) == (1, 1)
    assert unit_range(SENTENCES[1], 5, 25) == (0, 2)
    assert unit_range(SENTENCES[1], 10, 20) == (1, 1)  # ends on a boundary
    assert unit_range(([], []), 3, 4) == (0, 0)


def test_select_and_not_or_on_sentences():
    found = codings((0, 10, 1), (0, 10, 2), (10, 20, 1), (20, 30, 2), (25, 40, 3), (30, 40, 1))
    run = lambda q: select(found, units=SENTENCES, sentences=SENTENCES,  # noqa: E731
                           query=parse_query(q), ids=IDS)
    assert run("a AND b") == {1, 2}
    assert run("a AND NOT b") == {3, 6}
    assert run("b AND NOT a") == {4}
    assert run("a OR c") == {1, 3, 5, 6}
    assert run("NOT a") == {4, 5}  # only negations: codings of any code where it holds
    assert run("ab AND NOT (a AND b)") == {3, 4, 6}
    whole = select(found, units={}, sentences=SENTENCES, query=parse_query("a AND c"), ids=IDS)
    assert whole == {1, 3, 5, 6}  # the document is the unit


def test_select_near():
    found = codings((0, 10, 1), (30, 40, 2), (40, 50, 3), (20, 25, 1))
    near = lambda n: select(found, units=SENTENCES, sentences=SENTENCES,  # noqa: E731
                            near=Near("a", "b", n), ids=IDS)
    assert near(0) == set()
    assert near(1) == {2, 4}  # sentences 2 and 3 are neighbours; sentence 0 is 3 away
    assert near(3) == {1, 2, 4}
    both = select(found, units=SENTENCES, sentences=SENTENCES, query=parse_query("a"),
                  near=Near("a", "b", 1), ids=IDS)
    assert both == {4}


# -- the command -------------------------------------------------------------------------


@pytest.fixture
def coded(cli):
    cli("codebook", "sync", "--file", CODEBOOK)
    assert cli("import", SAMPLE, "--attributes", ATTRIBUTES).exit_code == 0
    for doc, segment, code in [(A01, 3, "distrust"), (A01, 3, "trust/institutional"),
                               (A01, 4, "trust/interpersonal"), (A01, 7, "loyalty/superiors"),
                               (B04, 4, "trust/interpersonal"), (B04, 4, "distrust"),
                               (B04, 9, "distrust")]:
        assert cli("tag", "add", doc, "-s", segment, "-c", code).exit_code == 0
    return cli


def excerpts(cli, *args):
    result = cli("excerpts", "-f", "json", *args)
    assert result.exit_code == 0, result.stderr
    return sorted((r["document"], r["segment"], r["code"]) for r in json.loads(result.stdout))


def test_excerpts_query_on_sentences_turns_and_with_filters(coded):
    assert excerpts(coded, "--query", "trust AND NOT distrust") == [
        (A01, 4, "trust/interpersonal")]
    assert excerpts(coded, "--query", "interpersonal AND distrust") == [
        (B04, 4, "trust/distrust"), (B04, 4, "trust/interpersonal")]
    assert excerpts(coded, "-q", "interpersonal AND distrust", "--where", "role=activist") == []
    assert excerpts(coded, "-q", "interpersonal AND distrust", "--code", "distrust") == [
        (B04, 4, "trust/distrust")]
    # a01's sentences 3 and 4 lie in one turn
    assert (A01, 4, "trust/interpersonal") in excerpts(
        coded, "-q", "interpersonal AND distrust", "--unit", "turn")
    assert excerpts(coded, "-q", "loyalty AND institutional", "--unit", "document") == [
        (A01, 3, "trust/institutional"), (A01, 7, "loyalty/superiors")]


def test_excerpts_near(coded):
    assert excerpts(coded, "--near", "institutional,superiors:3") == []
    assert excerpts(coded, "--near", "institutional,superiors:4") == [
        (A01, 3, "trust/institutional"), (A01, 7, "loyalty/superiors")]
    assert excerpts(coded, "--near", "interpersonal,distrust:0", "--doc", A01) == []
    assert excerpts(coded, "--near", "interpersonal,distrust:1", "--doc", A01) == [
        (A01, 3, "trust/distrust"), (A01, 4, "trust/interpersonal")]


def test_excerpts_bad_query_is_one_line_error(coded):
    result = coded("excerpts", "--query", "trust AND (distrust")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == ("Error: --query: the '(' at position 11 is not closed "
                             "(in 'trust AND (distrust')\n")
    result = coded("excerpts", "--query", "trust OR trst")
    assert result.exit_code == 1 and "--query: at position 10: no code 'trst'" in result.stderr
    result = coded("excerpts", "--query", "trust", "--unit", "page")
    assert result.exit_code == 1 and "sentence, turn, document" in result.stderr


def test_export_excerpts_with_query(coded, tmp_path):
    import csv

    out = tmp_path / "q.csv"
    result = coded("export", "excerpts", "-o", out, "--query", "trust AND NOT distrust")
    assert result.exit_code == 0, result.stderr
    with open(out, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["document"], r["segment"], r["code"]) for r in rows] == [
        (A01, "4", "trust/interpersonal")]
    result = coded("export", "excerpts", "-o", tmp_path / "n.csv", "--near", "a,b:x")
    assert result.exit_code == 1 and not (tmp_path / "n.csv").exists()

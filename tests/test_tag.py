"""`qcode tag list` (sentence numbers, memos, --where) and `qcode tag auto`."""

import json

import pytest

from conftest import CODEBOOK, REPO, SAMPLE, table_counts

ATTRIBUTES = REPO / "corpora" / "sample-attributes.csv"
A01, B04 = "a01-housing-perm", "b04-social-protection-kazan"


@pytest.fixture
def ready(cli):
    cli("codebook", "sync", "--file", CODEBOOK)
    result = cli("import", SAMPLE, "--attributes", ATTRIBUTES)
    assert result.exit_code == 0, result.stderr
    return cli


def listed(cli, *args):
    result = cli("tag", "list", "-f", "json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_tag_list_shows_sentence_number_memo_and_filters_by_attribute(ready):
    ready("tag", "add", A01, "-s", "3", "-c", "distrust", "--memo", "the key passage")
    ready("tag", "add", B04, "-s", "4", "-c", "trust/interpersonal")
    rows = listed(ready)
    assert [(r["document"], r["segment"], r["memo"]) for r in rows] == [
        (A01, 3, "the key passage"), (B04, 4, None)]
    assert [r["document"] for r in listed(ready, "--where", "role=bureaucrat")] == [B04]
    assert [r["document"] for r in listed(ready, "-w", "role!=bureaucrat")] == [A01]
    table = ready("tag", "list").stdout
    header = table.splitlines()[0]
    assert "segment" in header and "memo" in header and "the key passage" in table
    bad = ready("tag", "list", "--where", "role")
    assert bad.exit_code == 1 and "expected key=value" in bad.stderr

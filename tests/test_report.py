import re
import shutil
import stat
import subprocess
from html.parser import HTMLParser

import pytest

from conftest import CODEBOOK, SAMPLE, write
from qcode.codebook.model import load_codebook
from qcode.codebook.sync import sync
from qcode.coding import add_coding
from qcode.errors import QcodeError
from qcode.export.report import write_report
from qcode.ingest.attributes import read_attribute_table
from qcode.ingest.importer import ImportOptions, import_paths


@pytest.fixture
def reported(project, tmp_path):
    db = project.db
    sync(db, load_codebook(CODEBOOK))
    import_paths(db, [SAMPLE], ImportOptions(table=read_attribute_table(
        SAMPLE.parent / "sample-attributes.csv")))
    import_paths(db, [write(tmp_path / "evil.txt",
                            "Q: <script>alert('x')</script> & <b>bold</b>?\nA: Fine.")],
                 ImportOptions())
    add_coding(db, "evil", "distrust", coder="anna", segment=1)
    for n in range(1, 6):
        add_coding(db, "a01-housing-perm", "appeals", coder="anna", segment=n)
        add_coding(db, "a01-housing-perm", "appeals", coder="boris", segment=n + 1)
    add_coding(db, "a01-housing-perm", "distrust", coder="anna", segment=2)
    return write_report(project)


class Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs


def test_report_is_self_contained_escaped_and_private(reported):
    html = reported.read_text()
    parser = Collect()
    parser.feed(html)
    assert "script" not in parser.tags and "img" not in parser.tags and "link" not in parser.tags
    assert not [v for k, v in parser.attrs if k in ("src", "href")]
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", html)  # only the SVG namespace
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert {"svg", "table", "blockquote"} <= set(parser.tags)
    for section in ("Codebook", "Code frequencies by role", "Co-occurrence",
                    "Intercoder agreement", "Excerpts per code"):
        assert section in html
    assert stat.S_IMODE(reported.stat().st_mode) == 0o600


def test_report_refuses_to_overwrite_without_force(reported, project):
    with pytest.raises(QcodeError, match="exists; use --force"):
        write_report(project)
    assert write_report(project, force=True) == reported
    assert not list(reported.parent.glob(".report.html.*"))  # no temporary left behind


@pytest.mark.skipif(not shutil.which("chromium"), reason="chromium is not installed")
def test_report_renders_in_headless_chromium_without_console_errors(reported, tmp_path):
    result = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr",
         "--v=0", "--dump-dom", reported.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Excerpts per code" in result.stdout
    assert "CONSOLE" not in result.stderr and "Uncaught" not in result.stderr


def test_report_shows_the_first_excerpts_of_a_code_and_counts_the_rest(reported, project):
    from qcode.export.report import build_report

    html = build_report(project, max_excerpts=3)
    # 'appeals' has 10 codings: three are quoted, seven are counted
    section = html.split("Excerpts per code", 1)[1]
    appeals = section.split("appeals", 1)[1].split("<h3>", 1)[0]
    assert "(10)" in appeals and appeals.count("<blockquote>") == 3
    assert "…and 7 more" in appeals


def test_report_quotes_only_what_a_query_selects(reported, project, tmp_path):
    """`qcode report --query` (as `qcode excerpts --query`): the excerpts section quotes
    the codings of the codes that meet; a bad query writes no file."""
    from qcode.export.report import build_report

    html = build_report(project, query="appeals AND distrust")
    section = html.split("Excerpts per code", 1)[1]
    assert "<code>--query appeals AND distrust</code> selects: 3" in section
    appeals = section.split("appeals <span", 1)[1].split("<h3>", 1)[0]
    assert "(2)" in appeals and appeals.count("<blockquote>") == 2
    assert "alert" not in section  # the other document's distrust has no appeals
    target = tmp_path / "bad.html"
    with pytest.raises(QcodeError, match="position"):
        write_report(project, target, query="appeals AND (distrust")
    assert not target.exists()

"""The audit report: CSV rows per billed line with no live formula, and an HTML page that renders
every note in Chromium whatever markup the notes hold."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from notes_nlp.cli import app
from notes_nlp.report import FORMULA_FIRST

FIXTURE = Path(__file__).parent / "fixtures" / "mixed_records.jsonl"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
MARKUP = [
    "<!--<script>", "</script><script>document.body.dataset.pwned = 1</script>", "<!-- a comment -->",
    "<img src=x onerror=\"document.body.dataset.pwned = 1\">", "]]> <![CDATA[", "{{TITLE}} /*DATA*/null",
    "<style>article { display: none }</style>", "\u2028 line separator \u2029", "&lt;not an entity&gt; &amp;",
]
FORMULAS = ["=HYPERLINK(\"http://x\",\"y\")", "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd", "-2+3", "\tx", "\rx", "＝1+1"]


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium (`make chromium` installs it; CI does); without it the test is skipped."""
    return shutil.which("chromium") or pytest.skip("chromium is not installed: run `make chromium` (as root)")


def score_to(path: Path, source: Path = FIXTURE) -> None:
    result = CliRunner().invoke(app, ["score", str(source), "-o", str(path), "--rules-only"])
    assert result.exit_code == 0, result.output


def hostile_notes(tmp_path: Path) -> Path:
    """Notes (and note_ids, credentials) holding script and comment markup or formulas, one
    line each, and one record whose error quotes its note_id."""
    records = [
        {"note_id": f"{markup} #{i}", "text": f"MFR to R upper trapezius 12 min {markup} to restore rotation.",
         "billed": [{"code": "97140"}], "provider_credential": "DC"}
        for i, markup in enumerate(MARKUP + FORMULAS)
    ]
    records.append({"note_id": "<!--<script>", "text": "MFR 10 min", "billed": [{"code": "97140"}]})  # a duplicate: an error
    path = tmp_path / "hostile.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def test_csv_has_a_row_per_billed_line_and_one_per_bad_record(tmp_path):
    score_to(tmp_path / "report.csv")
    rows = list(csv.DictReader((tmp_path / "report.csv").open()))
    assert sum(1 for r in rows if r["error"]) == 28
    assert sum(1 for r in rows if r["verdict"]) == 29
    assert {r["verdict"] for r in rows if r["verdict"]} <= {"supported", "unsupported", "at_risk"}


def test_no_cell_of_the_csv_report_starts_a_formula(tmp_path):
    score_to(tmp_path / "report.csv", hostile_notes(tmp_path))
    with (tmp_path / "report.csv").open(newline="", encoding="utf-8") as stream:
        rows = list(csv.reader(stream))
    cells = [cell for row in rows for cell in row]
    assert len(rows) == 1 + len(MARKUP) + len(FORMULAS) + 1
    assert not [cell for cell in cells if cell.startswith(FORMULA_FIRST)]
    assert {f"'{formula} #{len(MARKUP) + i}" for i, formula in enumerate(FORMULAS)} <= set(cells), "the text is kept, made inert"


def render(chromium: str, report: Path, profile: Path) -> str:
    return subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", report.as_uri()],
        capture_output=True, text=True, timeout=120,
    ).stdout


def test_html_report_renders_every_note_in_chromium(tmp_path, chromium):
    report = tmp_path / "report.html"
    score_to(report)
    assert not re.search(r'(?:src|href)="(?:https?:)?//', report.read_text()), "the report is one self-contained file"
    dom = render(chromium, report, tmp_path / "profile")
    assert 'id="shown-notes" data-count="57"' in dom, "the page's script did not render the notes"
    assert len(re.findall(r'<article class="note"', dom)) == 57
    assert "29</span> lines" in dom
    assert '<mark class="ev">' in dom, "evidence of a finding is highlighted"
    assert "relaxation-only" in dom and "duplicate note_id" in dom


def test_markup_in_notes_is_shown_as_text_in_chromium(tmp_path, chromium):
    """`<!--<script>` and the like in the notes neither blank the page nor run: every note is
    rendered, its markup shown as the words it is."""
    report = tmp_path / "report.html"
    score_to(report, hostile_notes(tmp_path))
    dom = render(chromium, report, tmp_path / "profile")
    notes = len(MARKUP) + len(FORMULAS) + 1
    assert f'id="shown-notes" data-count="{notes}"' in dom, "the page's script did not render the notes"
    assert len(re.findall(r'<article class="note"', dom)) == notes
    assert "pwned" not in dom.split("<body", 1)[1].split(">", 1)[0], "no markup of a note ran"
    assert "<img" not in dom and dom.count("<script") == 2, "the page's own two scripts, no other"
    assert "&lt;!--&lt;script&gt;" in dom and "&lt;/script&gt;&lt;script&gt;" in dom
    assert "{{TITLE}} /*DATA*/null" in dom and "&amp;lt;not an entity&amp;gt;" in dom

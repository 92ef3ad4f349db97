"""The audit report: CSV rows per billed line, and an HTML page that renders in Chromium."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from notes_nlp.cli import app

FIXTURE = Path(__file__).parent / "fixtures" / "mixed_records.jsonl"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium; installed when absent (as root with apt-get), else the test is skipped with why."""
    found = shutil.which("chromium")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("chromium is not installed and cannot be installed here (needs root and apt-get)")
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        result = subprocess.run(command, capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            pytest.skip(f"chromium could not be installed: {' '.join(command)} failed: {result.stderr[-300:]}")
    return shutil.which("chromium") or pytest.skip("chromium installed but not found on PATH")


def score_to(path: Path) -> None:
    result = CliRunner().invoke(app, ["score", str(FIXTURE), "-o", str(path), "--rules-only"])
    assert result.exit_code == 0, result.output


def test_csv_has_a_row_per_billed_line_and_one_per_bad_record(tmp_path):
    score_to(tmp_path / "report.csv")
    rows = list(csv.DictReader((tmp_path / "report.csv").open()))
    assert sum(1 for r in rows if r["error"]) == 28
    assert sum(1 for r in rows if r["verdict"]) == 29
    assert {r["verdict"] for r in rows if r["verdict"]} <= {"supported", "unsupported", "at_risk"}


def test_html_report_renders_every_note_in_chromium(tmp_path, chromium):
    report = tmp_path / "report.html"
    score_to(report)
    assert not re.search(r'(?:src|href)="(?:https?:)?//', report.read_text()), "the report is one self-contained file"
    dom = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", report.as_uri()],
        capture_output=True, text=True, timeout=120,
    ).stdout
    assert 'id="shown-notes" data-count="57"' in dom, "the page's script did not render the notes"
    assert len(re.findall(r'<article class="note"', dom)) == 57
    assert "29</span> lines" in dom
    assert '<mark class="ev">' in dom, "evidence of a finding is highlighted"
    assert "relaxation-only" in dom and "duplicate note_id" in dom

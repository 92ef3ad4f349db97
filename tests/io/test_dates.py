"""Dates are parsed (ISO and US M/D/YYYY), and a chart is read in the parsed date's order."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from notes_nlp.io.dates import parse_date
from notes_nlp.judge import chart_order
from notes_nlp.scoring import score

SAMPLES = Path(__file__).resolve().parents[2] / "corpus" / "samples" / "notes.jsonl"


@pytest.mark.parametrize("text, date", [
    ("2026-03-04", dt.date(2026, 3, 4)), ("3/4/2026", dt.date(2026, 3, 4)), ("03/04/2026", dt.date(2026, 3, 4)),
    (" 2024-02-29 ", dt.date(2024, 2, 29)), ("", None), (None, None),
])
def test_dates_read(text, date):
    assert parse_date(text) == date


@pytest.mark.parametrize("text, says", [
    ("2026-02-30", "not a day of the calendar"), ("2/29/2025", "not a day of the calendar"), ("2026-13-01", "not a day"),
    ("2026-3-2", "YYYY-MM-DD or M/D/YYYY"), ("4 March 2026", "YYYY-MM-DD or M/D/YYYY"), ("2026-03-04T10:00", "YYYY-MM-DD"),
    (20260304, "must be a string"), ("x" * 1000, "YYYY-MM-DD"),
])
def test_other_dates_are_errors(text, says):
    with pytest.raises(ValueError, match=says):
        parse_date(text)


def test_a_chart_is_ordered_by_parsed_date_with_undated_notes_last():
    records = [{"chart_id": "c", "date": d} for d in ("2026-03-09", "3/2/2026", None, "2026-03-02", "")]
    assert chart_order(records) == [[1, 3, 0, 2, 4]]


def test_a_us_date_keeps_the_plan_of_care_first(nlp):
    """sample-1 sets the goals, sample-2 is the follow-up visit a week later. Written 3/2/2026 and
    2026-03-09, the plan of care used to sort after the visit as a string, and the visit lost its goals."""
    plan, visit = [json.loads(line) for line in SAMPLES.read_text().splitlines()[:2]]
    as_iso = score([visit, plan], None, nlp)
    as_us = score([visit, {**plan, "date": "3/2/2026"}], None, nlp)
    assert as_us == as_iso
    assert "no-goal" not in {f["rule"] for line in as_us[0]["lines"] for f in line["findings"]}

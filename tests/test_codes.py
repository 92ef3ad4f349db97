"""Each CPT fact is read from rules/data/codes.json alone: change it there and every reader follows."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from notes_nlp import codes
from notes_nlp.io.billed import read_billing
from notes_nlp.rules.billing import parse_line
from notes_nlp.rules.profiles import CREDENTIALS, load_profile
from notes_nlp.rules.units import minutes_for_units, units_for_minutes

FACTS = json.loads(resources.files("notes_nlp.rules").joinpath("data", "codes.json").read_text("utf-8"))


@pytest.fixture()
def edited(monkeypatch):
    """codes.json as a coder might edit it: a 10-minute unit and a third muscle-work code."""
    data = {**FACTS, "unit_minutes": 10, "muscle_work_codes": {**FACTS["muscle_work_codes"], "97530": "MANUAL_TECHNIQUE"}}
    cached = [value for value in vars(codes).values() if hasattr(value, "cache_clear")]
    for function in cached:
        function.cache_clear()
    monkeypatch.setattr(codes, "_facts", lambda: data)
    yield data
    for function in cached:
        function.cache_clear()


def test_the_unit_is_read_from_the_file(edited):
    assert [units_for_minutes(m) for m in (5, 6, 15, 16)] == [0, 1, 1, 2]
    assert minutes_for_units(2) == 16


def test_the_muscle_work_codes_are_read_from_the_file(edited):
    assert codes.muscle_work_codes() == ("97124", "97140", "97530")


def test_one_code_syntax_for_the_json_form_the_profiles_and_the_notes():
    for code in ("97140", "0001F", "0019T", "G0283"):
        assert parse_line(0, {"code": code}).code == code
        assert read_billing(f"billed {code}-59 x2")["code"] == code
    with pytest.raises(ValueError, match="code must be"):
        parse_line(0, {"code": "W1234"})
    assert set(load_profile("commercial-strict").paid_credentials) <= {c for c in FACTS["muscle_work_codes"]}


def test_profiles_name_the_credentials_the_extraction_knows():
    assert {"DC", "PT", "DPT", "PTA", "MD", "DO", "LMT", "OT", "ATC"} <= CREDENTIALS
    assert "CAREGIVER" not in CREDENTIALS

"""The compact billed notation: XS/XE/XP/XU modifiers read, anything else a ValueError."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notes_nlp.io.billed import parse_billed

CODES = st.from_regex(r"\A(?:[0-9]{5}|[A-V][0-9]{4})\Z")
MODIFIERS = st.sampled_from(["59", "XS", "XE", "XP", "XU", "GP", "25", "AT", "X1"])


@pytest.mark.parametrize("text, lines", [
    ("97140-XSx1", [{"code": "97140", "modifiers": ["XS"], "units": 1}]),
    ("97140-XE;98940", [{"code": "97140", "modifiers": ["XE"]}, {"code": "98940"}]),
    ("97140-XPx2;97124-XUx1", [{"code": "97140", "modifiers": ["XP"], "units": 2}, {"code": "97124", "modifiers": ["XU"], "units": 1}]),
    ("97140-59x2;98941", [{"code": "97140", "modifiers": ["59"], "units": 2}, {"code": "98941"}]),
    ("97140-59-XSX2", [{"code": "97140", "modifiers": ["59", "XS"], "units": 2}]),
    (" 97124 x 3 ; ", [{"code": "97124", "units": 3}]),
    ("97140xs1", None),
    ("97124-xyz", None),
    ("97140x", None),
    ("9714", None),
    ("97140x" + "9" * 5000, None),
])
def test_the_notation(text, lines):
    if lines is None:
        with pytest.raises(ValueError, match="cannot read"):
            parse_billed(text)
    else:
        assert parse_billed(text) == lines


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_text_parses_or_is_a_value_error(text):
    try:
        lines = parse_billed(text)
    except ValueError as exc:
        assert "cannot read" in str(exc) and len(str(exc)) < 500  # 40 characters of the line at most, escaped
    else:
        assert all(len(line["code"]) == 5 for line in lines)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(CODES, st.lists(MODIFIERS, max_size=3), st.none() | st.integers(1, 24)), min_size=1, max_size=4))
def test_written_lines_read_back(lines):
    text = ";".join(code + "".join(f"-{m}" for m in mods) + (f"x{units}" if units else "") for code, mods, units in lines)
    expected = [{"code": code, **({"modifiers": mods} if mods else {}), **({"units": units} if units else {})} for code, mods, units in lines]
    assert parse_billed(text) == expected

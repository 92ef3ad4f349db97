"""The first-character guard changes how fast a rule's regex scans a note, never what it finds."""

from __future__ import annotations

import json
import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from notes_nlp.extraction.first_chars import compile_guarded, digit_led, finditer_from
from notes_nlp.extraction.regex_rules import compile_rules
from notes_nlp.extraction.resources import read_jsonl
from notes_nlp.extraction.statements import StatementRules

ROOT = Path(__file__).resolve().parents[2]


def rule_patterns() -> list[re.Pattern[str]]:
    """Every regex of statements.jsonl and regex.jsonl, as the components compile them."""
    rules = StatementRules.load()
    return (
        [p for cues in rules.cues.values() for p, _ in cues]
        + [p for blocks in rules.blocks.values() for p in blocks]
        + [content for _, _, content in rules.sections]
        + [rules.timeframe, rules.amount]
        + [rule.pattern for rule in compile_rules(read_jsonl("regex.jsonl"))]
    )


def unguarded(pattern: re.Pattern[str]) -> re.Pattern[str]:
    return re.compile(pattern.pattern.replace(guard_of(pattern), "", 1), pattern.flags)


def guard_of(pattern: re.Pattern[str]) -> str:
    found = re.search(r"\(\?=\(\?i:\[[^\]]*\]\)\)", pattern.pattern)
    return found.group() if found else ""


def found(pattern: re.Pattern[str], text: str) -> list:
    return [(m.span(), m.groups(), m.groupdict()) for m in pattern.finditer(text)]


def test_most_rules_are_guarded_and_find_the_same_in_every_corpus_note():
    patterns = rule_patterns()
    assert sum(bool(guard_of(p)) for p in patterns) >= len(patterns) // 3
    notes = [json.loads(line)["text"] for line in (ROOT / "corpus" / "samples" / "notes.jsonl").read_text().splitlines()]
    notes += [json.loads(line)["text"] for line in (ROOT / "corpus" / "handwritten" / "hw-a.jsonl").read_text().splitlines()]
    for pattern in patterns:
        plain = unguarded(pattern)
        assert all(found(pattern, note) == found(plain, note) for note in notes), pattern.pattern


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="aAbBgGlLpPsStTmMrRoOiI ſKk\u212a°/-.,:;()\n0123456789xX×", max_size=80))
def test_guarded_and_plain_rules_find_the_same_in_any_text(text):
    for pattern in rule_patterns():
        assert found(pattern, text) == found(unguarded(pattern), text), pattern.pattern


def test_the_guard_stands_in_front_of_the_whole_pattern():
    assert compile_guarded(r"\b(?:goals?|plan)\s+is", re.I).pattern == r"(?=(?i:[gp]))(?:\b(?:goals?|plan)\s+is)"
    assert compile_guarded(r"(?<!\w)(?:x|×)\d").pattern == r"(?=(?i:[\xd7x]))(?:(?<!\w)(?:x|×)\d)"
    assert compile_guarded(r"(?i)\bno longer\b|\b\d+%").pattern == r"(?i)(?=(?i:[\dn]))(?:\bno longer\b|\b\d+%)"


def test_no_guard_where_the_first_character_is_not_a_few_literals():
    for pattern in (r"\b\d+ min", r"\d+|\s", r"[A-Z]\d{2}", r"(?:pt)?\s*will", r".oal", r"[^a]b"):
        assert compile_guarded(pattern).pattern == pattern


def test_a_case_blind_part_of_a_case_sensitive_pattern_still_matches_every_case():
    pattern = compile_guarded(r"\b(?i:goal)s? met")
    assert guard_of(pattern) and [m.group() for m in pattern.finditer("GOAL met; Goals met")] == ["GOAL met", "Goals met"]


def digit_led_rules() -> list[re.Pattern[str]]:
    return [pattern for pattern in rule_patterns() if digit_led(pattern)]


def from_digits(pattern: re.Pattern[str], text: str) -> list:
    starts = [m.start() for m in re.finditer(r"\d", text)]
    return [(m.span(), m.groups(), m.groupdict()) for m in finditer_from(pattern, text, starts)]


def test_rules_led_by_a_digit_find_the_same_tried_at_digits_only_in_every_corpus_note():
    patterns = digit_led_rules()
    assert len(patterns) >= 8
    for path in [ROOT / "corpus" / "samples" / "notes.jsonl", ROOT / "corpus" / "generated" / "notes.jsonl"]:
        for line in path.read_text(encoding="utf-8").splitlines()[::6]:
            note = json.loads(line)["text"]
            for pattern in patterns:
                assert from_digits(pattern, note) == found(pattern, note), pattern.pattern


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789٣ -./:%°'xXmin\n", max_size=60))
def test_rules_led_by_a_digit_find_the_same_tried_at_digits_only_in_any_text(text):
    for pattern in digit_led_rules():
        assert from_digits(pattern, text) == found(pattern, text), pattern.pattern


def test_what_is_led_by_a_digit():
    assert digit_led(re.compile(r"\b\d+ min")) and digit_led(re.compile(r"(?<![\d/])[0-5]/5"))
    assert not digit_led(re.compile(r"\bno\b")) and not digit_led(re.compile(r"\d|\bone\b")) and not digit_led(re.compile(r"\d*x"))

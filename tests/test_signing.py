"""The clinician's message at signing, shared by `notes-nlp check`, /v1/check and the CDS Hooks cards."""

from __future__ import annotations

from notes_nlp import signing


def line(verdict="unsupported", score=0.05, suggested="97140", findings=()):
    return {"code": "97140", "units": 2, "verdict": verdict, "score": score, "suggested_code": suggested, "findings": list(findings)}


ERROR = {"rule": "no-goal", "severity": "error", "message": "State the functional goal.", "evidence": []}
WARNING = {"rule": "no-measure", "severity": "warning", "message": "Add an objective measure.", "evidence": []}


def test_heading_names_code_units_verdict_and_score():
    assert signing.line_heading(line()) == "97140 x2: UNSUPPORTED (score 0.05)"
    assert signing.line_heading(line("at_risk", None)) == "97140 x2: AT RISK"


def test_notes_give_the_better_code_then_each_finding_with_its_sign():
    assert signing.line_notes(line(suggested="97124", findings=[ERROR, WARNING])) == [
        "→ the documentation fits 97124",
        "✗ State the functional goal.",
        "! Add an objective measure.",
    ]
    assert signing.line_notes(line(suggested="none")) == []


def test_message_and_passed():
    result = {"lines": [line(findings=[ERROR]), line("supported", 0.9, findings=[WARNING])]}
    assert signing.message(result) == (
        "97140 x2: UNSUPPORTED (score 0.05)\n  ✗ State the functional goal.\n"
        "97140 x2: SUPPORTED (score 0.90)\n  ! Add an objective measure."
    )
    assert not signing.passed(result)
    assert signing.passed({"lines": [line("supported", 0.9)]})
    assert not signing.passed({"lines": []})

"""Features of one billed 97124/97140 line, from what the extraction and the rules found.

A line becomes a plain dict: ``facts`` (counts and flags a clinician would
recognise, plus one flag per finding) and ``text`` (the note, for the n-gram
part of the pipeline). Training and scoring both build examples with
:func:`line_example`, and the pipeline starts from these dicts, so the two can
never disagree on preprocessing.
"""

from __future__ import annotations

import math
from typing import Any

from notes_nlp.judge import NoteJudgement
from notes_nlp.labels import STATUSES
from notes_nlp.codes import family_of_code, unit_minutes
from notes_nlp.rules.facts import NoteFacts
from notes_nlp.rules.findings import LineJudgement

def _count(n: int) -> float:
    """Counts on a log scale: the tenth measure says less than the first."""
    return math.log1p(n)


def technique_counts(facts: NoteFacts, label: str, prefix: str) -> dict[str, float]:
    mentions = facts.mentions(label)
    return {f"{prefix}_{status}": _count(sum(m["status"] == status for m in mentions)) for status in STATUSES}


def line_facts(note: NoteJudgement, line: LineJudgement) -> dict[str, Any]:
    facts, context = note.facts, note.context
    own = family_of_code()[line.code]
    other = next(family for family in family_of_code().values() if family != own)
    billed = next(b for b in facts.lines if b.index == line.index)
    minutes = facts.timed_minutes.get(line.code)
    credential, _ = facts.performer(line.code)
    features: dict[str, Any] = {
        "code": line.code,
        "payer": note.profile.name,
        **technique_counts(facts, own, "own"),
        **technique_counts(facts, other, "other"),
        "cmt_performed": _count(len(facts.performed("CMT"))),
        "relaxation_purposes": _count(len(facts.asserted("INTENT_RELAXATION"))),
        "functional_purposes": _count(len(facts.asserted("INTENT_FUNCTIONAL"))),
        "goals": _count(len(facts.asserted("GOAL"))),
        "measurable_goals": _count(len(facts.measurable_goals)),
        "chart_goals": float(bool(context.earlier_goals)),
        "measures": _count(len(facts.mentions("MEASURE"))),
        "diagnoses": _count(len(facts.mentions("DIAGNOSIS"))),
        "progress": _count(len(facts.mentions("PROGRESS"))),
        "regions": _count(len(facts.mentions("BODY_REGION"))),
        "follow_up": float(context.follow_up),
        "units": float(billed.units),
        "minutes_documented": float(minutes is not None),
        "minutes_per_unit": (minutes.minutes / billed.units / unit_minutes()) if minutes else 0.0,
        "cmt_billed": float(bool(facts.cmt_lines)),
        "distinct_modifier": float(note.profile.accepts_distinct_modifier(billed.modifiers)),
        "performer_paid": float(credential is None or note.profile.pays(line.code, credential)),
        "errors": float(len(line.errors)),
        "warnings": float(len(line.findings) - len(line.errors)),
    }
    for finding in line.findings:
        features[f"finding={finding.rule}"] = 1.0
    return features


def line_example(note: NoteJudgement, line: LineJudgement, text: str) -> dict[str, Any]:
    return {"facts": line_facts(note, line), "text": text}

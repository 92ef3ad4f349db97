"""The rules of docs/rubric.md, one function each, and the judgement of a note's lines.

Every rule reads the note's facts (extracted mentions, billed lines), the
chart context and the payer profile, and returns findings whose messages say
what to fix, with the numbers. Severities come from the rule catalog.
"""

from __future__ import annotations

from typing import Callable, Iterator

from notes_nlp.rules.billing import BilledLine
from notes_nlp.rules.catalog import severity
from notes_nlp.rules.chart import LONE_NOTE, ChartContext
from notes_nlp.codes import code_of_family, family_of_code
from notes_nlp.rules.facts import NoteFacts
from notes_nlp.rules.findings import Evidence, Finding, LineJudgement
from notes_nlp.rules.profiles import PayerProfile
from notes_nlp.rules.units import UnitRule, check_units, is_timed, minutes_for_units

Rule = Callable[[BilledLine, NoteFacts, ChartContext, PayerProfile], Iterator[Finding]]
FAMILY_NAMES = {"MASSAGE_TECHNIQUE": "massage", "MANUAL_TECHNIQUE": "manual therapy"}
EXAMPLES = {
    "MASSAGE_TECHNIQUE": "effleurage, petrissage or tapotement",
    "MANUAL_TECHNIQUE": "myofascial release, soft tissue or joint mobilization, trigger point release, MLD or manual traction",
}


def finding(rule: str, line: BilledLine, message: str, evidence: list[dict] | None = None) -> Finding:
    return Finding(rule, severity(rule, line.code), message, tuple(Evidence.of(e) for e in evidence or []))


def other_family(code: str) -> str:
    return next(family for c, family in family_of_code().items() if c != code)


def technique(line: BilledLine, facts: NoteFacts, context: ChartContext, profile: PayerProfile) -> Iterator[Finding]:
    """technique-missing / technique-mismatch: a performed technique of the billed family."""
    family = family_of_code()[line.code]
    if facts.performed(family):
        return
    other = facts.performed(other_family(line.code))
    not_done = [e for e in facts.mentions(family) if e["status"] != "performed"]
    if other:
        better = code_of_family()[other[0]["label"]]
        names = ", ".join(sorted({e["text"] for e in other}))
        yield finding(
            "technique-mismatch", line,
            f"{line.code} is billed but only {FAMILY_NAMES[other[0]['label']]} techniques were performed ({names}): "
            f"bill {better}, or document the {FAMILY_NAMES[family]} technique performed ({EXAMPLES[family]}).",
            other,
        )
        return
    why = ""
    if not_done:
        states = ", ".join(f"{e['text']} ({e['status']})" for e in not_done)
        why = f" The note names {states}, which was not performed this visit."
    yield finding(
        "technique-missing", line,
        f"No {FAMILY_NAMES[family]} technique performed is documented for {line.code}: "
        f"name the technique ({EXAMPLES[family]}).{why}",
        not_done,
    )


def relaxation_only(line: BilledLine, facts: NoteFacts, context: ChartContext, profile: PayerProfile) -> Iterator[Finding]:
    """The purposes stated for the line's work are relaxation alone: goals set elsewhere do not
    give a relaxation massage a therapeutic purpose (docs/rubric.md)."""
    purposes = facts.purposes(line.code)
    relaxation = [p for p in purposes if p["label"] == "INTENT_RELAXATION"]
    if relaxation and len(relaxation) == len(purposes):
        yield finding(
            "relaxation-only", line,
            "The only purpose stated is relaxation/wellness, which payers do not pay for: state the deficit treated "
            "(spasm, stiffness, edema, restricted motion) and the functional goal.",
            relaxation,
        )


def no_goal(line: BilledLine, facts: NoteFacts, context: ChartContext, profile: PayerProfile) -> Iterator[Finding]:
    if facts.measurable_goals or context.earlier_goals:
        return
    vague = facts.asserted("GOAL")
    detail = f" The goal written ({vague[0]['text']!r}) has no amount or time frame." if vague else ""
    yield finding(
        "no-goal", line,
        f"State the functional goal for {line.code}: what activity, how much, by when "
        f"(e.g. \"walk 1 mile without pain in 4 wks\").{detail}",
        vague,
    )


def no_measure(line: BilledLine, facts: NoteFacts, context: ChartContext, profile: PayerProfile) -> Iterator[Finding]:
    if not facts.mentions("MEASURE"):
        yield finding("no-measure", line, "Add an objective measure (ROM in degrees, pain n/10, an outcome score, girth, tolerance in minutes).")


def no_diagnosis(line: BilledLine, facts: NoteFacts, context: ChartContext, profile: PayerProfile) -> Iterator[Finding]:
    if not facts.mentions("DIAGNOSIS"):
        yield finding("no-diagnosis", line, f"Link a diagnosis (ICD-10 code or named diagnosis) to {line.code}.")


def no_progress(line: BilledLine, facts: NoteFacts, context: ChartContext, profile: PayerProfile) -> Iterator[Finding]:
    if context.follow_up and not facts.mentions("PROGRESS"):
        yield finding("no-progress", line, "This follow-up visit reports no progress toward the goals: document the change in the measures.")


def units(line: BilledLine, facts: NoteFacts, context: ChartContext, profile: PayerProfile) -> Iterator[Finding]:
    """units-exceed-time / no-time, under the payer's unit rule over all timed codes of the visit."""
    minutes = facts.timed_minutes
    if line.code not in minutes:
        if not facts.documents_minutes and not profile.minutes_required:
            yield finding("no-time", line, f"Add the minutes for {line.code} (the payer does not require them, but an auditor will ask).")
        elif profile.minutes_required or facts.documents_minutes:
            yield finding(
                "units-exceed-time", line,
                f"Add the minutes for {line.code}: {line.code} x{line.units} needs at least {minutes_for_units(line.units)} "
                f"timed minutes and the note documents none for it.",
            )
        return
    billed: dict[str, int] = {}
    for other in facts.lines:
        if is_timed(other.code):
            billed[other.code] = billed.get(other.code, 0) + other.units
    verdict = check_units(billed, {code: m.minutes for code, m in minutes.items()}, profile.unit_rule)[line.code]
    if verdict.over_billed:
        rule_name = "the CMS total-minutes rule" if profile.unit_rule is UnitRule.CMS else "the per-code rule"
        documented = "; ".join(f"{code}: {m.minutes} min ({', '.join(m.sources)})" for code, m in sorted(minutes.items()))
        yield finding(
            "units-exceed-time", line,
            f"{line.code} x{verdict.billed} is more than the minutes support under {rule_name}: at most "
            f"{verdict.allowed} unit(s). Documented: {documented}. Bill {verdict.allowed} or document the time.",
            [t for times in facts.text_minutes.values() for t in times],
        )


def cmt(line: BilledLine, facts: NoteFacts, context: ChartContext, profile: PayerProfile) -> Iterator[Finding]:
    """modifier-59-missing and cmt-same-region: muscle work billed with chiropractic manipulation."""
    cmt_lines = facts.cmt_lines
    if not cmt_lines:
        return
    codes = ", ".join(c.code for c in cmt_lines)
    if not profile.accepts_distinct_modifier(line.modifiers):
        accepted = "/".join(profile.distinct_modifiers)
        yield finding(
            "modifier-59-missing", line,
            f"{line.code} is billed with CMT {codes} the same visit: append {accepted} (59 or XS for a separate region) "
            f"and document the separate region.",
        )
    if line.code != "97140":
        return
    adjusted = facts.cmt_regions
    treated = facts.treatment_regions("MANUAL_TECHNIQUE")
    if adjusted and treated and treated <= adjusted:
        evidence = facts.performed("MANUAL_TECHNIQUE", "CMT")
        yield finding(
            "cmt-same-region", line,
            f"97140 treated {', '.join(sorted(treated))}, the region(s) adjusted with CMT {codes} "
            f"({', '.join(sorted(adjusted))}): manual therapy is paid only on a region not adjusted that day.",
            evidence,
        )


def region_missing(line: BilledLine, facts: NoteFacts, context: ChartContext, profile: PayerProfile) -> Iterator[Finding]:
    if line.code == "97140" and not facts.mentions("BODY_REGION"):
        yield finding("region-missing", line, "Name the region treated with 97140 (e.g. \"MFR to R upper trapezius\").")


def provider(line: BilledLine, facts: NoteFacts, context: ChartContext, profile: PayerProfile) -> Iterator[Finding]:
    credential, evidence = facts.performer(line.code)
    if credential and not profile.pays(line.code, credential):
        paid = "/".join(profile.paid_credentials.get(line.code) or ())
        yield finding(
            "provider-not-covered", line,
            f"{profile.name} pays {line.code} only when a {paid} performs it; the work in this note was performed by: {credential}.",
            evidence,
        )


def long_duration(line: BilledLine, facts: NoteFacts, context: ChartContext, profile: PayerProfile) -> Iterator[Finding]:
    if line.units > profile.max_units_per_line:
        yield finding(
            "long-duration", line,
            f"{line.code} x{line.units} is more than {profile.max_units_per_line} units in one session: payers review such lines closely.",
        )
    streak = context.visits_without_progress.get(line.code, 0)
    if streak >= profile.max_visits_without_progress:
        yield finding(
            "long-duration", line,
            f"{streak} follow-up visits in a row bill {line.code} without documented progress: re-assess the plan of care.",
        )


RULES: tuple[Rule, ...] = (
    technique, relaxation_only, no_goal, no_measure, no_diagnosis, no_progress, units, cmt, region_missing, provider, long_duration,
)


def suggested_code(line: BilledLine, facts: NoteFacts) -> str:
    """The code the documented techniques fit: the billed one when its family was performed."""
    if facts.performed(family_of_code()[line.code]):
        return line.code
    other = facts.performed(other_family(line.code))
    return code_of_family()[other[0]["label"]] if other else "none"


def judge_note(facts: NoteFacts, profile: PayerProfile, context: ChartContext = LONE_NOTE) -> list[LineJudgement]:
    """The rules' judgement of every 97124/97140 line of one note."""
    return [
        LineJudgement(
            line.index, line.code, line.units, suggested_code(line, facts),
            tuple(f for rule in RULES for f in rule(line, facts, context, profile)),
        )
        for line in facts.muscle_work_lines
    ]

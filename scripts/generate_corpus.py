#!/usr/bin/env python3
"""Generate the seeded synthetic corpus of notes-nlp (``source: "generated"``).

Why a generator: hand-written notes are few and slow to make; a generator gives
a thousand notes whose labels are known exactly, because every label follows
from the facts the generator chose, never from notes-nlp's own rules (this
script deliberately imports nothing from the project).

Each note goes through three steps:

1. **Scenario** — draw the facts: writer persona, payer, billed codes with
   units/minutes/modifiers, techniques by family with their status, purposes,
   goals, measures, diagnosis, regions, CMT, progress.
2. **Labels** — apply a small, explicit implementation of the labeling guide
   in ``corpus/README.md`` (CMS total-minutes unit assignment, per-code rule,
   payer thresholds, chart-level goals and progress) to those facts.
3. **Render** — write the facts as text in one of many styles; every span is
   inserted through markers (``«LABEL:status|text»``), so gold offsets are
   exact by construction. A final check re-derives the facts from the gold
   spans and fails loudly if text and labels could disagree.

Stdlib only, Python 3.11; byte-for-byte reproducible for a given seed::

    python scripts/generate_corpus.py [--seed 20261127] [--n 1000] [--out corpus/generated/notes.jsonl]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

VOCAB_PATH = Path(__file__).with_name("generator_vocab.json")
with VOCAB_PATH.open(encoding="utf-8") as _fh:
    V: dict = json.load(_fh)

DEFAULT_SEED = 20261127
DEFAULT_N = 1000
DEFAULT_OUT = "corpus/generated/notes.jsonl"

TECH: dict[str, dict] = V["techniques"]
REGIONS: dict[str, dict] = V["regions"]
SPINAL: list[str] = V["spinal_regions"]
EXTRASPINAL: list[str] = V["extraspinal_regions"]
PERSONAS: list[dict] = V["personas"]
TIMED_CODES: frozenset[str] = frozenset(V["timed_codes"])
MUSCLE_CODES = ("97124", "97140")
FAMILY_OF_CODE = {"97124": "massage", "97140": "manual"}
OTHER_FAMILY = {"massage": "manual", "manual": "massage"}
CMT_CODES = ("98940", "98941", "98942", "98943")
DISTINCT_MODIFIERS = ("59", "XS", "XE", "XP", "XU")
CRED_CANON = {"DPT": "PT", "DO": "MD"}
NON_COVERED = frozenset({"PTA", "LMT", "OT", "ATC"})
GENERIC_DELEGATES = [{"name": "K. Ortiz", "credential": "LMT"}, {"name": "A. Lopez", "credential": "PTA"},
                     {"name": "C. Moore", "credential": "ATC"}]

# Rule ids in the guide's table order; reasons/warnings are emitted in this order.
ERROR_RULES = ("technique-missing", "technique-mismatch", "relaxation-only", "no-goal", "units-exceed-time",
               "cmt-same-region", "modifier-59-missing", "provider-not-covered")
WARNING_RULES = ("no-goal", "no-measure", "no-diagnosis", "no-progress", "no-time", "region-missing",
                 "long-duration")
STATUS_LABELS = frozenset({"MASSAGE_TECHNIQUE", "MANUAL_TECHNIQUE", "CMT", "INTENT_RELAXATION",
                           "INTENT_FUNCTIONAL", "GOAL"})


# ---------------------------------------------------------------------------
# Payer profiles and the rubric (corpus/README.md, "Labeling guide")
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class PayerProfile:
    """The guide's payer table, as data: the rubric reads it, never a payer name."""
    name: str
    pooled_minutes: bool                    # CMS total-minutes rule (else per code)
    minutes_required: bool                  # no minutes at all -> error (else a no-time warning)
    paid_credentials: frozenset[str] | None  # None: any credential is paid
    max_units_per_line: int                 # long-duration above this
    no_progress_visits: int                 # long-duration from this many no-progress follow-ups in a row


PAYERS: dict[str, PayerProfile] = {
    "cms": PayerProfile("cms", True, True, None, 4, 3),
    "commercial-strict": PayerProfile("commercial-strict", False, False, frozenset({"DC", "PT", "MD"}), 3, 2),
}


def units_for_minutes(minutes: int) -> int:
    """Units earned by a block of timed minutes: one per full 15, one more for a remainder of 8+.

    This is the 8-minute table (8-22 -> 1, 23-37 -> 2, ...) in closed form; under 8 -> 0.
    """
    return minutes // 15 + (1 if minutes % 15 >= 8 else 0)


def cms_unit_bounds(minutes_by_code: dict[str, int]) -> dict[str, tuple[int, int]]:
    """Fewest and most units each code can receive in a valid CMS assignment.

    CMS pools the visit's timed minutes into a total number of units, gives each
    code one unit per full 15 of its own minutes, then hands the units left over
    to the codes with the most remaining minutes. A tie at the cut means either
    code may take the unit, so a line is over-billed only when even the most
    favourable assignment gives it fewer units than billed (the upper bound).
    """
    total_units = units_for_minutes(sum(minutes_by_code.values()))
    full = {code: m // 15 for code, m in minutes_by_code.items()}
    rem = {code: m % 15 for code, m in minutes_by_code.items()}
    left = total_units - sum(full.values())
    if left <= 0:
        return {code: (full[code], full[code]) for code in minutes_by_code}
    ordered = sorted(rem.values(), reverse=True)
    if left > len(ordered):  # cannot happen: remainders are < 15 each; kept as a guard
        raise ValueError(f"leftover units {left} exceed codes {minutes_by_code}")
    cut = ordered[left - 1]
    above = [c for c in minutes_by_code if rem[c] > cut]
    at_cut = [c for c in minutes_by_code if rem[c] == cut]
    free = left - len(above)  # units to share among the codes tied at the cut
    bounds = {}
    for code in minutes_by_code:
        if rem[code] > cut:
            bounds[code] = (full[code] + 1, full[code] + 1)
        elif rem[code] == cut:
            bounds[code] = (full[code] + (1 if free == len(at_cut) else 0), full[code] + 1)
        else:
            bounds[code] = (full[code], full[code])
    return bounds


def cms_has_tie(minutes_by_code: dict[str, int]) -> bool:
    """True when the leftover-unit assignment is not unique (the generator avoids these)."""
    return any(lo != hi for lo, hi in cms_unit_bounds(minutes_by_code).values())


def allowed_units(code: str, minutes_by_code: dict[str, int], payer: PayerProfile) -> int:
    """Most units the documented minutes support for ``code`` under the payer's unit rule."""
    if payer.pooled_minutes:
        return cms_unit_bounds(minutes_by_code)[code][1]
    return units_for_minutes(minutes_by_code[code])


def canonical_credential(credential: str) -> str:
    """DPT counts as PT and DO as MD (both physicians); everything else as written."""
    return CRED_CANON.get(credential, credential)


@dataclass(frozen=True)
class NoteFacts:
    """What the rubric needs to know about one note, decided by the scenario (never read from text)."""
    performed_families: frozenset[str]
    manual_regions: frozenset[str]      # canonical regions of performed manual techniques
    region_named: bool                  # any body region named in the note
    relaxation: bool                    # a relaxation purpose stated (performed status)
    functional: bool                    # a functional purpose stated
    goal_here: bool                     # a measurable goal in this note
    has_measure: bool
    has_diagnosis: bool
    followup: bool                      # a chart note after the first
    progress: bool
    cmt_codes: tuple[str, ...]
    cmt_regions: frozenset[str]
    minutes: dict[str, int]             # timed code -> minutes; empty when the visit documents none
    goal_before: bool = False           # a measurable goal earlier in the chart
    functional_before: bool = False     # a functional purpose earlier in the chart


def label_line(code: str, units: int, modifiers: list[str], performer: str, facts: NoteFacts,
               payer: PayerProfile, no_progress_streak: int) -> tuple[list[str], list[str]]:
    """Apply the labeling guide to one 97124/97140 line: (error rule ids, warning rule ids).

    ``performer`` is the credential of whoever did the work (named performer over
    signer); ``no_progress_streak`` counts the follow-up visits in a row, ending
    with this one, that bill this code without progress.
    """
    errors: set[str] = set()
    warnings: set[str] = set()
    family = FAMILY_OF_CODE[code]
    if family not in facts.performed_families:
        if OTHER_FAMILY[family] in facts.performed_families:
            errors.add("technique-mismatch")
        else:
            errors.add("technique-missing")
    goal = facts.goal_here or facts.goal_before
    functional = facts.functional or facts.functional_before
    if facts.relaxation and not functional and not goal:
        errors.add("relaxation-only")
    if not goal:
        (errors if code == "97140" else warnings).add("no-goal")
    if not facts.has_measure:
        warnings.add("no-measure")
    if not facts.has_diagnosis:
        warnings.add("no-diagnosis")
    if facts.followup and not facts.progress:
        warnings.add("no-progress")
    if not facts.minutes:
        (errors.add("units-exceed-time") if payer.minutes_required else warnings.add("no-time"))
    elif units > allowed_units(code, facts.minutes, payer):
        errors.add("units-exceed-time")
    if facts.cmt_codes:
        if code == "97140" and facts.manual_regions and facts.manual_regions <= facts.cmt_regions:
            errors.add("cmt-same-region")
        if not any(m in DISTINCT_MODIFIERS for m in modifiers):
            errors.add("modifier-59-missing")
    if code == "97140" and not facts.region_named:
        warnings.add("region-missing")
    if payer.paid_credentials is not None and canonical_credential(performer) not in payer.paid_credentials:
        errors.add("provider-not-covered")
    if units > payer.max_units_per_line or (facts.followup and no_progress_streak >= payer.no_progress_visits):
        warnings.add("long-duration")
    return [r for r in ERROR_RULES if r in errors], [w for w in WARNING_RULES if w in warnings]


def cmt_codes_for(regions: list[str]) -> list[str]:
    """CMT codes for the adjusted regions: 98940 1-2 spinal, 98941 3-4, 98942 5; 98943 extraspinal."""
    spinal = sum(1 for r in regions if r in SPINAL)
    codes = []
    if spinal:
        codes.append("98940" if spinal <= 2 else "98941" if spinal <= 4 else "98942")
    if any(r in EXTRASPINAL for r in regions):
        codes.append("98943")
    return codes


# ---------------------------------------------------------------------------
# Marked text -> (text, spans)
# ---------------------------------------------------------------------------

def build_text(marked: str, caps: bool = False, nopunct: bool = False) -> tuple[str, list[dict]]:
    """Turn marked text into plain text plus gold spans.

    ``«LABEL|text»`` and ``«LABEL:status|text»`` mark a span and may nest (a GOAL
    holds its MEASURE). Transformations that change the writing (all caps,
    dropped punctuation, collapsed spaces) happen here, while the offsets are
    being counted, so a span's text always equals ``text[start:end]``.
    """
    out: list[str] = []
    stack: list[tuple[str, str | None, int]] = []
    spans: list[dict] = []
    i, n = 0, len(marked)
    while i < n:
        ch = marked[i]
        if ch == "«":
            j = marked.index("|", i)
            label, _, status = marked[i + 1:j].partition(":")
            stack.append((label, status or None, len(out)))
            i = j + 1
            continue
        if ch == "»":
            label, status, start = stack.pop()
            span = {"label": label, "start": start, "end": len(out)}
            if label in STATUS_LABELS:
                span["status"] = status or "performed"
            spans.append(span)
            i += 1
            continue
        if nopunct and not stack and ch in ".,;":
            prev = out[-1] if out else ""
            nxt = marked[i + 1] if i + 1 < n else ""
            if not (prev.isdigit() and nxt.isdigit()):
                i += 1
                continue
        if ch == " " and (not out or out[-1] in " \n"):
            i += 1
            continue
        if ch == "\n" and out and out[-1] == " ":
            out.pop()
        up = ch.upper() if caps else ch
        if len(up) != 1:
            raise ValueError(f"upper-casing {ch!r} changes length")
        out.append(up)
        i += 1
    if stack:
        raise ValueError(f"unclosed span marker in {marked[:80]!r}")
    text = "".join(out).strip()
    lead = len("".join(out)) - len("".join(out).lstrip())
    entities = []
    for span in spans:
        start, end = span["start"] - lead, span["end"] - lead
        ent = {"label": span["label"], "start": start, "end": end, "text": text[start:end]}
        if "status" in span:
            ent["status"] = span["status"]
        if not ent["text"] or ent["text"] != ent["text"].strip():
            raise ValueError(f"bad span {ent}")
        entities.append(ent)
    entities.sort(key=lambda e: (e["start"], -e["end"], e["label"]))
    return text, entities


def strip_markers(marked: str) -> str:
    """The visible text of marked text (used to count words)."""
    return re.sub(r"«[A-Z_]+(?::\w+)?\|", "", marked).replace("»", "")


def cap_first(marked: str) -> str:
    """Upper-case the first visible letter, skipping any marker header."""
    i = 0
    while i < len(marked):
        if marked[i] == "«":
            i = marked.index("|", i) + 1
            continue
        if marked[i].isalpha():
            return marked[:i] + marked[i].upper() + marked[i + 1:]
        i += 1
    return marked


def mk(label: str, text: str, status: str | None = None) -> str:
    """Marker for one span."""
    return f"«{label}:{status}|{text}»" if status else f"«{label}|{text}»"


# ---------------------------------------------------------------------------
# Scenario: the facts of one note
# ---------------------------------------------------------------------------

@dataclass
class Performer:
    name: str
    credential: str


@dataclass
class Intent:
    kind: str          # "relax" | "functional"
    index: int         # into V["intents"][kind]
    region: str | None = None


@dataclass
class Block:
    """The documentation behind one billed 97124/97140 line."""
    code: str
    kind: str                     # ok | mismatch | missing-{generic,negated,planned,historical,nearmiss}
    techs: list[str]              # performed techniques (ok/mismatch) or the one non-performed mention
    regions: list[str]
    minutes: int | None = None
    intents: list[Intent] = field(default_factory=list)
    performer: Performer | None = None
    nearmiss: str | None = None   # dry_needling | mech_traction | tpi

    def performed(self) -> list[str]:
        return list(self.techs) if self.kind in ("ok", "mismatch") else []


@dataclass
class Service:
    """Any other billed line (timed or untimed)."""
    code: str
    minutes: int | None = None
    units: int = 1
    modifiers: list[str] = field(default_factory=list)


@dataclass
class Scenario:
    persona: dict
    style: str
    register: str                 # full | abbr
    caps: bool
    nopunct: bool
    typo_p: float
    payer: str
    side: str
    blocks: list[Block]
    units: dict[str, int] = field(default_factory=dict)
    modifiers: dict[str, list[str]] = field(default_factory=dict)
    services: list[Service] = field(default_factory=list)
    cmt_regions: list[str] = field(default_factory=list)
    time_mode: str = "line"       # line | text | both | mixed | none
    on_line: dict[str, bool] = field(default_factory=dict)
    in_text: dict[str, bool] = field(default_factory=dict)
    region_named: bool = True
    has_dx: bool = True
    has_measure: bool = True
    edema: bool = False
    goal_mode: str = "none"       # measurable | vague | poc | none
    progress: bool = False
    visit: int = -1               # -1 lone, 0 evaluation, >=1 follow-up
    chart_id: str | None = None
    date: str = ""
    regions: list[str] = field(default_factory=list)
    distractors: list[tuple[str, str]] = field(default_factory=list)   # (technique, status)
    nearmiss: list[str] = field(default_factory=list)
    long_session: bool = False

    @property
    def signer(self) -> str:
        return self.persona["credential"]

    def cmt_codes(self) -> list[str]:
        return [s.code for s in self.services if s.code in CMT_CODES]

    def timed_minutes(self) -> dict[str, int]:
        """Timed code -> documented minutes; empty when the visit documents none."""
        if self.time_mode == "none":
            return {}
        mins = {b.code: b.minutes for b in self.blocks if b.minutes is not None}
        mins.update({s.code: s.minutes for s in self.services if s.code in TIMED_CODES and s.minutes is not None})
        return mins

    def performer_of(self, block: Block) -> str:
        return block.performer.credential if block.performer else self.signer

    def facts(self, goal_before: bool = False, functional_before: bool = False) -> NoteFacts:
        performed = [t for b in self.blocks for t in b.performed()]
        manual_regions = frozenset(r for b in self.blocks if any(TECH[t]["family"] == "manual" for t in b.performed())
                                   for r in b.regions)
        intents = [i for b in self.blocks for i in b.intents]
        return NoteFacts(
            performed_families=frozenset(TECH[t]["family"] for t in performed),
            manual_regions=manual_regions,
            region_named=self.region_named,
            relaxation=any(i.kind == "relax" for i in intents),
            functional=any(i.kind == "functional" for i in intents),
            goal_here=self.goal_mode == "measurable",
            has_measure=self.has_measure,
            has_diagnosis=self.has_dx,
            followup=self.visit >= 1,
            progress=self.progress,
            cmt_codes=tuple(self.cmt_codes()),
            cmt_regions=frozenset(self.cmt_regions),
            minutes=self.timed_minutes(),
            goal_before=goal_before,
            functional_before=functional_before,
        )

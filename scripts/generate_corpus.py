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


# ---------------------------------------------------------------------------
# Drawing scenarios
# ---------------------------------------------------------------------------

# How often each error is chosen when a note is meant to carry one; CMT rules can
# only happen in DC notes, so they weigh more where they are possible.
ERROR_WEIGHTS = {"technique-missing": 1.0, "technique-mismatch": 1.0, "relaxation-only": 0.9, "no-goal": 0.8,
                 "units-exceed-time": 1.3, "cmt-same-region": 2.6, "modifier-59-missing": 1.8,
                 "provider-not-covered": 0.9}
MISSING_KINDS = {"missing-generic": 0.25, "missing-negated": 0.25, "missing-planned": 0.2,
                 "missing-historical": 0.1, "missing-nearmiss": 0.2}
STRICT = "commercial-strict"


def wchoice(rng: random.Random, weights: dict) -> str:
    """Weighted choice over a dict (insertion order keeps it reproducible)."""
    total = sum(weights.values())
    x = rng.random() * total
    for key, w in weights.items():
        x -= w
        if x < 0:
            return key
    return list(weights)[-1]


@dataclass
class Context:
    """What a chart imposes on one of its notes; the defaults describe a lone note."""
    visit: int = -1
    chart_id: str | None = None
    date: str = ""
    payer: str | None = None
    codes: list[str] | None = None
    regions: list[str] | None = None
    cmt: bool | None = None
    goal_quality: str = "measurable"
    progress: bool = False
    error_p: float = 0.56
    bills_muscle: bool = True


def pick_style(rng: random.Random, persona: dict, ctx: Context) -> str:
    """The persona's habits decide the style; an evaluation is never a two-liner."""
    styles = dict(persona["styles"])
    if ctx.visit == 0:
        styles = {s: w for s, w in styles.items() if s not in ("brief", "abbreviated")} or {"soap": 1}
        if rng.random() < 0.3:
            return "long"
    return wchoice(rng, styles)


def sample_codes(rng: random.Random, persona: dict) -> list[str]:
    """Which muscle-work codes a visit bills (at least one), in code order."""
    codes = [c for c in MUSCLE_CODES if rng.random() < persona["codes"].get(c, 0.0)]
    return codes or [wchoice(rng, persona["codes"])]


def pick_regions(rng: random.Random, weights: dict[str, float], k: int, exclude: tuple = ()) -> list[str]:
    """k distinct canonical regions drawn from weights."""
    pool = {r: w for r, w in weights.items() if r not in exclude}
    out: list[str] = []
    while pool and len(out) < k:
        r = wchoice(rng, pool)
        out.append(r)
        pool.pop(r)
    return out


def tech_fits(tech: str, regions: list[str]) -> bool:
    allowed = TECH[tech]["regions"]
    return allowed == "any" or all(r in allowed for r in regions)


def pick_techs(rng: random.Random, persona: dict, family: str, regions: list[str], k: int,
               avoid: tuple = ()) -> list[str]:
    """k techniques of a family this writer uses that suit every region treated."""
    weights = {t: w for t, w in persona[family].items() if tech_fits(t, regions) and t not in avoid}
    if not weights:
        weights = {t: 1.0 for t, d in TECH.items() if d["family"] == family and tech_fits(t, regions)
                   and t not in avoid}
    out: list[str] = []
    while weights and len(out) < k:
        t = wchoice(rng, weights)
        out.append(t)
        weights.pop(t)
    return out


def sample_errors(rng: random.Random, persona: dict, ctx: Context, codes: list[str]) -> set[str]:
    """The error rules this note is meant to break (labels are still computed, not copied)."""
    if not codes or rng.random() >= ctx.error_p:
        return set()
    feasible = dict(ERROR_WEIGHTS)
    if ctx.visit >= 0:  # charts break goals chart-wide (vague plan of care), not note by note
        feasible.pop("relaxation-only")
        feasible.pop("no-goal")
    if persona["credential"] != "DC" or ctx.cmt is False:
        feasible.pop("cmt-same-region")
        feasible.pop("modifier-59-missing")
    if ctx.payer == "cms" or (ctx.payer == STRICT and persona["credential"] in NON_COVERED):
        feasible.pop("provider-not-covered")
    chosen: list[str] = []
    for _ in range(1 if rng.random() < 0.8 else 2):
        chosen.append(wchoice(rng, {e: w for e, w in feasible.items() if e not in chosen}))
    if "technique-missing" in chosen and "technique-mismatch" in chosen:
        chosen.remove("technique-mismatch")
    return set(chosen)


def functional_ok(entry: dict, sc: Scenario, regions: list[str]) -> bool:
    """Whether a functional purpose can be stated without contradicting the note's other facts."""
    if entry.get("dx_word") and not sc.has_dx:
        return False  # "spasm", "edema", "stiffness" read as diagnoses; keep no-diagnosis notes clean
    if entry["region"] == "req" and not regions:
        return False
    if entry.get("edema") and not sc.edema:
        return False
    if entry.get("needs_other") and not any(s.code == "97110" for s in sc.services):
        return False
    only = entry.get("regions_only")
    if only and not any(r in only for r in (regions or sc.regions)):
        return False
    return True


def sample_functional(rng: random.Random, sc: Scenario, regions: list[str]) -> Intent:
    entries = V["intents"]["functional"]
    ok = [i for i, e in enumerate(entries) if functional_ok(e, sc, regions)]
    if sc.edema and rng.random() < 0.6:
        ok = [i for i in ok if entries[i].get("edema")] or ok
    idx = rng.choice(ok)
    entry = entries[idx]
    region = None
    if regions and (entry["region"] == "req" or (entry["region"] == "opt" and rng.random() < 0.3)):
        region = rng.choice(regions)
    return Intent("functional", idx, region)


def sample_scenario(rng: random.Random, persona: dict, ctx: Context) -> Scenario:
    """Draw every fact of one note; the order matters only where one fact constrains another."""
    style = pick_style(rng, persona, ctx)
    if style == "abbreviated":
        register = "abbr"
    elif style in ("narrative", "long"):
        register = "full"
    else:
        register = "abbr" if rng.random() < persona["register"] else "full"
    caps = style != "long" and rng.random() < persona["caps"]
    nopunct = style not in ("long", "narrative") and rng.random() < persona["nopunct"]
    codes = list(ctx.codes) if ctx.codes is not None else sample_codes(rng, persona)
    if not ctx.bills_muscle:
        codes = []
    errors = sample_errors(rng, persona, ctx, codes)
    if errors & {"cmt-same-region", "no-goal"} and "97140" not in codes:
        codes = codes + ["97140"]
    payer = ctx.payer
    if payer is None:
        if "provider-not-covered" in errors:
            payer = STRICT
        elif persona["credential"] in NON_COVERED:
            payer = "cms"
        else:
            payer = STRICT if rng.random() < 0.47 else "cms"
    is_dc = persona["credential"] == "DC"
    cmt = is_dc and (ctx.cmt if ctx.cmt is not None else rng.random() < persona["cmt"])
    if is_dc and errors & {"cmt-same-region", "modifier-59-missing"}:
        cmt = True
    if not cmt:
        errors -= {"cmt-same-region", "modifier-59-missing"}

    sc = Scenario(persona=persona, style=style, register=register, caps=caps, nopunct=nopunct,
                  typo_p=persona["typo"], payer=payer, side=rng.choice("RL"), blocks=[],
                  visit=ctx.visit, chart_id=ctx.chart_id, date=ctx.date)

    # Regions: a note with no region at all is how region-missing is made unambiguous.
    if not cmt and "97140" in codes and rng.random() < (0.13 if ctx.visit < 0 else 0.07):
        sc.region_named = False
    sc.has_dx = rng.random() >= (0.03 if ctx.visit == 0 else 0.12)
    base = (list(ctx.regions) if ctx.regions else
            pick_regions(rng, persona["regions"], 1 + (rng.random() < 0.3))) if sc.region_named else []
    if cmt:
        spinal_w = {r: persona["regions"].get(r, 0.3) + 0.3 for r in SPINAL}
        n_spinal = int(wchoice(rng, {"1": 0.3, "2": 0.36, "3": 0.24, "4": 0.08, "5": 0.02}))
        sc.cmt_regions = [r for r in base if r in SPINAL][:n_spinal]
        sc.cmt_regions += pick_regions(rng, spinal_w, n_spinal - len(sc.cmt_regions), tuple(sc.cmt_regions))
        extra_w = {r: w for r, w in persona["regions"].items() if r in EXTRASPINAL}
        if extra_w and rng.random() < 0.12:
            sc.cmt_regions += pick_regions(rng, extra_w, 1)
    block_regions: dict[str, list[str]] = {}
    for code in codes:
        if not sc.region_named:
            regs: list[str] = []
        elif code == "97140" and cmt:
            if "cmt-same-region" in errors:
                regs = pick_regions(rng, {r: 1.0 for r in sc.cmt_regions}, 1 + (rng.random() < 0.3))
            else:
                outside = {r: w for r, w in persona["regions"].items() if r not in sc.cmt_regions}
                if not outside:
                    outside = {r: 1.0 for r in REGIONS if r not in sc.cmt_regions}
                regs = pick_regions(rng, outside, 1)
                if rng.random() < 0.25:  # partial overlap: still a distinct region, so no error
                    regs += pick_regions(rng, {r: 1.0 for r in sc.cmt_regions}, 1)
        else:
            regs = list(base) if rng.random() < 0.7 else base[:1]
        block_regions[code] = regs
    if style == "checkbox" and len(codes) == 2:
        # a checkbox template lists one "Region(s)" line for all work done
        shared = block_regions["97140"]
        block_regions = {c: list(shared) for c in codes}
    sc.regions = []
    for r in base + [r for c in codes for r in block_regions[c]] + sc.cmt_regions:
        if r not in sc.regions:
            sc.regions.append(r)
    sc.edema = (sc.has_dx and sc.region_named and any(r in ("upper_ext", "lower_ext") for r in sc.regions)
                and rng.random() < (0.5 if persona["credential"] == "OT" else 0.05))

    # Other services first: some purposes ("preparation for ther ex") depend on them.
    for code, p in persona["other_timed"].items():
        if rng.random() < p:
            sc.services.append(Service(code))
    for code, p in persona["untimed"].items():
        if rng.random() < p:
            sc.services.append(Service(code, modifiers=["25"] if code.startswith("992") and cmt else []))
    if ctx.visit == 0 and persona.get("eval_code"):
        sc.services.insert(0, Service(persona["eval_code"]))
    if cmt:
        sc.services[:0] = [Service(c) for c in cmt_codes_for(sc.cmt_regions)]

    # Blocks: techniques and their status.
    missing_targets: list[str] = []
    if "technique-missing" in errors:
        missing_targets = list(codes) if len(codes) == 2 and rng.random() < 0.5 else [rng.choice(codes)]
    mismatch_target = rng.choice(codes) if "technique-mismatch" in errors else None
    for code in codes:
        family = FAMILY_OF_CODE[code]
        regs = block_regions[code]
        if code in missing_targets:
            kind = wchoice(rng, MISSING_KINDS)
        elif code == mismatch_target:
            kind = "mismatch"
        else:
            kind = "ok"
        if kind != "ok" and cmt and regs and all(r in sc.cmt_regions for r in regs):
            # no manual technique performed: keep clear of the adjusted regions so no reader
            # could argue for cmt-same-region
            outside = [r for r in REGIONS if r not in sc.cmt_regions]
            regs = [rng.choice(outside)]
            block_regions[code] = regs
            if regs[0] not in sc.regions:
                sc.regions.append(regs[0])
        block = Block(code=code, kind=kind, techs=[], regions=regs)
        if kind == "ok":
            k = int(wchoice(rng, {"1": 0.5, "2": 0.35, "3": 0.15}))
            block.techs = pick_techs(rng, persona, family, regs, k)
            if code == "97140" and len(codes) == 1 and rng.random() < 0.12:
                block.techs = pick_techs(rng, persona, "massage", regs, 1) + block.techs  # warm-up strokes
        elif kind == "mismatch":
            block.techs = pick_techs(rng, persona, OTHER_FAMILY[family], regs, 1 + (rng.random() < 0.4))
        elif kind == "missing-nearmiss":
            options = ["dry_needling"]
            if not regs or all(r in ("cervical", "lumbar") for r in regs):
                options.append("mech_traction")
            if persona["credential"] in ("MD", "DO") and regs:
                options.append("tpi")
            block.nearmiss = rng.choice(options)
            if block.nearmiss == "tpi":
                sc.services.append(Service("20552"))
        elif kind != "missing-generic":
            block.techs = pick_techs(rng, persona, family, regs, 1)
        sc.blocks.append(block)

    # Purposes.
    relax_only = "relaxation-only" in errors
    for block in sc.blocks:
        if relax_only:
            block.intents = [Intent("relax", 0)]
            continue
        if block.code == "97124":
            if len(codes) == 2 or rng.random() < 0.93:  # a lone relaxation purpose only in one-line notes
                block.intents = [sample_functional(rng, sc, block.regions)]
            else:
                block.intents = [Intent("relax", 0)]  # made legitimate by a measurable goal below
        elif rng.random() < 0.72:
            block.intents = [sample_functional(rng, sc, block.regions)]
        if len(sc.blocks) == 1 and block.intents and block.intents[0].kind == "functional":
            if rng.random() < 0.25:
                extra = sample_functional(rng, sc, block.regions)
                if extra.index != block.intents[0].index:
                    block.intents.append(extra)
            if rng.random() < 0.12:
                block.intents.append(Intent("relax", 0))
    relax_without_functional = any(i.kind == "relax" for b in sc.blocks for i in b.intents) and not any(
        i.kind == "functional" for b in sc.blocks for i in b.intents)

    # Goals.
    if ctx.visit < 0:
        if relax_only:
            sc.goal_mode = wchoice(rng, {"none": 0.6, "poc": 0.4})  # no vague "improve function" next to relaxation
        elif "no-goal" in errors:
            sc.goal_mode = wchoice(rng, {"none": 0.35, "vague": 0.4, "poc": 0.25})
        elif "97140" in codes or relax_without_functional:
            sc.goal_mode = "measurable"
        else:
            sc.goal_mode = wchoice(rng, {"measurable": 0.55, "none": 0.2, "vague": 0.15, "poc": 0.1})
    elif ctx.visit == 0:
        sc.goal_mode = "measurable" if ctx.goal_quality == "measurable" else "vague"
    elif ctx.goal_quality == "measurable":
        sc.goal_mode = wchoice(rng, {"measurable": 0.25, "poc": 0.5, "none": 0.25})
    else:
        sc.goal_mode = wchoice(rng, {"vague": 0.3, "poc": 0.5, "none": 0.2})
    if relax_without_functional and not relax_only and sc.goal_mode != "measurable" and not (
            ctx.visit >= 1 and ctx.goal_quality == "measurable"):
        for block in sc.blocks:  # no goal to lean on: give the massage its functional purpose
            block.intents = [sample_functional(rng, sc, block.regions)]
    sc.has_measure = sc.goal_mode == "measurable" or ctx.visit == 0 or rng.random() >= 0.3
    sc.progress = ctx.progress if ctx.visit >= 1 else (ctx.visit < 0 and rng.random() < 0.12)

    assign_time(rng, sc, errors)
    assign_modifiers(rng, sc, errors)
    assign_performers(rng, sc, errors)

    # Mentions that must not change any label: other statuses, near-miss words.
    if rng.random() < 0.45:
        for _ in range(1 + (rng.random() < 0.3)):
            family = rng.choice(["manual", "massage"])
            tech = pick_techs(rng, persona, family, [], 1)[0]
            sc.distractors.append((tech, wchoice(rng, {"negated": 0.4, "planned": 0.4, "historical": 0.2})))
    nearmiss = {"tpi_referral": 0.5, "dry_needling": 0.5, "manual_word": 0.4}
    if any(s.code == "97110" for s in sc.services):
        nearmiss["glides"] = 0.6
    if sc.edema:
        nearmiss["compression"] = 1.0
    if style == "long":
        nearmiss["fundal"] = 0.3
        if persona["credential"] == "OT":
            nearmiss["flap"] = 0.6
    if rng.random() < 0.35:
        sc.nearmiss.append(wchoice(rng, nearmiss))
    if rng.random() < 0.1:
        sc.distractors.append(("trp_none", "negated"))
    return sc


def draw_minutes(rng: random.Random, variant: str, is_target: bool, long_session: bool,
                 payer: PayerProfile) -> int:
    """Minutes of one muscle line, shaped by the time story the note should tell."""
    if long_session:
        return rng.randint(68, 82) if payer.pooled_minutes else rng.randint(53, 80)
    if is_target and variant in ("small", "leftover"):
        return rng.randint(3, 7)
    if is_target and variant == "shared":
        return rng.randint(23, 37)
    band = wchoice(rng, {"a": 0.3, "b": 0.35, "c": 0.3, "d": 0.05})
    return {"a": (8, 15), "b": (16, 25), "c": (26, 38), "d": (39, 50)}[band][0] + rng.randint(
        0, {"a": 7, "b": 9, "c": 12, "d": 11}[band])


def assign_time(rng: random.Random, sc: Scenario, errors: set[str]) -> None:
    """Minutes, where they are documented, and billed units for every timed line.

    Units follow the payer's rule except on the one line meant to be over-billed;
    the variants make the subtle cases: a line over-billed only because minutes are
    shared across codes (CMS), a 3-7 minute line that CMS still pays (leftover unit)
    or that a per-code payer does not, and a visit with no minutes at all.
    """
    payer = PAYERS[sc.payer]
    over = "units-exceed-time" in errors and bool(sc.blocks)
    if over and payer.minutes_required and rng.random() < 0.3:
        mode = "none"
    elif not over and not payer.minutes_required and sc.blocks and rng.random() < 0.22:
        mode = "none"
    else:
        mode = wchoice(rng, {"line": 0.35, "text": 0.3, "both": 0.15, "mixed": 0.2})
    sc.time_mode = mode
    target = rng.choice(sc.blocks).code if over and mode != "none" else None
    variant = "normal"
    if target:
        variant = wchoice(rng, {"plus1": 0.4, "shared": 0.35, "small": 0.25} if payer.pooled_minutes
                          else {"plus1": 0.5, "small": 0.5})
    elif sc.blocks and payer.pooled_minutes and mode != "none" and rng.random() < 0.12:
        variant, target = "leftover", rng.choice(sc.blocks).code
    if variant in ("shared", "small", "leftover") and payer.pooled_minutes and not any(
            s.code in TIMED_CODES for s in sc.services):
        sc.services.append(Service("97110"))
    sc.long_session = not over and variant == "normal" and len(sc.blocks) == 1 and rng.random() < 0.05
    others = [s for s in sc.services if s.code in TIMED_CODES]
    for _ in range(2000):
        mins = {b.code: draw_minutes(rng, variant, b.code == target, sc.long_session, payer) for b in sc.blocks}
        for s in others:
            mins[s.code] = rng.randint(8, 38)
        if not mins:
            break
        if payer.pooled_minutes and cms_has_tie(mins):
            continue
        allowed = {c: allowed_units(c, mins, payer) for c in mins}
        if any(allowed[c] < 1 for c in mins if c != target):
            continue
        if variant == "plus1" and allowed[target] < 1:
            continue
        if variant == "shared" and not (units_for_minutes(mins[target]) > allowed[target] >= 1):
            continue
        if variant == "small" and allowed[target] != 0:
            continue
        if variant == "leftover" and allowed[target] < 1:
            continue
        if sc.long_session and allowed[sc.blocks[0].code] <= payer.max_units_per_line:
            continue
        break
    else:
        raise RuntimeError(f"no minutes satisfy variant {variant} for {list(mins)}")
    units = {c: allowed_units(c, mins, payer) for c in mins}
    if target and variant == "plus1":
        units[target] += 1
    elif target and variant == "shared":
        units[target] = units_for_minutes(mins[target])
    elif target and variant in ("small", "leftover"):
        units[target] = 1
    for block in sc.blocks:
        sc.units[block.code] = max(1, units[block.code])
        block.minutes = None if mode == "none" else mins[block.code]
    for s in others:
        s.units = max(1, units[s.code])
        s.minutes = None if mode == "none" else mins[s.code]
    for code in mins:
        if mode == "none":
            sc.on_line[code], sc.in_text[code] = False, False
        elif mode == "mixed":
            on = rng.random() < 0.5
            sc.on_line[code], sc.in_text[code] = on, not on
        else:
            sc.on_line[code] = mode in ("line", "both")
            sc.in_text[code] = mode in ("text", "both")
    for s in sc.services:  # untimed services may show minutes that must not count
        if s.code not in TIMED_CODES and s.code in ("97010", "97014", "97012") and mode != "none" \
                and rng.random() < 0.5:
            s.minutes = rng.randint(8, 15)
            sc.in_text[s.code] = True


def assign_modifiers(rng: random.Random, sc: Scenario, errors: set[str]) -> None:
    """Modifiers: a distinct-procedure modifier on muscle lines next to CMT, except the one meant to lack it."""
    cmt = bool(sc.cmt_codes())
    target = rng.choice(sc.blocks).code if cmt and "modifier-59-missing" in errors and sc.blocks else None
    cred = sc.signer
    for block in sc.blocks:
        if cmt and block.code == target:
            mods = rng.choice([[], [], ["GP"], ["KX"], ["GP", "KX"]])  # none of these is distinct
        elif cmt:
            mods = [wchoice(rng, {"59": 0.65, "XS": 0.25, "XE": 0.04, "XP": 0.03, "XU": 0.03})]
        elif sc.payer == "cms" and cred in ("PT", "DPT", "PTA") and rng.random() < 0.5:
            mods = ["GP", "CQ"] if cred == "PTA" else ["GP"]
        elif sc.payer == "cms" and cred == "OT" and rng.random() < 0.5:
            mods = ["GO"]
        else:
            mods = ["59"] if rng.random() < 0.04 else []
        sc.modifiers[block.code] = mods
    for s in sc.services:
        if s.code in CMT_CODES and sc.payer == "cms" and rng.random() < 0.7:
            s.modifiers = ["AT"]
        elif s.code in TIMED_CODES and sc.payer == "cms" and cred in ("PT", "DPT") and rng.random() < 0.4:
            s.modifiers = ["GP"]


def assign_performers(rng: random.Random, sc: Scenario, errors: set[str]) -> None:
    """Who did the work: the signer unless the text names a delegate (LMT, PTA, ATC, PT)."""
    if not sc.blocks:
        return
    delegates = sc.persona["delegates"]
    if "provider-not-covered" in errors and sc.signer not in NON_COVERED:
        pool = [d for d in delegates if d["credential"] in NON_COVERED] or GENERIC_DELEGATES
        d = rng.choice(pool)
        targets = sc.blocks if rng.random() < 0.5 else [rng.choice(sc.blocks)]
        for block in targets:
            block.performer = Performer(d["name"], d["credential"])
        return
    for d in delegates:
        if sc.payer == STRICT and d["credential"] in NON_COVERED:
            continue
        if rng.random() < d["p"]:
            massage = [b for b in sc.blocks if b.code == "97124"]
            block = massage[0] if d["credential"] == "LMT" and massage else rng.choice(sc.blocks)
            if block.performer is None:
                block.performer = Performer(d["name"], d["credential"])

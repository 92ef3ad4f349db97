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
PAYERS_DIR = Path(__file__).resolve().parent.parent / "src" / "notes_nlp" / "rules" / "payers"
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
    """What the labels need of a payer, read from the bundled profile it labels for
    (``src/notes_nlp/rules/payers/NAME.json``): the rubric reads these fields, never a payer
    name. The script reads the profiles' JSON itself, so that the labels depend on notes-nlp's
    data and never on its code."""
    name: str
    pooled_minutes: bool                    # CMS total-minutes rule (else per code)
    minutes_required: bool                  # no minutes at all -> error (else a no-time warning)
    paid_credentials: frozenset[str] | None  # None: any credential is paid
    max_units_per_line: int                 # long-duration above this
    no_progress_visits: int                 # long-duration from this many no-progress follow-ups in a row

    @classmethod
    def bundled(cls, name: str) -> "PayerProfile":
        data = json.loads((PAYERS_DIR / f"{name}.json").read_text(encoding="utf-8"))
        paid = {frozenset(c) if c is not None else None for c in data["paid_credentials"].values()}
        if len(paid) != 1:
            raise SystemExit(f"{name}: the generator labels one set of paid credentials for 97124 and 97140, got {paid}")
        return cls(name, data["unit_rule"] == "cms", data["minutes_required"], paid.pop(),
                   data["max_units_per_line"], data["max_visits_without_progress"])


PAYERS: dict[str, PayerProfile] = {name: PayerProfile.bundled(name) for name in ("cms", "commercial-strict")}


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
    """Most units the documented minutes support for ``code`` under the payer's unit rule.

    A line with no minutes of its own in a visit that documents others has 0 minutes
    (the generator never writes one, but the rubric should not crash on it).
    """
    if code not in minutes_by_code:
        minutes_by_code = {**minutes_by_code, code: 0}
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
    patient: dict = field(default_factory=dict)

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
                 "units-exceed-time": 1.3, "cmt-same-region": 6.5, "modifier-59-missing": 6.5,
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
    patient: dict | None = None


def sample_patient(rng: random.Random) -> dict:
    """Who the notes are about; a chart keeps one patient across its visits."""
    return {"age": rng.randint(24, 78), "sex": rng.choice(["female", "male"]), "job": rng.choice(V["jobs"]),
            "weeks": rng.randint(2, 12), "mechanism": rng.choice(V["mechanisms"])}


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


def draw_distinct(rng: random.Random, weights: dict[str, float], k: int) -> list[str]:
    """k distinct keys drawn by weight, without replacement."""
    pool = dict(weights)
    out: list[str] = []
    while pool and len(out) < k:
        item = wchoice(rng, pool)
        out.append(item)
        pool.pop(item)
    return out


def pick_regions(rng: random.Random, weights: dict[str, float], k: int, exclude: tuple = ()) -> list[str]:
    """k distinct canonical regions drawn from weights."""
    return draw_distinct(rng, {r: w for r, w in weights.items() if r not in exclude}, k)


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
    return draw_distinct(rng, weights, k)


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
    elif persona["credential"] == "DC":
        feasible["provider-not-covered"] *= 3  # the classic: LMT did the work, the DC signed
    chosen: list[str] = []
    for _ in range(1 if rng.random() < (0.65 if persona["credential"] == "DC" else 0.8) else 2):
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
                  visit=ctx.visit, chart_id=ctx.chart_id, date=ctx.date,
                  patient=ctx.patient or sample_patient(rng))

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
    if mismatch_target == "97124" and cmt and "97140" in codes:
        # manual work billed as massage would add manual regions the 97140 line did not treat,
        # and cmt-same-region must only ever depend on the 97140 line's own techniques
        mismatch_target = "97140"
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
    nearmiss = {"tpi_referral": 0.5, "dry_needling": 0.5, "manual_word": 0.4, "mech_traction": 0.4}
    if any(s.code == "97110" for s in sc.services):
        nearmiss["glides"] = 0.6
    if sc.edema:
        nearmiss["compression"] = 1.0
    if style in ("long", "narrative") and sc.patient["sex"] == "female":
        nearmiss["fundal"] = 1.0
    if style in ("long", "narrative", "soap") and persona["credential"] in ("OT", "MD", "DO"):
        nearmiss["flap"] = 0.8
    if rng.random() < 0.5:
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
        variant = wchoice(rng, {"plus1": 0.3, "shared": 0.5, "small": 0.2} if payer.pooled_minutes
                          else {"plus1": 0.5, "small": 0.5})
    elif sc.blocks and payer.pooled_minutes and mode != "none" and rng.random() < 0.12:
        variant, target = "leftover", rng.choice(sc.blocks).code
    if variant in ("shared", "small", "leftover") and payer.pooled_minutes and not any(
            s.code in TIMED_CODES for s in sc.services):
        sc.services.append(Service("97110"))
    sc.long_session = not over and variant == "normal" and len(sc.blocks) == 1 and rng.random() < 0.07
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
    targets = []
    if cmt and "modifier-59-missing" in errors and sc.blocks:
        targets = [b.code for b in sc.blocks] if rng.random() < 0.7 else [rng.choice(sc.blocks).code]
    cred = sc.signer
    for block in sc.blocks:
        if cmt and block.code in targets:
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


# ---------------------------------------------------------------------------
# Rendering: facts -> marked text, in one of many styles
# ---------------------------------------------------------------------------

TIME_FORMATS = {  # (prefix, inside the TIME span, suffix)
    "full": [("x ", "{m} min", ""), ("for ", "{m} minutes", ""), ("", "{m} min", ""), ("x ", "{m} minutes", ""),
             ("(", "{m} min", ")"), ("for ", "{m} min", "")],
    "abbr": [("x", "{m}'", ""), ("", "{m}'", ""), ("x ", "{m} min", ""), ("x", "{m}min", ""), ("", "{m} mins", "")],
    "narr": [("for ", "{m} minutes", ""), ("for about ", "{m} minutes", ""), ("for ", "{m} min", "")],
}
GENERIC_MANUAL = {"full": ["Manual therapy", "Manual therapy techniques", "Hands-on manual therapy"],
                  "abbr": ["manual tx", "manual therapy", "MT"]}
NEARMISS_BLOCK = {"dry_needling": ["Dry needling", "dry needling"], "mech_traction": ["Mechanical traction"],
                  "tpi": ["Trigger point injection", "TPI (trigger point injection)"]}
PREPS = ["to", "to the", "over", "at"]


def fill(template: str, values: dict[str, str]) -> str:
    """Replace {slot}s; unknown slots are an error so a vocabulary typo cannot leak into a note."""
    def sub(m: re.Match) -> str:
        if m.group(1) not in values:
            raise KeyError(f"slot {m.group(1)} missing for {template!r}")
        return str(values[m.group(1)])
    return re.sub(r"\{(\w+)\}", sub, template)


def join_list(items: list[str], rng: random.Random, abbr: bool) -> str:
    """'A and B', 'A, B and C', or 'A/B' in abbreviated notes."""
    if len(items) == 1:
        return items[0]
    if abbr and rng.random() < 0.6:
        return rng.choice(["/", " + ", ", "]).join(items)
    return ", ".join(items[:-1]) + rng.choice([" and ", ", and ", " & " if abbr else " and "]) + items[-1]


def split_minutes(rng: random.Random, total: int, k: int) -> list[int]:
    """Split a line's minutes among k techniques (each at least 2)."""
    cuts = sorted(rng.sample(range(2, total - 1), k - 1)) if total >= 2 * k + 2 else []
    if len(cuts) != k - 1 or any(b - a < 2 for a, b in zip([0] + cuts, cuts + [total], strict=True)):
        base = [total // k] * k
        base[0] += total - sum(base)
        return base
    return [b - a for a, b in zip([0] + cuts, cuts + [total], strict=True)]


class Renderer:
    """Writes one scenario as marked text. Every entity goes through a helper that emits a marker."""

    def __init__(self, sc: Scenario, rng: random.Random):
        self.sc, self.rng = sc, rng
        self.abbr = sc.register == "abbr"
        self.narr = sc.style in ("narrative", "long")
        self.side_form = rng.choice(V["side_forms"][sc.side])
        self.time_fmt = rng.choice(TIME_FORMATS["abbr" if self.abbr else "narr" if sc.style == "narrative"
                                                else "full"])
        self.clock = sc.time_mode in ("text", "both", "mixed") and rng.random() < 0.15
        self.clock_at = rng.randint(96, 200) * 5  # 8:00 .. 16:40
        self.pain = rng.randint(2, 8)  # today's pain, so a progress statement agrees with the measure

    # --- entity helpers -------------------------------------------------
    def region(self, canon: str, cmt: bool = False) -> str:
        pool = REGIONS[canon]["cmt"] if cmt else REGIONS[canon]["abbr" if self.abbr else "full"]
        surface = re.sub(r"\{side\}(?=[A-Z])", self.sc.side, self.rng.choice(pool))
        return mk("BODY_REGION", surface.replace("{side}", self.side_form))

    def regions(self, canons: list[str], cmt: bool = False) -> str:
        return join_list([self.region(r, cmt) for r in canons], self.rng, self.abbr)

    def tech(self, tech: str, status: str = "performed") -> str:
        t = TECH[tech]
        if self.rng.random() < self.sc.typo_p:
            forms = t["typo"]
        else:
            forms = t["abbr" if self.abbr else "full"]
        label = "MASSAGE_TECHNIQUE" if t["family"] == "massage" else "MANUAL_TECHNIQUE"
        return mk(label, self.rng.choice(forms), status)

    def time(self, minutes: int, bare: bool = False) -> str:
        """A TIME marker in this note's habit ("x 12 min", "12'", "10:05-10:17"); bare drops the "x"/"for"."""
        if self.clock:
            start, end = self.clock_at, self.clock_at + minutes
            self.clock_at = end + self.rng.choice([0, 0, 5])
            inner = f"{start // 60}:{start % 60:02d}-{end // 60}:{end % 60:02d}"
            return f"({mk('TIME', inner)})"
        pre, inner, post = self.time_fmt
        if bare:
            pre, post = "", ""
        return f"{pre}{mk('TIME', inner.format(m=minutes))}{post}"

    def billing(self, code: str, modifiers: list[str], units: int | None) -> str:
        text = code + "".join(f"-{m}" for m in modifiers)
        if units is not None and (units > 1 or self.rng.random() < 0.7):
            text += self.rng.choice([f" x{units}", f" x {units}", f" ({units} unit{'s' if units > 1 else ''})"])
        return mk("BILLING", text)

    def line_billing(self, code: str) -> str:
        """The billing marker of a billed line, exactly as the billing section writes it."""
        if code in self.sc.units:
            return self.billing(code, self.sc.modifiers.get(code, []), self.sc.units[code])
        for s in self.sc.services:
            if s.code == code:
                return self.billing(code, s.modifiers, s.units if s.code in TIMED_CODES else None)
        raise KeyError(code)

    def credential(self, cred: str) -> str:
        return mk("CREDENTIAL", cred)

    def intent(self, it: Intent, with_region: bool = True) -> str:
        if it.kind == "relax":
            conn, text = self.rng.choice(V["intents"]["relax_abbr" if self.abbr else "relax"])
            return f"{conn} {mk('INTENT_RELAXATION', text)}"
        entry = V["intents"]["functional"][it.index]
        out = f"{entry['to']} {mk('INTENT_FUNCTIONAL', entry['abbr'] if self.abbr else entry['text'])}"
        if it.region and with_region:
            prep = "" if self.abbr else self.rng.choice(["of the ", "in the ", "at the "])
            out += f" {prep}{self.region(it.region)}"
        return out

    def intents(self, its: list[Intent]) -> str:
        return " and ".join(self.intent(i) for i in its)

    # --- facts as clauses -----------------------------------------------
    def complaint(self) -> str:
        c = V["complaints"]
        if self.sc.region_named:
            if self.abbr:
                pool = c["abbr_region"]
            else:
                pool = c["region_dx_safe"] + (c["region_dx_ok"] if self.sc.has_dx else [])
            return fill(self.rng.choice(pool), {"region": self.region(self.sc.regions[0])})
        return self.rng.choice(c["abbr_noregion"] if self.abbr else c["noregion_dx_safe"])

    def findings(self) -> list[str]:
        f = V["findings"]
        out = []
        if self.sc.region_named:
            for r in self.sc.regions[:1 + (self.rng.random() < 0.4)]:
                out.append(fill(self.rng.choice(f["region"]), {"region": self.region(r)}))
            if self.sc.edema:
                r = next(r for r in self.sc.regions if r in ("upper_ext", "lower_ext"))
                out.append(fill(self.rng.choice(f["edema"]), {"region": self.region(r)}))
            if self.sc.has_dx and self.rng.random() < 0.15:
                out.append(fill(self.rng.choice(f["spasm"]), {"region": self.region(self.sc.regions[0])}))
        elif self.rng.random() < 0.7:
            out.append(self.rng.choice(f["noregion"]))
        return out

    def rom(self) -> tuple[str, int, int] | None:
        """A ROM phrase (with its region marker) for a region of this note, with its degree range."""
        key = "rom_abbr" if self.abbr else "rom"
        options = [(r, e) for r in self.sc.regions for e in REGIONS[r][key]] if self.sc.region_named else []
        if not options:
            return None
        _, (phrase, lo, hi) = self.rng.choice(options)
        surface = phrase.replace("{side}", self.side_form)
        return surface, lo, hi

    def measures(self) -> list[str]:
        m, rng = V["measures"], self.rng
        out = []
        if rng.random() < 0.7:
            out.append(fill(rng.choice(m["pain_abbr" if self.abbr else "pain"]), {"n": self.pain}))
        rom = self.rom()
        if rom and rng.random() < 0.6:
            phrase, lo, hi = rom
            out.append(f"{phrase} {mk('MEASURE', f'{rng.randint(lo, hi)}°')}")
        if rng.random() < 0.35:
            out.append(fill(rng.choice(m["outcome"][self.outcome_region()]),
                            {"p": rng.randint(18, 60), "l": rng.randint(30, 66), "q": rng.randint(18, 60),
                             "f": rng.randint(2, 7)}))
        if rng.random() < 0.2:
            out.append(fill(rng.choice(m["tolerance"]), {"t": rng.choice(range(10, 45, 5)), "b": rng.randint(2, 8)}))
        if rng.random() < 0.12:
            out.append(fill(rng.choice(m["strength"]), {"g": rng.randint(30, 70)}))
        if self.sc.edema and rng.random() < 0.7:
            limb = next(r for r in self.sc.regions if r in m["girth"])
            out.append(fill(rng.choice(m["girth"][limb]), {"side": self.side_form, "c": rng.randint(22, 34)}))
        if not out:
            out.append(fill(rng.choice(m["pain"]), {"n": self.pain}))
        return out

    def diagnoses(self) -> list[str]:
        rng, sc = self.rng, self.sc
        dxs = V["diagnoses"]
        if not sc.region_named:
            pool = [d for d in dxs if d["region"] is None]
        elif sc.edema and rng.random() < 0.8:
            pool = [d for d in dxs if d.get("edema")]
        else:
            pool = [d for d in dxs if d["region"] in sc.regions[:2] and not d.get("edema")
                    and (not d.get("chiro") or sc.cmt_codes())]
            pool = pool or [d for d in dxs if d["region"] is None]
        chosen = rng.sample(pool, min(len(pool), 1 + (rng.random() < 0.3)))
        items = []
        for d in chosen:
            values = {"s": "1" if sc.side == "R" else "2", "sideword": "right" if sc.side == "R" else "left"}
            code, name = fill(d["code"], values), fill(d["name"], values)
            style = rng.random()
            if style < 0.35:
                items.append(f"{mk('DIAGNOSIS', code)} {mk('DIAGNOSIS', name)}")
            elif style < 0.65:
                items.append(f"{mk('DIAGNOSIS', name)} ({mk('DIAGNOSIS', code)})")
            elif style < 0.82:
                items.append(mk("DIAGNOSIS", code))
            else:
                items.append(mk("DIAGNOSIS", name))
        lead = rng.choice(["Dx:", "Dx:", "ICD-10:", "Diagnosis:"] if not self.narr
                          else ["Diagnosis is", "Working diagnosis:", "Dx:"])
        return [f"{lead} {'; '.join(items)}"]

    def goals(self) -> list[str]:
        rng, sc = self.rng, self.sc
        if sc.goal_mode == "vague":
            return [rng.choice(V["vague_goals"])]
        if sc.goal_mode == "poc":
            return [rng.choice(V["poc_refs"]).rstrip(".")]
        if sc.goal_mode != "measurable":
            return []
        pool = []
        for g in V["goals"]:
            if g["region"] == "rom" and not self.rom():
                continue
            if g["region"] == "upper_ext" and not (sc.region_named and "upper_ext" in sc.regions):
                continue
            pool.append(g)
        chosen = rng.sample(pool, min(len(pool), int(wchoice(rng, {"1": 0.45, "2": 0.4, "3": 0.15}))))
        schemes = V["goal_label_schemes"]
        if not all(g["tf"] for g in chosen):  # "stand 1 hr at work" needs its STG/LTG label as time frame
            schemes = [sch for sch in schemes if all("TG" in lab for lab in sch)]
        scheme = rng.choice(schemes)
        out = []
        for label, g in zip(scheme, chosen, strict=False):  # a scheme has labels for up to three goals
            values = {k: rng.choice(v) for k, v in g["slots"].items()}
            values["side"] = self.side_form
            if g["region"] == "rom":
                phrase, lo, hi = self.rom()
                values.update(rom=phrase, deg=str(hi + rng.choice([5, 10, 15])))
            elif g["region"] == "score":
                values["score"] = rng.choice(V["goal_scores"][self.outcome_region()])
            out.append(f"{label} {mk('GOAL', fill(g['text'], values), 'performed')}")
        return out

    def outcome_region(self) -> str:
        """The region whose outcome score fits this note (ODI for the low back, NDI for the neck...)."""
        if self.sc.region_named:
            for r in self.sc.regions:
                if r in V["goal_scores"]:
                    return r
        return "any"

    def progress(self) -> list[str]:
        rng, sc = self.rng, self.sc
        numeric = []
        if sc.has_measure:
            for p in V["progress_numeric"]:
                if p["region"] == "rom" and not self.rom():
                    continue
                if "girth" in p["text"] and not sc.edema:
                    continue
                numeric.append(p)
        plain = list(V["progress_plain"])
        out = []
        for _ in range(1 + (rng.random() < 0.3)):
            p = rng.choice(numeric) if numeric and rng.random() < 0.6 else rng.choice(plain)
            values = {"pa": min(10, self.pain + rng.randint(1, 3)), "pb": self.pain,
                      "t": rng.choice(range(20, 65, 5)), "b": rng.randint(4, 12), "p": rng.randint(12, 30)}
            values.update(t0=values["t"] - rng.choice([10, 15]), p0=values["p"] + rng.randint(6, 20))
            if p["region"] == "rom":
                phrase, lo, hi = self.rom()
                a = rng.randint(lo, hi - 6)
                values.update(rom=phrase, a=a, b=min(hi + 10, a + rng.randint(5, 20)))
            item = mk("PROGRESS", fill(p["text"], values))
            if item not in out:
                out.append(item)
        return out

    def performer_suffix(self, p: Performer) -> str:
        c = self.credential(p.credential)
        return self.rng.choice([f"performed by {p.name}, {c}, under my supervision",
                                f"by {c} {p.name} under direct supervision",
                                f"performed by {c} ({p.name}) under supervision"])

    def tech_sentence(self, block: Block) -> str:
        """Performed techniques with regions, minutes and purpose, in one of many word orders."""
        rng, sc = self.rng, self.sc
        techs = block.performed()
        minutes = block.minutes if sc.in_text.get(block.code) else None
        if minutes is not None and len(techs) >= 2 and rng.random() < 0.35:
            parts = split_minutes(rng, minutes, len(techs))
            timed = [f"{self.tech(t)} {self.time(m)}" for t, m in zip(techs, parts, strict=True)]
            tech_str = join_list(timed, rng, self.abbr)
            time_str = ""
        else:
            tech_str = join_list([self.tech(t) for t in techs], rng, self.abbr)
            time_str = self.time(minutes) if minutes is not None else ""
        regs = self.regions(block.regions) if block.regions else ""
        intents = self.intents(block.intents)
        if self.abbr:
            forms = [[tech_str, regs, time_str, intents]]
            if regs:
                forms.append([regs + " -", tech_str, time_str, intents])
        elif sc.style == "narrative":
            verb = "were" if len(techs) > 1 else "was"
            forms = [["I performed", tech_str, f"to the {regs}" if regs else "", time_str, intents],
                     [tech_str, (f"{verb} applied to the {regs}" if regs else f"{verb} applied"), time_str,
                      intents],
                     ["We used", tech_str, f"over the {regs}" if regs else "", time_str, intents]]
        else:
            prep = rng.choice(PREPS)
            forms = [[tech_str, f"{prep} {regs}" if regs else "", time_str, intents],
                     [tech_str, f"performed {prep} {regs}" if regs else "performed", time_str, intents]]
            if regs:
                forms.append([regs + ":", tech_str, time_str, intents])
        if intents and rng.random() < 0.25:
            parts = [intents + ","] + [p for p in rng.choice(forms) if p is not intents]
        else:
            parts = rng.choice(forms)
        out = " ".join(p for p in parts if p)
        if block.performer:
            out += "; " + self.performer_suffix(block.performer)
        return out

    def block_sentences(self, block: Block) -> list[tuple[str, str]]:
        """(section, clause) pairs documenting one billed line."""
        rng, sc = self.rng, self.sc
        if block.kind in ("ok", "mismatch"):
            return [("T", self.tech_sentence(block))]
        out: list[tuple[str, str]] = []
        regs = self.regions(block.regions) if block.regions else ""
        to_regs = f" to {regs}" if regs else ""
        has_time = bool(sc.in_text.get(block.code) and block.minutes)
        intents = self.intents(block.intents)
        if block.kind in ("missing-generic", "missing-nearmiss"):
            time_str = self.time(block.minutes) if has_time else ""
            word = (rng.choice(GENERIC_MANUAL["abbr" if self.abbr else "full"]) if block.kind == "missing-generic"
                    else rng.choice(NEARMISS_BLOCK[block.nearmiss]))
            clause = " ".join(p for p in [word + to_regs, time_str, intents] if p)
            if block.performer:
                clause += "; " + self.performer_suffix(block.performer)
            return [("T", clause)]
        tech = self.tech(block.techs[0], {"missing-negated": "negated", "missing-planned": "planned",
                                          "missing-historical": "historical"}[block.kind])
        if block.kind == "missing-negated":
            out.append(("T", rng.choice([f"Pt declined {tech}{to_regs} today",
                                         f"{tech}{to_regs} deferred today due to skin irritation",
                                         f"{tech}{to_regs} not performed, pt requested to skip",
                                         f"No {tech}{to_regs} today per pt request"])))
        elif block.kind == "missing-planned":
            out.append(("P", rng.choice([f"Will add {tech}{to_regs} next visit", f"Plan to try {tech}{to_regs}",
                                         f"Consider {tech}{to_regs} if symptoms persist",
                                         f"Next visit: {tech}{to_regs}"])))
        else:
            out.append(("S", rng.choice([f"Pt previously had {tech}{to_regs} with good relief",
                                         f"Hx of {tech}{to_regs} last year",
                                         f"Had {tech}{to_regs} at another clinic last year"])))
        # the billed time and purpose still appear, tied to the code billed
        extra = []
        if has_time:
            extra.append(f"{self.line_billing(block.code)} - {self.time(block.minutes, bare=True)}")
        if intents:
            extra.append(f"purpose: {intents}")
        if block.performer:
            extra.append(self.performer_suffix(block.performer))
        if extra:
            lead = rng.choice(["Timed: ", "Today: ", "Billed: "]) if has_time else ""
            out.append(("T", lead + ", ".join(extra)))
        return out

    def cmt_sentence(self) -> str:
        rng = self.rng
        term = mk("CMT", rng.choice(V["cmt_terms"]["abbr" if self.abbr else "full"]))
        regs = self.regions(self.sc.cmt_regions, cmt=True)
        if self.abbr:
            return rng.choice([f"{term} {regs}", f"{term}: {regs}"])
        if self.sc.style == "narrative":
            return rng.choice([f"I performed {term} to the {regs}", f"{term} were delivered to the {regs}"])
        return rng.choice([f"{term} to {regs}", f"{term}: {regs}", f"{term} delivered to {regs}"])

    def service_sentence(self, s: Service) -> str | None:
        rng, sc = self.rng, self.sc
        if s.code in CMT_CODES:
            return None
        time_str = self.time(s.minutes) if sc.in_text.get(s.code) and s.minutes else ""
        if s.code in V["code_names"]:
            name = rng.choice(V["code_names"][s.code]["abbr" if self.abbr else "full"])
            desc = ""
            if s.code == "97110":
                items = rng.sample(V["exercises"], rng.randint(1, 3))
                if "glides" in sc.nearmiss:
                    items.append(rng.choice(V["exercise_glides"]))
                desc = ", ".join(items)
            elif s.code in V["activity_desc"]:
                desc = rng.choice(V["activity_desc"][s.code])
            elif s.code in ("97010", "97014") and sc.region_named and rng.random() < 0.5:
                desc = f"to {self.region(sc.regions[0])}"
            head = " ".join(p for p in [name, time_str] if p)
            return f"{head}: {desc}" if desc and rng.random() < 0.6 else " ".join(p for p in [head, desc] if p)
        if s.code == "20552":
            return None  # written with its block
        if s.code.startswith("971"):
            return rng.choice(["Initial evaluation completed", "Evaluation completed, plan of care established"])
        if s.code in ("99203", "99204"):
            return "New patient evaluation completed"
        return rng.choice(["Separate E/M today for new complaint", "E/M: medication review and new complaint"])

    def distractor(self, tech: str, status: str) -> tuple[str, str]:
        rng, sc = self.rng, self.sc
        if tech == "trp_none":
            return "O", rng.choice(V["negated_trp_forms"])
        t = self.tech(tech, status)
        regs = ""
        fits = [r for r in sc.regions if tech_fits(tech, [r])]
        if sc.region_named and fits and rng.random() < 0.4:
            regs = f" to {self.region(rng.choice(fits))}"
        if status == "negated":
            return "T", rng.choice([f"Pt declined {t}{regs} today", f"{t}{regs} deferred", f"No {t}{regs} today",
                                    f"{t}{regs} not performed", f"Pt denies prior {t}{regs}"])
        if status == "planned":
            return "P", rng.choice([f"Will add {t}{regs} next visit", f"Consider {t}{regs}",
                                    f"Plan to progress to {t}{regs}", f"May try {t}{regs} next week"])
        return "S", rng.choice([f"Hx of {t}{regs} last year", f"Previously had {t}{regs} with temporary relief",
                                f"Had {t}{regs} years ago"])

    def nearmiss_sentence(self, kind: str) -> tuple[str, str] | None:
        """(section, clause) for a word that looks like a technique and is not one."""
        rng = self.rng
        if kind == "tpi_referral":
            return "P", rng.choice(["Referred to pain management to discuss trigger point injection",
                                    "Pt asked about trigger point injection, will discuss with MD"])
        if kind == "dry_needling":
            return "T", rng.choice(["Pt declined dry needling today", "Dry needling not offered at this clinic"])
        if kind == "manual_word":
            return "A", rng.choice(["Pt responds well to manual therapy", "Manual therapy remains indicated"])
        if kind == "compression":
            return "T", rng.choice(["Compression bandaging applied after session",
                                    "Pt to continue compression bandaging at home"])
        if kind == "mech_traction":
            return "P", rng.choice(["Consider mechanical traction trial if no change",
                                    "Pt has a home mechanical traction unit, uses it occasionally"])
        if kind == "fundal":
            if self.sc.patient["sex"] != "female":
                return None
            return "H", "OB hx: vaginal delivery, fundal massage postpartum per pt, no complications"
        if kind == "flap":
            return "H", rng.choice(["Pt is s/p reconstruction; op report notes surgical mobilization of the flap",
                                    "Surgical hx: flap reconstruction, op note describes surgical mobilization "
                                    "of the flap"])
        return None  # glides are written inside ther ex

    def history(self) -> list[str]:
        rng = self.rng
        values = dict(self.sc.patient)
        items = [fill(V["history"][0], values).rstrip("."), fill(V["history"][1], values).rstrip(".")]
        if self.sc.has_dx and self.rng.random() < 0.6:
            pmh = rng.sample(V["pmh_items"], rng.randint(1, 3))
            items.append("PMH: " + ", ".join(mk("DIAGNOSIS", p) for p in pmh))
        elif self.sc.style == "long":
            items.append(rng.choice(["PMH: noncontributory", "PMH: none reported"]))
        return items

    def sections(self) -> dict[str, list[str]]:
        """All clauses of the note, by section (H S O T A G P B Z)."""
        rng, sc = self.rng, self.sc
        sec: dict[str, list[str]] = {k: [] for k in "HSOTAGPBZ"}
        if sc.style in ("long", "narrative") and (sc.style == "long" or rng.random() < 0.5):
            sec["H"] += self.history()
        sec["S"].append(self.complaint())
        if sc.has_measure:
            measures = self.measures()
            if measures and "/10" in measures[0] and rng.random() < 0.4:  # pain is what a patient reports
                sec["S"].append(("pt reports " if not self.abbr else "") + measures.pop(0))
            sec["O"] += measures
        sec["O"] += self.findings()
        if sc.progress:
            sec["S" if rng.random() < 0.5 else "A"] += self.progress()
        elif sc.visit >= 1 and rng.random() < 0.6:
            sec["S" if rng.random() < 0.5 else "A"].append(rng.choice(V["no_progress"]).rstrip("."))
        if sc.cmt_codes():
            sec["T"].append(self.cmt_sentence())
        for block in sc.blocks:
            if sc.style == "checkbox" and block.kind not in ("missing-planned", "missing-historical"):
                continue  # written as boxes by render_checkbox
            for where, clause in self.block_sentences(block):
                if sc.style == "checkbox" and where == "T":
                    continue
                sec[where].append(clause)
        for s in sc.services:
            sentence = self.service_sentence(s)
            if sentence:
                sec["T"].append(sentence)
        for block in sc.blocks:
            if block.nearmiss == "tpi":
                sec["T"].append(f"{self.line_billing('20552')} performed by me")
        timed = sc.timed_minutes()
        if timed and all(sc.in_text.get(c) for c in timed) and len(timed) > 1 and rng.random() < 0.25:
            sec["T"].append(f"Total timed minutes: {mk('TIME', str(sum(timed.values())) + ' min')}")
        for tech, status in sc.distractors:
            where, clause = self.distractor(tech, status)
            sec[where].append(clause)
        for kind in sc.nearmiss:
            got = self.nearmiss_sentence(kind)
            if got:
                sec[got[0]].append(got[1])
        if sc.has_dx:
            sec["A"] += self.diagnoses()
        if rng.random() < 0.6 and sc.style != "brief":
            sec["A"].append(rng.choice(V["assessment_filler"]).rstrip("."))
        sec["G"] += self.goals()
        if rng.random() < 0.6 and sc.style != "brief":
            sec["P"].append(rng.choice(V["plan_filler"]).rstrip("."))
        if rng.random() < 0.6 or sc.style == "checkbox":
            lines = []
            for s in sc.services:
                if s.code in CMT_CODES:
                    lines.append(self.line_billing(s.code))
            for block in sc.blocks:
                lines.append(self.line_billing(block.code))
            for s in sc.services:
                if s.code not in CMT_CODES:
                    lines.append(self.line_billing(s.code))
            sep = rng.choice([", ", "; ", "  "])
            sec["B"].append(f"{rng.choice(V['billing_headers'])} {sep.join(lines)}")
        if rng.random() < 0.88:
            p = sc.persona
            c = self.credential(p["credential"])
            initials = "".join(w[0] for w in p["name"].replace("Dr. ", "").split())
            sec["Z"].append(rng.choice([f"Electronically signed: {p['name']}, {c}", f"-- {p['name']}, {c}",
                                        f"{p['name']} {c}", f"Signed {p['name']}, {c}", f"{initials} {c}"]))
        for k in "SO":
            if len(sec[k]) > 1 and rng.random() < 0.3:
                rng.shuffle(sec[k])
        return sec

    # --- styles ---------------------------------------------------------
    def join(self, items: list[str], final: bool = True) -> str:
        """Clauses as sentences; abbreviated writers use ';' and skip capitals."""
        if not items:
            return ""
        if self.sc.nopunct:  # run-on writers still break items apart, or adjacent phrases would merge
            return self.np_sep.join(i if self.abbr else cap_first(i) for i in items)
        if self.abbr:
            return self.abbr_sep.join(items)
        return ". ".join(cap_first(i) for i in items) + ("." if final else "")

    def title(self) -> list[str]:
        rng, sc = self.rng, self.sc
        if sc.visit == 0 and rng.random() < 0.7:
            return [rng.choice(["Initial evaluation", "INITIAL EVALUATION / PLAN OF CARE",
                                "Evaluation and plan of care"])]
        if rng.random() < 0.35:
            options = [f"DOS: {sc.date}", "Daily note", "Treatment note", f"Date: {sc.date}"]
            if sc.visit >= 1:
                options.append(f"Visit {sc.visit + 1}")
            return [rng.choice(options)]
        return []

    def goal_lines(self, goals: list[str]) -> list[str]:
        return [cap_first(g) + ("" if self.abbr or self.sc.nopunct else ".") for g in goals]

    def render(self) -> str:
        self.abbr_sep = self.rng.choice(["; ", ". "])
        self.np_sep = self.rng.choice([" - ", " / ", " -- "])
        sec = self.sections()
        return {"soap": self.render_soap, "abbreviated": self.render_soap, "bullets": self.render_bullets,
                "narrative": self.render_narrative, "long": self.render_long, "brief": self.render_brief,
                "checkbox": self.render_checkbox}[self.sc.style](sec)

    def render_soap(self, sec: dict[str, list[str]]) -> str:
        rng, sc = self.rng, self.sc
        hdr = V["headers"][rng.choice(sc.persona["headers"])]
        below = hdr["S"].isupper() and rng.random() < 0.5
        lines = self.title()

        def put(header: str, items: list[str]) -> None:
            if items:
                lines.append(f"{header}\n{self.join(items)}" if below else f"{header} {self.join(items)}")
        put(hdr["S"], sec["H"] + sec["S"])
        if sec["T"] and rng.random() < 0.55:
            put(hdr["O"], sec["O"])
            put(rng.choice(sc.persona["tx_headers"]), sec["T"])
        else:
            put(hdr["O"], sec["O"] + sec["T"])
        put(hdr["A"], sec["A"])
        if sec["G"]:
            if rng.random() < 0.5:
                lines.append(rng.choice(V["goal_headers"]))
                lines += self.goal_lines(sec["G"])
            else:
                put(rng.choice(["Goals:", "Plan of care:"]), sec["G"])
        put(hdr["P"], sec["P"])
        return "\n".join(lines + sec["B"] + sec["Z"])

    def render_bullets(self, sec: dict[str, list[str]]) -> str:
        rng, sc = self.rng, self.sc
        hdr = V["headers"][rng.choice(sc.persona["headers"])]
        bullet = rng.choice(["- ", "* ", "• "])
        lines = self.title()
        groups = [(hdr["S"], sec["H"] + sec["S"]), (hdr["O"], sec["O"]),
                  (rng.choice(sc.persona["tx_headers"]), sec["T"]), (hdr["A"], sec["A"]),
                  (rng.choice(V["goal_headers"]), sec["G"]), (hdr["P"], sec["P"])]
        for header, items in groups:
            if items:
                lines.append(header)
                lines += [bullet + (i if self.abbr else cap_first(i)) for i in items]
        return "\n".join(lines + sec["B"] + sec["Z"])

    def render_narrative(self, sec: dict[str, list[str]]) -> str:
        rng, sc = self.rng, self.sc
        pron = "She" if self.sc.patient["sex"] == "female" else "He"
        opening = ("Patient presents for initial evaluation" if sc.visit == 0 else
                   rng.choice(["Patient returns today for follow-up", "The patient presents for treatment today",
                               f"{pron} returns for continued care", "Seen today for scheduled treatment"]))
        paras = [[opening] + sec["H"] + sec["S"]]
        if sec["O"]:
            paras.append([rng.choice(["On exam, ", "Examination today shows ", "On palpation and testing, "])
                          + sec["O"][0]] + sec["O"][1:])
        if sec["T"]:
            paras.append(sec["T"])
        closing = sec["A"] + ([rng.choice(["Goals set for this episode follow",
                                           "Goals were reviewed with the patient"])] + sec["G"] if sec["G"]
                              and sc.goal_mode == "measurable" else sec["G"]) + sec["P"]
        if closing:
            paras.append(closing)
        text = "\n\n".join(self.join(p) for p in paras)
        return "\n".join([text] + sec["B"] + sec["Z"])

    def render_long(self, sec: dict[str, list[str]]) -> str:
        rng = self.rng
        target = rng.randint(540, 660)
        sec = {k: list(v) for k, v in sec.items()}
        sec["F"] = []
        present = {x for items in sec.values() for x in items}
        pools = {"H": V["history"][2:] + V["ros"], "O": V["exam_filler"] + self.templated("exam_templates", 8),
                 "F": V["function"] + self.templated("function_templates", 10),
                 "A": V["assessment_filler"] + V["rationale"],
                 "P": V["plan_filler"] + V["education"] + V["precautions"]}
        for key, pool in pools.items():
            pool = [x.rstrip(".") for x in pool]
            rng.shuffle(pool)
            pools[key] = [x for x in pool if x not in present][:rng.randint(9, 16)]
        headers = [("H", rng.choice(["HISTORY OF PRESENT ILLNESS:", "HISTORY:", "Subjective / history:"])),
                   ("S", ""), ("F", rng.choice(["FUNCTIONAL STATUS:", "Function:"])),
                   ("O", rng.choice(["EXAMINATION:", "OBJECTIVE:", "Exam:"])),
                   ("T", rng.choice(["TREATMENT:", "PROCEDURES:", "Treatment provided today:"])),
                   ("A", rng.choice(["ASSESSMENT:", "Assessment:"])), ("G", rng.choice(["GOALS:", "Goals:"])),
                   ("P", rng.choice(["PLAN OF CARE:", "PLAN:", "Plan of care:"]))]

        def assemble() -> str:
            lines = self.title()
            for key, header in headers:
                if key == "S":
                    continue
                items = sec[key] + (sec["S"] if key == "H" else [])
                if not items:
                    continue
                body = "\n".join(self.goal_lines(items)) if key == "G" and self.sc.goal_mode == "measurable" \
                    else self.join(items)
                lines.append(f"{header}\n{body}")
            return "\n\n".join(lines + ["\n".join(sec["B"] + sec["Z"])])
        order = ["H", "F", "O", "A", "P"]
        words = len(strip_markers(assemble()).split())
        i = 0
        while words < target and any(pools.values()):
            key = order[i % len(order)]
            i += 1
            if pools[key]:
                item = pools[key].pop()
                sec[key].append(item)
                words += len(item.split())
        return assemble()

    def templated(self, key: str, k: int) -> list[str]:
        """k filler sentences built from a template family (varied, and free of any entity word)."""
        spec = V[key]
        lists = {name: values for name, values in spec.items() if name != "forms"}
        out = []
        for _ in range(k):
            values = {}
            for name, options in lists.items():
                choice = self.rng.choice(options)
                values[name] = choice
                values[name.capitalize()] = choice[:1].upper() + choice[1:]
            sentence = fill(self.rng.choice(spec["forms"]), values)
            if sentence not in out:
                out.append(sentence)
        return out

    def render_brief(self, sec: dict[str, list[str]]) -> str:
        sep = self.np_sep if self.sc.nopunct else "; " if self.abbr else ". "
        first = sec["S"] + sec["O"] + sec["A"]
        second = sec["T"] + sec["G"] + sec["P"] + sec["B"] + sec["Z"]

        def line(items: list[str]) -> str:
            return sep.join(i if self.abbr else cap_first(i) for i in items)
        return line(first) + "\n" + line(second)

    def render_checkbox(self, sec: dict[str, list[str]]) -> str:
        rng, sc = self.rng, self.sc
        lines = self.title() or [rng.choice(["DAILY TREATMENT NOTE", "Treatment flowsheet", "VISIT NOTE"])]
        lines.append("Subjective: " + self.join(sec["H"] + sec["S"]))
        if sec["O"]:
            lines.append("Objective: " + self.join(sec["O"]))
        boxes, used = [], set()
        for block in sc.blocks:
            for t in block.performed():
                boxes.append(f"[x] {self.tech(t)}")
                used.add(t)
            if block.kind == "missing-negated":
                boxes.append(f"[ ] {self.tech(block.techs[0], 'negated')}")
                used.add(block.techs[0])
            elif block.kind == "missing-generic":
                boxes.append(f"[x] {rng.choice(['Manual therapy', 'Manual tx'])}")
            elif block.kind == "missing-nearmiss":
                boxes.append(f"[x] {NEARMISS_BLOCK[block.nearmiss][0]}")
        spare = [t for fam in ("manual", "massage") for t in sc.persona[fam] if t not in used]
        for t in rng.sample(spare, min(len(spare), rng.randint(2, 4))):
            boxes.append(f"[ ] {self.tech(t, 'negated')}")
        rng.shuffle(boxes)
        lines.append(rng.choice(["Techniques (check all performed):", "Manual / massage techniques:", "Tx performed:"]))
        for i in range(0, len(boxes), 3):
            lines.append("   ".join(boxes[i:i + 3]))
        regs = sc.blocks[0].regions if sc.blocks else []
        lines.append("Region(s): " + (self.regions(regs) if regs else "________"))
        intents, seen = [], set()
        for block in sc.blocks:
            for it in block.intents:
                if (it.kind, it.index) not in seen:
                    seen.add((it.kind, it.index))
                    intents.append(it)
        purpose = []
        for it in intents:
            if it.kind == "relax":
                word = rng.choice(["relaxation", "stress relief", "wellness"])
                purpose.append(f"[x] {mk('INTENT_RELAXATION', word)}")
            else:
                entry = V["intents"]["functional"][it.index]
                purpose.append(f"[x] {mk('INTENT_FUNCTIONAL', entry['abbr'] if self.abbr else entry['text'])}")
        if intents and rng.random() < 0.6:
            if any(it.kind == "relax" for it in intents) and any(it.kind == "functional" for it in intents):
                pass
            elif any(it.kind == "functional" for it in intents):
                purpose.append(f"[ ] {mk('INTENT_RELAXATION', 'relaxation', 'negated')}")
            else:
                purpose.append(f"[ ] {mk('INTENT_FUNCTIONAL', 'increase pain-free ROM', 'negated')}")
        if purpose:
            lines.append("Purpose: " + "  ".join(purpose))
        minutes = [f"{self.line_billing(b.code)}: {self.time(b.minutes, bare=True)}" for b in sc.blocks
                   if sc.in_text.get(b.code) and b.minutes]
        if minutes:
            lines.append("Timed minutes: " + "  ".join(minutes))
        performers = [b for b in sc.blocks if b.performer]
        for b in performers:
            who = f"{b.performer.name}, {self.credential(b.performer.credential)}"
            lines.append(f"Performed by: {who}" if len(sc.blocks) == 1 else
                         f"{self.line_billing(b.code)} performed by: {who}")
        if sec["T"]:
            lines.append("Other: " + self.join(sec["T"]))
        if sec["A"]:
            lines.append("Assessment: " + self.join(sec["A"]))
        if sec["G"]:
            lines.append("Goals:")
            lines += self.goal_lines(sec["G"])
        if sec["P"]:
            lines.append("Plan: " + self.join(sec["P"]))
        return "\n".join(lines + sec["B"] + sec["Z"])


# ---------------------------------------------------------------------------
# Charts, labels, records
# ---------------------------------------------------------------------------

DATE0 = dt.date(2025, 1, 6)


def sample_chart(rng: random.Random, persona: dict) -> list[Scenario]:
    """An evaluation that sets the plan of care (goals), then 2-5 visits relying on it."""
    n_follow = rng.randint(2, 5)
    payer = STRICT if rng.random() < (0.2 if persona["credential"] in NON_COVERED else 0.45) else "cms"
    codes = sample_codes(rng, persona)
    regions = pick_regions(rng, persona["regions"], 1 + (rng.random() < 0.3))
    goal_quality = "vague" if rng.random() < 0.15 else "measurable"
    trajectory = wchoice(rng, {"improving": 0.45, "mixed": 0.25, "stalled": 0.3})
    p_progress = {"improving": 0.85, "mixed": 0.5, "stalled": 0.05}[trajectory]
    cmt = persona["credential"] == "DC" and rng.random() < persona["cmt"]
    day = DATE0 + dt.timedelta(days=rng.randint(0, 620))
    patient = sample_patient(rng)
    notes = []
    for visit in range(n_follow + 1):
        ctx = Context(visit=visit, date=day.isoformat(), payer=payer, codes=codes, regions=regions, cmt=cmt,
                      goal_quality=goal_quality, progress=visit >= 1 and rng.random() < p_progress,
                      error_p=0.15 if visit == 0 else 0.3, bills_muscle=visit >= 1 or rng.random() < 0.75,
                      patient=patient)
        notes.append(sample_scenario(rng, persona, ctx))
        day += dt.timedelta(days=rng.randint(2, 7))
    return notes


def billed_lines(sc: Scenario, facts: NoteFacts, streak: dict[str, int]) -> list[dict]:
    """The record's ``billed`` list, with label/reasons/warnings on each 97124/97140 line."""
    payer = PAYERS[sc.payer]
    lines: list[dict] = []

    def other(s: Service) -> dict:
        line: dict = {"code": s.code}
        if s.modifiers:
            line["modifiers"] = list(s.modifiers)
        line["units"] = s.units if s.code in TIMED_CODES else 1
        if s.code in TIMED_CODES and sc.on_line.get(s.code) and s.minutes is not None:
            line["minutes"] = s.minutes
        return line
    lines += [other(s) for s in sc.services if s.code in CMT_CODES]
    for block in sc.blocks:
        mods = sc.modifiers.get(block.code, [])
        line: dict = {"code": block.code}
        if mods:
            line["modifiers"] = list(mods)
        line["units"] = sc.units[block.code]
        if sc.on_line.get(block.code) and block.minutes is not None:
            line["minutes"] = block.minutes
        reasons, warnings = label_line(block.code, sc.units[block.code], mods, sc.performer_of(block), facts,
                                       payer, streak.get(block.code, 0))
        line.update(label="unsupported" if reasons else "supported", reasons=reasons, warnings=warnings)
        lines.append(line)
    lines += [other(s) for s in sc.services if s.code not in CMT_CODES]
    return lines


def label_chart(scenarios: list[Scenario]) -> list[list[dict]]:
    """Label the notes of one chart in date order (a lone note is a chart of one).

    Goals and functional purposes carry forward to later notes; the no-progress
    streak of a code counts follow-ups in a row that bill it without progress.
    """
    goal_before = functional_before = False
    streak: dict[str, int] = {}
    out = []
    for sc in scenarios:
        facts = sc.facts(goal_before, functional_before)
        codes = [b.code for b in sc.blocks]
        if sc.visit >= 1 and not sc.progress:
            streak = {c: streak.get(c, 0) + 1 for c in codes}
        else:
            streak = {}
        out.append(billed_lines(sc, facts, streak))
        goal_before = goal_before or facts.goal_here
        functional_before = functional_before or facts.functional
    return out


# --- checks: the text must say what the labels assume -----------------------

def _expand_side(surface: str) -> list[str]:
    if "{side}" not in surface:
        return [surface]
    out = []
    for letter, forms in V["side_forms"].items():
        out.append(re.sub(r"\{side\}(?=[A-Z])", letter, surface).replace("{side}", letter))
        out += [surface.replace("{side}", f) for f in forms]
    return out


def _vocabulary_pattern() -> re.Pattern:
    """Every word the labels depend on; any occurrence outside a gold span is a leak."""
    words: set[str] = {"TrP", "trigger point therapy"}
    for t in TECH.values():
        words.update(t["full"] + t["abbr"] + t["typo"])
    words.update(V["cmt_terms"]["full"] + V["cmt_terms"]["abbr"])
    for r in REGIONS.values():
        for s in r["full"] + r["abbr"] + r["cmt"]:
            words.update(_expand_side(s))
    for d in V["diagnoses"]:
        for s in ("1", "2"):
            values = {"s": s, "sideword": "right" if s == "1" else "left"}
            words.update([fill(d["code"], values), fill(d["name"], values)])
    words.update(V["pmh_items"])
    words.update(text for _, text in V["intents"]["relax"] + V["intents"]["relax_abbr"])
    for e in V["intents"]["functional"]:
        words.update([e["text"], e["abbr"]])
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


VOCAB_RE = _vocabulary_pattern()
NUMBER_RES = [re.compile(p, re.IGNORECASE) for p in (
    r"\b\d+[ \t]*/[ \t]*\d+\b", r"\b\d+[ \t]*°", r"\b\d+[ \t]*%",
    r"\b\d+(?:\.\d+)?[ \t]*(?:min|mins|minutes|cm|mm|lb|lbs|hr|hrs|hours?|miles?|ft|blocks|stairs)\b",
    r"\b\d+'", r"\b\d{1,2}:\d{2}\b", r"(?<![\w.])(?:9\d{4}|20552)(?!\w)")]


def find_leaks(text: str, entities: list[dict]) -> list[str]:
    """Entity words or measure/time/code numbers that no gold span covers."""
    covered = [(e["start"], e["end"]) for e in entities]

    def inside(a: int, b: int) -> bool:
        return any(s <= a and b <= e for s, e in covered)
    leaks = [m.group(0) for m in VOCAB_RE.finditer(text) if not inside(m.start(), m.end())]
    for rx in NUMBER_RES:
        leaks += [m.group(0) for m in rx.finditer(text) if not inside(m.start(), m.end())]
    return leaks


def check_note(sc: Scenario, text: str, entities: list[dict], billed: list[dict]) -> list[str]:
    """Re-derive the facts the labels used from the gold spans; any difference is a generator bug."""
    facts = sc.facts()
    problems = []

    def has(label: str, status: str | None = None) -> bool:
        return any(e["label"] == label and (status is None or e.get("status") == status) for e in entities)
    fams = {"massage" if e["label"] == "MASSAGE_TECHNIQUE" else "manual" for e in entities
            if e["label"] in ("MASSAGE_TECHNIQUE", "MANUAL_TECHNIQUE") and e["status"] == "performed"}
    expect = {
        "performed families": (fams, set(facts.performed_families)),
        "relaxation": (has("INTENT_RELAXATION", "performed"), facts.relaxation),
        "functional": (has("INTENT_FUNCTIONAL", "performed"), facts.functional),
        "goal": (has("GOAL", "performed"), facts.goal_here),
        "measure": (has("MEASURE"), facts.has_measure),
        "region": (has("BODY_REGION"), facts.region_named),
        "diagnosis": (has("DIAGNOSIS"), facts.has_diagnosis),
        "progress": (has("PROGRESS"), facts.progress),
        "cmt": (has("CMT", "performed"), bool(facts.cmt_codes)),
        "time": (has("TIME"), any(sc.in_text.values())),
    }
    for name, (seen, wanted) in expect.items():
        if seen != wanted:
            problems.append(f"{name}: text has {seen}, facts say {wanted}")
    if sc.time_mode == "none" and has("TIME"):
        problems.append("minutes in a note meant to document none")
    by_code = {line["code"]: line for line in billed}
    for e in entities:
        if e["label"] == "BILLING":
            m = re.match(r"(\d{5})((?:-\w+)*)(?:\s*(?:x\s*(\d+)|\((\d+) units?\)))?$", e["text"], re.IGNORECASE)
            if not m or m.group(1) not in by_code:
                problems.append(f"billing span {e['text']!r} not billed")
                continue
            line = by_code[m.group(1)]
            units = m.group(3) or m.group(4)
            mods = [x for x in m.group(2).upper().split("-") if x]
            if (units and int(units) != line.get("units", 1)) or mods != [x.upper() for x in line.get("modifiers", [])]:
                problems.append(f"billing span {e['text']!r} disagrees with {line}")
    creds = {e["text"].upper() for e in entities if e["label"] == "CREDENTIAL"}
    for block in sc.blocks:
        if block.performer and block.performer.credential not in creds:
            problems.append(f"performer {block.performer.credential} not in text")
    leaks = find_leaks(text, entities)
    if leaks:
        problems.append(f"unannotated mentions: {leaks}")
    return problems


def make_record(sc: Scenario, billed: list[dict], index: int, seed: int) -> dict:
    """Render one labeled scenario into a corpus record (and check it)."""
    for attempt in range(5):
        rng = random.Random(f"{seed}:{index}:{attempt}")
        marked = Renderer(sc, rng).render()
        text, entities = build_text(marked, caps=sc.caps, nopunct=sc.nopunct)
        problems = check_note(sc, text, entities, billed)
        if not problems:
            break
        if not all(p.startswith("unannotated") for p in problems):
            raise AssertionError(f"note {index}: {problems}\n{text}")
        # two phrases that happen to meet and read as an entity ("low back" + "pain ..."): write it again
    else:
        raise AssertionError(f"note {index}: {problems}\n{text}")
    return {"note_id": f"gen-{index:05d}", "chart_id": sc.chart_id, "date": sc.date, "text": text,
            "billed": billed, "provider_credential": sc.signer, "payer": sc.payer, "source": "generated",
            "writer": sc.persona["id"], "style": sc.style, "gold_entities": entities}


def generate(seed: int = DEFAULT_SEED, n: int = DEFAULT_N) -> list[dict]:
    """The whole corpus: charts and lone notes, shuffled together, in a reproducible order."""
    rng = random.Random(seed)
    weights = {i: p["weight"] for i, p in enumerate(PERSONAS)}
    chart_weights = {i: p["weight"] for i, p in enumerate(PERSONAS) if p["chart"]}
    units: list[list[Scenario]] = []
    total = 0
    for _ in range(n * 45 // 1000 if n >= 40 else 0):
        chart = sample_chart(rng, PERSONAS[wchoice(rng, chart_weights)])
        if total + len(chart) > n:
            break
        units.append(chart)
        total += len(chart)
    while total < n:
        day = DATE0 + dt.timedelta(days=rng.randint(0, 650))
        units.append([sample_scenario(rng, PERSONAS[wchoice(rng, weights)], Context(date=day.isoformat()))])
        total += 1
    rng.shuffle(units)
    records: list[dict] = []
    charts = 0
    for unit in units:
        chart_id = None
        if unit[0].visit >= 0:
            charts += 1
            chart_id = f"gen-c{charts:03d}"
        for sc, lines in zip(unit, label_chart(unit), strict=True):
            sc.chart_id = chart_id
            records.append(make_record(sc, lines, len(records) + 1, seed))
    return records


def to_jsonl(records: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def composition(records: list[dict]) -> str:
    """A printable table of what the corpus holds (writers, styles, payers, codes, labels, rules, charts)."""
    lines = [ln for r in records for ln in r["billed"] if ln["code"] in MUSCLE_CODES]
    charts = Counter(r["chart_id"] for r in records if r["chart_id"])
    tables = [
        ("notes by writer", Counter(r["writer"] for r in records)),
        ("notes by style", Counter(r["style"] for r in records)),
        ("notes by payer", Counter(r["payer"] for r in records)),
        ("notes by signer credential", Counter(r["provider_credential"] for r in records)),
        ("muscle lines by code", Counter(ln["code"] for ln in lines)),
        ("muscle lines by label", Counter(ln["label"] for ln in lines)),
        ("label by code", Counter(f"{ln['code']} {ln['label']}" for ln in lines)),
        ("reasons (errors)", Counter(x for ln in lines for x in ln["reasons"])),
        ("warnings", Counter(x for ln in lines for x in ln["warnings"])),
        ("rule ids over reasons+warnings", Counter(x for ln in lines for x in ln["reasons"] + ln["warnings"])),
        ("notes with CMT billed, by writer", Counter(r["writer"] for r in records
                                                     if any(b["code"] in CMT_CODES for b in r["billed"]))),
    ]
    out = [f"notes: {len(records)}  muscle lines: {len(lines)}  charts: {len(charts)} "
           f"(notes in charts: {sum(charts.values())}, sizes: {dict(sorted(Counter(charts.values()).items()))})  "
           f"lone notes: {len(records) - sum(charts.values())}"]
    for title, counter in tables:
        out.append(f"\n{title}:")
        for key, count in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])):
            out.append(f"  {key:<34} {count:>5}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--n", type=int, default=DEFAULT_N, help="number of notes")
    parser.add_argument("--out", default=None, help=f"output JSONL (default: <repo>/{DEFAULT_OUT})")
    parser.add_argument("--quiet", action="store_true", help="do not print the composition table")
    args = parser.parse_args(argv)
    out = Path(args.out) if args.out else Path(__file__).resolve().parent.parent / DEFAULT_OUT
    records = generate(args.seed, args.n)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(to_jsonl(records))
    if not args.quiet:
        print(f"wrote {len(records)} notes to {out}")
        print(composition(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The facts of a note the rules read: extracted mentions and billed lines, never raw text.

Built from the extraction's entity records (``notes_nlp.extraction.records``)
and the note record, so the rules run on anything that produced such records
and know nothing of spaCy.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Iterable

from notes_nlp.codes import chiropractic_cmt_codes, code_of_family, family_of_code
from notes_nlp.labels import HISTORICAL, NEGATED, PERFORMED, PLANNED
from notes_nlp.rules.billing import BilledLine, parse_lines
from notes_nlp.rules.units import is_timed

# A goal or purpose counts unless it is denied or belongs to the past.
NOT_ASSERTED = frozenset({"negated", "historical"})


@dataclass(frozen=True)
class Minutes:
    """Documented minutes of one code and where they came from, for messages."""

    minutes: int
    sources: tuple[str, ...]


@dataclass(frozen=True)
class NoteFacts:
    entities: tuple[dict[str, Any], ...]
    lines: tuple[BilledLine, ...]
    credential: str | None = None

    @classmethod
    def build(cls, record: dict[str, Any], entities: Iterable[dict[str, Any]]) -> "NoteFacts":
        """Facts of one note; billed lines from the record, else those written in the text."""
        entities = tuple(entities)
        raw = record.get("billed")
        if raw is None:
            raw = [e["value"] for e in entities if e["label"] == "BILLING" and e["value"] and e["value"].get("code")]
        credential = record.get("provider_credential")
        lines = tuple(parse_lines(raw))
        return cls(_plan_listing_the_visit(entities, lines), lines, str(credential).strip() if credential else None)

    def mentions(self, *labels: str) -> list[dict[str, Any]]:
        return [e for e in self.entities if e["label"] in labels]

    def performed(self, *labels: str) -> list[dict[str, Any]]:
        return [e for e in self.mentions(*labels) if e["status"] == PERFORMED]

    def asserted(self, *labels: str) -> list[dict[str, Any]]:
        return [e for e in self.mentions(*labels) if e["status"] not in NOT_ASSERTED]

    @property
    def measurable_goals(self) -> list[dict[str, Any]]:
        return [g for g in self.asserted("GOAL") if (g["value"] or {}).get("measurable")]

    @property
    def muscle_work_lines(self) -> list[BilledLine]:
        return [line for line in self.lines if line.code in family_of_code()]

    @property
    def single_muscle_work_code(self) -> str | None:
        """The muscle-work code billed when only one is: then all muscle work of the note is
        that line's work and time ("effleurage 13 min" billed as 97140 is the 97140's time,
        and ``technique-mismatch`` says what is wrong with it)."""
        codes = {line.code for line in self.muscle_work_lines}
        return codes.pop() if len(codes) == 1 else None

    @property
    def cmt_lines(self) -> list[BilledLine]:
        return [line for line in self.lines if line.code in chiropractic_cmt_codes()]

    @property
    def cmt_regions(self) -> set[str]:
        """Regions adjusted: those of the adjustments performed. With a CMT code billed and no
        adjustment named performed, the adjustment was done even where the note lists it only
        under its plan."""
        mentions = self.performed("CMT") or (self.asserted("CMT") if self.cmt_lines else [])
        return {r for e in mentions for r in (e["value"] or {}).get("regions", [])}

    def treatment_regions(self, *labels: str) -> set[str]:
        """Regions owned by performed techniques (and services) of these labels."""
        found = [e for e in self.mentions(*labels) if e["label"] == "SERVICE" or e["status"] == PERFORMED]
        return {r for e in found for r in (e["value"] or {}).get("regions", [])}

    def purposes(self, code: str) -> list[dict[str, Any]]:
        """The purposes stated for a line's work: those stated for its techniques or its
        services ("effleurage 10 min to help her relax" speaks for 97124, not for the MLD beside
        it). When the note ties no purpose to any work, those it states as purposes on their own
        ("Purpose: stress reduction", "wants to get back to the gym"), not a clinic's name
        ("... Chiropractic & Wellness")."""
        codes = set(family_of_code()) if self.single_muscle_work_code == code else {code}
        families = {family_of_code()[c] for c in codes}

        def for_line(anchor: dict[str, Any]) -> bool:
            return anchor["label"] in families or (anchor["label"] in ("SERVICE", "BILLING") and anchor["id"] in codes)

        intents = [i for i in self.asserted("INTENT_RELAXATION", "INTENT_FUNCTIONAL") if i["status"] != PLANNED]
        stated_for = [i for i in intents if any(for_line(a) for a in (i["value"] or {}).get("of", []))]
        if stated_for or any((i["value"] or {}).get("of") for i in intents):
            return stated_for
        return [i for i in intents if i["label"] == "INTENT_FUNCTIONAL" or (i["value"] or {}).get("stated")]

    def performer(self, code: str) -> tuple[str | None, list[dict[str, Any]]]:
        """Who did the work of a line: a performer named in the text for that work counts
        over the signer; one named without saying for what did all the work of the note."""
        credentials = self.mentions("CREDENTIAL")
        codes = set(family_of_code()) if self.single_muscle_work_code == code else {code}
        work = {family_of_code().get(c) for c in codes} | {f"SERVICE:{c}" for c in codes}
        done = {(e["start"], e["end"]) for e in self.entities if e["label"] == "SERVICE" or e["status"] == PERFORMED}
        named = [
            c for c in credentials
            if (c["value"] or {}).get("role") == "performer" and (not c["value"].get("of") or work & set(c["value"]["of"]))
            # a performer of work only planned ("Staff LMT may perform STM") did none of this visit's
            and (not c["value"].get("work") or any(tuple(w) in done for w in c["value"]["work"]))
        ]
        if named:
            return named[0]["value"]["credential"], named[:1]
        if self.credential:
            return self.credential, []
        signers = [c for c in credentials if (c["value"] or {}).get("role") == "signer"]
        return (signers[-1]["value"]["credential"], signers[-1:]) if signers else (None, [])

    @cached_property
    def text_minutes(self) -> dict[str, list[dict[str, Any]]]:
        """TIME mentions by the code of the technique, service or billed code they belong to.
        Where a charge grid or a billed code in the text gives a code's minutes, those count,
        not the same minutes told again per technique ("STM 10 min, MFR 10 min" then "97140 |
        20"); and one mention of work has one duration, its parts none of their own ("Ther ex
        25' - bike 8', step ups"). Minutes of work not done this visit count for nothing."""
        by_code: dict[str, list[dict[str, Any]]] = {}
        undone = {(e["start"], e["end"]) for e in self.entities if e["status"] in (NEGATED, HISTORICAL, PLANNED)}
        for time in self.mentions("TIME"):
            value = time["value"] or {}
            anchor = value.get("of")
            if value.get("total") or not anchor or value.get("minutes") is None or value.get("wrong"):
                continue
            if (anchor["start"], anchor["end"]) in undone:
                continue  # "Last visit: GH mobs, 15 min": the minutes of work not done this visit
            code = self._code_of(time)
            if code:
                by_code.setdefault(code, []).append(time)
        return {code: _one_per_work(_latest(times)) for code, times in by_code.items()}

    def _code_of(self, time: dict[str, Any]) -> str | None:
        """The code a minutes phrase's work is billed under (None for work of neither family)."""
        anchor = time["value"]["of"]
        code = code_of_family().get(anchor["label"]) or (anchor["id"] if anchor["label"] in ("SERVICE", "BILLING") else None)
        single = self.single_muscle_work_code
        return single if code in family_of_code() and single else code

    @property
    def treatment_minutes_of_no_work(self) -> list[dict[str, Any]]:
        """Minutes written under the treatment that name no work they belong to."""
        return [
            t for t in self.mentions("TIME")
            if t["section"] == "Treatment" and not (t["value"] or {}).get("of") and not t["value"].get("total")
            and not t["value"].get("wrong") and t["value"].get("minutes") is not None
        ]

    @cached_property
    def visit_total(self) -> dict[str, Any] | None:
        totals = [t for t in self.mentions("TIME") if (t["value"] or {}).get("total") and t["value"].get("minutes")]
        return max(totals, key=lambda t: t["value"]["minutes"]) if totals else None

    @cached_property
    def timed_minutes(self) -> dict[str, Minutes]:
        """Minutes of each timed code of the visit, billed or not: the billed line, else the
        text, else what a documented visit total leaves for the one billed code still
        without minutes. Timed work done but not billed still counts in the CMS pool."""
        text = {code: times for code, times in self.text_minutes.items() if is_timed(code)}
        found: dict[str, Minutes] = {}
        for line in self.lines:
            if is_timed(line.code) and line.minutes is not None and line.code not in found:
                found[line.code] = Minutes(line.minutes, (f"{line.minutes} min on the billed line",))
        for code, times in text.items():
            if code not in found:
                found[code] = Minutes(
                    sum(t["value"]["minutes"] for t in times),
                    tuple(f"{_anchor_text(self, t)} {t['text']}" for t in times),
                )
        missing = {line.code for line in self.lines if is_timed(line.code) and line.code not in found}
        loose = self.treatment_minutes_of_no_work
        if loose and len(missing) == 1:
            # "Rocabado, tongue-up opening, posture cues 10'": the one timed line still without minutes
            code = missing.pop()
            found[code] = Minutes(sum(t["value"]["minutes"] for t in loose), tuple(t["text"] for t in loose))
        total = self.visit_total
        if total and len(missing) == 1:
            left = max(total["value"]["minutes"] - sum(m.minutes for m in found.values()), 0)
            found[missing.pop()] = Minutes(left, (f"{left} min left of the documented total {total['text']}",))
        timed = {line.code for line in self.lines if is_timed(line.code)}
        if total and len(timed) == 1 and set(found) <= timed and len(self.lines) == 1:
            # the visit's only work: the session total is its time, less what untimed work took (a
            # visit billing an adjustment or a hot pack beside it spent the rest of its total on those)
            [code] = timed
            mine = {id(t) for t in text.get(code, [])}
            untimed = sum(
                t["value"]["minutes"] for t in self.mentions("TIME")
                if id(t) not in mine and (t["value"] or {}).get("of") and not t["value"].get("total") and not t["value"].get("wrong")
                and t["value"].get("minutes") is not None and self._code_of(t) != code
            )
            whole = total["value"]["minutes"] - untimed
            if code not in found or (found[code].minutes < whole and not any(line.minutes is not None for line in self.lines if line.code == code)):
                found[code] = Minutes(whole, (f"the session's {total['text']}",))
        return found

    @property
    def documents_minutes(self) -> bool:
        """Whether the visit documents any minutes at all."""
        return any(line.minutes is not None for line in self.lines) or bool(self.text_minutes) or self.visit_total is not None


def _latest(times: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The minutes of a code that count: a correction's over all else, then a grid's or a billed
    code's over the narrative's."""
    corrections = [t for t in times if t["value"].get("correction")]
    if corrections:
        return corrections[-1:]
    return [t for t in times if t["value"].get("summary")] or times


PLAN_DEFAULT = "section: Plan"


def _plan_listing_the_visit(entities: tuple[dict[str, Any], ...], lines: tuple[BilledLine, ...]) -> tuple[dict[str, Any], ...]:
    """A SOAP note lists the visit's treatment under P ("P: - Activator C5 - MFR L
    infraspinatus"): where a family's code is billed and its techniques are named only in the
    plan, planned by that section alone with no word of time to come, they are the work done."""
    billed = {line.code for line in lines}
    done_labels = set()
    for label, code in code_of_family().items():
        mentions = [e for e in entities if e["label"] == label]
        if code in billed and mentions and all(e["status"] == "planned" and e["cue"] == PLAN_DEFAULT for e in mentions):
            done_labels.add(label)
    if not done_labels:
        return entities
    return tuple(
        {**e, "status": PERFORMED, "cue": f"{PLAN_DEFAULT}, {code_of_family()[e['label']]} billed"} if e["label"] in done_labels else e
        for e in entities
    )


def _one_per_work(times: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The longest minutes phrase of each mention of work they belong to."""
    longest: dict[int, dict[str, Any]] = {}
    for time in times:
        anchor = time["value"]["of"]["start"]
        if anchor not in longest or time["value"]["minutes"] > longest[anchor]["value"]["minutes"]:
            longest[anchor] = time
    return [t for t in times if longest[t["value"]["of"]["start"]] is t]


def _anchor_text(facts: NoteFacts, time: dict[str, Any]) -> str:
    anchor = time["value"]["of"]
    return next((e["text"] for e in facts.entities if e["start"] == anchor["start"] and e["end"] == anchor["end"]), anchor["id"])

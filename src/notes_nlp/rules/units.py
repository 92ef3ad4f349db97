"""Timed-code units: how many units (15 minutes each) the documented minutes support.

Two rules exist in the field, and a payer profile picks one:

* ``cms`` -- Medicare's "8-minute rule" (IOM Pub 100-04 ch.5 section 20.2). The
  minutes of *all* timed codes of the visit are pooled into one total, the
  total decides the visit's units, and the units are then assigned to codes:
  each full 15 minutes of a code earns it a unit, and the units left over go
  to the codes with the most remaining minutes.
* ``per-code`` -- the AMA "substantial portion" method many commercial payers
  use: each code is judged on its own minutes, never pooled.

Everything here is a pure function of minutes and billed units; finding the
minutes in the note is the extractor's job, and turning a verdict into a
``units-exceed-time`` finding is the rule engine's. The unit's length and the
timed codes are read from ``rules/data/codes.json`` (:mod:`notes_nlp.codes`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from notes_nlp.codes import timed_codes, unit_minutes

__all__ = [
    "UnitRule",
    "UnitVerdict",
    "check_units",
    "is_timed",
    "max_units",
    "minutes_for_units",
    "pooled_units",
    "units_for_minutes",
]


class UnitRule(StrEnum):
    """Which unit rule a payer applies to timed codes."""

    CMS = "cms"
    """Pool all timed minutes of the visit, then assign the units to codes."""

    PER_CODE = "per-code"
    """Judge each code on its own minutes; minutes are never pooled."""


def is_timed(code: str) -> bool:
    """Whether ``code`` is billed in timed units (and so counts for the 8-minute rule).

    The list is data so that a coder can add a code without touching the
    arithmetic. Untimed (service-based) codes such as CMT 9894x, 97010 or
    97150 are billed one unit per service and never take part in it.
    """
    return code.strip() in timed_codes()


def _midpoint() -> int:
    """A unit is reached once more than half of it is done (the CPT midpoint rule): 8 of 15."""
    return unit_minutes() // 2 + 1


def units_for_minutes(minutes: int) -> int:
    """Units that one block of minutes supports under the 8-minute rule.

    Under 8 minutes no unit, 8-22 one, 23-37 two, 38-52 three, and one more
    for every further 15 minutes: a unit counts once its midpoint is passed.
    The same table serves the pooled visit total (``cms``) and a single
    code's minutes (``per-code``).

    >>> [units_for_minutes(m) for m in (7, 8, 22, 23, 37, 38)]
    [0, 1, 1, 2, 2, 3]
    """
    _check_count(minutes, "minutes")
    full, rest = divmod(minutes, unit_minutes())
    return full + (1 if rest >= _midpoint() else 0)


def minutes_for_units(units: int) -> int:
    """The fewest minutes that support ``units`` units: 8 for one, 23 for two.

    >>> [minutes_for_units(u) for u in (1, 2, 3)]
    [8, 23, 38]
    """
    _check_count(units, "units")
    return unit_minutes() * (units - 1) + _midpoint() if units else 0


def pooled_units(minutes_by_code: Mapping[str, int]) -> int:
    """Total units of a visit under the CMS rule: the 8-minute rule on all timed minutes.

    Untimed codes are left out: their minutes are not timed minutes.
    """
    return units_for_minutes(sum(_timed_counts(minutes_by_code, "minutes").values()))


def max_units(minutes_by_code: Mapping[str, int], rule: UnitRule | str) -> dict[str, int]:
    """For each timed code, the most units any valid assignment can give it.

    ``per-code``: each code alone, ``units_for_minutes(its minutes)``.

    ``cms``: the pooled total decides how many units the visit has; each code
    first gets one unit per full 15 of its own minutes, and the units left
    over go, one each, to the codes with the most remaining minutes. When
    codes tie for the last leftover unit, CMS lets either take it, so each of
    the tied codes is allowed it here: a line is over-billed only when *no*
    valid assignment gives it its units. That is why the values may add up
    to more than the pooled total, but only through such ties;
    :func:`check_units` catches a visit that claims the tied unit twice.

    Untimed codes are ignored and absent from the result.

    >>> max_units({"97110": 33, "97140": 7}, "cms")
    {'97110': 2, '97140': 1}
    """
    rule = UnitRule(rule)
    minutes = _timed_counts(minutes_by_code, "minutes")
    if rule is UnitRule.PER_CODE:
        return {code: units_for_minutes(m) for code, m in minutes.items()}
    split = _cms_split(minutes)
    return {code: split.full[code] + (1 if code in split.eligible else 0) for code in minutes}


@dataclass(frozen=True)
class UnitVerdict:
    """Whether the units billed for one timed code are supported by its minutes.

    ``allowed`` is the most units any valid assignment gives the code on its
    own (:func:`max_units`). ``contested`` marks a code whose units fit a tie
    for a leftover unit but whose visit claims that unit more times than it
    exists; such a line is over-billed even though ``billed <= allowed``.
    A line over-billed on its own is never marked contested.
    """

    code: str
    billed: int
    allowed: int
    minutes: int
    """The code's own timed minutes."""
    rule_minutes: int
    """The minutes the rule counted: the visit's pooled timed minutes under
    ``cms``, the code's own under ``per-code``."""
    rule: UnitRule
    over_billed: bool
    contested: bool = False

    @property
    def excess(self) -> int:
        """Units billed beyond what the minutes support (0 when the line is fine).

        A contested line counts its one claimed leftover unit as the excess.
        """
        if self.contested:
            return 1
        return max(self.billed - self.allowed, 0)

    def explain(self) -> str:
        """One sentence an auditor can check against the note; it quotes no note text."""
        if self.rule is UnitRule.PER_CODE:
            basis = f"{self.minutes} min of {self.code} alone (per-code rule)"
        else:
            basis = f"{self.minutes} min of {self.code} in {self.rule_minutes} timed min (CMS rule)"
        status = "over-billed" if self.over_billed else "supported"
        sentence = (
            f"{self.code} x{self.billed} {status}: {basis} support at most {self.allowed} unit(s)"
        )
        if self.contested:
            sentence += (
                ", but the lines tied for a leftover unit claim it more times than the pooled"
                " total allows"
            )
        return sentence


def check_units(
    billed_units: Mapping[str, int],
    minutes_by_code: Mapping[str, int],
    rule: UnitRule | str,
) -> dict[str, UnitVerdict]:
    """Per timed code, whether its billed units are supported by the minutes.

    ``billed_units`` maps a code to the units billed for it on the visit (the
    caller adds up several lines of one code). ``minutes_by_code`` maps a code
    to its documented minutes; a billed timed code with no minutes has 0.
    Every timed code of either mapping gets a verdict; untimed codes are
    ignored, in the pool as in the result.

    A line is over-billed when it bills more than :func:`max_units` allows.
    Under ``cms`` the lines must also fit *one* valid assignment together:
    when more lines claim a tied leftover unit than there are such units --
    which is always the case when the billed total exceeds the pooled total
    while every line alone fits -- every line claiming a tied leftover unit
    is over-billed (``contested``), since no assignment gives all of them
    their units and the note cannot say which one is owed it. A line billing
    only its full 15-minute blocks, or a leftover unit it wins outright, is
    never contested.
    """
    rule = UnitRule(rule)
    minutes = _timed_counts(minutes_by_code, "minutes")
    billed = _timed_counts(billed_units, "billed units")
    for code in billed:
        minutes.setdefault(code, 0)
    allowed = max_units(minutes, rule)

    pooled = sum(minutes.values())
    contested: set[str] = set()
    if rule is UnitRule.CMS:
        split = _cms_split(minutes)
        claims = [
            code
            for code in split.tied
            if billed.get(code, 0) > split.full[code]  # bills past its full blocks
        ]
        if len(claims) > split.tied_slots:
            contested = set(claims)
    verdicts: dict[str, UnitVerdict] = {}
    for code, own in minutes.items():
        units = billed.get(code, 0)
        alone = units > allowed[code]
        verdicts[code] = UnitVerdict(
            code=code,
            billed=units,
            allowed=allowed[code],
            minutes=own,
            rule_minutes=pooled if rule is UnitRule.CMS else own,
            rule=rule,
            over_billed=alone or code in contested,
            contested=not alone and code in contested,
        )
    return verdicts


@dataclass(frozen=True)
class _CmsSplit:
    """The CMS assignment of a visit's units, with its ties kept open."""

    total: int
    full: dict[str, int]
    """Units each code earns by its full 15-minute blocks alone."""
    leftover: int
    """Units of the pooled total not earned by full blocks."""
    eligible: frozenset[str]
    """Codes some valid assignment gives a leftover unit."""
    tied: frozenset[str]
    """Eligible codes that only *some* valid assignments favour (they tie for the last leftover)."""
    tied_slots: int
    """Leftover units left for the tied codes once the outright winners have theirs."""


def _cms_split(minutes: Mapping[str, int]) -> _CmsSplit:
    """Assign the pooled units: full blocks first, then leftovers by remaining minutes.

    The leftover count never exceeds the number of codes with remaining
    minutes (each remainder is under 15), so each such code takes at most one
    leftover unit, and a code with none remaining never takes one.
    """
    total = units_for_minutes(sum(minutes.values()))
    full = {code: m // unit_minutes() for code, m in minutes.items()}
    rest = {code: m % unit_minutes() for code, m in minutes.items()}
    leftover = total - sum(full.values())
    if leftover <= 0:
        return _CmsSplit(total, full, 0, frozenset(), frozenset(), 0)
    ranked = sorted((r for r in rest.values() if r > 0), reverse=True)
    cutoff = ranked[leftover - 1]  # remaining minutes of the last code to get a leftover unit
    winners = frozenset(code for code, r in rest.items() if r > cutoff)
    tied = frozenset(code for code, r in rest.items() if r == cutoff)
    slots = leftover - len(winners)
    if len(tied) <= slots:  # enough leftover units for every code at the cutoff: no real tie
        winners, tied, slots = winners | tied, frozenset(), 0
    return _CmsSplit(total, full, leftover, winners | tied, tied, slots)


def _timed_counts(counts_by_code: Mapping[str, int], what: str) -> dict[str, int]:
    """The timed codes' counts (minutes or units), validated, codes stripped of whitespace."""
    out: dict[str, int] = {}
    for code, count in counts_by_code.items():
        _check_count(count, f"{what} of {code}")
        key = code.strip()
        if is_timed(key):
            out[key] = out.get(key, 0) + count
    return out


def _check_count(value: object, what: str) -> None:
    """Reject what cannot be a count of minutes or units (a bool, a float, a negative)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be a whole number, got {value!r}")
    if value < 0:
        raise ValueError(f"{what} must not be negative, got {value}")

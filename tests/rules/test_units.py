"""Tests for notes_nlp.rules.units: the 8-minute rule, CMS unit assignment and the per-code rule."""

from __future__ import annotations

import itertools
import json
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notes_nlp.codes import timed_codes
from notes_nlp.rules.units import (
    UnitRule,
    UnitVerdict,
    check_units,
    is_timed,
    max_units,
    minutes_for_units,
    pooled_units,
    units_for_minutes,
)

# --- reference table -------------------------------------------------------

# The CMS table (IOM 100-04 ch.5 s.20.2; docs/rubric.md, Time and units),
# written as ranges, not as the closed form the code uses.
CMS_TABLE = [
    (0, 7, 0),
    (8, 22, 1),
    (23, 37, 2),
    (38, 52, 3),
    (53, 67, 4),
    (68, 82, 5),
    (83, 97, 6),
    (98, 112, 7),
    (113, 127, 8),
]
MINUTES_TO_UNITS = {m: units for lo, hi, units in CMS_TABLE for m in range(lo, hi + 1)}


def test_reference_table_covers_0_to_127():
    assert sorted(MINUTES_TO_UNITS) == list(range(128))


@pytest.mark.parametrize("minutes", range(128))
def test_units_for_minutes_matches_cms_table(minutes):
    assert units_for_minutes(minutes) == MINUTES_TO_UNITS[minutes]


@pytest.mark.parametrize("minutes,units", [(128, 9), (142, 9), (143, 10), (480, 32)])
def test_units_for_minutes_continues_one_unit_per_15(minutes, units):
    assert units_for_minutes(minutes) == units


@pytest.mark.parametrize("bad", [-1, -15])
def test_negative_minutes_are_rejected(bad):
    with pytest.raises(ValueError, match="negative"):
        units_for_minutes(bad)


@pytest.mark.parametrize("bad", [7.5, "8", True, None])
def test_minutes_must_be_whole_numbers(bad):
    with pytest.raises(TypeError, match="whole number"):
        units_for_minutes(bad)


# --- timed codes (rules/data/codes.json) -----------------------------------

BRIEF_TIMED = {
    "97032",
    "97033",
    "97034",
    "97035",
    "97036",
    "97110",
    "97112",
    "97113",
    "97116",
    "97124",
    "97140",
    "97530",
    "97533",
    "97535",
    "97537",
    "97542",
    "97750",
    "97755",
    "97760",
    "97761",
    "97763",
}


def test_the_least_minutes_for_n_units_are_where_the_table_reaches_n():
    for units in range(1, 9):
        least = minutes_for_units(units)
        assert units_for_minutes(least) == units and units_for_minutes(least - 1) == units - 1


def test_timed_codes_include_the_therapy_codes():
    assert timed_codes() >= BRIEF_TIMED


@pytest.mark.parametrize(
    "code",
    ["97150", "97010", "97012", "97014", "98940", "98941", "98942", "98943", "98925", "99213"],
)
def test_untimed_codes_are_not_timed(code):
    assert not is_timed(code)


def test_codes_json_facts():
    data = json.loads(
        resources.files("notes_nlp.rules").joinpath("data", "codes.json").read_text("utf-8")
    )
    assert set(data["muscle_work_codes"]) == {"97124", "97140"}
    assert set(data["muscle_work_codes"]) <= set(data["timed_codes"])
    assert data["distinct_modifiers"] == ["59", "XE", "XS", "XP", "XU"]
    cmt = data["cmt_codes"]
    spans = {code: (c["regions_min"], c["regions_max"]) for code, c in cmt.items()}
    assert spans["98940"] == (1, 2) and spans["98941"] == (3, 4) and spans["98942"] == (5, 5)
    assert cmt["98943"]["kind"] == "extraspinal"
    assert [spans[c] for c in ("98925", "98926", "98927", "98928", "98929")] == [
        (1, 2),
        (3, 4),
        (5, 6),
        (7, 8),
        (9, 10),
    ]
    assert not set(cmt) & set(data["timed_codes"])
    assert not set(data["untimed_examples"]) & set(data["timed_codes"])


# --- worked examples (corpus/README.md, docs/rubric.md) -------------------


def test_cms_33_plus_7_gives_97110_two_and_97140_one():
    minutes = {"97110": 33, "97140": 7}
    assert pooled_units(minutes) == 3
    assert max_units(minutes, UnitRule.CMS) == {"97110": 2, "97140": 1}
    verdicts = check_units({"97110": 2, "97140": 1}, minutes, "cms")
    assert not any(v.over_billed for v in verdicts.values())
    verdicts = check_units({"97110": 3}, minutes, "cms")
    assert verdicts["97110"].over_billed and verdicts["97110"].excess == 1
    assert not verdicts["97140"].over_billed  # billed 0, never over


def test_cms_18_plus_10_gives_one_each():
    assert max_units({"97110": 18, "97140": 10}, "cms") == {"97110": 1, "97140": 1}
    verdicts = check_units({"97110": 1, "97140": 1}, {"97110": 18, "97140": 10}, "cms")
    assert not any(v.over_billed for v in verdicts.values())


def test_cms_25_plus_12_leftover_goes_to_97140():
    minutes = {"97110": 25, "97140": 12}
    assert max_units(minutes, "cms") == {"97110": 1, "97140": 1}
    assert check_units({"97140": 2, "97110": 1}, minutes, "cms")["97140"].over_billed
    assert check_units({"97110": 2}, minutes, "cms")["97110"].over_billed


def test_cms_three_codes_of_7_minutes_give_one_unit_in_total():
    minutes = {"97110": 7, "97140": 7, "97124": 7}
    assert pooled_units(minutes) == 1
    # a three-way tie: any one code may take the unit ...
    assert max_units(minutes, "cms") == {"97110": 1, "97140": 1, "97124": 1}
    assert not any(v.over_billed for v in check_units({"97140": 1}, minutes, "cms").values())
    # ... but not two of them
    verdicts = check_units({"97140": 1, "97124": 1}, minutes, "cms")
    assert verdicts["97140"].over_billed and verdicts["97124"].over_billed
    assert verdicts["97140"].contested and not verdicts["97110"].over_billed


def test_cms_97140_alone_20_minutes():
    assert max_units({"97140": 20}, "cms") == {"97140": 1}
    assert check_units({"97140": 2}, {"97140": 20}, "cms")["97140"].over_billed


def test_per_code_never_pools():
    assert max_units({"97110": 7, "97140": 7, "97124": 7}, "per-code") == {
        "97110": 0,
        "97140": 0,
        "97124": 0,
    }
    assert max_units({"97110": 33, "97140": 7}, UnitRule.PER_CODE) == {"97110": 2, "97140": 0}
    verdict = check_units({"97140": 1}, {"97140": 7}, "per-code")["97140"]
    assert verdict.over_billed and verdict.allowed == 0 and verdict.rule_minutes == 7


# --- ties and the visit total ---------------------------------------------


def test_tie_for_leftover_unit_goes_to_either_code():
    minutes = {"97110": 20, "97140": 20}  # 40 min -> 3 units; 5 vs 5 remaining
    assert max_units(minutes, "cms") == {"97110": 2, "97140": 2}
    for billed in ({"97110": 2, "97140": 1}, {"97110": 1, "97140": 2}):
        assert not any(v.over_billed for v in check_units(billed, minutes, "cms").values())


def test_billed_total_over_pooled_total_is_caught_although_each_line_fits_a_tie():
    minutes = {"97110": 20, "97140": 20}
    verdicts = check_units({"97110": 2, "97140": 2}, minutes, "cms")
    for v in verdicts.values():
        assert v.billed <= v.allowed
        assert v.over_billed and v.contested and v.excess == 1
        assert "leftover" in v.explain()


def test_tied_lines_cannot_both_claim_one_unit_even_within_the_total():
    # 14 + 5 + 5 remaining minutes, 24 in all -> 2 leftover units: 97530 wins
    # one outright, the other goes to 97110 or 97140, not to both.
    minutes = {"97530": 14, "97110": 20, "97140": 20}
    assert max_units(minutes, "cms") == {"97530": 1, "97110": 2, "97140": 2}
    verdicts = check_units({"97530": 0, "97110": 2, "97140": 2}, minutes, "cms")
    assert sum(v.billed for v in verdicts.values()) <= pooled_units(minutes)
    assert verdicts["97110"].contested and verdicts["97140"].contested
    assert not verdicts["97530"].over_billed
    fine = check_units({"97530": 1, "97110": 2, "97140": 1}, minutes, "cms")
    assert not any(v.over_billed for v in fine.values())


def test_line_over_billed_on_its_own_is_not_marked_contested():
    verdicts = check_units({"97110": 3, "97140": 2}, {"97110": 20, "97140": 20}, "cms")
    assert verdicts["97110"].over_billed and not verdicts["97110"].contested
    assert verdicts["97110"].excess == 1
    assert verdicts["97140"].contested


# --- inputs -----------------------------------------------------------------


def test_untimed_codes_are_ignored():
    verdicts = check_units({"97140": 1, "98941": 1, "97010": 1}, {"97140": 10, "97010": 15}, "cms")
    assert set(verdicts) == {"97140"}
    assert verdicts["97140"].rule_minutes == 10


def test_billed_timed_code_without_minutes_supports_nothing():
    verdict = check_units({"97124": 1}, {}, "cms")["97124"]
    assert verdict == UnitVerdict(
        code="97124",
        billed=1,
        allowed=0,
        minutes=0,
        rule_minutes=0,
        rule=UnitRule.CMS,
        over_billed=True,
        contested=False,
    )


def test_unbilled_timed_code_still_counts_in_the_pool_and_gets_a_verdict():
    verdicts = check_units({"97140": 1}, {"97110": 8, "97140": 5}, "cms")
    assert verdicts["97110"].billed == 0 and not verdicts["97110"].over_billed
    assert verdicts["97140"].rule_minutes == 13
    assert verdicts["97140"].allowed == 0 and verdicts["97140"].over_billed


def test_rule_is_accepted_as_string_and_rejected_when_unknown():
    assert UnitRule("per-code") is UnitRule.PER_CODE
    with pytest.raises(ValueError):
        max_units({"97140": 10}, "pooled")


def test_negative_billed_units_are_rejected():
    with pytest.raises(ValueError, match="97140"):
        check_units({"97140": -1}, {"97140": 10}, "cms")


def test_explain_names_the_numbers():
    text = check_units({"97110": 3}, {"97110": 33, "97140": 7}, "cms")["97110"].explain()
    assert "97110 x3 over-billed" in text and "33 min" in text and "40 timed min" in text
    assert "at most 2" in text


# --- properties -------------------------------------------------------------

CODES = ["97110", "97112", "97124", "97140", "97530"]
UNTIMED = ["98940", "98941", "98943", "97010", "97150", "99213"]
RULES = st.sampled_from(list(UnitRule))

minutes_maps = st.dictionaries(st.sampled_from(CODES), st.integers(0, 130), max_size=len(CODES))


def valid_assignments(minutes: dict[str, int]) -> list[dict[str, int]]:
    """Every assignment the CMS rule allows, found by brute force over leftover sets."""
    total = units_for_minutes(sum(minutes.values()))
    full = {c: m // 15 for c, m in minutes.items()}
    rest = {c: m % 15 for c, m in minutes.items()}
    leftover = total - sum(full.values())
    out = []
    for chosen in itertools.combinations(sorted(minutes), leftover):
        others = set(minutes) - set(chosen)
        if all(rest[c] > 0 for c in chosen) and all(
            rest[c] >= rest[o] for c in chosen for o in others
        ):
            out.append({c: full[c] + (c in chosen) for c in minutes})
    return out


@given(minutes_maps)
def test_cms_max_units_is_the_best_valid_assignment(minutes):
    assignments = valid_assignments(minutes)
    assert assignments, "the CMS rule always has a valid assignment"
    best = {c: max(a[c] for a in assignments) for c in minutes}
    assert max_units(minutes, "cms") == best
    for a in assignments:
        assert sum(a.values()) == pooled_units(minutes)


@given(minutes_maps)
def test_max_units_exceed_pooled_total_only_by_ties(minutes):
    allowed = max_units(minutes, "cms")
    total = pooled_units(minutes)
    assert sum(allowed.values()) >= total
    remainders = [m % 15 for m in minutes.values() if m % 15]
    if len(set(remainders)) == len(remainders):  # no two codes tie
        assert sum(allowed.values()) == total


@given(minutes_maps, st.sampled_from(CODES), st.integers(1, 30), RULES)
def test_more_minutes_never_lower_a_codes_units(minutes, code, extra, rule):
    before = max_units(minutes, rule).get(code, 0)
    more = dict(minutes)
    more[code] = more.get(code, 0) + extra
    assert max_units(more, rule)[code] >= before
    assert pooled_units(more) >= pooled_units(minutes)


@given(minutes_maps, st.dictionaries(st.sampled_from(CODES), st.integers(0, 130)))
def test_per_code_depends_on_the_codes_own_minutes_only(minutes, others):
    alone = max_units(minutes, "per-code")
    assert alone == {c: units_for_minutes(m) for c, m in minutes.items()}
    mixed = {**others, **minutes}
    together = max_units(mixed, "per-code")
    assert all(together[c] == alone[c] for c in minutes)


@given(
    minutes_maps,
    st.dictionaries(st.sampled_from(CODES), st.integers(0, 10)),
    st.dictionaries(st.sampled_from(UNTIMED), st.integers(0, 60), min_size=1),
    st.dictionaries(st.sampled_from(UNTIMED), st.integers(0, 4), min_size=1),
    RULES,
)
def test_untimed_codes_change_nothing(minutes, billed, untimed_minutes, untimed_units, rule):
    assert max_units({**minutes, **untimed_minutes}, rule) == max_units(minutes, rule)
    assert pooled_units({**minutes, **untimed_minutes}) == pooled_units(minutes)
    assert check_units({**billed, **untimed_units}, {**minutes, **untimed_minutes}, rule) == (
        check_units(billed, minutes, rule)
    )


@given(minutes_maps, st.dictionaries(st.sampled_from(CODES), st.integers(0, 10)), RULES)
def test_full_15_minute_blocks_are_always_paid(minutes, billed, rule):
    allowed = max_units(minutes, rule)
    for code, m in minutes.items():
        assert allowed[code] >= m // 15
    guaranteed = {**billed, **{c: m // 15 for c, m in minutes.items()}}
    verdicts = check_units(guaranteed, minutes, rule)
    for code in minutes:
        assert not verdicts[code].over_billed


@given(minutes_maps, st.dictionaries(st.sampled_from(CODES), st.integers(0, 10)))
def test_check_units_passes_exactly_what_one_valid_assignment_covers(minutes, billed):
    verdicts = check_units(billed, minutes, "cms")
    filled = {c: minutes.get(c, 0) for c in set(minutes) | set(billed)}
    covered = any(all(billed.get(c, 0) <= a[c] for c in filled) for a in valid_assignments(filled))
    assert covered == (not any(v.over_billed for v in verdicts.values()))
    for v in verdicts.values():
        assert v.over_billed == (v.billed > v.allowed or v.contested)
        assert v.billed <= v.allowed or not v.contested

"""Tests for notes_nlp.rules.profiles: bundled payer profiles, loading and validation."""

from __future__ import annotations

import dataclasses
import json
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notes_nlp.rules.profiles import (
    CREDENTIALS,
    DEFAULT_PROFILE,
    PayerProfile,
    ProfileError,
    bundled_profiles,
    load_profile,
)
from notes_nlp.rules.units import UnitRule


def bundled_json(name: str) -> dict:
    text = resources.files("notes_nlp.rules").joinpath("payers", f"{name}.json").read_text("utf-8")
    return json.loads(text)


def write(tmp_path: Path, data: object, filename: str = "commercial-strict.json") -> Path:
    path = tmp_path / filename
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# --- the bundled profiles -----------------------------------------------------


def test_bundled_profiles_lists_both_and_the_default():
    names = bundled_profiles()
    assert {"cms", "commercial-strict"} <= set(names)
    assert names == sorted(names)
    assert DEFAULT_PROFILE == "cms"
    assert load_profile() is load_profile("cms")


@pytest.mark.parametrize("name", ["cms", "commercial-strict"])
def test_bundled_profile_loads_with_version_and_sources(name):
    profile = load_profile(name)
    assert profile.name == name
    assert profile.version and profile.description
    assert profile.sources and all(profile.sources)
    assert set(profile.distinct_modifiers) == {"59", "XE", "XS", "XP", "XU"}
    assert dict(profile.credential_aliases) == {"DPT": "PT", "DO": "MD"}


def test_cms_profile_matches_the_corpus_table():
    cms = load_profile("cms")
    assert cms.unit_rule is UnitRule.CMS
    assert cms.minutes_required is True
    assert cms.max_units_per_line == 4
    assert cms.max_visits_without_progress == 3
    assert dict(cms.paid_credentials) == {"97124": None, "97140": None}


def test_commercial_strict_profile_matches_the_corpus_table():
    strict = load_profile("commercial-strict")
    assert strict.unit_rule is UnitRule.PER_CODE
    assert strict.minutes_required is False
    assert strict.max_units_per_line == 3
    assert strict.max_visits_without_progress == 2
    for code in ("97124", "97140"):
        assert set(strict.paid_credentials[code]) == {"DC", "PT", "MD"}


def test_profile_is_immutable():
    profile = load_profile("commercial-strict")
    with pytest.raises(dataclasses.FrozenInstanceError):
        profile.max_units_per_line = 9  # type: ignore[misc]
    with pytest.raises(TypeError):
        profile.paid_credentials["97140"] = None  # type: ignore[index]


# --- credentials and modifiers --------------------------------------------------


@pytest.mark.parametrize(
    "credential,paid",
    [
        ("DC", True),
        ("PT", True),
        ("MD", True),
        ("DPT", True),
        ("DO", True),
        ("dpt", True),
        ("D.O.", True),
        (" pt ", True),
        ("PTA", False),
        ("LMT", False),
        ("OT", False),
        ("ATC", False),
        ("RN", False),
    ],
)
@pytest.mark.parametrize("code", ["97124", "97140"])
def test_commercial_strict_pays_muscle_work_to_dc_pt_md_only(code, credential, paid):
    assert load_profile("commercial-strict").pays(code, credential) is paid


@pytest.mark.parametrize("credential", sorted(CREDENTIALS | {"RN"}))
def test_cms_pays_any_credential(credential):
    cms = load_profile("cms")
    assert cms.pays("97140", credential) and cms.pays("97124", credential)
    assert not cms.restricts("97140")


def test_unlisted_code_is_not_restricted():
    strict = load_profile("commercial-strict")
    assert strict.restricts("97140")
    assert not strict.restricts("97110")
    assert strict.pays("97110", "LMT")


def test_aliases_apply_on_both_sides(tmp_path):
    data = bundled_json("commercial-strict")
    data["paid_credentials"]["97140"] = ["DPT"]  # written as the alias
    profile = load_profile(write(tmp_path, data))
    assert profile.pays("97140", "PT") and profile.pays("97140", "DPT")
    assert not profile.pays("97140", "PTA")
    assert profile.canonical_credential("do") == "MD"
    assert profile.canonical_credential("LMT") == "LMT"


@given(st.sampled_from(sorted(CREDENTIALS)), st.sampled_from(["97124", "97140"]))
def test_strict_pays_exactly_the_canonical_dc_pt_md(credential, code):
    strict = load_profile("commercial-strict")
    canonical = {"DPT": "PT", "DO": "MD"}.get(credential, credential)
    assert strict.pays(code, credential) == (canonical in {"DC", "PT", "MD"})


@pytest.mark.parametrize(
    "modifiers,distinct",
    [
        (["59"], True),
        (["xs"], True),
        (["GP", "XU"], True),
        (["GP"], False),
        (["25"], False),
        (["KX"], False),
        ([], False),
    ],
)
def test_distinct_modifiers(modifiers, distinct):
    assert load_profile("cms").accepts_distinct_modifier(modifiers) is distinct


# --- loading a user's file -------------------------------------------------------


def test_load_by_path_string_and_pathlike(tmp_path):
    data = bundled_json("commercial-strict")
    data["name"] = "acme-health"
    path = write(tmp_path, data, "acme.json")
    for ref in (path, str(path)):
        profile = load_profile(ref)
        assert profile.name == "acme-health"
        assert profile.unit_rule is UnitRule.PER_CODE


def test_optional_fields_may_be_left_out(tmp_path):
    data = bundled_json("cms")
    del data["description"], data["sources"]
    profile = load_profile(write(tmp_path, data, "minimal.json"))
    assert profile.description == "" and profile.sources == ()


def test_from_dict_names_its_source():
    data = bundled_json("cms")
    data["max_units_per_line"] = 0
    with pytest.raises(ProfileError, match=r"^mine: max_units_per_line must be"):
        PayerProfile.from_dict(data, source="mine")


# --- broken files ------------------------------------------------------------------


def broken(change):
    data = bundled_json("commercial-strict")
    change(data)
    return data


BROKEN = [
    pytest.param(
        lambda d: d.update(unit_rule="pooled"),
        "unit_rule",
        "commercial-strict.json: unit_rule must be one of 'cms', 'per-code', got 'pooled'",
        id="bad-unit-rule",
    ),
    pytest.param(
        lambda d: d.pop("version"), "version", "version is missing; expected", id="missing-version"
    ),
    pytest.param(lambda d: d.update(version=""), "version", "non-empty string", id="empty-version"),
    pytest.param(
        lambda d: d["paid_credentials"]["97140"].append("LPN"),
        "paid_credentials['97140'][3]",
        "must be one of 'ATC', 'CA', 'COTA', 'DC'",
        id="unknown-paid-credential",
    ),
    pytest.param(
        lambda d: d["credential_aliases"].update(DNP="MD"),
        "credential_aliases key",
        "got 'DNP'",
        id="unknown-alias-credential",
    ),
    pytest.param(
        lambda d: d["credential_aliases"].update(DPT="DO"),
        "credential_aliases['DPT']",
        "not itself an alias",
        id="alias-chain",
    ),
    pytest.param(
        lambda d: d.update(max_units_per_line="3"),
        "max_units_per_line",
        "must be a whole number of at least 1, got '3'",
        id="wrong-type-string-number",
    ),
    pytest.param(
        lambda d: d.update(max_visits_without_progress=2.5),
        "max_visits_without_progress",
        "got 2.5 (number)",
        id="wrong-type-float",
    ),
    pytest.param(
        lambda d: d.update(minutes_required="no"),
        "minutes_required",
        "must be true or false, got 'no'",
        id="wrong-type-bool",
    ),
    pytest.param(
        lambda d: d.update(distinct_modifiers="59"),
        "distinct_modifiers",
        "must be a list",
        id="wrong-type-modifiers",
    ),
    pytest.param(
        lambda d: d.update(distinct_modifiers=["59", "GP"]),
        "distinct_modifiers[1]",
        "got 'GP'",
        id="non-ncci-modifier",
    ),
    pytest.param(
        lambda d: d.update(paid_credentials=["DC"]),
        "paid_credentials",
        'got ["DC"] (array)',
        id="wrong-type-paid",
    ),
    pytest.param(
        lambda d: d["paid_credentials"].update({"9714": None}),
        "paid_credentials key",
        "got '9714'",
        id="bad-code",
    ),
    pytest.param(
        lambda d: d["paid_credentials"].update({"97124": "DC"}),
        "paid_credentials['97124']",
        "a list of credentials, or null",
        id="credentials-not-a-list",
    ),
    pytest.param(
        lambda d: d["paid_credentials"].update({"97124": [["DC"]]}),
        "paid_credentials['97124'][0]",
        'got ["DC"] (array)',
        id="nested-credential-list",
    ),
    pytest.param(
        lambda d: d.update(unit_rules="cms"),
        "unit_rules",
        "not a profile field",
        id="unknown-field",
    ),
    pytest.param(
        lambda d: d.update(sources="CMS"), "sources", "list of non-empty strings", id="bad-sources"
    ),
]


@pytest.mark.parametrize("change,field,message", BROKEN)
def test_broken_file_names_file_and_field(tmp_path, change, field, message):
    path = write(tmp_path, broken(change))
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    text = str(info.value)
    assert text.startswith(f"{path}: {field}")
    assert message.removeprefix("commercial-strict.json: ") in text
    assert info.value.field == field
    assert info.value.source == str(path)


def test_bad_unit_rule_message_matches_the_documented_form():
    data = broken(lambda d: d.update(unit_rule="pooled"))
    with pytest.raises(ProfileError) as info:
        PayerProfile.from_dict(data, source="commercial-strict.json")
    assert str(info.value) == (
        "commercial-strict.json: unit_rule must be one of 'cms', 'per-code', got 'pooled'"
    )


def test_invalid_json_says_where(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"name": "x",\n "version": }', encoding="utf-8")
    with pytest.raises(ProfileError, match=r"bad\.json: not valid JSON at line 2"):
        load_profile(path)


def test_top_level_must_be_an_object(tmp_path):
    with pytest.raises(ProfileError, match="must be a JSON object"):
        load_profile(write(tmp_path, ["cms"], "list.json"))


def test_missing_file_and_unknown_name():
    with pytest.raises(ProfileError, match="no such payer profile file"):
        load_profile("/nonexistent/payer.json")
    with pytest.raises(ProfileError, match=r"no bundled payer profile.*'cms', 'commercial-strict'"):
        load_profile("aetna")

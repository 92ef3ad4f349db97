"""Tests for scripts/generate_corpus.py: reproducibility, span integrity, and the rubric behind the labels.

The generator is a standalone script, so it is loaded from its path (it must not
depend on the notes_nlp package; one test checks that too).
"""
from __future__ import annotations

import ast
import importlib.util
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "generate_corpus.py"
CORPUS = ROOT / "corpus" / "generated" / "notes.jsonl"


def _load():
    spec = importlib.util.spec_from_file_location("generate_corpus_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


gen = _load()
CMS = gen.PAYERS["cms"]
STRICT = gen.PAYERS["commercial-strict"]
MUSCLE = ("97124", "97140")


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return gen.generate(seed=7, n=160)


def facts(**overrides) -> object:
    """A note that supports both codes unless a test says otherwise."""
    base = dict(performed_families=frozenset({"massage", "manual"}), manual_regions=frozenset({"lumbar"}),
                region_named=True, relaxation=False, functional=True, goal_here=True, has_measure=True,
                has_diagnosis=True, followup=False, progress=False, cmt_codes=(), cmt_regions=frozenset(),
                minutes={"97140": 25})
    base.update(overrides)
    return gen.NoteFacts(**base)


def label(code="97140", units=1, modifiers=(), performer="PT", payer=CMS, streak=0, **fact_overrides):
    return gen.label_line(code, units, list(modifiers), performer, facts(**fact_overrides), payer, streak)


# --- reproducibility ---------------------------------------------------------

def test_same_seed_gives_identical_output():
    assert gen.to_jsonl(gen.generate(seed=11, n=90)) == gen.to_jsonl(gen.generate(seed=11, n=90))


def test_output_does_not_depend_on_hash_seed(tmp_path):
    """Byte-for-byte across processes, whatever PYTHONHASHSEED (no set/dict-order leaks)."""
    outs = []
    for hash_seed in ("1", "4242"):
        out = tmp_path / f"notes-{hash_seed}.jsonl"
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        subprocess.run([sys.executable, str(SCRIPT), "--seed", "5", "--n", "60", "--out", str(out), "--quiet"],
                       check=True, env=env)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


def test_different_seed_gives_different_output():
    assert gen.to_jsonl(gen.generate(seed=1, n=60)) != gen.to_jsonl(gen.generate(seed=2, n=60))


def test_committed_corpus_is_the_default_run():
    if not CORPUS.exists():
        pytest.skip("corpus/generated/notes.jsonl not generated yet")
    assert CORPUS.read_text(encoding="utf-8") == gen.to_jsonl(gen.generate())


def test_script_is_standalone():
    tree = ast.parse(SCRIPT.read_text(encoding="utf-8"))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert "notes_nlp" not in imported
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}


def test_the_payers_are_read_from_the_bundled_profiles():
    """The thresholds the labels use are the profiles', not a copy: one source for each."""
    from notes_nlp.rules.profiles import load_profile

    for name, payer in gen.PAYERS.items():
        profile = load_profile(name)
        assert payer.pooled_minutes == (profile.unit_rule == "cms")
        assert payer.minutes_required == profile.minutes_required
        assert payer.max_units_per_line == profile.max_units_per_line
        assert payer.no_progress_visits == profile.max_visits_without_progress
        assert {payer.paid_credentials} == {frozenset(c) if c else None for c in profile.paid_credentials.values()}


# --- record shape and spans ---------------------------------------------------

def test_every_gold_span_matches_the_text(records):
    labels = {"MASSAGE_TECHNIQUE", "MANUAL_TECHNIQUE", "INTENT_RELAXATION", "INTENT_FUNCTIONAL", "GOAL", "MEASURE",
              "BODY_REGION", "PROGRESS", "DIAGNOSIS", "BILLING", "TIME", "CMT", "CREDENTIAL"}
    with_status = {"MASSAGE_TECHNIQUE", "MANUAL_TECHNIQUE", "CMT", "INTENT_RELAXATION", "INTENT_FUNCTIONAL", "GOAL"}
    for r in records:
        for e in r["gold_entities"]:
            assert 0 <= e["start"] < e["end"] <= len(r["text"])
            assert r["text"][e["start"]:e["end"]] == e["text"], (r["note_id"], e)
            assert e["label"] in labels
            if e["label"] in with_status:
                assert e["status"] in ("performed", "negated", "planned", "historical")
            else:
                assert "status" not in e


def test_no_entity_word_is_left_unannotated(records):
    for r in records:
        assert gen.find_leaks(r["text"], r["gold_entities"]) == [], r["note_id"]


def test_records_follow_the_schema(records):
    ids = [r["note_id"] for r in records]
    assert len(ids) == len(set(ids)) == 160
    for r in records:
        assert r["source"] == "generated" and r["payer"] in ("cms", "commercial-strict")
        assert r["style"] in ("soap", "narrative", "checkbox", "bullets", "brief", "long", "abbreviated")
        assert r["writer"].startswith("gen-w") and r["text"] and r["billed"]
        for line in r["billed"]:
            assert line["units"] >= 1
            if line["code"] in MUSCLE:
                assert line["label"] in ("supported", "unsupported")
                assert (line["label"] == "unsupported") == bool(line["reasons"])
                assert line["reasons"] == [x for x in gen.ERROR_RULES if x in line["reasons"]]
                assert line["warnings"] == [x for x in gen.WARNING_RULES if x in line["warnings"]]
                assert not set(line["reasons"]) & {"no-measure", "no-diagnosis", "no-progress", "no-time",
                                                   "region-missing", "long-duration"}
            else:
                assert "label" not in line


def test_billing_written_in_text_matches_billed(records):
    for r in records:
        codes = {line["code"] for line in r["billed"]}
        for e in r["gold_entities"]:
            if e["label"] == "BILLING":
                assert e["text"][:5] in codes, (r["note_id"], e["text"])


def test_every_massage_line_states_a_purpose(records):
    for r in records:
        if any(line["code"] == "97124" for line in r["billed"]):
            assert any(e["label"].startswith("INTENT_") and e["status"] == "performed"
                       for e in r["gold_entities"]), r["note_id"]


def test_charts_and_progress(records):
    charts: dict[str, list[dict]] = {}
    for r in records:
        if r["chart_id"]:
            charts.setdefault(r["chart_id"], []).append(r)
        else:
            assert all("no-progress" not in line.get("warnings", []) for line in r["billed"])
    assert charts
    for notes in charts.values():
        assert 3 <= len(notes) <= 6
        assert [n["date"] for n in notes] == sorted(n["date"] for n in notes)
        assert all("no-progress" not in line.get("warnings", []) for line in notes[0]["billed"])


def test_time_rule_recomputed_from_the_records(records):
    """Where every timed line carries its minutes, recompute the unit rule from the record alone."""
    timed = gen.TIMED_CODES
    checked = 0
    for r in gen.generate(seed=3, n=300):
        lines = [line for line in r["billed"] if line["code"] in timed]
        if not lines or not all("minutes" in line for line in lines):
            continue
        minutes = {line["code"]: line["minutes"] for line in lines}
        for line in lines:
            if line["code"] not in MUSCLE:
                continue
            if r["payer"] == "cms":
                total = sum(minutes.values())
                units = total // 15 + (total % 15 >= 8)
                full = {c: m // 15 for c, m in minutes.items()}
                left = units - sum(full.values())
                ranked = sorted(minutes, key=lambda c: -(minutes[c] % 15))
                allowed = full[line["code"]] + (line["code"] in ranked[:max(left, 0)])
            else:
                m = minutes[line["code"]]
                allowed = m // 15 + (m % 15 >= 8)
            assert (line["units"] > allowed) == ("units-exceed-time" in line["reasons"]), (r["note_id"], line)
            checked += 1
    assert checked > 50


# --- the rubric ---------------------------------------------------------------

@pytest.mark.parametrize("minutes,units", [(7, 0), (8, 1), (22, 1), (23, 2), (37, 2), (38, 3), (52, 3), (53, 4),
                                           (67, 4), (68, 5)])
def test_eight_minute_table(minutes, units):
    assert gen.units_for_minutes(minutes) == units


def test_cms_worked_example_33_plus_7():
    mins = {"97110": 33, "97140": 7}
    assert gen.allowed_units("97140", mins, CMS) == 1
    assert gen.allowed_units("97110", mins, CMS) == 2
    assert "units-exceed-time" not in label(units=1, minutes=mins)[0]
    # the same 7 minutes alone under the per-code rule earn nothing
    assert "units-exceed-time" in label(units=1, payer=STRICT, performer="PT", minutes={"97140": 7})[0]


def test_cms_worked_example_25_plus_12():
    mins = {"97110": 25, "97140": 12}
    assert gen.allowed_units("97140", mins, CMS) == 1
    assert "units-exceed-time" not in label(units=1, minutes=mins)[0]
    assert "units-exceed-time" in label(units=2, minutes=mins)[0]


def test_shared_minutes_support_fewer_units_than_the_code_alone():
    mins = {"97110": 39, "97140": 23}  # 62 min -> 4 units; 97110 takes the leftover (9 > 8)
    assert gen.units_for_minutes(23) == 2
    assert gen.allowed_units("97140", mins, CMS) == 1
    assert "units-exceed-time" in label(units=2, minutes=mins)[0]
    assert "units-exceed-time" not in label(units=2, payer=STRICT, minutes=mins)[0]


def test_lone_line_over_its_minutes():
    assert "units-exceed-time" in label(units=2, minutes={"97140": 20})[0]
    assert label(units=1, minutes={"97140": 20}) == ([], [])


def test_ties_let_either_code_take_the_leftover():
    mins = {"97110": 20, "97140": 20}  # 40 min -> 3 units, remainders 5 and 5
    assert gen.cms_has_tie(mins)
    assert gen.cms_unit_bounds(mins) == {"97110": (1, 2), "97140": (1, 2)}
    assert not gen.cms_has_tie({"97110": 33, "97140": 7})


def test_no_minutes_at_all():
    assert label(minutes={}) == (["units-exceed-time"], [])
    assert label(minutes={}, payer=STRICT) == ([], ["no-time"])


def test_technique_families():
    assert label(performed_families=frozenset({"massage"}))[0] == ["technique-mismatch"]
    assert label(code="97124", minutes={"97124": 25},
                 performed_families=frozenset({"manual"}))[0] == ["technique-mismatch"]
    assert label(performed_families=frozenset())[0] == ["technique-missing"]
    assert label(performed_families=frozenset({"manual"}))[0] == []


def test_relaxation_and_goals():
    relax_only = dict(relaxation=True, functional=False, goal_here=False)
    assert label(**relax_only)[0] == ["relaxation-only", "no-goal"]
    assert label(code="97124", minutes={"97124": 25}, **relax_only) == (["relaxation-only"], ["no-goal"])
    # a measurable goal earlier in the chart rescues both
    assert label(goal_before=True, **relax_only)[0] == []
    assert label(relaxation=True, functional=True, goal_here=False)[0] == ["no-goal"]


def test_cmt_rules():
    cmt = dict(cmt_codes=("98940",), cmt_regions=frozenset({"cervical", "lumbar"}))
    assert label(modifiers=["59"], manual_regions=frozenset({"cervical"}), **cmt)[0] == ["cmt-same-region"]
    assert label(modifiers=["XS"], manual_regions=frozenset({"cervical", "upper_ext"}), **cmt)[0] == []
    assert label(modifiers=["GP"], manual_regions=frozenset({"thoracic"}), **cmt)[0] == ["modifier-59-missing"]
    assert label(code="97124", modifiers=[], minutes={"97124": 25}, **cmt)[0] == ["modifier-59-missing"]
    assert label(code="97124", modifiers=["59"], minutes={"97124": 25}, manual_regions=frozenset({"cervical"}),
                 **cmt)[0] == []


def test_provider_coverage():
    assert label(payer=STRICT, performer="LMT")[0] == ["provider-not-covered"]
    assert label(payer=CMS, performer="LMT")[0] == []
    assert label(payer=STRICT, performer="DPT")[0] == []
    assert label(payer=STRICT, performer="DO")[0] == []
    assert label(payer=STRICT, performer="PTA")[0] == ["provider-not-covered"]


def test_warnings():
    assert label(has_measure=False, has_diagnosis=False, region_named=False)[1] == [
        "no-measure", "no-diagnosis", "region-missing"]
    assert label(code="97124", minutes={"97124": 25}, region_named=False)[1] == []
    assert label(followup=True, progress=False)[1] == ["no-progress"]
    assert label(followup=False, progress=False)[1] == []


def test_long_duration_thresholds():
    assert "long-duration" in label(units=5, minutes={"97140": 70})[1]
    assert "long-duration" not in label(units=4, minutes={"97140": 60})[1]
    assert "long-duration" in label(units=4, payer=STRICT, minutes={"97140": 60})[1]
    assert "long-duration" in label(followup=True, streak=3)[1]
    assert "long-duration" not in label(followup=True, streak=2)[1]
    assert "long-duration" in label(followup=True, streak=2, payer=STRICT)[1]


def test_cmt_codes_follow_regions():
    assert gen.cmt_codes_for(["cervical"]) == ["98940"]
    assert gen.cmt_codes_for(["cervical", "thoracic", "lumbar"]) == ["98941"]
    assert gen.cmt_codes_for(["cervical", "thoracic", "lumbar", "sacral", "pelvic"]) == ["98942"]
    assert gen.cmt_codes_for(["lumbar", "upper_ext"]) == ["98940", "98943"]


def test_span_builder_keeps_offsets_through_transformations():
    marked = "S: pt c/o «BODY_REGION|neck» tightness, «MEASURE|6/10».  Tx: «MANUAL_TECHNIQUE:negated|MFR» deferred."
    text, ents = gen.build_text(marked, caps=True, nopunct=True)
    assert text == "S: PT C/O NECK TIGHTNESS 6/10 TX: MFR DEFERRED"
    assert [(e["text"], e.get("status")) for e in ents] == [("NECK", None), ("6/10", None), ("MFR", "negated")]
    nested, ents = gen.build_text("LTG: «GOAL|«BODY_REGION|cervical» rotation «MEASURE|70°» by discharge»")
    assert [e["label"] for e in ents] == ["GOAL", "BODY_REGION", "MEASURE"]
    assert all(nested[e["start"]:e["end"]] == e["text"] for e in ents)


def test_default_corpus_composition():
    """The shipped corpus covers every rule often enough to learn from (brief: >= 40 each)."""
    if not CORPUS.exists():
        pytest.skip("corpus/generated/notes.jsonl not generated yet")
    recs = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    lines = [line for r in recs for line in r["billed"] if line["code"] in MUSCLE]
    rules = Counter(x for line in lines for x in line["reasons"] + line["warnings"])
    for rule in set(gen.ERROR_RULES) | set(gen.WARNING_RULES):
        assert rules[rule] >= 40, rule
    assert len(recs) == 1000 and len(lines) >= 1100
    assert len({r["chart_id"] for r in recs if r["chart_id"]}) >= 35
    assert 0.4 <= sum(line["label"] == "supported" for line in lines) / len(lines) <= 0.6
    assert 0.55 <= sum(r["payer"] == "cms" for r in recs) / len(recs) <= 0.65
    assert len({r["writer"] for r in recs}) == 12

"""Every rule of docs/rubric.md, firing on a small note and silent on its near-miss.

The notes go through the real extraction, so these tests show the rules on
text, the way a clinician meets them.
"""

from __future__ import annotations

import pytest

from notes_nlp.extraction.records import entity_records
from notes_nlp.rules.chart import chart_contexts
from notes_nlp.rules.checks import judge_note
from notes_nlp.rules.facts import NoteFacts
from notes_nlp.rules.profiles import load_profile

GOOD_140 = (
    "Dx: cervicalgia M54.2. Cervical rotation 45°. MFR to L upper trapezius 12 min to restore cervical rotation. "
    "Goal: turn head to check blind spot, rotation 70°, in 4 wks."
)
GOOD_124 = (
    "Dx: lumbar muscle spasm M62.830. Effleurage and petrissage to lumbar paraspinals 15 min to relieve spasm "
    "before ther ex. Pain 6/10."
)


@pytest.fixture(scope="module")
def judge_lines(nlp):
    def run(text: str, billed: list[dict], credential: str = "PT", payer: str = "cms"):
        record = {"note_id": "t", "text": text, "billed": billed, "provider_credential": credential}
        return judge_note(NoteFacts.build(record, entity_records(nlp(text))), load_profile(payer))

    return run


@pytest.fixture(scope="module")
def judge(judge_lines):
    """The judgement of a note's one muscle-work line."""
    def run(*args, **kwargs):
        [line] = judge_lines(*args, **kwargs)
        return line

    return run


def rules(line) -> set[str]:
    return {f.rule for f in line.findings}


def test_good_97140_is_supported(judge):
    line = judge(GOOD_140, [{"code": "97140", "units": 1}])
    assert line.supported, line.findings
    assert rules(line) == set()


def test_good_97124_is_supported(judge):
    line = judge(GOOD_124, [{"code": "97124", "units": 1}])
    assert line.supported, line.findings


def test_technique_missing_fires_without_a_named_technique(judge):
    line = judge("Manual therapy to low back 15 min for lumbar strain, ROM 40°.", [{"code": "97140"}])
    assert "technique-missing" in rules(line) and "technique-mismatch" not in rules(line)
    assert line.suggested_code == "none"


def test_technique_missing_when_only_planned_or_declined(judge):
    line = judge("Pt declined MFR. Will try joint mobs next visit. 15 min.", [{"code": "97140"}])
    assert "technique-missing" in rules(line)


def test_technique_mismatch_names_the_better_code(judge):
    line = judge(GOOD_124, [{"code": "97140", "units": 1}])
    assert "technique-mismatch" in rules(line) and "technique-missing" not in rules(line)
    assert line.suggested_code == "97124"
    assert "97124" in next(f.message for f in line.findings if f.rule == "technique-mismatch")


def test_relaxation_only(judge):
    line = judge("Swedish massage with effleurage to back 15 min for relaxation and stress relief.", [{"code": "97124"}])
    assert "relaxation-only" in rules(line)


def test_relaxation_with_a_functional_purpose_is_not_relaxation_only(judge):
    line = judge("Effleurage to back 15 min for relaxation and to relieve spasm.", [{"code": "97124"}])
    assert "relaxation-only" not in rules(line)


def test_a_purpose_of_work_to_come_speaks_for_none_of_todays(judge):
    text = GOOD_140 + "\nPt scheduled with the LMT next week for a relaxation massage."
    assert "relaxation-only" not in rules(judge(text, [{"code": "97140", "units": 1}]))


def test_no_goal_is_an_error_for_97140_and_a_warning_for_97124(judge):
    line_140 = judge("STM to R shoulder 15 min to improve function. Goal: improve function.", [{"code": "97140"}])
    assert [f.severity for f in line_140.findings if f.rule == "no-goal"] == ["error"]
    line_124 = judge("Petrissage to R calf 15 min to relieve spasm.", [{"code": "97124"}])
    assert [f.severity for f in line_124.findings if f.rule == "no-goal"] == ["warning"]
    assert line_124.supported


def test_no_measure_and_no_diagnosis(judge):
    line = judge("Effleurage to L calf 10 min to relieve spasm.", [{"code": "97124"}])
    assert {"no-measure", "no-diagnosis"} <= rules(line)
    assert "no-measure" not in rules(judge(GOOD_124, [{"code": "97124"}]))


def test_units_exceed_time_under_cms_assignment(judge):
    text = "Dx: lumbar strain. ROM 40°. MFR to lumbar paraspinals. Goal: sit 1 hr in 4 wks."
    over = judge(text, [{"code": "97140", "units": 2, "minutes": 12}, {"code": "97110", "units": 1, "minutes": 25}])
    assert "units-exceed-time" in rules(over)
    fine = judge(text, [{"code": "97140", "units": 1, "minutes": 12}, {"code": "97110", "units": 1, "minutes": 25}])
    assert "units-exceed-time" not in rules(fine)


def test_units_exceed_time_from_minutes_in_the_text(judge):
    text = "Dx: cervicalgia. ROM 50°. MFR x 9 min, joint mobs 5 min to cervical. Goal: rotation 70° in 4 wks."
    line = judge(text, [{"code": "97140", "units": 2}])
    finding = next(f for f in line.findings if f.rule == "units-exceed-time")
    assert "14 min" in finding.message


def test_minutes_of_work_not_done_this_visit_count_for_nothing(judge):
    text = (
        "Dx: cervicalgia. ROM 50°. Goal: rotation 70° in 4 wks.\nLast visit: MFR to cervical, 15 min.\n"
        "Today: MFR held, neck too irritable. Ther ex 20 min."
    )
    line = judge(text, [{"code": "97140", "units": 1}, {"code": "97110", "units": 1}])
    assert {"technique-missing", "units-exceed-time"} <= rules(line)


def test_no_minutes_fails_under_cms_and_warns_under_commercial(judge):
    text = "Dx: cervicalgia. ROM 50°. MFR to cervical. Goal: rotation 70° in 4 wks."
    assert "units-exceed-time" in rules(judge(text, [{"code": "97140"}], payer="cms"))
    strict = judge(text, [{"code": "97140"}], credential="DC", payer="commercial-strict")
    assert "no-time" in rules(strict) and strict.supported


def test_per_code_rule_gives_no_unit_under_8_minutes(judge):
    text = "Dx: cervicalgia. ROM 50°. MFR to cervical 7 min. Ther ex 20 min. Goal: rotation 70° in 4 wks."
    billed = [{"code": "97140", "units": 1, "minutes": 7}, {"code": "97110", "units": 1, "minutes": 20}]
    assert "units-exceed-time" in rules(judge(text, billed, credential="DC", payer="commercial-strict"))
    assert "units-exceed-time" not in rules(judge(text, billed, payer="cms"))


def test_modifier_59_missing_with_cmt(judge):
    text = GOOD_140.replace("MFR to L upper trapezius", "CMT to T4 and L5. MFR to L shoulder")
    assert "modifier-59-missing" in rules(judge(text, [{"code": "98940"}, {"code": "97140"}]))
    assert "modifier-59-missing" not in rules(judge(text, [{"code": "98940"}, {"code": "97140", "modifiers": ["XS"]}]))
    assert "modifier-59-missing" not in rules(judge(text, [{"code": "97140"}]))


def test_gp_does_not_bypass_the_edit(judge):
    text = GOOD_140.replace("MFR to L upper trapezius", "CMT to T4. MFR to L shoulder")
    assert "modifier-59-missing" in rules(judge(text, [{"code": "98940"}, {"code": "97140", "modifiers": ["GP"]}]))


def test_cmt_same_region(judge):
    same = "Adjusted C5 and T4. MFR to L upper trapezius 12 min. Dx M54.2. ROM 45°. Goal: rotation 70° in 4 wks."
    assert "cmt-same-region" in rules(judge(same, [{"code": "98940"}, {"code": "97140", "modifiers": ["59"]}]))
    other = same.replace("L upper trapezius", "L shoulder")
    assert "cmt-same-region" not in rules(judge(other, [{"code": "98940"}, {"code": "97140", "modifiers": ["59"]}]))


def test_rib_cage_is_separate_from_thoracic(judge):
    text = "Adjusted T4-T6. STM to rib cage 10 min. Dx M54.6. ROM 45°. Goal: lift 10 lb overhead in 4 wks."
    assert "cmt-same-region" not in rules(judge(text, [{"code": "98940"}, {"code": "97140", "modifiers": ["59"]}]))


def test_region_missing(judge):
    line = judge("MFR 12 min. Dx myalgia. Pain 5/10. Goal: sit 1 hr in 4 wks.", [{"code": "97140"}])
    assert "region-missing" in rules(line)
    assert "region-missing" not in rules(judge(GOOD_140, [{"code": "97140"}]))


def test_provider_not_covered_uses_the_performer_over_the_signer(judge):
    text = GOOD_140 + "\nMFR performed by J. Doe, LMT, under my supervision.\nSigned: A. Smith, DC"
    assert "provider-not-covered" in rules(judge(text, [{"code": "97140"}], credential="DC", payer="commercial-strict"))
    assert "provider-not-covered" not in rules(judge(GOOD_140, [{"code": "97140"}], credential="DPT", payer="commercial-strict"))
    assert "provider-not-covered" not in rules(judge(text, [{"code": "97140"}], credential="DC", payer="cms"))


def test_long_duration_on_units(judge):
    assert "long-duration" in rules(judge(GOOD_124.replace("15 min", "75 min"), [{"code": "97124", "units": 5}]))
    assert "long-duration" not in rules(judge(GOOD_124, [{"code": "97124", "units": 1}]))


def chart_lines(nlp, notes: list[tuple[str, list[dict]]], payer: str = "cms"):
    facts = [NoteFacts.build({"text": t, "billed": b, "provider_credential": "PT"}, entity_records(nlp(t))) for t, b in notes]
    return [judge_note(f, load_profile(payer), c)[0] for f, c in zip(facts, chart_contexts(facts))]


def test_chart_goals_count_for_later_visits_and_progress_is_checked(nlp):
    evaluation = "Eval: lumbar strain. ROM 40°. Goal: walk 1 mile without pain in 4 wks. MFR to lumbar 10 min."
    visit_progress = "MFR to lumbar paraspinals 10 min. Pt now walks 1/2 mile."
    visit_none = "MFR to lumbar paraspinals 10 min. Pain 5/10."
    lines = chart_lines(nlp, [(evaluation, [{"code": "97140"}]), (visit_progress, [{"code": "97140"}]), (visit_none, [{"code": "97140"}])])
    assert all("no-goal" not in rules(line) for line in lines)
    assert "no-progress" not in rules(lines[1])
    assert "no-progress" in rules(lines[2])
    assert "no-progress" not in rules(lines[0])


def test_long_duration_after_visits_without_progress(nlp):
    evaluation = "Eval: lumbar strain. ROM 40°. Goal: walk 1 mile without pain in 4 wks. MFR to lumbar 10 min."
    visit = "MFR to lumbar paraspinals 10 min. Pain 5/10."
    lines = chart_lines(nlp, [(evaluation, [{"code": "97140"}])] + [(visit, [{"code": "97140"}])] * 3)
    assert ["long-duration" in rules(line) for line in lines] == [False, False, False, True]


GOAL = "Goal: walk 1 mile without pain in 4 wks."


def test_relaxation_only_judges_the_purposes_of_the_line_s_own_work(judge_lines):
    text = (
        "Dx: I97.2 lymphedema. Girth 25 cm. Tx: MLD R UE 38 min. Effleurage posterior trunk -- 10 min -- to increase "
        "circulation and help her relax. Goals (by 2/20): R girth 24 cm, lift 10-lb basket w/o heaviness."
    )
    mld, massage = judge_lines(text, [{"code": "97140", "units": 2}, {"code": "97124", "units": 1}])
    assert "relaxation-only" not in rules(mld)
    assert "relaxation-only" in rules(massage)


def test_relaxation_only_is_not_rescued_by_goals_set_for_other_work(judge):
    text = f"Swedish massage to upper back 25 min for stress relief and to improve sleep. {GOAL}"
    assert "relaxation-only" in rules(judge(text, [{"code": "97124", "units": 2}]))


def test_relaxation_beside_a_deficit_is_no_relaxation_only(judge):
    text = f"Effleurage R rhomboids 10 min to decrease spasm (pt also finds it relaxing). {GOAL}"
    assert "relaxation-only" not in rules(judge(text, [{"code": "97124", "units": 1}]))


def test_a_clinic_name_is_no_purpose(judge):
    text = f"Pinecrest Chiropractic & Wellness\nSTM R QL 12 min. {GOAL}"
    assert "relaxation-only" not in rules(judge(text, [{"code": "97140", "units": 1}]))


def test_performer_named_beside_the_work(judge):
    text = f"Manual: IASTM R ITB 12 min - D. Ko, ATC, under PT supervision. {GOAL}"
    assert "provider-not-covered" in rules(judge(text, [{"code": "97140", "units": 1}], payer="commercial-strict"))


def test_performer_of_planned_work_did_none_of_this_visit(judge):
    text = f"MFR R QL 12 min. {GOAL}\nPlan: staff LMT may perform STM under PT supervision next visit."
    assert "provider-not-covered" not in rules(judge(text, [{"code": "97140", "units": 1}], payer="commercial-strict"))


def test_a_relative_guided_by_the_therapist_performs(judge):
    text = f"Telehealth. PT coached husband step by step through the MLD sequence on the L UE, 25 min. {GOAL}"
    assert "provider-not-covered" in rules(judge(text, [{"code": "97140", "units": 2}], payer="commercial-strict"))


def test_a_later_retraction_negates_the_technique(judge):
    text = f"Tx: MFR L upper trapezius 12 min. {GOAL}\nLATE ENTRY: correction, MFR was not performed, pt declined."
    assert "technique-missing" in rules(judge(text, [{"code": "97140", "units": 1}]))


def test_minutes_of_one_piece_of_work_are_not_summed_with_its_parts(judge_lines):
    text = f"Ther ex 25' - bike 8', step ups, TKE\nManual 7' - patellar mobs sup/inf\n{GOAL}"
    [line] = judge_lines(text, [{"code": "97110", "units": 1}, {"code": "97140", "units": 1}])
    assert "units-exceed-time" in rules(line)  # 32 min = 2 units: 97110 one full, the leftover to 97110 (10 vs 7)


def test_an_addendum_corrects_the_minutes(judge):
    text = f"Session: effleurage + petrissage R ITB 25 min to relieve spasm. {GOAL}\nADDENDUM: time corrected, hands-on massage was 12 min, not 25 min."
    assert "units-exceed-time" in rules(judge(text, [{"code": "97124", "units": 2}]))


def test_the_only_timed_work_takes_the_session_total(judge):
    text = f"Session time: 10:00 - 10:28 (28 min)\n  - effleurage lumbar paraspinals to relieve spasm\n  - cross-fiber friction R ITB x 4 min\n{GOAL}"
    assert "units-exceed-time" not in rules(judge(text, [{"code": "97124", "units": 2}]))


def test_a_soap_plan_listing_the_billed_work_is_the_visit_s_treatment(judge_lines):
    text = f"S: shoulder tight. O: IR to L1.\nP:\n - MFR L infraspinatus/post cuff, posterior glides L GH gr III\n{GOAL}"
    [line] = judge_lines(text, [{"code": "97140", "units": 1, "minutes": 10}])
    assert "technique-missing" not in rules(line)


def test_a_plan_for_later_is_no_work_done(judge_lines):
    text = f"Eval today. Plan: 2x/wk, will add MFR L infraspinatus next visit.\n{GOAL}"
    [line] = judge_lines(text, [{"code": "97140", "units": 1, "minutes": 10}])
    assert "technique-missing" in rules(line)

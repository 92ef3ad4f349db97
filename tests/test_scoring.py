"""The scoring API: one output record per input record, verdicts by the rules and the model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import notes_nlp
from notes_nlp.model.persist import load_model
from notes_nlp.scoring import score, score_apart

SAMPLES = Path(__file__).resolve().parents[1] / "corpus" / "samples" / "notes.jsonl"


@pytest.fixture(scope="module")
def samples():
    return [json.loads(line) for line in SAMPLES.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def model():
    return load_model()


def test_every_record_yields_one_output_in_order(nlp, model, samples):
    bad = [{"note_id": "no-text"}, "not an object", {"note_id": "bad-units", "text": "MFR 10 min", "billed": [{"code": "97140", "units": "two"}]}]
    records = samples[:2] + bad + samples[2:]
    out = score(records, model, nlp)
    assert [r["note_id"] for r in out] == ["sample-1", "sample-2", "no-text", None, "bad-units", "sample-3", "sample-4", "sample-5"]
    assert out[2]["error"] == "missing text"
    assert "expected a JSON object" in out[3]["error"]
    assert "units must be a whole number" in out[4]["error"]
    assert all(r["error"] is None for i, r in enumerate(out) if i not in (2, 3, 4))


def test_output_follows_the_spec(nlp, model, samples):
    [record] = score(samples[:1], model, nlp)
    [line] = record["lines"]
    assert set(line) >= {"code", "verdict", "score", "suggested_code", "findings"}
    assert 0.0 <= line["score"] <= 1.0
    assert record["payer_profile"] == {"name": "cms", "version": "2026.1"}
    assert record["entities"] and {"label", "start", "end", "text", "negated", "section"} <= set(record["entities"][0])


def test_a_line_with_an_error_finding_is_never_supported(nlp, model, samples):
    for record in score(samples, model, nlp):
        for line in record["lines"]:
            if any(f["severity"] == "error" for f in line["findings"]):
                assert line["verdict"] == "unsupported"


def test_verdicts_on_the_samples(nlp, model, samples):
    verdicts = {r["note_id"]: [l["verdict"] for l in r["lines"]] for r in score(samples, model, nlp)}
    assert verdicts["sample-1"] == ["supported"]
    assert verdicts["sample-2"] == ["unsupported"]  # 97140 x2 with 17 of 32 pooled minutes
    assert verdicts["sample-3"] == ["unsupported"]  # relaxation only, LMT under a strict payer
    assert verdicts["sample-5"] == ["unsupported"]  # no technique performed


def test_rules_only_without_a_model(nlp, samples):
    out = score(samples[:1], None, nlp)
    assert out[0]["lines"][0]["score"] is None and out[0]["lines"][0]["verdict"] == "supported"


def test_the_package_level_api_uses_the_shipped_model(samples):
    out = notes_nlp.score(samples[:1])
    assert out[0]["lines"][0]["score"] is not None


def test_lists_scored_apart_are_each_as_if_scored_alone(nlp, model, samples):
    """The service scores the checks that wait together in one call: a chart never spans two
    of them. sample-2 is a visit of sample-1's chart: with it, it has goals; alone, it has none."""
    first, second = samples[:1], samples[1:2] + ["not an object"]
    assert score_apart([first, second, []], model, nlp) == [score(first, model, nlp), score(second, model, nlp), []]
    with_its_chart = score(samples[:2], model, nlp)[1]
    alone = score_apart([first, second], model, nlp)[1][0]
    assert "no-goal" in rules(alone) and "no-goal" not in rules(with_its_chart)


def rules(record: dict) -> set[str]:
    return {finding["rule"] for line in record["lines"] for finding in line["findings"]}


def test_a_lone_surrogate_escape_is_that_records_error_and_the_rest_are_scored(nlp, model, samples):
    """JSON's \\u escapes can write an unpaired surrogate, which spaCy cannot hash nor any output encode."""
    bad_text = {"note_id": "bad-text", "text": "MFR to R UT \udaf2 10 min", "billed": [{"code": "97140"}]}
    bad_id = {"note_id": "x\ud800", "text": "MFR to R UT 10 min", "billed": [{"code": "97140"}]}
    out = score([bad_text, bad_id, samples[0]], model, nlp)
    assert [o["note_id"] for o in out] == ["bad-text", None, samples[0]["note_id"]]
    assert out[0]["error"].startswith("text: not valid Unicode: an unpaired surrogate \\udaf2")
    assert out[1]["error"].startswith("note_id: not valid Unicode: an unpaired surrogate \\ud800")
    assert out[2]["error"] is None and out[2]["lines"]
    json.dumps(out, ensure_ascii=False).encode("utf-8")  # writable as UTF-8


def test_a_file_with_a_lone_surrogate_escape_loses_no_record(tmp_path):
    from typer.testing import CliRunner

    from notes_nlp.cli import app

    source = tmp_path / "notes.jsonl"
    source.write_text(
        '{"note_id": "a", "text": "MFR \\udaf2 10 min", "billed": [{"code": "97140"}]}\n'
        '{"note_id": "b", "text": "MFR to R UT 10 min", "billed": [{"code": "97140"}]}\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["score", str(source), "-o", str(tmp_path / "out.jsonl")])
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [o["note_id"] for o in out] == ["a", "b"]
    assert out[0]["error"].startswith("line 1: text: not valid Unicode: an unpaired surrogate \\udaf2 (a lone \\u escape")
    assert out[1]["error"] is None


def test_a_payer_that_is_not_a_name_is_that_records_error(nlp, model, samples):
    out = score([{**samples[0], "note_id": "p", "payer": True}, samples[0]], model, nlp)
    assert out[0]["error"] == "payer must be a string (a payer profile's name), got true"
    assert out[1]["error"] is None

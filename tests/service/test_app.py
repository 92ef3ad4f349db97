"""The JSON API: /healthz, /v1/score and /v1/check, and 422s that name the field."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import notes_nlp
from notes_nlp.cli import app as cli
from notes_nlp.service.app import Settings, create_app

SAMPLES = Path(__file__).resolve().parents[2] / "corpus" / "samples" / "notes.jsonl"
MARKER = "Zyxwv-private-words"


def samples() -> list[dict]:
    return [json.loads(line) for line in SAMPLES.read_text().splitlines()]


def fields(response) -> list[str]:
    return [problem["field"] for problem in response.json()["detail"]]


def test_healthz_names_the_model_and_the_payer_profiles(client):
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["notes_nlp"] == notes_nlp.__version__
    assert health["model"]["name"] and len(health["model"]["version"]) == 12 and 0 < health["model"]["at_risk_below"] < 1
    assert {"name": "cms", "version": "2026.1"} in health["payer_profiles"]


def test_score_gives_the_same_records_as_the_scoring_api(client):
    records = samples()
    response = client.post("/v1/score", json={"records": records})
    assert response.status_code == 200
    assert response.json()["records"] == notes_nlp.score(records)


def test_score_many_records_a_bad_one_gets_its_error_and_the_rest_are_scored(client):
    records = [*samples()[:2], {"note_id": "blank", "text": "   "}, 42, {"note_id": "bad-code", "text": "MFR 10 min", "billed": [{"code": "9714"}]}, samples()[3]]
    out = client.post("/v1/score", json={"records": records}).json()["records"]
    assert [r["note_id"] for r in out] == ["sample-1", "sample-2", "blank", None, "bad-code", "sample-4"]
    assert [bool(r["error"]) for r in out] == [False, False, True, True, True, False]
    assert out[2]["error"] == "empty text" and "expected a JSON object" in out[3]["error"] and "billed[0].code" in out[4]["error"]
    assert out[1]["lines"][0]["verdict"] == "unsupported"  # judged with sample-1, its chart's plan of care


@pytest.mark.parametrize("body, field", [
    ({"records": []}, "records"),
    ({}, "records"),
    ({"records": {"note_id": "n1"}}, "records"),
    ({"records": [{"note_id": "n", "text": "x"}] * 1001}, "records"),
])
def test_score_envelope_errors_name_the_field(client, body, field):
    response = client.post("/v1/score", json=body)
    assert response.status_code == 422 and fields(response) == [field]


def test_check_gives_the_message_of_the_check_command(client, tmp_path):
    record = samples()[4]
    response = client.post("/v1/check", json=record)
    assert response.status_code == 200
    body = response.json()
    (tmp_path / "note.json").write_text(json.dumps(record))
    printed = CliRunner().invoke(cli, ["check", str(tmp_path / "note.json")])
    assert printed.output == body["message"] + "\n"
    assert body["passed"] is False and printed.exit_code == 1
    assert body["result"] == notes_nlp.score([record])[0]


def test_check_passes_a_supported_note(client):
    response = client.post("/v1/check", json=samples()[0])
    assert response.json()["passed"] is True
    assert re.fullmatch(r"97140 x1: SUPPORTED \(score \d\.\d\d\)", response.json()["message"])


GOOD = {"note_id": "n1", "text": "MFR to R upper trapezius 12 min.", "billed": [{"code": "97140", "units": 1}]}


@pytest.mark.parametrize("change, field, says", [
    ({"text": None}, "text", "Field required"),
    ({"text": 5}, "text", "valid string"),
    ({"text": "  \n "}, "text", "pattern"),
    ({"note_id": ""}, "note_id", "at least 1"),
    ({"billed": [{"code": "97140", "units": 30}]}, "billed[0].units", "less than or equal to 24"),
    ({"billed": [{"code": "9714"}]}, "billed[0].code", "pattern"),
    ({"billed": [{"code": "97140", "modifers": ["59"]}]}, "billed[0].modifers", "Extra inputs"),
    ({"billed": [{"code": "98940"}]}, "billed", "no 97124 or 97140 line"),
    ({"billed": None}, "billed", "Field required"),
    ({"payer": "acme"}, "payer", "'cms' or 'commercial-strict'"),
])
def test_check_errors_name_the_field(client, change, field, says):
    record = {key: value for key, value in {**GOOD, **change}.items() if value is not None}
    response = client.post("/v1/check", json=record)
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["field"] == field and says in problem["msg"], problem


def test_invalid_json_is_a_422_on_the_body(client):
    response = client.post("/v1/check", content=b'{"note_id": "n1", "text": ', headers={"content-type": "application/json"})
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["field"] == "body" and problem["type"] == "json_invalid" and "JSON decode error" in problem["msg"]


def test_validation_errors_never_echo_the_note(client):
    record = {**GOOD, "text": f"{MARKER} MFR 12 min", "billed": [{"code": "97140", "units": "many"}]}
    for path, body in (("/v1/check", record), ("/v1/score", {"records": "x" + MARKER})):
        response = client.post(path, json=body)
        assert response.status_code == 422 and MARKER not in response.text


def test_unknown_route_is_a_404(client):
    assert client.get("/v2/nothing").status_code == 404


def test_settings_from_the_environment():
    assert Settings.from_env({}) == Settings()
    assert Settings.from_env({"NOTES_NLP_TOKEN": "t", "NOTES_NLP_MAX_BODY_BYTES": "2048"}) == Settings(token="t", max_body_bytes=2048)
    limits = {"NOTES_NLP_MAX_HEADER_BYTES": "4096", "NOTES_NLP_HEADER_TIMEOUT_SECONDS": "2.5", "NOTES_NLP_BODY_TIMEOUT_SECONDS": "7",
              "NOTES_NLP_KEEP_ALIVE_SECONDS": "1", "NOTES_NLP_MAX_CONNECTIONS": "64"}
    assert Settings.from_env(limits) == Settings(max_header_bytes=4096, header_timeout=2.5, body_timeout=7.0, keep_alive=1.0, max_connections=64)
    for variable, bad in [("NOTES_NLP_MAX_BODY_BYTES", "lots"), ("NOTES_NLP_MAX_BODY_BYTES", "0"), ("NOTES_NLP_MAX_CONNECTIONS", "1.5"),
                          ("NOTES_NLP_HEADER_TIMEOUT_SECONDS", "inf"), ("NOTES_NLP_BODY_TIMEOUT_SECONDS", "nan"), ("NOTES_NLP_KEEP_ALIVE_SECONDS", "-1")]:
        with pytest.raises(ValueError, match=variable):
            Settings.from_env({variable: bad})


def test_rules_only_has_no_model_and_no_score():
    from fastapi.testclient import TestClient

    with TestClient(create_app(Settings(rules_only=True))) as rules_only:
        assert rules_only.get("/healthz").json()["model"] is None
        result = rules_only.post("/v1/check", json=GOOD).json()["result"]
        assert result["lines"][0]["score"] is None

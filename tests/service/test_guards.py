"""The guards: the bearer token on every route but /healthz, the size limit, and no note text in logs."""

from __future__ import annotations

import logging

import pytest

from notes_nlp.service.scorers import Pipeline

MARKER = "Qwxyz-private-words"
NOTE = {"note_id": "n1", "text": f"{MARKER}: MFR to R upper trapezius 12 min.", "billed": [{"code": "97140"}]}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("method, path", [
    ("POST", "/v1/score"), ("POST", "/v1/check"), ("GET", "/cds-services"), ("POST", "/cds-services/note-check"),
    ("GET", "/docs"), ("GET", "/openapi.json"), ("GET", "/no-such-route"),
])
def test_every_route_but_healthz_needs_the_token(guarded, method, path):
    response = guarded.request(method, path, json={})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="notes-nlp"'
    assert "bearer token" in response.json()["detail"]


def test_a_wrong_token_is_refused_and_the_right_one_accepted(guarded, fhir):
    wrong = guarded.post("/v1/check", json=NOTE, headers=bearer("guess"))
    assert wrong.status_code == 401 and 'error="invalid_token"' in wrong.headers["www-authenticate"]
    assert guarded.post("/v1/check", json=NOTE, headers={"Authorization": f"Basic {fhir.TOKEN}"}).status_code == 401
    assert guarded.post("/v1/check", json=NOTE, headers=bearer(fhir.TOKEN)).status_code == 200
    assert guarded.get("/openapi.json", headers=bearer(fhir.TOKEN)).json()["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_healthz_needs_no_token(guarded):
    assert guarded.get("/healthz").status_code == 200


def test_a_body_over_the_limit_is_a_413_by_its_content_length(guarded, fhir):
    body = {"records": [{**NOTE, "text": "x" * fhir.SMALL_BODY}]}
    response = guarded.post("/v1/score", json=body, headers=bearer(fhir.TOKEN))
    assert response.status_code == 413
    assert "NOTES_NLP_MAX_BODY_BYTES" in response.json()["detail"] and MARKER not in response.text


def test_a_streamed_body_over_the_limit_is_a_413(guarded, fhir):
    chunks = iter([b'{"records": [{"note_id": "n1", "text": "'] + [b"y" * 4096] * 8 + [b'"}]}'])
    response = guarded.post("/v1/score", content=chunks, headers={**bearer(fhir.TOKEN), "content-type": "application/json"})
    assert "content-length" not in response.request.headers
    assert response.status_code == 413 and "NOTES_NLP_MAX_BODY_BYTES" in response.json()["detail"]


def test_an_unexpected_error_is_a_500_that_neither_answers_nor_logs_the_note(client, monkeypatch, caplog):
    def broken(pipeline, batches):
        raise ValueError(f"could not read {batches[0][0]['text']}")

    monkeypatch.setattr(Pipeline, "__call__", broken)
    with caplog.at_level(logging.DEBUG):
        response = client.post("/v1/check", json=NOTE)
    assert response.status_code == 500 and MARKER not in response.text
    assert "ValueError" in caplog.text and "/v1/check" in caplog.text and MARKER not in caplog.text


def test_no_request_writes_the_note_to_the_log(client, fhir, caplog):
    text = f"{MARKER} {fhir.CMT_NOTE}"
    with caplog.at_level(logging.DEBUG):
        client.post("/v1/check", json={**NOTE, "text": text})
        client.post("/v1/check", json={**NOTE, "text": text, "billed": [{"code": "97140", "units": 99}]})
        client.post("/v1/score", json={"records": [{**NOTE, "text": text}, {"text": text}]})
        client.post("/cds-services/note-check", json=fhir.note_sign(fhir.document(text)))
        client.post("/cds-services/note-check", json=fhir.note_sign(fhir.document(text, content_type="text/html")))
    assert MARKER not in caplog.text


def test_a_scoring_process_that_stopped_is_a_503_to_retry(client, monkeypatch):
    from notes_nlp.service.errors import ScoringFailed

    def stopped(pipeline, batches):
        raise ScoringFailed("a scoring process stopped while scoring this request (exit code -9); it is being started again: retry", status=503)

    monkeypatch.setattr(Pipeline, "__call__", stopped)
    response = client.post("/v1/check", json=NOTE)
    assert response.status_code == 503 and response.headers["retry-after"] == "5"
    assert "stopped while scoring" in response.json()["detail"] and MARKER not in response.text

"""POST /v1/score with arbitrary JSON: never a 500, and one output record per input record."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notes_nlp.io.values import loads

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=10,
)
TEXTS = st.sampled_from(["MFR to R upper trapezius 12 min to restore rotation.", "\x00", " ", "effleurage 10 min"]) | st.text(max_size=40)
BILLED_LINES = st.fixed_dictionaries({"code": st.sampled_from(["97140", "97124", "98940"]) | JSON_VALUES},
                                     optional={"units": JSON_VALUES, "minutes": JSON_VALUES, "modifiers": JSON_VALUES})
RECORDS = JSON_VALUES | st.fixed_dictionaries(
    {"note_id": st.text(max_size=10) | JSON_VALUES, "text": TEXTS | JSON_VALUES},
    optional={"billed": st.lists(BILLED_LINES, max_size=3) | JSON_VALUES, "chart_id": st.sampled_from(["c1", "c2"]) | JSON_VALUES,
              "date": st.sampled_from(["2026-03-04", "3/9/2026", "2026-02-30"]) | JSON_VALUES,
              "payer": st.sampled_from(["cms", "commercial-strict", "/etc/passwd"]) | JSON_VALUES, "provider_credential": JSON_VALUES},
)
TOKENS = st.sampled_from(["1e400", "NaN", "-Infinity", "9" * 5000, "[" * 40 + "]" * 40])
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


@st.composite
def bodies(draw) -> str:
    """A /v1/score body of arbitrary records, some with a number no float holds written in."""
    records = [json.dumps(record) for record in draw(st.lists(RECORDS, min_size=1, max_size=6))]
    for index in draw(st.sets(st.integers(0, len(records) - 1), max_size=2)):
        records[index] = json.dumps({"note_id": f"n{index}", "text": "MFR 12 min", "x": "@"}).replace('"@"', draw(TOKENS))
    return '{"records": [' + ", ".join(records) + "]}"


@SETTINGS
@given(bodies())
def test_post_v1_score_answers_one_record_per_record(client, body):
    response = client.post("/v1/score", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text[:500]
    sent = loads(body)["records"]
    out = response.json()["records"]
    assert len(out) == len(sent)
    assert all(set(record) >= {"note_id", "lines", "entities", "error"} for record in out)


@SETTINGS
@given(JSON_VALUES)
def test_post_v1_score_with_any_json_body_is_never_a_500(client, value):
    response = client.post("/v1/score", content=json.dumps(value), headers={"content-type": "application/json"})
    assert response.status_code in (200, 422), response.text[:500]

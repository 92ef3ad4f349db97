"""CDS Hooks: discovery, a note-sign call and an order-sign call to cards, and every way a call can be wrong."""

from __future__ import annotations

import base64
import json

import pytest

from notes_nlp import signing
from notes_nlp.service import cds_hooks


def fields(response) -> list[str]:
    return [problem["field"] for problem in response.json()["detail"]]


def test_discovery_lists_the_two_services_with_their_prefetch_templates(client):
    services = {s["id"]: s for s in client.get("/cds-services").json()["services"]}
    assert services["note-check"]["hook"] == "org.notes-nlp.note-sign"
    assert services["note-check"]["prefetch"] == {
        "note": "DocumentReference/{{context.documentReferenceId}}",
        "claim": "Claim?encounter={{context.encounterId}}&status=draft",
    }
    assert services["claim-check"]["hook"] == "order-sign"
    assert all(s["title"] and s["description"] for s in services.values())


def test_a_supported_note_gets_an_info_card(client, fhir):
    response = client.post("/cds-services/note-check", json=fhir.note_sign())
    assert response.status_code == 200
    [card] = response.json()["cards"]
    assert card["indicator"] == "info" and card["summary"].startswith("97140 x1: SUPPORTED")
    assert card["source"] == {"label": cds_hooks.SOURCE_LABEL, "topic": {"system": fhir.claim()["item"][0]["productOrService"]["coding"][0]["system"], "code": "97140"}}
    assert len(card["uuid"]) == 36


def test_an_unsupported_line_gets_a_critical_card_with_what_to_fix(client, fhir):
    billed = fhir.claim(fhir.item("97140", modifiers=("59",)), fhir.item("98940", sequence=2), credential="DC")
    response = client.post("/cds-services/note-check", json=fhir.note_sign(fhir.document(fhir.CMT_NOTE), billed, where="context"))
    [card] = response.json()["cards"]
    assert card["indicator"] == "critical" and len(card["summary"]) < 140
    assert card["summary"].startswith("97140 x1: UNSUPPORTED") and card["summary"].endswith("…")
    assert "Fix before signing:" in card["detail"] and "region(s) adjusted with CMT 98940" in card["detail"]
    assert "(in the note: “" in card["detail"]


def test_the_card_says_what_the_check_command_says(client, fhir):
    """Same note, same billed lines: the card's heading and findings are the check message's lines."""
    billed = fhir.claim(fhir.item("97140", units=2))
    [card] = client.post("/cds-services/note-check", json=fhir.note_sign(billed=billed)).json()["cards"]
    check = client.post("/v1/check", json={"note_id": "note-1", "text": fhir.GOOD_NOTE, "billed": [{"code": "97140", "units": 2}], "date": "2026-03-04"}).json()
    [line] = check["result"]["lines"]
    assert card["summary"].startswith(signing.line_heading(line))
    for finding in line["findings"]:
        assert finding["message"] in card["detail"].replace("\\", "")


def test_order_sign_with_a_draft_claim(client, fhir):
    response = client.post("/cds-services/claim-check", json=fhir.order_sign())
    assert response.status_code == 200 and [c["indicator"] for c in response.json()["cards"]] == ["info"]


def test_order_sign_without_a_claim_or_without_muscle_work_has_no_card(client, fhir):
    no_claim = fhir.order_sign()
    no_claim["context"]["draftOrders"]["entry"][0]["resource"] = {"resourceType": "MedicationRequest", "status": "draft"}
    assert client.post("/cds-services/claim-check", json=no_claim).json() == {"cards": []}
    only_cmt = fhir.order_sign(fhir.claim(fhir.item("98940")))
    del only_cmt["prefetch"]  # the note is not needed when nothing is to be checked
    assert client.post("/cds-services/claim-check", json=only_cmt).json() == {"cards": []}


def test_a_prefetched_claim_that_is_null_means_nothing_billed(client, fhir):
    call = fhir.note_sign()
    call["prefetch"]["claim"] = None
    assert client.post("/cds-services/note-check", json=call).json() == {"cards": []}


@pytest.mark.parametrize("key", ["claim", "note"])
def test_a_missing_note_or_claim_is_a_412_naming_it(client, fhir, key):
    call = fhir.note_sign()
    del call["prefetch"][key]
    response = client.post("/cds-services/note-check", json=call)
    assert response.status_code == 412 and fields(response) == [f"prefetch.{key}"]
    assert "does not query the FHIR server" in response.json()["detail"][0]["msg"]


def test_bad_base64_is_a_422_on_the_attachment(client, fhir):
    for data in ("!!!not base64", "bm90ZQ", "bm90 ZQ=="[:-1]):
        note = fhir.document()
        note["content"][0]["attachment"]["data"] = data
        response = client.post("/cds-services/note-check", json=fhir.note_sign(note))
        assert response.status_code == 422 and fields(response) == ["prefetch.note.content[0].attachment.data"], data


def test_a_note_given_only_by_url_must_be_inlined(client, fhir):
    note = fhir.document()
    note["content"] = [{"attachment": {"contentType": "text/plain", "url": "https://ehr.example.org/Binary/1"}}]
    response = client.post("/cds-services/note-check", json=fhir.note_sign(note))
    assert response.status_code == 422 and fields(response) == ["prefetch.note.content[0].attachment.data"]
    assert "inline its text" in response.json()["detail"][0]["msg"]


def test_the_note_must_be_utf8_text_plain_and_not_empty(client, fhir):
    html = client.post("/cds-services/note-check", json=fhir.note_sign(fhir.document(content_type="text/html")))
    assert html.status_code == 422 and fields(html) == ["prefetch.note.content[0].attachment.contentType"]
    latin = fhir.document()
    latin["content"][0]["attachment"]["data"] = base64.b64encode(fhir.GOOD_NOTE.encode("latin-1")).decode()
    assert fields(client.post("/cds-services/note-check", json=fhir.note_sign(latin))) == ["prefetch.note.content[0].attachment.data"]
    latin["content"][0]["attachment"]["contentType"] = "text/plain; charset=latin-1"
    assert client.post("/cds-services/note-check", json=fhir.note_sign(latin)).status_code == 200
    blank = client.post("/cds-services/note-check", json=fhir.note_sign(fhir.document("  \n")))
    assert blank.status_code == 422 and "empty" in blank.json()["detail"][0]["msg"]


def test_fhir_validation_errors_name_the_field(client, fhir):
    note = fhir.document()
    del note["status"]
    response = client.post("/cds-services/note-check", json=fhir.note_sign(note))
    assert response.status_code == 422 and fields(response) == ["prefetch.note.status"]
    billed = fhir.claim()
    billed["item"][0]["quantity"]["value"] = "two"
    response = client.post("/cds-services/note-check", json=fhir.note_sign(billed=fhir.bundle(billed)))
    assert fields(response) == ["prefetch.claim.entry[0].resource.item[0].quantity.value"]
    patient = client.post("/cds-services/note-check", json=fhir.note_sign({"resourceType": "Patient", "id": "p1"}))
    assert fields(patient) == ["prefetch.note.resourceType"] and "got 'Patient'" in patient.json()["detail"][0]["msg"]


@pytest.mark.parametrize("line, field, says", [
    ({"units": 40}, "quantity.value", "1 to 24"),
    ({"code": "9714"}, "productOrService.coding[0].code", "5-character"),
    ({"modifiers": ("591",)}, "modifier", "2-character"),
])
def test_billed_line_errors_name_the_claim_item_field(client, fhir, line, field, says):
    billed = fhir.claim(fhir.item(line.get("code", "97140"), units=line.get("units", 1), modifiers=line.get("modifiers", ())))
    response = client.post("/cds-services/note-check", json=fhir.note_sign(billed=billed))
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["field"] == f"prefetch.claim.item[0].{field}" and says in problem["msg"]


def test_two_notes_in_a_bundle_is_ambiguous(client, fhir):
    response = client.post("/cds-services/note-check", json=fhir.note_sign(fhir.bundle(fhir.document(), fhir.document())))
    assert response.status_code == 422 and fields(response) == ["prefetch.note.entry"]


def test_the_payer_comes_from_the_extension(client, fhir):
    call = fhir.note_sign(billed=fhir.claim(credential="LMT"))
    call["extension"] = {"org.notes-nlp.payer": "commercial-strict"}
    [card] = client.post("/cds-services/note-check", json=call).json()["cards"]
    assert card["indicator"] == "critical" and "commercial-strict pays 97140 only when a DC/PT/MD performs it" in card["detail"]
    call["extension"] = {"org.notes-nlp.payer": "acme"}
    response = client.post("/cds-services/note-check", json=call)
    assert response.status_code == 422 and fields(response) == ["extension.org.notes-nlp.payer"]


def test_wrong_hook_unknown_service_and_bad_request(client, fhir):
    wrong = client.post("/cds-services/claim-check", json=fhir.note_sign())
    assert wrong.status_code == 400 and fields(wrong) == ["hook"]
    unknown = client.post("/cds-services/patient-view", json=fhir.note_sign())
    assert unknown.status_code == 404 and "note-check" in unknown.json()["detail"]
    no_context = client.post("/cds-services/note-check", json={"hook": "org.notes-nlp.note-sign", "hookInstance": "x"})
    assert no_context.status_code == 422 and fields(no_context) == ["context"]


# --- the pure functions ---


def test_credential_from_the_responsible_care_team_member(fhir):
    from fhir.resources.R4B.claim import Claim

    resource = fhir.claim(credential="d.p.t.")
    resource["careTeam"].insert(0, {"sequence": 2, "provider": {"reference": "Practitioner/x"}, "qualification": {"text": "LMT"}})
    assert cds_hooks.claim_credential(Claim.model_validate(resource)) == "DPT"
    del resource["careTeam"][1]
    assert cds_hooks.claim_credential(Claim.model_validate(resource)) == "LMT"
    del resource["careTeam"]
    assert cds_hooks.claim_credential(Claim.model_validate(resource)) is None


def test_items_in_other_code_systems_are_not_billed_lines(fhir):
    from fhir.resources.R4B.claim import Claim

    supply = {"sequence": 3, "productOrService": {"coding": [{"system": "http://hl7.org/fhir/sid/ndc", "code": "0002-8215-01"}]}}
    hcpcs = {"sequence": 4, "productOrService": {"coding": [{"system": "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets", "code": "G0283"}]}}
    resource = fhir.claim(fhir.item("97140", units=2, modifiers=("GP", "59")), supply, hcpcs)
    assert cds_hooks.billed_lines(Claim.model_validate(resource), ("claim",)) == [
        {"code": "97140", "units": 2, "modifiers": ["GP", "59"]}, {"code": "G0283", "units": 1},
    ]


def test_clip_keeps_whole_words_under_the_limit():
    assert cds_hooks.clip("short", 139) == "short"
    clipped = cds_hooks.clip("word " * 40, 139)
    assert len(clipped) <= 139 and clipped.endswith("word…")


def test_detail_escapes_note_words_as_markdown():
    line = {"code": "97124", "units": 1, "verdict": "at_risk", "score": 0.04, "suggested_code": "97140", "findings": [
        {"rule": "no-measure", "severity": "warning", "message": "Add a measure.", "evidence": [{"start": 0, "end": 9, "text": "*deep* _x_"}]},
    ]}
    text = cds_hooks.detail(line)
    assert text.startswith("**97124 x1: AT RISK (score 0.04)**") and "The documentation fits **97140**." in text
    assert "“\\*deep\\* \\_x\\_”" in text and "\nWorth adding:" in text
    assert cds_hooks.card(line)["indicator"] == "warning"


@pytest.mark.parametrize("quantity, says", [("9" * 400, "from 1 to 24"), ("1e400", "not a number"), ("NaN", "not a number"), ("9" * 5000, "not a number")])
def test_a_claim_quantity_no_units_can_be_is_a_422_naming_it(client, fhir, quantity, says):
    """A 400-digit quantity was a 500 (a float overflowing to inf); 1e400 and NaN reached
    fhir.resources' Decimal."""
    call = json.dumps(fhir.note_sign(billed=fhir.claim(fhir.item("97140", units=None))))
    body = call.replace('"sequence": 1, "productOrService"', f'"sequence": 1, "quantity": {{"value": {quantity}}}, "productOrService"')
    response = client.post("/cds-services/note-check", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["field"] == "prefetch.claim.item[0].quantity.value" and says in problem["msg"]

"""Service fixtures: one application per configuration, and FHIR resources built from small notes."""

from __future__ import annotations

import base64
import copy

import pytest
from fastapi.testclient import TestClient

from notes_nlp.service.app import Settings, create_app

TOKEN = "test-token-5f1c"
SMALL_BODY = 20_000
CPT = "http://www.ama-assn.org/go/cpt"

GOOD_NOTE = (
    "S: neck pain 5/10, can't check blind spot. O: cervical rotation R 45°. Dx M54.2 cervicalgia.\n"
    "Tx: MFR to R upper trapezius and levator 12 min to restore cervical rotation.\n"
    "Goal: rotation 70° and check blind spot without pain in 4 wks."
)
CMT_NOTE = (
    "S: neck pain 6/10 after MVA, rotation R 40 deg. Dx S13.4XXA.\nCMT: Diversified C5, T4.\n"
    "MFR to R upper trapezius 10 min to restore cervical rotation.\n"
    "Goal: check blind spot without pain, rotation 70 deg, in 4 wks.\nSigned: A. Smith, DC"
)


@pytest.fixture(scope="session")
def client():
    """The service as `notes-nlp serve` runs it by default: no token, 1 MiB body limit."""
    with TestClient(create_app(Settings())) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def guarded():
    """The service with a bearer token and a small body limit."""
    with TestClient(create_app(Settings(token=TOKEN, max_body_bytes=SMALL_BODY))) as test_client:
        yield test_client


def document(text: str = GOOD_NOTE, content_type: str | None = "text/plain; charset=utf-8", **extra) -> dict:
    attachment = {"data": base64.b64encode(text.encode("utf-8")).decode("ascii")}
    if content_type:
        attachment["contentType"] = content_type
    return {"resourceType": "DocumentReference", "id": "note-1", "status": "current", "docStatus": "final",
            "date": "2026-03-04T10:15:00Z", "content": [{"attachment": attachment}], **extra}


def item(code: str, units: int | None = 1, modifiers: tuple[str, ...] = (), sequence: int = 1) -> dict:
    entry = {"sequence": sequence, "productOrService": {"coding": [{"system": CPT, "code": code}]}}
    if modifiers:
        entry["modifier"] = [{"coding": [{"system": CPT, "code": m}]} for m in modifiers]
    if units is not None:
        entry["quantity"] = {"value": units}
    return entry


def claim(*items: dict, credential: str | None = None) -> dict:
    resource = {
        "resourceType": "Claim", "id": "claim-1", "status": "draft", "use": "claim",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
        "patient": {"reference": "Patient/p1"}, "created": "2026-03-04", "provider": {"reference": "Practitioner/pr1"},
        "priority": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/processpriority", "code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/cov1"}}],
        "item": list(items) or [item("97140")],
    }
    if credential:
        resource["careTeam"] = [{"sequence": 1, "provider": {"reference": "Practitioner/pr1"}, "responsible": True,
                                 "qualification": {"coding": [{"code": credential}]}}]
    return resource


def bundle(*resources: dict) -> dict:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


def note_sign(note: dict | None = None, billed: dict | None = None, where: str = "prefetch") -> dict:
    """A note-sign hook call with the note and the claim in prefetch (or in context)."""
    resources = {"note": note or document(), "claim": billed or claim()}
    call = {
        "hook": "org.notes-nlp.note-sign", "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/pr1", "patientId": "p1", "encounterId": "e1", "documentReferenceId": "note-1"},
        "prefetch": {},
    }
    call["context" if where == "context" else "prefetch"].update(copy.deepcopy(resources))
    return call


def order_sign(billed: dict | None = None, note: dict | None = None) -> dict:
    orders = bundle(billed or claim())
    orders["type"] = "collection"
    return {"hook": "order-sign", "hookInstance": "0c7e3b5a-2a1f-4d7e-9f0e-7d6c2f1f4e11",
            "context": {"userId": "Practitioner/pr1", "patientId": "p1", "encounterId": "e1", "draftOrders": orders},
            "prefetch": {"note": note or document()}}


@pytest.fixture
def fhir():
    """The builders above, for test modules (importlib import mode: conftest is not importable)."""
    import types

    return types.SimpleNamespace(
        document=document, item=item, claim=claim, bundle=bundle, note_sign=note_sign, order_sign=order_sign,
        GOOD_NOTE=GOOD_NOTE, CMT_NOTE=CMT_NOTE, TOKEN=TOKEN, SMALL_BODY=SMALL_BODY,
    )

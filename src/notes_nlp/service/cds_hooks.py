"""CDS Hooks 2.0: the services we offer, a hook call turned into a note record, and cards.

An EHR calls a CDS service with a hook request whose ``context`` and
``prefetch`` hold FHIR resources. Ours need two: the note, a
``DocumentReference`` with its text inlined as base64 ``attachment.data``, and
the billed lines, a draft ``Claim`` (``item[].productOrService`` coded in CPT,
``item[].modifier``, ``item[].quantity``). Both are validated with
``fhir.resources``; we use its R4B models, which have the same
DocumentReference and Claim as FHIR R4 (the package's top-level models are R5,
whose DocumentReference differs).

No standard hook fires when a note is signed (``report-sign`` is only a
proposal), so the note check listens on a custom hook named in reverse-domain
notation, ``org.notes-nlp.note-sign``; the claim check listens on the standard
``order-sign`` and reads the draft Claim from ``context.draftOrders``.

This service never contacts the FHIR server: a resource the EHR did not send
is required data it cannot obtain, which CDS Hooks answers with 412, and a note
given only by ``attachment.url`` is refused with a 422 saying to inline it.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from notes_nlp import signing
from notes_nlp.codes import muscle_work_codes
from notes_nlp.io.values import find_problem
from notes_nlp.rules.billing import parse_line
from notes_nlp.rules.profiles import CREDENTIALS, bundled_profiles
from notes_nlp.service.errors import RequestProblem, pydantic_problems
from notes_nlp.service.schemas import SUMMARY_MAX, CdsRequest

NOTE_SIGN = "org.notes-nlp.note-sign"
ORDER_SIGN = "order-sign"
CPT_SYSTEM = "http://www.ama-assn.org/go/cpt"
HCPCS_SYSTEMS = frozenset({
    "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
    "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
})
PAYER_EXTENSION = "org.notes-nlp.payer"
SOURCE_LABEL = "notes-nlp documentation check"
INDICATORS = {"supported": "info", "at_risk": "warning", "unsupported": "critical"}
_ABSENT = object()
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


@dataclass(frozen=True)
class Service:
    """One CDS service: its discovery entry, and where its hook puts the Claim."""

    id: str
    hook: str
    title: str
    description: str
    prefetch: dict[str, str] = field(default_factory=dict)

    def definition(self) -> dict[str, Any]:
        return {"hook": self.hook, "id": self.id, "title": self.title, "description": self.description, "prefetch": self.prefetch}


SERVICES = {
    service.id: service
    for service in (
        Service(
            id="note-check",
            hook=NOTE_SIGN,
            title="97124/97140 documentation check at note signing",
            description=(
                "Does the note being signed support its billed 97124 (massage) or 97140 (manual therapy) lines? "
                "Context: documentReferenceId and encounterId (for the prefetch), or the resources themselves as "
                "context.note (DocumentReference, text/plain inlined as base64 attachment.data) and context.claim "
                "(draft Claim, CPT in item[].productOrService). One card per 97124/97140 line: info when supported, "
                "warning when at risk, critical when not supported."
            ),
            prefetch={
                "note": "DocumentReference/{{context.documentReferenceId}}",
                "claim": "Claim?encounter={{context.encounterId}}&status=draft",
            },
        ),
        Service(
            id="claim-check",
            hook=ORDER_SIGN,
            title="97124/97140 documentation check when a draft Claim is signed",
            description=(
                "order-sign with a draft Claim in context.draftOrders: checks its 97124/97140 lines against the "
                "encounter's current note (prefetch.note). No card when the orders hold no Claim with such a line."
            ),
            prefetch={"note": "DocumentReference?encounter={{context.encounterId}}&status=current&_sort=-date&_count=1"},
        ),
    )
}


# --- from a hook call to a note record ---


def note_record(request: CdsRequest, service: Service) -> dict[str, Any] | None:
    """The note record (docs/formats.md) a hook call asks about; None when it bills no 97124/97140.

    Raises :class:`RequestProblem`: 412 when the note or the claim was not sent,
    422 naming the field when one is malformed.
    """
    claim, claim_loc = _claim(request, service)
    if claim is None:
        return None
    billed = billed_lines(claim, claim_loc)
    if not any(line["code"] in muscle_work_codes() for line in billed):
        return None
    found, note_loc = _locate(request, "note")
    if found is _ABSENT:
        raise RequestProblem(412, ("body", "prefetch", "note"), "the note being signed is missing: send the DocumentReference "
                             "as context.note or prefetch.note (this service does not query the FHIR server)", "missing_prefetch")
    document, note_loc = _one(found, "DocumentReference", note_loc)
    if document is None:
        raise RequestProblem(412, note_loc, "no DocumentReference was found for the note being signed", "missing_prefetch")
    record = {"note_id": document.id or "note", "text": note_text(document, note_loc), "billed": billed}
    if document.date:
        record["date"] = document.date.date().isoformat()
    credential = claim_credential(claim)
    if credential:
        record["provider_credential"] = credential
    payer = (request.extension or {}).get(PAYER_EXTENSION)
    if payer is not None:
        if payer not in bundled_profiles():
            known = ", ".join(bundled_profiles())
            raise RequestProblem(422, ("body", "extension", PAYER_EXTENSION), f"unknown payer profile {payer!r}; bundled: {known}", "value_error")
        record["payer"] = payer
    return record


def _claim(request: CdsRequest, service: Service) -> tuple[Any, tuple]:
    """The validated draft Claim of the call, or None when the EHR says there is none."""
    if service.hook == ORDER_SIGN:
        orders = request.context.get("draftOrders")
        loc = ("body", "context", "draftOrders")
        if orders is None:
            return None, loc
        return _one(orders, "Claim", loc)
    found, loc = _locate(request, "claim")
    if found is _ABSENT:
        raise RequestProblem(412, ("body", "prefetch", "claim"), "the draft Claim with the billed lines is missing: send it as "
                             "context.claim or prefetch.claim (this service does not query the FHIR server)", "missing_prefetch")
    return _one(found, "Claim", loc)


def _locate(request: CdsRequest, key: str) -> tuple[Any, tuple]:
    """A resource the EHR sent in context (the draft being signed) or else in prefetch; _ABSENT if neither.

    A prefetch key that is present but null means the EHR looked and found nothing.
    """
    if key in request.context:
        return request.context[key], ("body", "context", key)
    if request.prefetch is not None and key in request.prefetch:
        return request.prefetch[key], ("body", "prefetch", key)
    return _ABSENT, ("body", "prefetch", key)


def _one(value: Any, resource_type: str, loc: tuple) -> tuple[Any, tuple]:
    """The one resource of a type in a resource or a Bundle (a search result), validated; None if none."""
    if value is None:
        return None, loc
    if not isinstance(value, dict):
        raise RequestProblem(422, loc, f"must be a FHIR {resource_type} or a Bundle (a JSON object)", "model_type")
    if value.get("resourceType") == "Bundle":
        entries = value.get("entry") or []
        if not isinstance(entries, list):
            raise RequestProblem(422, (*loc, "entry"), "must be a list of bundle entries", "list_type")
        found = [(i, e["resource"]) for i, e in enumerate(entries)
                 if isinstance(e, dict) and isinstance(e.get("resource"), dict) and e["resource"].get("resourceType") == resource_type]
        if not found:
            return None, loc
        if len(found) > 1:
            raise RequestProblem(422, (*loc, "entry"), f"holds {len(found)} {resource_type} resources; send the one being signed", "too_many")
        index, value = found[0]
        loc = (*loc, "entry", index, "resource")
    elif value.get("resourceType") != resource_type:
        raise RequestProblem(422, (*loc, "resourceType"), f"expected a {resource_type} (or a Bundle of them), got {value.get('resourceType')!r}", "resource_type")
    if resource_type == "DocumentReference":
        _check_base64(value, loc)
    return _validate(value, resource_type, loc), loc


def _check_base64(document: dict[str, Any], loc: tuple) -> None:
    """Refuse attachment data that is not strict base64: the lenient decoder fhir.resources uses
    skips stray characters, which would turn a broken attachment into a garbled note."""
    for index, content in enumerate(document.get("content") or []):
        attachment = content.get("attachment") if isinstance(content, dict) else None
        data = attachment.get("data") if isinstance(attachment, dict) else None
        if isinstance(data, str):
            compact = "".join(data.split())
            if len(compact) % 4 or not _BASE64.fullmatch(compact):
                raise RequestProblem(422, (*loc, "content", index, "attachment", "data"),
                                     "not valid base64 (RFC 4648: A-Z a-z 0-9 + /, padded with = to a multiple of 4)", "base64_decode")


def _validate(value: dict[str, Any], resource_type: str, loc: tuple) -> Any:
    """A FHIR R4 resource checked by fhir.resources; a 422 naming each bad field otherwise. A value
    no resource can hold (1e400, NaN, 5,000 digits: fhir.resources' Decimal would raise a
    TypeError on it) or nesting past the records' limit is refused first, with its field."""
    from pydantic import ValidationError

    if found := find_problem(value):
        where, message = found
        raise RequestProblem(422, (*loc, *where), message)
    if resource_type == "Claim":
        from fhir.resources.R4B.claim import Claim as model
    else:
        from fhir.resources.R4B.documentreference import DocumentReference as model
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise RequestProblem.of(422, pydantic_problems(exc.errors(), prefix=loc)) from None


def note_text(document: Any, loc: tuple) -> str:
    """The note's text: the first text/plain attachment with inline data, decoded by its charset."""
    contents = list(enumerate(document.content or []))
    with_data = [(i, c.attachment) for i, c in contents if c.attachment is not None and c.attachment.data is not None]
    if not with_data:
        by_url = [i for i, c in contents if c.attachment is not None and c.attachment.url]
        where = (*loc, "content", by_url[0] if by_url else 0, "attachment", "data")
        if by_url:
            raise RequestProblem(422, where, "the note is given only by attachment.url: inline its text as base64 attachment.data "
                                 "(or prefetch the DocumentReference with its data); this service does not fetch URLs", "missing")
        raise RequestProblem(422, where, "no attachment holds the note's text: put it in attachment.data (base64, text/plain)", "missing")
    for index, attachment in with_data:
        media, charset = _media_type(attachment.contentType)
        if media != "text/plain":
            continue
        where = (*loc, "content", index, "attachment", "data")
        try:
            text = attachment.data.decode(charset)
        except LookupError:
            raise RequestProblem(422, (*loc, "content", index, "attachment", "contentType"), f"unknown charset {charset!r}", "value_error") from None
        except UnicodeDecodeError as exc:
            raise RequestProblem(422, where, f"the decoded note is not {charset} (byte {exc.start}); send the text as {charset} or name its charset in contentType", "value_error") from None
        if not text.strip():
            raise RequestProblem(422, where, "the note's text is empty", "value_error")
        return text
    index, attachment = with_data[0]
    raise RequestProblem(422, (*loc, "content", index, "attachment", "contentType"),
                         f"the note must be text/plain, got {attachment.contentType!r}", "value_error")


def _media_type(content_type: str | None) -> tuple[str, str]:
    """``text/plain; charset=latin-1`` → ("text/plain", "latin-1"); no content type is text/plain in UTF-8."""
    media, *params = (content_type or "text/plain").split(";")
    charset = "utf-8"
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"')
    return media.strip().lower(), charset


def billed_lines(claim: Any, loc: tuple) -> list[dict[str, Any]]:
    """The Claim's CPT/HCPCS items as billed lines, checked by the core's own billed-line rules.

    Items coded in another system (supplies, drugs) are not billed services we judge and are skipped.
    """
    lines = []
    for i, item in enumerate(claim.item or []):
        where = (*loc, "item", i)
        codes = [(k, c.code) for k, c in enumerate(item.productOrService.coding or [])
                 if c.code and (c.system == CPT_SYSTEM or c.system in HCPCS_SYSTEMS)]
        if not codes:
            continue
        coding_index, code = codes[0]
        modifiers = list(dict.fromkeys(c.code for m in item.modifier or [] for c in m.coding or [] if c.code))
        line: dict[str, Any] = {"code": code}
        if modifiers:
            line["modifiers"] = modifiers
        if item.quantity is not None and item.quantity.value is not None:
            line["units"] = _units(item.quantity.value)
        fhir_places = {
            "code": (*where, "productOrService", "coding", coding_index, "code"),
            "modifiers": (*where, "modifier"),
            "units": (*where, "quantity", "value"),
        }
        try:
            parsed = parse_line(len(lines), line)
        except ValueError as exc:
            message = str(exc)
            name = message.removeprefix(f"billed[{len(lines)}].").split(" ", 1)[0]
            raise RequestProblem(422, fhir_places.get(name, where), message.split(" ", 1)[1], "value_error") from None
        lines.append({"code": parsed.code, "units": parsed.units, **({"modifiers": list(parsed.modifiers)} if parsed.modifiers else {})})
    return lines


def _units(quantity: Decimal) -> int | float:
    """A Claim quantity as the billed-line check reads units: a whole Decimal as an int (a 400-digit
    one is then out of range, not a float overflowing to inf), another as a float (not whole)."""
    return int(quantity) if quantity == quantity.to_integral_value() else float(quantity)


def claim_credential(claim: Any) -> str | None:
    """The credential of the claim's care team (the responsible member first), when it names one we know."""
    team = sorted(claim.careTeam or [], key=lambda member: not member.responsible)
    for member in team:
        qualification = member.qualification
        if qualification is None:
            continue
        for candidate in [c.code for c in qualification.coding or []] + [qualification.text]:
            cleaned = (candidate or "").strip().upper().replace(".", "")
            if cleaned in CREDENTIALS:
                return cleaned
    return None


# --- cards ---


def cards(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One card per 97124/97140 line of a scored record."""
    return [card(line) for line in result["lines"]]


def card(line: dict[str, Any]) -> dict[str, Any]:
    return {
        "uuid": str(uuid.uuid4()),
        "summary": summary(line),
        "indicator": INDICATORS[line["verdict"]],
        "detail": detail(line),
        "source": {"label": SOURCE_LABEL, "topic": {"system": CPT_SYSTEM, "code": line["code"]}},
    }


def summary(line: dict[str, Any]) -> str:
    """The line's heading and its first error (or the better code), in fewer than 140 characters."""
    first_error = next((f["message"] for f in line["findings"] if f["severity"] == "error"), None)
    better = signing.better_code(line)
    reason = first_error or (f"the documentation fits {better}" if better else None)
    text = signing.line_heading(line) + (f": {reason}" if reason else "")
    return clip(text, SUMMARY_MAX)


def clip(text: str, limit: int) -> str:
    """Text cut at a word boundary with an ellipsis, so that it has at most ``limit`` characters."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut).rstrip(" ,;:") + "…"


def detail(line: dict[str, Any]) -> str:
    """Markdown: the heading, the better code, each finding (what to fix) with the words that decided it."""
    out = [f"**{signing.line_heading(line)}**", ""]
    better = signing.better_code(line)
    if better:
        out += [f"The documentation fits **{better}**.", ""]
    errors = [f for f in line["findings"] if f["severity"] == "error"]
    others = [f for f in line["findings"] if f["severity"] != "error"]
    if errors:
        out += ["Fix before signing:", *(_bullet(f) for f in errors), ""]
    if others:
        out += ["Also worth adding:" if errors else "Worth adding:", *(_bullet(f) for f in others), ""]
    if not line["findings"]:
        out += ["Nothing to fix: the documentation supports this line.", ""]
    return "\n".join(out).rstrip() + "\n"


def _bullet(finding: dict[str, Any]) -> str:
    quoted = "; ".join(f"“{_markdown_escape(e['text'])}”" for e in finding["evidence"][:3])
    return f"- {_markdown_escape(signing.finding_note(finding))}" + (f" (in the note: {quoted})" if quoted else "")


def _markdown_escape(text: str) -> str:
    """Note words shown as text, not as markdown (an asterisk in a note must not start emphasis)."""
    return "".join(f"\\{ch}" if ch in "\\`*_[]<>#|" else ch for ch in " ".join(text.split()))

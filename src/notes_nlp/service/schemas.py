"""Request and response models of the service: what ``/docs`` shows and what FastAPI checks.

The input models follow docs/formats.md field by field, with the limits the
core enforces (code and modifier shapes, units 1-24, minutes 0-720, text up to
200,000 characters, bundled payer names), so that a request the schema accepts
is one the core can score and a bad one is answered with a 422 naming the field.

The output models describe what :func:`notes_nlp.scoring.score` returns. The
endpoints return that dict as it is (the same JSON as ``notes-nlp score``), so
these models document the responses and the schemathesis test holds them to it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, field_validator

from notes_nlp.codes import code_syntax, muscle_work_codes
from notes_nlp.io.billed import MODIFIER
from notes_nlp.io.dates import FORMATS, parse_date
from notes_nlp.io.records import MAX_CREDENTIAL_CHARS, MAX_ID_CHARS, MAX_TEXT_CHARS, VISIBLE
from notes_nlp.rules.billing import MAX_MINUTES, MAX_UNITS
from notes_nlp.rules.profiles import bundled_profiles

MAX_RECORDS = 1000
SUMMARY_MAX = 139  # CDS Hooks: a summary of fewer than 140 characters

PayerName = Literal[tuple(bundled_profiles())]  # type: ignore[valid-type]

# --- input: note records (docs/formats.md) ---


def _json_integer(value: Any) -> Any:
    """A JSON integer, as JSON Schema has it: 2 or 2.0, but not true, "2" or 2.5."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError("must be a whole number")
    return int(value)


def _date(value: str) -> str:
    parse_date(value)  # ValueError: "date must be written ...", "date ... is not a day of the calendar"
    return value


Units = Annotated[int, Field(ge=1, le=MAX_UNITS), BeforeValidator(_json_integer)]
# The schema shows the ISO form (and "", no date); M/D/YYYY is read too, which no JSON Schema
# pattern can hold to real days of the calendar.
NoteDate = Annotated[str, AfterValidator(_date), WithJsonSchema(
    {"type": "string", "anyOf": [{"format": "date"}, {"maxLength": 0}], "examples": ["2026-03-04"]})]
Minutes = Annotated[int, Field(ge=0, le=MAX_MINUTES), BeforeValidator(_json_integer)]


class BilledLine(BaseModel):
    """One billed line. Unknown fields are refused: a misspelt ``modifiers`` would silently drop a 59."""

    model_config = ConfigDict(extra="forbid", strict=True)

    code: str = Field(pattern=f"^(?:{code_syntax()})$", description="CPT or HCPCS code", examples=["97140"])
    modifiers: list[Annotated[str, Field(pattern=f"^{MODIFIER}$")]] = Field(
        default_factory=list, max_length=4, description="CPT/HCPCS modifiers, e.g. 59 or XS", examples=[["59"]]
    )
    units: Units = Field(1, description="units billed (15 minutes each for timed codes)")
    minutes: Minutes | None = Field(None, description="minutes of this service; else read from the text")
    label: Literal["supported", "unsupported"] | None = Field(None, description="gold label of a labeled note (ignored when scoring)")


class NoteRecord(BaseModel):
    """A note as in docs/formats.md. Other fields (labels, sources) are accepted and ignored."""

    model_config = ConfigDict(extra="allow", strict=True)  # strict: false is not 0 minutes, nor "2" two units

    note_id: str = Field(min_length=1, max_length=MAX_ID_CHARS, examples=["n-0001"])
    text: str = Field(
        min_length=1, max_length=MAX_TEXT_CHARS, pattern=VISIBLE, description="the note's free text (not only blanks and control characters)",
        examples=["S: neck pain 5/10. O: cervical rotation R 45°. Dx M54.2.\nTx: MFR to R upper trapezius 12 min to restore rotation.\n"
                  "Goal: rotation 70° and check blind spot without pain in 4 wks."],
    )
    billed: list[BilledLine] | None = Field(
        None, max_length=50, description="billed lines; when absent, the codes written in the text are used"
    )
    chart_id: str | None = Field(None, max_length=MAX_ID_CHARS, description="notes sharing a chart_id are judged together")
    date: NoteDate | None = Field(None, max_length=40, description=f"orders the notes of a chart: {FORMATS}")
    provider_credential: str | None = Field(None, max_length=MAX_CREDENTIAL_CHARS, examples=["DC"], description="signer's credential")
    payer: PayerName | None = Field(None, description="payer profile; cms when absent")


class CheckRequest(NoteRecord):
    """One note to check at signing: its billed lines must include a 97124 or 97140 line."""

    billed: list[BilledLine] = Field(
        min_length=1, max_length=50,
        description="billed lines, at least one of them 97124 or 97140",
        json_schema_extra={"contains": {"type": "object", "properties": {"code": {"enum": list(muscle_work_codes())}}, "required": ["code"]}},
    )

    @field_validator("billed")
    @classmethod
    def _has_muscle_work(cls, lines: list[BilledLine]) -> list[BilledLine]:
        if not any(line.code in muscle_work_codes() for line in lines):
            raise ValueError("no 97124 or 97140 line to check: add the 97124/97140 line being billed")
        return lines


# Documented as a NoteRecord, accepted as any JSON value: the core reports what is wrong with each record.
AnyRecord = Annotated[Any, WithJsonSchema({"$ref": "#/components/schemas/NoteRecord"})]


class ScoreRequest(BaseModel):
    """Note records to score together (notes sharing a chart_id are judged as a chart)."""

    model_config = ConfigDict(strict=True)

    records: list[AnyRecord] = Field(
        min_length=1, max_length=MAX_RECORDS,
        description=f"1 to {MAX_RECORDS} note records. Each is checked on its own, as `notes-nlp score` does: "
        "a record that is not a valid note gets an output record with `error`, and the others are scored.",
    )


# --- output: scored records (docs/formats.md) ---


class Evidence(BaseModel):
    start: int
    end: int
    text: str


class Finding(BaseModel):
    rule: str = Field(examples=["no-goal"])
    severity: Literal["error", "warning", "info"]
    message: str = Field(description="what is wrong and what to add or change")
    evidence: list[Evidence]


class ScoredLine(BaseModel):
    code: str
    billed_index: int = Field(description="position of the line in the record's billed lines")
    units: int
    verdict: Literal["supported", "at_risk", "unsupported"]
    score: float | None = Field(description="calibrated probability that the documentation supports the line; null with rules only")
    suggested_code: str = Field(description="the code the documentation best fits: 97124, 97140 or none")
    findings: list[Finding]


class Entity(BaseModel):
    label: str
    start: int
    end: int
    text: str
    status: str | None
    negated: bool
    hypothetical: bool
    historical: bool
    cue: str | None
    section: str | None
    value: Any = Field(description="what was parsed: minutes, codes, regions, credential roles, goal measurability")


class PayerRef(BaseModel):
    name: str
    version: str


class ScoredRecord(BaseModel):
    note_id: str | None
    payer_profile: PayerRef | None = Field(None, description="absent when the record could not be scored")
    lines: list[ScoredLine]
    entities: list[Entity]
    error: str | None = Field(description="why the record could not be scored; null when it was")


class ScoreResponse(BaseModel):
    records: list[ScoredRecord] = Field(description="one per input record, in input order")


class CheckResponse(BaseModel):
    passed: bool = Field(description="every 97124/97140 line supported (`notes-nlp check` exits 0)")
    message: str = Field(description="the clinician's message, as `notes-nlp check` prints it")
    result: ScoredRecord


class ModelInfo(BaseModel):
    name: str
    version: str = Field(description="first 12 hex digits of the model file's sha256")
    created: str | None
    at_risk_below: float = Field(description="lines without errors scoring below this are at_risk")


class Health(BaseModel):
    status: Literal["ok"]
    notes_nlp: str = Field(description="package version")
    model: ModelInfo | None = Field(description="null when serving with the rules only")
    payer_profiles: list[PayerRef]


# --- errors ---


class FieldProblem(BaseModel):
    loc: list[str | int] = Field(description="where the problem is, FastAPI style: body, then keys and indices")
    field: str = Field(description="the same place written as a path, e.g. records[2].billed[0].units")
    msg: str
    type: str


class ValidationProblem(BaseModel):
    detail: list[FieldProblem]


class Problem(BaseModel):
    detail: str


# --- CDS Hooks 2.0 ---


class CdsServiceDefinition(BaseModel):
    hook: str
    id: str
    title: str
    description: str
    prefetch: dict[str, str]


class CdsDiscovery(BaseModel):
    services: list[CdsServiceDefinition]


class CdsRequest(BaseModel):
    """A hook call. ``context`` and ``prefetch`` carry FHIR R4 resources, checked with fhir.resources."""

    model_config = ConfigDict(strict=True)

    hook: str = Field(examples=["org.notes-nlp.note-sign"])
    hookInstance: str = Field(description="UUID of this call")
    fhirServer: str | None = Field(None, description="not contacted: the note and the claim must be in context or prefetch")
    fhirAuthorization: dict[str, Any] | None = Field(None, description="ignored (no FHIR server is contacted)")
    context: dict[str, Any] = Field(description="hook context; see the service's description")
    prefetch: dict[str, Any] | None = Field(None, description="resources filled from the service's prefetch templates")
    extension: dict[str, Any] | None = Field(None, description='optional {"org.notes-nlp.payer": "cms"} picks the payer profile')


class Coding(BaseModel):
    system: str
    code: str
    display: str | None = None


class CardSource(BaseModel):
    label: str
    topic: Coding | None = None


class Card(BaseModel):
    uuid: str
    summary: str = Field(max_length=SUMMARY_MAX)
    indicator: Literal["info", "warning", "critical"]
    detail: str = Field(description="GitHub-flavored markdown: the findings and what to fix")
    source: CardSource


class CdsResponse(BaseModel):
    cards: list[Card]

"""The HTTP service: a thin shell over :func:`notes_nlp.scoring.score`.

``create_app()`` builds the FastAPI application; uvicorn calls it once per
worker process (``notes-nlp serve --workers N`` passes it as an import string
with ``factory=True``), and the lifespan loads the pipeline, the model and
the payer profiles once per worker, before the first request.

Scoring is CPU-bound spaCy and scikit-learn work. Each worker scores on one
thread of its own, fed in arrival order by a queue (the requests waiting
together are scored in one call: :mod:`notes_nlp.service.batching`), while the
event loop stays free to accept connections and answer ``/healthz``: under the GIL threads
would not score faster together, spaCy does not promise that one pipeline may
serve two threads, and measured under 20 concurrent clients, FastAPI's
threadpool with a lock around the scoring served 17 checks/s against about 30
for the one scoring thread (the lock's hand-offs wait on the GIL). Parallelism
comes from worker processes. A large /v1/score batch holds up the checks queued
behind it in its worker: big batches belong to ``notes-nlp score``.

Configuration comes from the environment, so that every worker sees the same:
``NOTES_NLP_TOKEN`` (bearer token, optional), ``NOTES_NLP_MAX_BODY_BYTES``
(request size limit) and ``NOTES_NLP_MODEL`` (model directory).
"""

from __future__ import annotations

import asyncio
import gc
import os
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

import notes_nlp
from notes_nlp import signing
from notes_nlp.model.persist import MODEL_ENV
from notes_nlp.service import cds_hooks, errors, schemas
from notes_nlp.service.batching import Batcher
from notes_nlp.service.errors import RequestProblem
from notes_nlp.service.guards import OPEN_PATHS, BearerToken, BodyLimit, ShieldErrors

TOKEN_ENV = "NOTES_NLP_TOKEN"
MAX_BODY_ENV = "NOTES_NLP_MAX_BODY_BYTES"
DEFAULT_MAX_BODY = 1 << 20  # 1 MiB: a 200,000-character note base64-encoded in a hook call fits


@dataclass(frozen=True)
class Settings:
    token: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY
    model: str | None = None  # a model directory ($NOTES_NLP_MODEL); None for the shipped one
    rules_only: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "Settings":
        """Settings from the environment; a bad value stops start-up with the variable named."""
        raw = env.get(MAX_BODY_ENV, "").strip()
        try:
            max_body = int(raw) if raw else DEFAULT_MAX_BODY
        except ValueError:
            raise ValueError(f"{MAX_BODY_ENV} must be a whole number of bytes, got {raw!r}") from None
        if max_body < 1:
            raise ValueError(f"{MAX_BODY_ENV} must be at least 1, got {max_body}")
        return cls(token=env.get(TOKEN_ENV) or None, max_body_bytes=max_body, model=env.get(MODEL_ENV) or None)


@dataclass
class Scorer:
    """This worker's pipeline and model, and the one thread that scores with them (see batching)."""

    model: Any
    nlp: Any
    batcher: Batcher = field(init=False)

    def __post_init__(self) -> None:
        self.batcher = Batcher(lambda batches: self.score_apart(batches))

    @classmethod
    def load(cls, settings: Settings) -> "Scorer":
        from notes_nlp import batch
        from notes_nlp.scoring import default_pipeline

        model, _ = batch.loaded(batch.Options(settings.model, settings.rules_only))
        scorer = cls(model, default_pipeline())
        scorer.score_apart([[{"note_id": "warm-up", "text": "MFR to R upper trapezius 10 min.", "billed": [{"code": "97140"}]}]])
        # The pipeline, the model and the vocabularies are about 150,000 long-lived objects that a
        # full garbage collection walks in about 100 ms, stalling every request in flight: frozen,
        # collections see only what requests allocate.
        gc.collect()
        gc.freeze()
        return scorer

    def score_apart(self, batches: list[list[Any]]) -> list[list[dict[str, Any]]]:
        """:func:`notes_nlp.scoring.score_apart` with this worker's pipeline and model (on the calling thread)."""
        from notes_nlp.scoring import score_apart

        return score_apart(batches, self.model, self.nlp)

    async def score_queued(self, records: list[Any]) -> list[dict[str, Any]]:
        """Score records on the scoring thread, with the requests waiting beside them, without
        blocking the event loop."""
        return await asyncio.wrap_future(self.batcher.submit(records))

    def close(self) -> None:
        self.batcher.close()


VALIDATION = {
    400: {"model": schemas.ValidationProblem, "description": "the body cannot be read (not UTF-8)"},
    422: {"model": schemas.ValidationProblem, "description": "a field is missing or wrong; `field` names it"},
}
TOO_LARGE = {413: {"model": schemas.Problem, "description": f"request body over the size limit ({MAX_BODY_ENV})"}}


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application, configured from ``settings`` or else from the environment."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.scorer = Scorer.load(settings)
        yield
        app.state.scorer.close()

    app = FastAPI(
        title="notes-nlp",
        version=notes_nlp.__version__,
        summary="Does a clinical note support its billed CPT 97124 (massage) or 97140 (manual therapy)?",
        description=(
            "JSON API over the same scoring as the `notes-nlp` command, and HL7 CDS Hooks 2.0 services "
            "for the check at signing. Note text is never logged."
            + (" Every route but /healthz needs `Authorization: Bearer <token>`." if settings.token else "")
        ),
        lifespan=lifespan,
    )
    app.add_exception_handler(RequestValidationError, errors.validation_error)
    app.add_exception_handler(RequestProblem, errors.request_problem)
    app.add_exception_handler(HTTPException, errors.http_error)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)  # the last added runs first:
    if settings.token:
        app.add_middleware(BearerToken, token=settings.token)  # a caller without the token is not read
    app.add_middleware(ShieldErrors)

    @app.get("/healthz", response_model=schemas.Health, tags=["service"])
    def healthz(request: Request) -> dict[str, Any]:
        """Liveness and what is loaded: the model and the payer profiles. Needs no token."""
        from notes_nlp.rules.profiles import bundled_profiles, load_profile

        model = request.app.state.scorer.model
        return {
            "status": "ok",
            "notes_nlp": notes_nlp.__version__,
            "model": None if model is None else {
                "name": model.name,
                "version": str(model.meta.get("sha256", ""))[:12],
                "created": model.meta.get("created"),
                "at_risk_below": model.threshold,
            },
            "payer_profiles": [{"name": p.name, "version": p.version} for p in map(load_profile, bundled_profiles())],
        }

    @app.post("/v1/score", response_model=schemas.ScoreResponse, responses={**VALIDATION, **TOO_LARGE}, tags=["notes"])
    async def score(body: schemas.ScoreRequest, request: Request) -> JSONResponse:
        """Score note records (SPEC section 4), as `notes-nlp score` does: one output record per input
        record, in order; a bad record gets an `error` and the rest are scored."""
        return JSONResponse({"records": await request.app.state.scorer.score_queued(body.records)})

    @app.post("/v1/check", response_model=schemas.CheckResponse, responses={**VALIDATION, **TOO_LARGE}, tags=["notes"])
    async def check(note: schemas.CheckRequest, request: Request) -> JSONResponse:
        """The check at signing for one note: the message `notes-nlp check` prints, and the scored record."""
        [result] = await request.app.state.scorer.score_queued([note.model_dump(exclude_unset=True)])
        if result["error"]:
            raise RequestProblem(422, ("body",), f"cannot check this note: {result['error']}")
        return JSONResponse({"passed": signing.passed(result), "message": signing.message(result), "result": result})

    @app.get("/cds-services", response_model=schemas.CdsDiscovery, tags=["CDS Hooks"])
    def discovery() -> dict[str, Any]:
        """CDS Hooks discovery: the services and their prefetch templates."""
        return {"services": [service.definition() for service in cds_hooks.SERVICES.values()]}

    @app.post(
        "/cds-services/{service_id}",
        response_model=schemas.CdsResponse,
        tags=["CDS Hooks"],
        responses={
            **VALIDATION,
            400: {"model": schemas.ValidationProblem, "description": "the body cannot be read, or the hook is not this service's"},
            404: {"model": schemas.Problem, "description": "no CDS service of that id"},
            412: {"model": schemas.ValidationProblem, "description": "the note or the claim was neither in context nor prefetched"},
            **TOO_LARGE,
        },
    )
    async def call_service(service_id: str, call: schemas.CdsRequest, request: Request) -> JSONResponse:
        """A CDS Hooks call: one card per billed 97124/97140 line (none when the call bills neither)."""
        service = cds_hooks.SERVICES.get(service_id)
        if service is None:
            known = ", ".join(cds_hooks.SERVICES)
            return JSONResponse({"detail": f"no CDS service {service_id!r}; services: {known} (GET /cds-services)"}, status_code=404)
        if call.hook != service.hook:
            raise RequestProblem(400, ("body", "hook"), f"service {service.id!r} listens on hook {service.hook!r}, not {call.hook!r}", "hook_mismatch")
        record = cds_hooks.note_record(call, service)
        if record is None:
            return JSONResponse({"cards": []})
        [result] = await request.app.state.scorer.score_queued([record])
        if result["error"]:
            raise RequestProblem(422, ("body",), f"cannot check this note: {result['error']}")
        return JSONResponse({"cards": cds_hooks.cards(result)})

    _complete_openapi(app, settings)
    return app


def _complete_openapi(app: FastAPI, settings: Settings) -> None:
    """Add to the generated OpenAPI schema what FastAPI cannot see: the NoteRecord that /v1/score
    documents its items with (it accepts any value, to give a bad record its own error), and,
    with a token, that every operation but the open ones needs it."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            components = schema.setdefault("components", {})
            note = schemas.NoteRecord.model_json_schema(ref_template="#/components/schemas/{model}")
            components["schemas"].update(note.pop("$defs", {}), NoteRecord=note)
            if settings.token:
                components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
                for path, operations in schema["paths"].items():
                    if path in OPEN_PATHS:
                        continue
                    for operation in operations.values():
                        operation["security"] = [{"bearer": []}]
                        operation["responses"]["401"] = {
                            "description": "no bearer token, or a wrong one",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
                        }
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

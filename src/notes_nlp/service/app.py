"""The HTTP service: a thin shell over :func:`notes_nlp.scoring.score`.

``create_app()`` builds the FastAPI application; its lifespan loads the
pipeline, the model and the payer profiles once, before the first request.

Scoring is CPU-bound spaCy and scikit-learn work, done off the event loop,
which stays free to accept connections and answer ``/healthz``. Requests wait
in one queue, in arrival order, and those waiting together are scored in one
call (:mod:`notes_nlp.service.batching`). With one worker they are scored on
a thread of this process: under the GIL threads would not score faster
together, spaCy does not promise that one pipeline may serve two threads,
and measured under 20 concurrent clients, FastAPI's threadpool with a lock
around the scoring served 17 checks/s against about 30 for the one scoring
thread (the lock's hand-offs wait on the GIL). With ``--workers N``, N
scoring processes take from that queue (:mod:`notes_nlp.service.scorers`).
A large /v1/score batch holds up a scorer for its length: big batches belong
to ``notes-nlp score``.

Configuration comes from the environment (:mod:`notes_nlp.service.settings`):
``NOTES_NLP_TOKEN`` (bearer token, optional), the limits (``NOTES_NLP_MAX_BODY_BYTES``,
``NOTES_NLP_BODY_TIMEOUT_SECONDS``; the others are the server's, see
:mod:`notes_nlp.service.server`) and ``NOTES_NLP_MODEL`` (model directory).
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

import notes_nlp
from notes_nlp import signing
from notes_nlp.service import cds_hooks, errors, schemas
from notes_nlp.service.bodies import RecordJsonRoute
from notes_nlp.service.errors import RequestProblem
from notes_nlp.service.guards import OPEN_PATHS, BearerToken, BodyLimit, ShieldErrors
from notes_nlp.service.scorers import Scorer
from notes_nlp.service.settings import LIMITS, Settings

VALIDATION = {
    400: {"model": schemas.ValidationProblem, "description": "the body cannot be read (not UTF-8)"},
    422: {"model": schemas.ValidationProblem, "description": "a field is missing or wrong; `field` names it"},
}
SCORING = {
    500: {"model": schemas.Problem, "description": "scoring failed (with scoring processes, the exception's type is named)"},
    503: {"model": schemas.Problem, "description": "a scoring process stopped or could not start; retry after `Retry-After` seconds"},
}
BODY_LIMITS = {
    408: {"model": schemas.Problem, "description": f"the body did not arrive in time ({LIMITS['body_timeout'][0]})"},
    413: {"model": schemas.Problem, "description": f"request body over the size limit ({LIMITS['max_body_bytes'][0]})"},
}


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
    app.router.route_class = RecordJsonRoute  # before the routes: each reads its body as the record reader would
    app.state.settings = settings
    app.add_exception_handler(RequestValidationError, errors.validation_error)
    app.add_exception_handler(RequestProblem, errors.request_problem)
    app.add_exception_handler(HTTPException, errors.http_error)
    app.add_exception_handler(errors.ScoringFailed, errors.scoring_failed)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes, timeout=settings.body_timeout)  # the last added runs first:
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

    @app.post("/v1/score", response_model=schemas.ScoreResponse, responses={**VALIDATION, **BODY_LIMITS, **SCORING}, tags=["notes"])
    async def score(body: schemas.ScoreRequest, request: Request) -> JSONResponse:
        """Score note records (docs/formats.md), as `notes-nlp score` does: one output record per input
        record, in order; a bad record gets an `error` and the rest are scored."""
        return JSONResponse({"records": await request.app.state.scorer.score_queued(body.records)})

    @app.post("/v1/check", response_model=schemas.CheckResponse, responses={**VALIDATION, **BODY_LIMITS, **SCORING}, tags=["notes"])
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
            **BODY_LIMITS,
            **SCORING,
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

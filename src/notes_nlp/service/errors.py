"""Error answers that name the bad field and never repeat what the caller sent.

FastAPI's own 422 body echoes the offending ``input``, which for a note record
is the note itself; ours keeps only where the problem is (``loc``, and the same
as a readable ``field`` path), what is wrong (``msg``) and its ``type``. Our
own checks of FHIR resources raise :class:`RequestProblem` with the same shape.
"""

from __future__ import annotations

import logging
from typing import Any, Iterable, Sequence

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.requests import Request

logger = logging.getLogger("notes_nlp.service")
Loc = Sequence[str | int]
_SOURCES = ("body", "query", "path", "header", "cookie")
_FHIR_NAMES = {"resource_type": "resourceType"}


class RequestProblem(Exception):
    """A request the service cannot answer, with the HTTP status and each bad field."""

    def __init__(self, status: int, loc: Loc, msg: str, type_: str = "value_error") -> None:
        self.status = status
        self.problems = [problem(loc, msg, type_)]
        super().__init__(msg)

    @classmethod
    def of(cls, status: int, problems: list[dict[str, Any]]) -> "RequestProblem":
        error = cls(status, problems[0]["loc"], problems[0]["msg"], problems[0]["type"])
        error.problems = problems
        return error


class ScoringFailed(RuntimeError):
    """A scoring process failed a batch. Its message is safe to answer and log: it names the
    failure by type only, never by an exception's message, which could quote the note.

    ``status`` 503 when the process stopped (it is being started again: retry), 500 when
    scoring raised."""

    def __init__(self, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.status = status


def field_path(loc: Loc) -> str:
    """``("body", "records", 2, "billed", 0, "units")`` → ``records[2].billed[0].units``."""
    parts = list(loc[1:] if loc and loc[0] in _SOURCES else loc)
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or (str(loc[0]) if loc else "body")


def problem(loc: Loc, msg: str, type_: str) -> dict[str, Any]:
    loc = [_FHIR_NAMES.get(part, part) if isinstance(part, str) else part for part in loc]
    return {"loc": loc, "field": field_path(loc), "msg": msg, "type": type_}


def pydantic_problems(errors: Iterable[dict[str, Any]], prefix: Loc = ()) -> list[dict[str, Any]]:
    """Pydantic errors as problems, without the ``input`` (the caller's data, maybe the note)."""
    out = []
    for error in errors:
        msg = error["msg"]
        if error["type"] == "json_invalid":  # loc holds a character position, ctx what the parser expected
            return [problem(("body",), f"{msg}: {(error.get('ctx') or {}).get('error', 'invalid JSON')} at character {error['loc'][-1]}", "json_invalid")]
        out.append(problem((*prefix, *error["loc"]), msg, error["type"]))
    return out


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    return JSONResponse({"detail": pydantic_problems(exc.errors())}, status_code=422)


async def request_problem(request: Request, exc: RequestProblem) -> JSONResponse:
    return JSONResponse({"detail": exc.problems}, status_code=exc.status)


async def scoring_failed(request: Request, exc: ScoringFailed) -> JSONResponse:
    logger.error("%s %s: %s", request.method, request.url.path, exc)
    headers = {"Retry-After": "5"} if exc.status == 503 else None
    return JSONResponse({"detail": str(exc)}, status_code=exc.status, headers=headers)


async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
    """Starlette's HTTP errors (404, 405, 413) as ``{"detail": ...}``. A 400 is FastAPI failing to
    read the body (not UTF-8, say): answered like every other bad body, with the field, ``body``."""
    if exc.status_code == 400:
        detail: Any = [problem(("body",), "the body cannot be read: send UTF-8 JSON", "body_unreadable")]
    else:
        detail = exc.detail
    return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))

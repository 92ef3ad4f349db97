"""ASGI middleware that guard every request: the bearer token, the body's size and time limits,
and errors that never leak the note.

They are plain ASGI wrappers rather than FastAPI dependencies so that they
cover every route, the OpenAPI schema and ``/docs`` included, and unknown
paths too; only ``/healthz`` stays open to callers without the token, for
load balancers and probes.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import traceback

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("notes_nlp.service")
OPEN_PATHS = frozenset({"/healthz"})


async def _send_json(send: Send, status: int, body: dict, headers: list[tuple[bytes, bytes]] = ()) -> None:
    payload = json.dumps(body).encode("utf-8")
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()), *headers],
    })
    await send({"type": "http.response.body", "body": payload})


class _WatchedSend:
    """A ``send`` that notes when the response has started: after that, an error can no
    longer be answered with a JSON body of its own."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        self.started = self.started or message["type"] == "http.response.start"
        await self.send(message)


class BearerToken:
    """Requires ``Authorization: Bearer <token>`` on every path but the open ones (401 otherwise).

    The comparison takes the same time whatever the token given, so a caller
    cannot find the token a character at a time.
    """

    def __init__(self, app: ASGIApp, token: str, open_paths: frozenset[str] = OPEN_PATHS) -> None:
        self.app = app
        self.token = token.encode("utf-8")
        self.open_paths = open_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.open_paths:
            await self.app(scope, receive, send)
            return
        scheme, _, given = Headers(scope=scope).get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode("utf-8"), self.token):
            await self.app(scope, receive, send)
            return
        challenge = b'Bearer realm="notes-nlp"' + (b', error="invalid_token"' if scheme else b"")
        detail = "the bearer token is wrong" if scheme else "this service needs a bearer token: send Authorization: Bearer <token>"
        await _send_json(send, 401, {"detail": detail}, [(b"www-authenticate", challenge)])


class BodyProblem(HTTPException):
    """Raised while the body is read (too large, or too slow). An HTTPException, so that FastAPI
    passes it on to the exception handlers instead of turning it into a 400 for an unreadable
    body; its answer closes the connection, whose rest of a body is not read."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(status, detail, headers={"Connection": "close"})


def too_large(limit: int) -> str:
    return (f"request body over the limit of {limit} bytes (NOTES_NLP_MAX_BODY_BYTES): send fewer "
            "records per request, or score a large batch with `notes-nlp score`")


def too_slow(timeout: float) -> str:
    return f"the request body did not arrive within {timeout:g} seconds (NOTES_NLP_BODY_TIMEOUT_SECONDS)"


CLOSE = [(b"connection", b"close")]


class BodyLimit:
    """413 for a body over ``limit`` bytes: at once when Content-Length says so (nothing is
    read), else as soon as the streamed body passes the limit; 408 for a body not received
    within ``timeout`` seconds of the first read, so a client trickling its body does not hold
    a request open."""

    def __init__(self, app: ASGIApp, limit: int, timeout: float) -> None:
        self.app = app
        self.limit = limit
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            await _send_json(send, 413, {"detail": too_large(self.limit)}, CLOSE)
            return
        received, deadline = 0, None
        watched = _WatchedSend(send)

        async def limited_receive() -> Message:
            nonlocal received, deadline
            deadline = deadline or asyncio.get_running_loop().time() + self.timeout
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - asyncio.get_running_loop().time()))
            except asyncio.TimeoutError:
                raise BodyProblem(408, too_slow(self.timeout)) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyProblem(413, too_large(self.limit))
            return message

        try:
            await self.app(scope, limited_receive, watched)
        except BodyProblem as problem:  # read outside FastAPI's body parsing, which hands it to the handlers
            if not watched.started:
                await _send_json(send, problem.status_code, {"detail": problem.detail}, CLOSE)


class ShieldErrors:
    """Turns an unexpected exception into a 500 that says nothing of the request, and logs it
    by type and place only: its message could quote the note (a pydantic error repeats its
    input), and note text must never reach a log."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        watched = _WatchedSend(send)
        try:
            await self.app(scope, receive, watched)
        except Exception as exc:  # noqa: BLE001 - the point is to catch everything
            frames = "".join(traceback.format_tb(exc.__traceback__))
            logger.error("unhandled %s in %s %s (message withheld: it may quote the note)\n%s",
                         type(exc).__name__, scope.get("method"), scope.get("path"), frames)
            if not watched.started:
                await _send_json(send, 500, {"detail": "internal error; the service log names the exception"})

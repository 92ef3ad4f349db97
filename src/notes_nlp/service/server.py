"""Run the service with uvicorn: ``notes-nlp serve``.

One uvicorn process accepts every connection; ``--workers N`` sets how many
processes score (:mod:`notes_nlp.service.scorers`), not how many serve HTTP.

uvicorn (with httptools, the parser it picks up) reads a request's head for
as long as the client takes and whatever its size, and keeps a connection
that never sends anything open for ever: a 1 MB header was answered, eight
unfinished 64 MB headers took the server from 224 to 498 MB, and about 21,000
idle connections stopped it. :func:`guarded_protocol` adds what it lacks to
its httptools protocol: a head (request line and headers) must arrive within
``header_timeout`` seconds of the connection's start, or of a later request's
first byte, and be at most ``max_header_bytes`` (431 past it); a connection
beyond ``max_connections`` is closed at once. uvicorn's own settings do the
rest: ``limit_concurrency`` (503 past it) and ``timeout_keep_alive``; the body
limits are the app's (:mod:`notes_nlp.service.guards`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import sys
from dataclasses import replace
from typing import Any

import uvicorn  # here, not in serve(): a missing `service` extra shows when the CLI imports this module
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from notes_nlp.service.app import create_app
from notes_nlp.service.settings import LIMITS, Settings


def guarded_protocol(settings: Settings) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with the head's time and size limits and the connection cap."""

    class GuardedHttpToolsProtocol(HttpToolsProtocol):
        head_limit = settings.max_header_bytes
        head_timeout = settings.header_timeout
        max_connections = settings.max_connections

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            self._head_timer: asyncio.TimerHandle | None = None
            self._head_bytes, self._refused = 0, False
            super().connection_made(transport)
            if len(self.connections) > self.max_connections:
                transport.abort()  # at the cap: this one goes at once, and holds nothing
                return
            self._start_head_clock()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_head_clock()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self._head_timer is not None and not self._refused:  # the head is still incomplete
                self._head_bytes += len(data)
                if self._head_bytes > self.head_limit:
                    self._refuse(431, "Request Header Fields Too Large", _head_message(self.head_limit))

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._head_bytes = 0
            self._start_head_clock()

        def on_headers_complete(self) -> None:
            self._stop_head_clock()
            size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
            if size > self.head_limit:
                self._refuse(431, "Request Header Fields Too Large", _head_message(self.head_limit))
            else:
                super().on_headers_complete()

        def on_body(self, body: bytes) -> None:
            if not self._refused:  # else no request was started: the rest of what was sent is dropped
                super().on_body(body)

        def on_message_complete(self) -> None:
            if not self._refused:
                super().on_message_complete()

        def _start_head_clock(self) -> None:
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

        def _stop_head_clock(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_timed_out(self) -> None:
            self._head_timer = None
            if self._head_bytes or self.headers:
                self._refuse(408, "Request Timeout", f"the request's headers did not arrive within {self.head_timeout:g} seconds ({LIMITS['header_timeout'][0]})")
            elif not self.transport.is_closing():
                self.transport.close()  # a connection that never sent a byte

        def _refuse(self, status: int, reason: str, message: str) -> None:
            self._refused = True
            self._stop_head_clock()
            if not self.transport.is_closing():
                self.logger.warning("%s %s: %s", status, reason, message)
                body = message.encode("ascii")
                self.transport.write(
                    f"HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\n"
                    f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode("ascii") + body
                )
                self.transport.close()

    return GuardedHttpToolsProtocol


def _head_message(limit: int) -> str:
    return f"request line and headers over {limit} bytes ({LIMITS['max_header_bytes'][0]})"


def is_loopback(host: str) -> bool:
    """Whether ``host`` is only reachable from this machine (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """What uvicorn is told of the limits (besides the protocol's own)."""
    return {
        "http": guarded_protocol(settings),
        "limit_concurrency": settings.max_connections,
        "timeout_keep_alive": settings.keep_alive,
    }


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1, model: str | None = None) -> None:
    """Check the settings and the model, then serve until interrupted.

    A bad setting or model stops here with its message (ValueError, ModelError),
    before uvicorn starts or a scoring process loads.
    """
    if workers < 1:
        raise ValueError(f"--workers must be at least 1, got {workers}")
    settings = Settings.from_env()
    settings = replace(settings, workers=workers, model=model or settings.model)
    from notes_nlp.scoring import Options, loaded

    loaded(Options(settings.model))  # a bad model stops here, not in each scoring process
    if not is_loopback(host):
        print(f"notes-nlp: listening on {host}, reachable from the network: put TLS in front of it"
              + ("" if settings.token else " and set NOTES_NLP_TOKEN"), file=sys.stderr)
    uvicorn.run(create_app(settings), host=host, port=port, access_log=True, server_header=False, log_level="info",
                **uvicorn_options(settings))

"""The service's settings: from the environment, so that a deployment configures it the same
way whatever starts it, and from ``notes-nlp serve``'s options.

The limits bound what one client can hold of the server: the body (size and the time to send
it), the request head (size and the time to send it, which also closes a connection that
never sends), idle keep-alive connections, and the connections open at once. What they leave
to a deployment (per-client rates and connection counts, TLS) is the reverse proxy's: see the
README's "Security and limits".
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Mapping

from notes_nlp.model.persist import MODEL_ENV

TOKEN_ENV = "NOTES_NLP_TOKEN"
DEFAULT_MAX_BODY = 1 << 20  # 1 MiB: a 200,000-character note base64-encoded in a hook call fits
LIMITS = {  # field: (environment variable, unit, whole number)
    "max_body_bytes": ("NOTES_NLP_MAX_BODY_BYTES", "bytes", True),
    "max_header_bytes": ("NOTES_NLP_MAX_HEADER_BYTES", "bytes", True),
    "header_timeout": ("NOTES_NLP_HEADER_TIMEOUT_SECONDS", "seconds", False),
    "body_timeout": ("NOTES_NLP_BODY_TIMEOUT_SECONDS", "seconds", False),
    "keep_alive": ("NOTES_NLP_KEEP_ALIVE_SECONDS", "seconds", False),
    "max_connections": ("NOTES_NLP_MAX_CONNECTIONS", "connections", True),
}


@dataclass(frozen=True)
class Settings:
    token: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY
    max_header_bytes: int = 16_384  # the request line and headers (h11's default); a bearer token is far less
    header_timeout: float = 10.0  # from a connection's start, or a later request's first byte, to its last header
    body_timeout: float = 30.0  # from the end of the headers to the body's last byte
    keep_alive: float = 5.0  # an idle keep-alive connection is closed after this (uvicorn's timeout_keep_alive)
    max_connections: int = 1_000  # open at once; past it a connection is closed at once (uvicorn's limit_concurrency too)
    model: str | None = None  # a model directory ($NOTES_NLP_MODEL); None for the shipped one
    rules_only: bool = False
    workers: int = 1  # scoring processes; 1 scores in the HTTP process itself

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "Settings":
        """Settings from the environment; a bad value stops start-up with the variable named."""
        defaults = {f.name: f.default for f in fields(cls)}
        limits = {name: _limit(env, name, defaults[name]) for name in LIMITS}
        return cls(token=env.get(TOKEN_ENV) or None, model=env.get(MODEL_ENV) or None, **limits)


def _limit(env: Mapping[str, str], name: str, default: float) -> float:
    variable, unit, whole = LIMITS[name]
    raw = env.get(variable, "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        raise ValueError(f"{variable} must be a {'whole ' if whole else ''}number of {unit}, got {raw[:40]!r}") from None
    if not 0 < value < float("inf"):
        raise ValueError(f"{variable} must be more than 0 {unit}, got {raw[:40]!r}")
    return value

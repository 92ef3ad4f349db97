"""The service's settings: from the environment, so that a deployment configures it the same
way whatever starts it, and from ``notes-nlp serve``'s options."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

from notes_nlp.model.persist import MODEL_ENV

TOKEN_ENV = "NOTES_NLP_TOKEN"
MAX_BODY_ENV = "NOTES_NLP_MAX_BODY_BYTES"
DEFAULT_MAX_BODY = 1 << 20  # 1 MiB: a 200,000-character note base64-encoded in a hook call fits


@dataclass(frozen=True)
class Settings:
    token: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY
    model: str | None = None  # a model directory ($NOTES_NLP_MODEL); None for the shipped one
    rules_only: bool = False
    workers: int = 1  # scoring processes; 1 scores in the HTTP process itself

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

"""Run the service with uvicorn: ``notes-nlp serve``.

One uvicorn process accepts every connection; ``--workers N`` sets how many
processes score (:mod:`notes_nlp.service.scorers`), not how many serve HTTP.
"""

from __future__ import annotations

import ipaddress
import sys
from dataclasses import replace

import uvicorn  # here, not in serve(): a missing `service` extra shows when the CLI imports this module

from notes_nlp import batch
from notes_nlp.service.app import create_app
from notes_nlp.service.settings import Settings


def is_loopback(host: str) -> bool:
    """Whether ``host`` is only reachable from this machine (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1, model: str | None = None) -> None:
    """Check the settings and the model, then serve until interrupted.

    A bad setting or model stops here with its message (ValueError, ModelError),
    before uvicorn starts or a scoring process loads.
    """
    if workers < 1:
        raise ValueError(f"--workers must be at least 1, got {workers}")
    settings = Settings.from_env()
    settings = replace(settings, workers=workers, model=model or settings.model)
    batch.loaded(batch.Options(settings.model))  # a bad model stops here, not in each scoring process
    if not is_loopback(host):
        print(f"notes-nlp: listening on {host}, reachable from the network: put TLS in front of it"
              + ("" if settings.token else " and set NOTES_NLP_TOKEN"), file=sys.stderr)
    uvicorn.run(create_app(settings), host=host, port=port, access_log=True, server_header=False, log_level="info")

"""Run the service with uvicorn: ``notes-nlp serve``.

uvicorn is given the application factory as an import string, so that with
``--workers N`` each worker process builds its own application and loads the
model once. Settings travel to the workers through the environment.
"""

from __future__ import annotations

import ipaddress
import os
import sys

import uvicorn  # here, not in serve(): a missing `service` extra shows when the CLI imports this module

from notes_nlp import batch
from notes_nlp.model.persist import MODEL_ENV
from notes_nlp.service.app import Settings

APP_FACTORY = "notes_nlp.service.app:create_app"


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
    before uvicorn starts a worker.
    """
    if model:
        os.environ[MODEL_ENV] = str(model)
    settings = Settings.from_env()
    batch.loaded(batch.Options(settings.model))  # a bad model stops here, not in each worker
    if not is_loopback(host):
        print(f"notes-nlp: listening on {host}, reachable from the network: put TLS in front of it"
              + ("" if settings.token else " and set NOTES_NLP_TOKEN"), file=sys.stderr)
    uvicorn.run(APP_FACTORY, factory=True, host=host, port=port, workers=workers,
                access_log=True, server_header=False, log_level="info")

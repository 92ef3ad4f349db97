"""What scores the service's requests: this process's pipeline, or scoring processes.

With one worker, the HTTP process scores on a thread of its own. With
``--workers N``, N child processes score and the one HTTP process feeds them
from one queue (:class:`notes_nlp.service.batching.Batcher`): whichever
process is free takes the next requests. Before, N uvicorn workers each
accepted and scored their own connections; a keep-alive connection stays
with the process that accepted it, the kernel split 20 connections 12/8 as
often as 10/10, and the clients of the busier process waited longer (p99
137 ms against 112 ms for an even split, in the load test). In three
alternating runs of the load test, the p99 went from 130-236 ms to 126-135.

A child loads the pipeline and the model once, then answers batches sent
over a pipe: in and out go records and output records, plain picklable
data. A child that dies (killed, out of memory) fails the batch it was
scoring with a 503, and is started again before its next batch; the note
that killed it is not retried. A child never sends back an exception's
message, which could quote a note: only its type.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import os
import signal
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from notes_nlp.service.batching import Batcher, ScoreApart
from notes_nlp.service.errors import ScoringFailed
from notes_nlp.service.settings import Settings

WARM_UP = {"note_id": "warm-up", "text": "MFR to R upper trapezius 10 min.", "billed": [{"code": "97140"}]}
STOP_SECONDS = 10.0
# Scoring processes run at a lower priority than the HTTP process, which then reads, answers and
# hands out work as soon as it can. At the same priority (3 processes on 2 cores) its turn
# sometimes came late: the load test's p99 was 186 and 227 ms, against 138 and 140 ms niced
# (with the HTTP process's heap frozen too; two alternating runs each, p50 alike).
NICENESS = 5


def freeze_heap() -> None:
    """Leave what is loaded out of garbage collections. The pipeline, the model and the
    vocabularies are about 150,000 long-lived objects that a full collection walks in about
    100 ms, stalling every request in flight: frozen, collections see only what requests
    allocate."""
    gc.collect()
    gc.freeze()


def loaded_model(settings: Settings) -> Any:
    """The model the settings name (None with ``rules_only``), loaded once per process."""
    from notes_nlp.scoring import Options, loaded

    model, _ = loaded(Options(settings.model, settings.rules_only))
    return model


@dataclass
class Pipeline:
    """This process's pipeline and model; scores on the calling thread."""

    model: Any
    nlp: Any

    @classmethod
    def load(cls, settings: Settings) -> "Pipeline":
        from notes_nlp.scoring import default_pipeline

        pipeline = cls(loaded_model(settings), default_pipeline())
        pipeline([[WARM_UP]])
        freeze_heap()
        return pipeline

    def __call__(self, batches: list[list[Any]]) -> list[list[dict[str, Any]]]:
        """:func:`notes_nlp.scoring.score_apart` with this process's pipeline and model."""
        from notes_nlp.scoring import score_apart

        return score_apart(batches, self.model, self.nlp)


def _child(connection: Connection, settings: Settings) -> None:
    """A scoring process: load, say so, then score each batch received until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent stops us
    if hasattr(os, "nice"):  # not on Windows
        os.nice(NICENESS)
    try:
        pipeline = Pipeline.load(settings)
    except Exception as exc:  # noqa: BLE001 - a model or profile error, sent whole: it holds no note
        connection.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    connection.send(("ready", None))
    while True:
        try:
            batches = connection.recv()
        except EOFError:
            return
        try:
            answer = ("ok", pipeline(batches))
        except Exception as exc:  # noqa: BLE001 - the type only: the message could quote the note
            answer = ("error", f"scoring failed: {type(exc).__name__} (its message is withheld: it may quote the note)")
        connection.send(answer)


class ScoringProcess:
    """A child process that scores batches for the thread that calls it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._process: multiprocessing.process.BaseProcess | None = None
        self._connection: Connection | None = None

    def start(self) -> None:
        """Start the child; :meth:`wait_ready` waits for it to have loaded."""
        context = multiprocessing.get_context("spawn")  # never fork a process with threads and an event loop
        ours, theirs = context.Pipe()
        self._process = context.Process(target=_child, args=(theirs, self.settings), name="notes-nlp-scorer", daemon=True)
        self._process.start()
        theirs.close()
        self._connection = ours

    def wait_ready(self) -> None:
        try:
            status, detail = self._connection.recv()
        except EOFError:
            self._process.join(STOP_SECONDS)
            status, detail = "error", f"it exited with code {self._process.exitcode}"
        if status != "ready":
            self.close()
            raise ScoringFailed(f"a scoring process could not start: {detail}", status=503)

    def __call__(self, batches: list[list[Any]]) -> list[list[dict[str, Any]]]:
        if self._process is None or not self._process.is_alive():
            self.close()
            self.start()
            self.wait_ready()
        try:
            self._connection.send(batches)
            status, answer = self._connection.recv()
        except (EOFError, OSError):
            self._process.join(1)
            code = self._process.exitcode
            self.close()
            raise ScoringFailed(f"a scoring process stopped while scoring this request (exit code {code}); "
                                "it is being started again: retry", status=503) from None
        if status != "ok":
            raise ScoringFailed(answer)
        return answer

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def close(self) -> None:
        """Stop the child: closing the pipe ends its loop; one that does not end is killed."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._process is not None:
            self._process.join(STOP_SECONDS)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()
            self._process = None


@dataclass
class Scorer:
    """The model (for /healthz) and the queue that feeds the runners that score."""

    model: Any
    runners: list[ScoreApart]
    batcher: Batcher = field(init=False)

    def __post_init__(self) -> None:
        self.batcher = Batcher(self.runners)

    @classmethod
    def load(cls, settings: Settings) -> "Scorer":
        if settings.workers == 1:
            pipeline = Pipeline.load(settings)
            return cls(pipeline.model, [pipeline])
        processes = [ScoringProcess(settings) for _ in range(settings.workers)]
        try:
            for process in processes:
                process.start()
            for process in processes:
                process.wait_ready()
        except BaseException:
            for process in processes:
                process.close()
            raise
        model = loaded_model(settings)
        freeze_heap()
        return cls(model, processes)

    async def score_queued(self, records: list[Any]) -> list[dict[str, Any]]:
        """Score records with the requests waiting beside them, without blocking the event loop.
        A record with an error is answered here: it never reaches a scoring process (a record
        nested 900 deep cannot even be pickled to one) nor a batch shared with other requests."""
        from notes_nlp.io.records import check_record
        from notes_nlp.scoring import error_record

        errors = [check_record(record) for record in records]
        valid = [record for record, error in zip(records, errors) if error is None]
        scored = iter(await asyncio.wrap_future(self.batcher.submit(valid)) if valid else [])
        return [next(scored) if error is None else error_record(record, error) for record, error in zip(records, errors)]

    def close(self) -> None:
        """Cancel the waiting requests, let the runners finish their batches, stop the children."""
        self.batcher.close()
        self.batcher.join(STOP_SECONDS)
        for runner in self.runners:
            if isinstance(runner, ScoringProcess):
                runner.close()

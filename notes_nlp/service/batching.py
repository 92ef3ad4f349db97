"""Micro-batching: the requests that arrive while a worker is scoring are scored together.

Each scoring call has a fixed part whatever the number of notes (the model's
call, spaCy's pipe, the output's assembly): scoring the typical note 8 to a
call cost 4.50 ms a note against 4.95 alone. Under load, the requests waiting
for the scoring thread are taken in arrival order and scored by one
:func:`notes_nlp.scoring.score_apart` call, which judges each request alone
and calls the model once for them all: a request's output is what scoring it
alone would give. With no load a request is scored alone, at once. A batch
stops growing at ``max_records`` notes; a larger request is scored alone.
"""

from __future__ import annotations

import threading
from collections import deque
from concurrent.futures import Future
from typing import Any, Callable

ScoreApart = Callable[[list[list[Any]]], list[list[dict[str, Any]]]]
MAX_RECORDS = 32


def next_batch(waiting: deque[tuple[list[Any], Future]], max_records: int = MAX_RECORDS) -> list[tuple[list[Any], Future]]:
    """Take from ``waiting`` (never empty) the first request and those after it, in order,
    while they add up to at most ``max_records`` notes."""
    batch = [waiting.popleft()]
    size = len(batch[0][0])
    while waiting and size + len(waiting[0][0]) <= max_records:
        size += len(waiting[0][0])
        batch.append(waiting.popleft())
    return batch


class Batcher:
    """One scoring thread that scores the waiting requests in batches, in arrival order."""

    def __init__(self, score_apart: ScoreApart, max_records: int = MAX_RECORDS) -> None:
        self.score_apart = score_apart
        self.max_records = max_records
        self._waiting: deque[tuple[list[Any], Future]] = deque()
        self._ready = threading.Condition()
        self._closed = False
        threading.Thread(target=self._run, name="notes-nlp-score", daemon=True).start()

    def submit(self, records: list[Any]) -> Future:
        """Queue records for scoring; the future holds their output records, in order."""
        future: Future = Future()
        with self._ready:
            if self._closed:
                raise RuntimeError("the scorer is shut down")
            self._waiting.append((list(records), future))
            self._ready.notify()
        return future

    def close(self) -> None:
        """Stop the thread; requests still waiting are cancelled."""
        with self._ready:
            self._closed = True
            for _, future in self._waiting:
                future.cancel()
            self._waiting.clear()
            self._ready.notify()

    def _run(self) -> None:
        while True:
            with self._ready:
                self._ready.wait_for(lambda: self._waiting or self._closed)
                if self._closed:
                    return
                batch = [(records, future) for records, future in next_batch(self._waiting, self.max_records)
                         if future.set_running_or_notify_cancel()]
            self._score(batch)

    def _score(self, batch: list[tuple[list[Any], Future]]) -> None:
        try:
            results = self.score_apart([records for records, _ in batch])
        except Exception as exc:  # noqa: BLE001 - every caller in the batch gets the error; the thread goes on
            for _, future in batch:
                future.set_exception(exc)
            return
        for (_, future), scored in zip(batch, results):
            future.set_result(scored)

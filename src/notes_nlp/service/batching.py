"""Micro-batching: the requests that arrive while the runners are scoring are scored together.

Each scoring call has a fixed part whatever the number of notes (the model's
call, spaCy's pipe, the output's assembly): scoring the typical note 8 to a
call cost 4.50 ms a note against 4.95 alone. Requests wait in one queue; a
runner (this process's pipeline, or a scoring process: see
:mod:`notes_nlp.service.scorers`) that is free takes those waiting, in
arrival order, and scores them with one :func:`notes_nlp.scoring.score_apart`
call, which judges each request alone and calls the model once for them all:
a request's output is what scoring it alone would give. With no load a
request is scored alone, at once. A batch stops growing at ``max_records``
notes, or at the runner's share of the waiting notes; a larger request is
scored alone. A batch whose scoring fails is scored again request by request:
one request never fails another.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import Future
from typing import Any, Callable, Sequence

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
    """Scoring threads, one per runner, that take the waiting requests in batches from one
    queue, in arrival order: a runner that is free takes the next batch, so no request
    waits behind a busy runner while another is idle."""

    def __init__(self, runners: Sequence[ScoreApart], max_records: int = MAX_RECORDS) -> None:
        self.max_records = max_records
        self._waiting: deque[tuple[list[Any], Future]] = deque()
        self._ready = threading.Condition()
        self._closed = False
        self._runners = len(runners)
        self._threads = [threading.Thread(target=self._run, args=(runner,), name=f"notes-nlp-score-{number}", daemon=True)
                         for number, runner in enumerate(runners)]
        for thread in self._threads:
            thread.start()

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
        """Stop the threads; requests still waiting are cancelled."""
        with self._ready:
            self._closed = True
            for _, future in self._waiting:
                future.cancel()
            self._waiting.clear()
            self._ready.notify_all()

    def join(self, timeout: float) -> None:
        """After :meth:`close`, wait (at most ``timeout`` seconds in all) for the batches being scored."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _run(self, score_apart: ScoreApart) -> None:
        while True:
            with self._ready:
                self._ready.wait_for(lambda: self._waiting or self._closed)
                if self._closed:
                    return
                batch = [(records, future) for records, future in next_batch(self._waiting, self._share())
                         if future.set_running_or_notify_cancel()]
            _score(score_apart, batch)

    def _share(self) -> int:
        """At most ``max_records`` notes, and no more than this runner's share of the waiting
        notes: one runner taking them all would leave the others idle while they wait."""
        waiting = sum(len(records) for records, _ in self._waiting)
        return min(self.max_records, -(-waiting // self._runners))


def _score(score_apart: ScoreApart, batch: list[tuple[list[Any], Future]]) -> None:
    """Score a batch; when scoring it fails, score each of its requests alone, so that the one
    that fails (a bad record, a process that died on it) fails alone and the others are answered."""
    try:
        results = score_apart([records for records, _ in batch])
    except Exception as exc:  # noqa: BLE001 - the caller gets the error; the thread goes on
        if len(batch) == 1:
            batch[0][1].set_exception(exc)
        else:
            for request in batch:
                _score(score_apart, [request])
        return
    for (_, future), scored in zip(batch, results):
        future.set_result(scored)

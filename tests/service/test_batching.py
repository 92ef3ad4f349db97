"""Micro-batching in the service: waiting requests are scored together, each getting its own output."""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import CancelledError

import pytest

from notes_nlp.service.batching import Batcher, next_batch


class GatedScorer:
    """A score_apart that records its batches and holds the first one until released."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.batches: list[list[list[str]]] = []
        self.started, self.release = threading.Event(), threading.Event()
        self.fail_on = fail_on

    def __call__(self, batches: list[list[str]]) -> list[list[str]]:
        self.batches.append(batches)
        self.started.set()
        self.release.wait(10)
        if self.fail_on and any(self.fail_on in records for records in batches):
            raise ValueError("scoring failed")
        return [[f"scored {record}" for record in records] for records in batches]


def test_requests_that_wait_together_are_scored_in_one_call_each_with_its_own_output():
    scorer = GatedScorer()
    batcher = Batcher([scorer], max_records=4)
    first = batcher.submit(["a"])
    assert scorer.started.wait(10)
    waiting = [batcher.submit(["b", "c"]), batcher.submit(["d"]), batcher.submit(["e", "f"]), batcher.submit(["g"])]
    scorer.release.set()
    assert first.result(10) == ["scored a"]
    assert [future.result(10) for future in waiting] == [["scored b", "scored c"], ["scored d"], ["scored e", "scored f"], ["scored g"]]
    assert scorer.batches == [[["a"]], [["b", "c"], ["d"]], [["e", "f"], ["g"]]], "in arrival order, at most 4 notes a call"
    batcher.close()


def test_a_request_larger_than_the_limit_is_scored_alone():
    waiting = deque([(list("abcdef"), None), (["g"], None)])
    assert [records for records, _ in next_batch(waiting, max_records=4)] == [list("abcdef")]
    assert [records for records, _ in next_batch(waiting, max_records=4)] == [["g"]]


def test_a_failed_call_fails_only_the_request_that_fails_alone():
    """"bad" and "b" wait together and are scored in one call, which fails: each is then scored
    alone, and only "bad" fails; the next requests are scored."""
    scorer = GatedScorer(fail_on="bad")
    batcher = Batcher([scorer])
    blocked = batcher.submit(["a"])
    assert scorer.started.wait(10)
    failing, innocent = batcher.submit(["bad"]), batcher.submit(["b"])
    scorer.release.set()
    assert blocked.result(10) == ["scored a"]
    with pytest.raises(ValueError, match="scoring failed"):
        failing.result(10)
    assert innocent.result(10) == ["scored b"]
    assert [["bad"], ["b"]] in scorer.batches and [["b"]] in scorer.batches
    assert batcher.submit(["c"]).result(10) == ["scored c"]
    batcher.close()


def test_closing_cancels_the_waiting_requests_and_refuses_new_ones():
    scorer = GatedScorer()
    batcher = Batcher([scorer])
    running = batcher.submit(["a"])
    assert scorer.started.wait(10)
    waiting = batcher.submit(["b"])
    batcher.close()
    scorer.release.set()
    assert running.result(10) == ["scored a"]
    with pytest.raises(CancelledError):
        waiting.result(10)
    with pytest.raises(RuntimeError, match="shut down"):
        batcher.submit(["c"])


def test_runners_share_one_queue_and_a_free_runner_takes_its_share_of_the_waiting():
    """Two runners: while both are busy, 6 notes wait; the first to be free takes 3 of them
    (its share), not all 6, so the other takes the rest when it is free instead of idling."""
    first, second = GatedScorer(), GatedScorer()
    batcher = Batcher([first, second], max_records=32)
    running = [batcher.submit(["a"]), batcher.submit(["b"])]
    assert first.started.wait(10) and second.started.wait(10)
    waiting = [batcher.submit([letter]) for letter in "cdefgh"]
    first.release.set()
    deadline = time.monotonic() + 10
    while len(first.batches) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert first.batches[1] == [["c"], ["d"], ["e"]]
    second.release.set()
    assert [future.result(10) for future in running + waiting] == [[f"scored {letter}"] for letter in "abcdefgh"]
    batcher.close()

"""Scoring processes (``notes-nlp serve --workers N``): they score as this process does, and a
failure in one fails only its batch, with a message that never quotes the note."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import pytest

from notes_nlp.model.persist import load_model
from notes_nlp.scoring import score
from notes_nlp.service.errors import ScoringFailed
from notes_nlp.service.scorers import ScoringProcess
from notes_nlp.service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
NOTES = [json.loads(line) for line in (ROOT / "corpus" / "samples" / "notes.jsonl").read_text().splitlines()]
pytestmark = pytest.mark.slow  # each test starts a Python process that loads the pipeline and model


@pytest.fixture(scope="module")
def scorer():
    process = ScoringProcess(Settings())
    process.start()
    process.wait_ready()
    yield process
    process.close()


def test_a_scoring_process_scores_as_this_process_does(scorer):
    model = load_model()
    assert scorer([NOTES[:2], NOTES[2:]]) == [score(NOTES[:2], model), score(NOTES[2:], model)]


def test_an_error_in_scoring_is_named_by_its_type_only(scorer):
    with pytest.raises(ScoringFailed, match="TypeError") as failed:
        scorer([NOTES[:1], 5])
    assert failed.value.status == 500 and "iterable" not in str(failed.value), "the exception's message is withheld"
    assert scorer([NOTES[:1]])[0][0]["note_id"] == NOTES[0]["note_id"], "the process goes on"


def test_a_process_killed_while_scoring_fails_that_batch_and_is_started_again(scorer):
    pid = scorer.pid
    threading.Timer(0.5, os.kill, (pid, signal.SIGKILL)).start()
    with pytest.raises(ScoringFailed, match="stopped while scoring") as failed:
        scorer([NOTES * 200])  # about 1,000 notes: still scoring when it is killed
    assert failed.value.status == 503
    assert scorer([NOTES[:1]])[0][0]["note_id"] == NOTES[0]["note_id"] and scorer.pid != pid


def test_a_process_that_cannot_load_says_why(tmp_path):
    process = ScoringProcess(Settings(model=str(tmp_path)))
    process.start()
    with pytest.raises(ScoringFailed, match="could not start: ModelError: .*not a model directory"):
        process.wait_ready()


def test_a_bad_record_is_answered_in_the_http_process_and_never_sent_to_a_scoring_process():
    """A record nested 900 deep could not even be pickled to a scoring process (a 500 with
    --workers 2): it is answered before the queue, the good one beside it is scored."""
    import asyncio

    from notes_nlp.service.scorers import Scorer

    sent: list[list[list]] = []

    def runner(batches):
        sent.append(batches)
        return [[{"note_id": record["note_id"], "lines": [], "entities": [], "error": None} for record in records] for records in batches]

    deep = {"note_id": "deep", "text": "MFR 12 min", "extra": json.loads("[" * 900 + "]" * 900)}
    good = {"note_id": "good", "text": "MFR 12 min"}
    queued = Scorer(None, [runner])
    try:
        out = asyncio.run(queued.score_queued([deep, good]))
    finally:
        queued.close()
    assert [o["note_id"] for o in out] == ["deep", "good"]
    assert out[0]["error"].startswith("extra[0]") and "nested more than 32 levels" in out[0]["error"]
    assert sent == [[[good]]]

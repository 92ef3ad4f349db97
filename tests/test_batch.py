"""The batch job: nothing lost, input order, charts whole across chunks, workers, resume."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from notes_nlp import batch
from notes_nlp.corpus.load import split_notes
from notes_nlp.chunks import score_chunk
from notes_nlp.scoring import Options, score

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
RULES_ONLY = Options(rules_only=True)


def run_batch(source: Path, **kwargs) -> list[dict]:
    out = io.StringIO()
    batch.run(source, out, RULES_ONLY, **kwargs)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_every_bad_record_gets_its_error_and_every_good_one_is_scored():
    expected = json.loads((FIXTURES / "mixed_records.expected.json").read_text())
    out = run_batch(FIXTURES / "mixed_records.jsonl")
    assert len(out) == len(expected) == 57
    assert sum(e is not None for e in expected) >= 20
    for line_no, (record, error) in enumerate(zip(out, expected), start=1):
        if error is None:
            assert record["error"] is None and record["lines"], f"line {line_no} should be scored"
        else:
            assert record["error"] and error in record["error"], f"line {line_no}: {record['error']!r}"
            assert record["error"].startswith(f"line {line_no}:"), "errors say where"


def test_csv_with_embedded_newlines_and_quotes(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text(
        'note_id,text,billed,payer\n'
        'c1,"S: neck pain 5/10.\nTx: MFR to R upper trap 12 min, ""tolerated well"".\nGoal: rotation 70° in 4 wks.",97140x1,cms\n'
        'c2,"Effleurage to calf 10 min",97124-xyz,cms\n'
    )
    out = run_batch(path)
    assert [r["note_id"] for r in out] == ["c1", "c2"]
    assert out[0]["error"] is None and out[0]["lines"][0]["code"] == "97140"
    assert out[1]["error"].startswith("line 5:") and "97124-xyz" in out[1]["error"]


def test_chunks_judge_charts_whole(nlp):
    """Scoring in chunks of 5 (charts split across chunks) equals scoring the whole input at once."""
    records = split_notes(ROOT / "corpus", "dev")[:120]
    assert any(r.get("chart_id") for r in records)
    source = write_jsonl(Path(__import__("tempfile").mkdtemp()) / "dev.jsonl", records)
    chunked = run_batch(source, chunk_size=5)
    whole = score(records, None, nlp)
    assert chunked == json.loads(json.dumps(whole))


@pytest.mark.slow
def test_two_workers_give_the_same_output_as_one(tmp_path):
    source = write_jsonl(tmp_path / "dev.jsonl", split_notes(ROOT / "corpus", "dev")[:80])
    outputs = []
    for workers in ("1", "2"):
        target = tmp_path / f"out-{workers}.jsonl"
        subprocess.run([sys.executable, "-m", "notes_nlp.cli", "score", str(source), "-o", str(target), "--workers", workers], check=True, capture_output=True)
        outputs.append(target.read_bytes())
    assert outputs[0] == outputs[1] and outputs[0].count(b"\n") == 80


def scored_with_digests(source: Path, target: Path) -> Path:
    with target.open("w") as out, batch.digests_path(target).open("w") as digests:
        batch.run(source, out, RULES_ONLY, digests=digests)
    return target


def resumed(source: Path, target: Path) -> int:
    """What `score --resume` does: keep the verified records, score the rest after them."""
    the_plan = batch.plan(source)
    try:
        start = batch.resume_point(the_plan, target)
        with target.open("a") as out, batch.digests_path(target).open("a") as digests:
            batch.run(source, out, RULES_ONLY, start=start, the_plan=the_plan, digests=digests)
    finally:
        the_plan.close()
    return start


def cut_in_half(path: Path) -> None:
    """As a killed run leaves a file: a partial last line."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_resume_after_a_cut_gives_the_uninterrupted_output(tmp_path):
    source = write_jsonl(tmp_path / "dev.jsonl", split_notes(ROOT / "corpus", "dev")[:60])
    full = scored_with_digests(source, tmp_path / "full.jsonl")
    cut = scored_with_digests(source, tmp_path / "cut.jsonl")
    cut_in_half(cut)
    start = resumed(source, cut)
    assert 0 < start < 60
    assert cut.read_bytes() == full.read_bytes()
    assert batch.digests_path(cut).read_bytes() == batch.digests_path(full).read_bytes()


def test_the_digests_are_cut_with_the_output_when_they_ran_ahead(tmp_path):
    source = write_jsonl(tmp_path / "dev.jsonl", split_notes(ROOT / "corpus", "dev")[:40])
    full = scored_with_digests(source, tmp_path / "full.jsonl")
    cut = scored_with_digests(source, tmp_path / "cut.jsonl")
    cut.write_bytes(b"".join(cut.read_bytes().splitlines(keepends=True)[:7]))
    assert resumed(source, cut) == 7
    assert cut.read_bytes() == full.read_bytes()


@pytest.mark.parametrize("change, says", [
    (lambda records: records[::-1], "is note"),  # the same notes in another order
    (lambda records: [{**records[0], "text": records[0]["text"] + " Pt tolerated well."}, *records[1:]], "another version"),
    (lambda records: [{**r, "note_id": f"other-{i}"} for i, r in enumerate(records)], "is note"),
    (lambda records: records[:5], "more records than the input"),
])
def test_resume_over_another_input_is_refused(tmp_path, change, says):
    records = split_notes(ROOT / "corpus", "dev")[:20]
    output = scored_with_digests(write_jsonl(tmp_path / "first.jsonl", records), tmp_path / "out.jsonl")
    before = output.read_bytes()
    other = write_jsonl(tmp_path / "other.jsonl", change(records))
    with pytest.raises(batch.ResumeError, match=says):
        resumed(other, output)
    assert output.read_bytes() == before, "a refused resume leaves the output as it was"


def test_resume_without_digests_is_refused(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", split_notes(ROOT / "corpus", "dev")[:5])
    output = tmp_path / "out.jsonl"
    with output.open("w") as out:
        batch.run(source, out, RULES_ONLY)
    with pytest.raises(batch.ResumeError, match="no out.jsonl.digests"):
        resumed(source, output)


def test_a_chunk_shows_no_note_text():
    """An engine's workers log the arguments of a failed task: a chunk's repr has no note in it."""
    the_plan = batch.plan(FIXTURES / "mixed_records.jsonl")
    try:
        for chunk in batch.chunks(the_plan, RULES_ONLY, 0, 4):
            assert "text" not in repr(chunk) and "envelopes" not in repr(chunk)
            assert len(score_chunk(chunk)) == chunk.count
    finally:
        the_plan.close()


def test_the_spool_has_no_name(tmp_path):
    """The spool holds every note's text: it is unlinked as soon as it is opened, so nothing is
    left of it after a crash or kill -9."""
    the_plan = batch.plan(FIXTURES / "mixed_records.jsonl", spool_dir=str(tmp_path))
    try:
        assert len(the_plan) == 57 and list(tmp_path.iterdir()) == []
        assert [e["line"] for e in batch.envelopes(the_plan)][:3] == [1, 2, 3]
    finally:
        the_plan.close()


@pytest.mark.slow
def test_resume_after_killing_a_real_run(tmp_path):
    """Kill -9 `notes-nlp score --workers 2` half-way: no file holding note text is left outside
    the output's folder; `--resume` gives the bytes of an uninterrupted run, and `--resume` of
    that output over another input is refused."""
    records = split_notes(ROOT / "corpus", "train")[:400]
    source = write_jsonl(tmp_path / "train.jsonl", records)
    command = [sys.executable, "-m", "notes_nlp.cli", "score", str(source), "--rules-only", "--workers", "2", "-o"]
    subprocess.run(command + [str(tmp_path / "full.jsonl")], check=True, capture_output=True)
    (tmp_path / "out").mkdir()
    (tmp_path / "tmp").mkdir()
    target = tmp_path / "out" / "killed.jsonl"
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp")}
    process = subprocess.Popen(command + [str(target)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not target.exists() or target.read_bytes().count(b"\n") < 100):
        time.sleep(0.05)
    process.kill()  # SIGKILL: no cleanup runs
    process.wait()
    written = target.read_bytes().count(b"\n")
    assert 100 <= written < 400, "the run was not killed half-way"
    assert list((tmp_path / "tmp").iterdir()) == [], "nothing is left in the temporary folder"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["killed.jsonl", "killed.jsonl.digests"]
    subprocess.run(command + [str(target), "--resume"], check=True, capture_output=True, env=env)
    assert target.read_bytes() == (tmp_path / "full.jsonl").read_bytes()
    other = write_jsonl(tmp_path / "other.jsonl", records[1:] + records[:1])
    refused = subprocess.run([*command[:4], str(other), *command[5:], str(target), "--resume"], capture_output=True, text=True)
    assert refused.returncode == 2 and "not an output of this input" in refused.stderr
    assert target.read_bytes() == (tmp_path / "full.jsonl").read_bytes()

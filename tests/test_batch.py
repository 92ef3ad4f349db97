"""The batch job: nothing lost, input order, charts whole across chunks, workers, resume."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from notes_nlp import batch
from notes_nlp.corpus.load import split_notes
from notes_nlp.scoring import score

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
RULES_ONLY = batch.Options(rules_only=True)


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


def test_resume_after_a_cut_gives_the_uninterrupted_output(tmp_path):
    source = write_jsonl(tmp_path / "dev.jsonl", split_notes(ROOT / "corpus", "dev")[:60])
    full = tmp_path / "full.jsonl"
    with full.open("w") as out:
        batch.run(source, out, RULES_ONLY)
    cut = tmp_path / "cut.jsonl"
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) // 2])  # as a killed run leaves it: a partial last line
    start = batch.completed_lines(cut)
    assert 0 < start < 60 and cut.read_bytes().endswith(b"\n")
    with cut.open("a") as out:
        batch.run(source, out, RULES_ONLY, start=start)
    assert cut.read_bytes() == full.read_bytes()


@pytest.mark.slow
def test_resume_after_killing_a_real_run(tmp_path):
    """Kill `notes-nlp score` half-way, then `--resume`: the same bytes as an uninterrupted run."""
    source = write_jsonl(tmp_path / "train.jsonl", split_notes(ROOT / "corpus", "train")[:400])
    command = [sys.executable, "-m", "notes_nlp.cli", "score", str(source), "--rules-only", "-o"]
    subprocess.run(command + [str(tmp_path / "full.jsonl")], check=True, capture_output=True)
    target = tmp_path / "killed.jsonl"
    process = subprocess.Popen(command + [str(target)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not target.exists() or target.read_bytes().count(b"\n") < 100):
        time.sleep(0.05)
    process.kill()
    process.wait()
    written = target.read_bytes().count(b"\n")
    assert 100 <= written < 400, "the run was not killed half-way"
    subprocess.run(command + [str(target), "--resume"], check=True, capture_output=True)
    assert target.read_bytes() == (tmp_path / "full.jsonl").read_bytes()

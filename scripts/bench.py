"""Benchmark notes-nlp on this machine and print one JSON line of figures.

Measured in one run on the same notes (the corpus notes plus long notes made
here by joining corpus notes to 500+ words):

* notes/s and words/s of spaCy's blank tokenizer alone, of the extraction
  pipeline, and of the full scoring path (extraction, rules, model, records),
  with each one's ratio to the tokenizer;
* the batch job with 1 and 2 workers, and the speed-up;
* warm ``check`` latency for one typical note: p50 and p99;
* the whole-process time of ``notes-nlp check`` on one note (cold start);
* the time of one full garbage collection with the pipeline and the model
  loaded, and with them frozen out of the collector as the service does;
* peak RSS of ``notes-nlp score`` (full scoring) streaming a file of N
  distinct notes (each corpus note with a line of new words added, so every
  note brings strings spaCy has not seen), read when a tenth of the notes are
  done and at the end: equal figures mean memory does not grow with N.

Usage: ``python scripts/bench.py [--notes N] [--check-calls N] [--rss-notes N]``
(``make bench`` runs the defaults). Figures, not assertions: the test suite
only checks that this script runs on a tiny input.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterable, Iterator

ROOT = Path(__file__).resolve().parents[1]


def corpus_notes(limit: int) -> list[dict]:
    records = []
    for path in sorted((ROOT / "corpus").glob("*/*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                records.append({key: record[key] for key in ("note_id", "chart_id", "date", "text", "billed", "provider_credential", "payer") if key in record})
    return records[:limit]


def long_notes(records: list[dict], count: int) -> list[dict]:
    """Notes of 500+ words, each the concatenation of consecutive corpus notes."""
    out, index = [], 0
    while len(out) < count and records:
        parts, words = [], 0
        while words < 500:
            parts.append(records[index % len(records)]["text"])
            words += len(parts[-1].split())
            index += 1
        out.append({"note_id": f"long-{len(out)}", "text": "\n\n".join(parts), "billed": [{"code": "97140", "units": 1}], "payer": "cms"})
    return out


def rate(count: int, words: int, seconds: float) -> dict:
    return {"notes_per_s": round(count / seconds, 1), "words_per_s": round(words / seconds)}


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def distinct(records: list[dict], count: int) -> Iterator[dict]:
    """``count`` notes cycling over ``records``, each with its own id and a line of words
    no other note has (as real notes carry names and numbers)."""
    rng = random.Random(0)
    for i in range(count):
        record = records[i % len(records)]
        words = " ".join("".join(rng.choices(string.ascii_lowercase, k=9)) for _ in range(3))
        yield {**record, "note_id": f"n{i}", "chart_id": None, "text": f"{record['text']}\nRef: {words} #{rng.randrange(10**9)}"}


def write_jsonl(path: Path, records: Iterable[dict]) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record) + "\n")
    return path


def batch_seconds(path: Path, workers: int) -> float:
    out = path.with_suffix(f".w{workers}.jsonl")
    command = [sys.executable, "-m", "notes_nlp.cli", "score", str(path), "-o", str(out), "--workers", str(workers)]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def _peak_kb(pid: int) -> int:
    """The process's peak resident set so far (VmHWM), in kB; 0 once it has ended."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)


def peak_rss_mb(path: Path, out: Path, total: int) -> dict:
    """Peak RSS of a full `notes-nlp score` run, read when a tenth of the notes are written
    and at the end (Linux reports kilobytes)."""
    process = subprocess.Popen([sys.executable, "-m", "notes_nlp.cli", "score", str(path), "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    early, peak, done, offset = None, 0, 0, 0
    while process.poll() is None:
        time.sleep(0.5)
        peak = max(peak, _peak_kb(process.pid))
        if out.exists():
            with out.open("rb") as stream:
                stream.seek(offset)
                chunk = stream.read()
            offset += len(chunk)
            done += chunk.count(b"\n")
        if early is None and done >= total // 10:
            early = peak
    if process.returncode:
        raise SystemExit(f"notes-nlp score failed with exit code {process.returncode}")
    peak = max(peak, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return {"notes": total, "at_a_tenth": round((early or peak) / 1024, 1), "at_the_end": round(peak / 1024, 1)}


def full_gc_ms() -> dict:
    """One full collection of this process (pipeline and model loaded), then with what is
    loaded frozen out of the collector, as each service worker does after loading."""
    import gc

    loaded = timed(gc.collect)
    gc.freeze()
    frozen = timed(gc.collect)
    gc.unfreeze()
    return {"loaded": round(loaded * 1000, 1), "frozen": round(frozen * 1000, 1)}


def machine() -> dict:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), platform.processor())
    return {"cpus": os.cpu_count(), "cpu": model, "load_average_at_start": round(os.getloadavg()[0], 2), "python": platform.python_version(), "platform": platform.platform()}


def dask_throughput(path: Path, workers: int) -> float:
    """notes/s of the batch (plan, chunks scored on the cluster, in-order writing) through the
    Dask engine on a local cluster of ``workers`` processes; the cluster's start and the
    workers' loading of the pipeline and model are done before the clock starts."""
    from notes_nlp import batch
    from notes_nlp.engines import dask as on_dask
    from notes_nlp.scoring import Options

    options = Options()
    with on_dask.cluster_client(workers=workers) as client, open(os.devnull, "w") as out:
        engine = on_dask.engine(client, options)  # returns once every worker has loaded
        start = time.perf_counter()
        summary = batch.run(path, out, options, engine)
        return summary.notes / (time.perf_counter() - start)


def dask_figures(path: Path) -> dict:
    one, two = dask_throughput(path, 1), dask_throughput(path, 2)
    return {"dask_1_worker_notes_per_s": round(one, 1), "dask_2_workers_notes_per_s": round(two, 1), "dask_speedup": round(two / one, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notes", type=int, default=1000, help="corpus notes to measure throughput on")
    parser.add_argument("--long-notes", type=int, default=100, help="long (500+ word) notes added to them")
    parser.add_argument("--check-calls", type=int, default=1000, help="warm check calls for p50/p99")
    parser.add_argument("--batch-notes", type=int, default=3000, help="notes of the 1- and 2-worker batch runs (start-up included)")
    parser.add_argument("--rss-notes", type=int, default=100_000, help="distinct notes streamed for the peak RSS figure")
    parser.add_argument("--dask", action="store_true", help="also the batch on a local Dask cluster of 1 and 2 workers")
    args = parser.parse_args()

    import spacy

    import notes_nlp
    from notes_nlp.model.persist import load_model
    from notes_nlp.scoring import score

    records = corpus_notes(args.notes)
    records += long_notes(records, args.long_notes)
    texts = [r["text"] for r in records]
    words = sum(len(t.split()) for t in texts)
    blank, nlp, model = spacy.blank("en"), notes_nlp.load(), load_model()
    tokenizer = timed(lambda: list(blank.pipe(texts)))
    extraction = timed(lambda: list(nlp.pipe(texts)))
    scoring = timed(lambda: score(records, model, nlp))
    figures: dict = {
        "machine": machine(),
        "notes": len(records), "words": words,
        "tokenizer": rate(len(texts), words, tokenizer),
        "extraction": {**rate(len(texts), words, extraction), "ratio_to_tokenizer": round(tokenizer / extraction, 3)},
        "scoring": {**rate(len(texts), words, scoring), "ratio_to_tokenizer": round(tokenizer / scoring, 3)},
    }
    with tempfile.TemporaryDirectory() as folder:
        path = write_jsonl(Path(folder) / "notes.jsonl", distinct(records, args.batch_notes))
        one, two = batch_seconds(path, 1), batch_seconds(path, 2)
        figures["batch"] = {"notes": args.batch_notes, "workers_1_notes_per_s": round(args.batch_notes / one, 1), "workers_2_notes_per_s": round(args.batch_notes / two, 1), "speedup": round(one / two, 2)}
        if args.dask:
            figures.update(dask_figures(path))

        typical = next(r for r in records if r.get("billed") and 100 <= len(r["text"].split()) <= 300)
        latencies = []
        for _ in range(args.check_calls):
            start = time.perf_counter()
            score([typical], model, nlp)
            latencies.append((time.perf_counter() - start) * 1000)
        quantiles = statistics.quantiles(latencies, n=100)
        figures["check_warm_ms"] = {"p50": round(statistics.median(latencies), 2), "p99": round(quantiles[98], 2), "calls": len(latencies)}
        note = Path(folder) / "note.json"
        note.write_text(json.dumps(typical))
        cold = timed(lambda: subprocess.run([sys.executable, "-m", "notes_nlp.cli", "check", str(note)], capture_output=True))
        figures["check_cold_s"] = round(cold, 2)
        figures["full_gc_ms"] = full_gc_ms()

        stream = write_jsonl(Path(folder) / "stream.jsonl", distinct(records, args.rss_notes))
        figures["peak_rss_mb"] = peak_rss_mb(stream, Path(folder) / "stream.out.jsonl", args.rss_notes)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

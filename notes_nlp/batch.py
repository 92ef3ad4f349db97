"""The batch job: score a file of notes of any size, in input order, nothing lost.

Pass 1 (:func:`plan`) reads the input once (JSONL, CSV or stdin) into a
spool file of envelopes ``{"line", "record", "error"}`` and keeps, per record,
only where its envelope starts and which chart it belongs to; a repeated
``note_id`` becomes an error there. Pass 2 scores chunks of consecutive
records. A chunk re-reads by offset the other notes of the charts it touches,
so a chart is judged whole whatever the chunk size, and chunks are
independent: an engine (:func:`local_engine`'s N processes, or a Dask cluster)
scores them, each process loading the pipeline and the model once, and the
writer emits their lines in input order. ``resume`` counts the complete lines
already written and starts after them.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from array import array
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import IO, Any, Callable, Generator, Iterator

from notes_nlp.io.records import MAX_TEXT_CHARS, chart_key, read_records
from notes_nlp.scoring import error_record

CHUNK_SIZE = 32


@dataclass(frozen=True)
class Options:
    """What a worker needs to score: hashable, so each process loads things once."""

    model: str | None = None  # a model directory; None for the default
    rules_only: bool = False
    payer_file: str | None = None


@dataclass
class Plan:
    """Per record: its envelope's offset in the spool; per chart: its records."""

    spool: Path
    offsets: array = field(default_factory=lambda: array("q"))
    charts: dict[str, list[int]] = field(default_factory=dict)
    chart_of: dict[int, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.offsets)


def _id_hash(note_id: str) -> bytes:
    return hashlib.blake2b(note_id.encode("utf-8"), digest_size=8).digest()


def plan(source: str | Path, spool_dir: str | None = None, max_chars: int = MAX_TEXT_CHARS) -> Plan:
    """Pass 1: spool the input as envelopes and index records and charts (no texts kept)."""
    handle, name = tempfile.mkstemp(prefix="notes-nlp-", suffix=".jsonl", dir=spool_dir)
    result = Plan(Path(name))
    seen: dict[bytes, int] = {}
    with os.fdopen(handle, "wb") as spool:
        for item in read_records(source, max_chars):
            error, record = item.error, item.record
            note_id = item.note_id
            if error is None and note_id is not None:
                first = seen.setdefault(_id_hash(note_id), item.line)
                if first != item.line:
                    error = f"line {item.line}: duplicate note_id {note_id!r} (first on line {first})"
            index = len(result.offsets)
            result.offsets.append(spool.tell())
            spool.write(json.dumps({"line": item.line, "record": record, "error": error}, ensure_ascii=False).encode("utf-8") + b"\n")
            chart = chart_key(record) if error is None else None
            if chart:
                result.charts.setdefault(chart, []).append(index)
                result.chart_of[index] = chart
    return result


def envelopes(spool: Path) -> Iterator[dict[str, Any]]:
    """All envelopes of a spool, in input order."""
    with spool.open("rb") as stream:
        for line in stream:
            yield json.loads(line)


def read_envelopes(spool: Path, offsets: list[int]) -> list[dict[str, Any]]:
    with spool.open("rb") as stream:
        envelopes = []
        for offset in offsets:
            stream.seek(offset)
            envelopes.append(json.loads(stream.readline()))
        return envelopes


@cache
def loaded(options: Options) -> tuple[Any, Any]:
    """The model and the user's payer profile, loaded once per process; a bad one raises
    ModelError or ProfileError, which the command line turns into a message."""
    from notes_nlp.model.persist import load_model
    from notes_nlp.rules.profiles import load_profile

    model = None if options.rules_only else load_model(options.model)
    return model, load_profile(options.payer_file) if options.payer_file else None


def _scorer(options: Options) -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]]:
    """Score records with this process's pipeline, model and payer profiles."""
    from notes_nlp.rules.profiles import load_profile
    from notes_nlp.scoring import default_pipeline, score

    model, own = loaded(options)
    nlp = default_pipeline()
    return lambda records: score(records, model, nlp, lambda payer: own or load_profile(payer))


Task = tuple[Path, list[int], list[int], Options]


def score_chunk(task: Task) -> list[str]:
    """Score a chunk of records (spool offsets), reading the other notes of their charts
    too; one JSON line per record of the chunk, in order."""
    spool, chunk, mates, options = task
    return score_envelopes(read_envelopes(spool, chunk + mates), len(chunk), options)


def score_envelopes(envelopes: list[dict[str, Any]], count: int, options: Options) -> list[str]:
    """One JSON line for each of the first ``count`` envelopes (the chunk), judged with the
    rest (the other notes of their charts). A pure function of its arguments, so that an
    engine whose workers cannot read the spool can send it the envelopes themselves."""
    valid = [(i, e) for i, e in enumerate(envelopes) if e["error"] is None]
    scored = dict(zip((i for i, _ in valid), _scorer(options)([e["record"] for _, e in valid])))
    lines = []
    for i, envelope in enumerate(envelopes[:count]):
        if envelope["error"] is not None:
            record = error_record(envelope["record"], envelope["error"])
        else:
            record = scored[i]
            if record["error"] and not record["error"].startswith("line "):
                record["error"] = f"line {envelope['line']}: {record['error']}"
        lines.append(json.dumps(record, ensure_ascii=False))
    return lines


def tasks(the_plan: Plan, options: Options, start: int, chunk_size: int) -> Iterator[Task]:
    """Chunks of consecutive records from ``start``, each with the other notes of its charts."""
    for first in range(start, len(the_plan), chunk_size):
        chunk = list(range(first, min(first + chunk_size, len(the_plan))))
        inside = set(chunk)
        charts = {the_plan.chart_of[i] for i in chunk if i in the_plan.chart_of}
        mates = sorted({m for chart in charts for m in the_plan.charts[chart] if m not in inside})
        yield the_plan.spool, [the_plan.offsets[i] for i in chunk], [the_plan.offsets[m] for m in mates], options


def completed_lines(path: Path) -> int:
    """Complete records already in an output file; a partial last line is cut off."""
    if not path.exists():
        return 0
    data = path.read_bytes()
    keep = data.rfind(b"\n") + 1
    if keep < len(data):
        with path.open("r+b") as stream:
            stream.truncate(keep)
    return data[:keep].count(b"\n")


@dataclass
class Summary:
    notes: int = 0
    errors: int = 0
    verdicts: Counter = field(default_factory=Counter)
    findings: Counter = field(default_factory=Counter)

    def add(self, line: str) -> None:
        record = json.loads(line)
        self.notes += 1
        self.errors += record["error"] is not None
        self.verdicts.update(l["verdict"] for l in record["lines"])
        self.findings.update(f["rule"] for l in record["lines"] for f in l["findings"])

    def __str__(self) -> str:
        text = f"{self.notes} notes ({self.errors} with errors); lines: " + ", ".join(f"{v} {n}" for v, n in sorted(self.verdicts.items()))
        if self.findings:
            text += "\nmost frequent findings: " + ", ".join(f"{rule} {n}" for rule, n in self.findings.most_common(5))
        return text


Engine = Callable[[Iterator[Task]], Generator[list[str], None, None]]
"""Maps :func:`score_chunk` over tasks and yields each task's lines in task order: the
local processes of :func:`local_engine`, or a cluster (``notes_nlp.engines``)."""


def local_engine(workers: int = 1) -> Engine:
    """Chunks scored in this process, or in ``workers`` spawned processes (each loads the
    pipeline and model once); the pool lives as long as the run that uses it."""

    def mapped(work: Iterator[Task]) -> Generator[list[str], None, None]:
        if workers == 1:
            yield from map(score_chunk, work)
            return
        from multiprocessing import get_context

        with get_context("spawn").Pool(workers) as pool:
            yield from pool.imap(score_chunk, work)

    return mapped


def run(
    source: str | Path,
    out: IO[str],
    options: Options,
    engine: Engine | None = None,
    start: int = 0,
    chunk_size: int = CHUNK_SIZE,
    progress: Callable[[int, int], None] | None = None,
    the_plan: Plan | None = None,
    keep_spool: bool = False,
) -> Summary:
    """Score ``source`` into ``out`` from record ``start`` on, with ``engine`` (default: this
    process); returns the summary of what was written. The spool is removed at the end
    unless ``keep_spool`` (a report reads it again)."""
    the_plan = the_plan or plan(source)
    summary = Summary()
    results = (engine or local_engine())(tasks(the_plan, options, start, chunk_size))
    try:
        _write(results, out, summary, start, len(the_plan), progress)
    finally:
        results.close()  # stops the engine's work in flight when writing failed
        if not keep_spool:
            the_plan.spool.unlink(missing_ok=True)
    return summary


def _write(results: Iterator[list[str]], out: IO[str], summary: Summary, done: int, total: int, progress) -> None:
    """Write each chunk's lines as soon as it is ready, in input order."""
    for lines in results:
        for line in lines:
            out.write(line + "\n")
            summary.add(line)
        out.flush()
        done += len(lines)
        if progress:
            progress(done, total)

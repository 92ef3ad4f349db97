"""The batch job: score a file of notes of any size, in input order, nothing lost.

Pass 1 (:func:`plan`) reads the input once (JSONL, CSV or stdin) into a
spool of envelopes ``{"line", "record", "error"}`` and keeps, per record,
only where its envelope starts, its digest and which chart it belongs to; a
repeated ``note_id`` becomes an error there. The spool is an unnamed
temporary file, unlinked as soon as it is opened: the note text it holds
never outlives the process, even one killed with ``kill -9``. Pass 2 scores
chunks of consecutive records: each :class:`Chunk` carries its envelopes and
those of the other notes of the charts it touches, so a chart is judged whole
whatever the chunk size, and chunks are independent: an engine
(:func:`local_engine`'s N processes, or a Dask cluster) scores them, each
process loading the pipeline and the model once, and the writer emits their
lines in input order.

Beside an output file, the run writes ``<output>.digests``: one line per
output record, the digest of the input record it was scored from (no note
text). ``--resume`` (:func:`resume_point`) keeps the complete records an
interrupted run wrote only when each is this input's record (its note_id and
digest), and refuses otherwise.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from array import array
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Generator, Iterator

from notes_nlp.chunks import Chunk, Engine, score_chunk
from notes_nlp.io.records import MAX_TEXT_CHARS, chart_key, note_id_of, read_records
from notes_nlp.scoring import Options

CHUNK_SIZE = 32
IN_FLIGHT_PER_WORKER = 2
DIGEST_BYTES = 16
DIGESTS_SUFFIX = ".digests"


@dataclass
class Plan:
    """The spool (an open, unnamed file); per record: its envelope's offset in the spool and
    its digest; per chart: its records."""

    spool: IO[bytes]
    offsets: array = field(default_factory=lambda: array("q"))
    digests: bytearray = field(default_factory=bytearray)
    charts: dict[str, list[int]] = field(default_factory=dict)
    chart_of: dict[int, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.offsets)

    def digest(self, index: int) -> str:
        return self.digests[index * DIGEST_BYTES:(index + 1) * DIGEST_BYTES].hex()

    def close(self) -> None:
        """Drop the spool (its space is freed: it has no name)."""
        self.spool.close()


def _id_hash(note_id: str) -> bytes:
    return hashlib.blake2b(note_id.encode("utf-8"), digest_size=8).digest()


def plan(source: str | Path, spool_dir: str | None = None, max_chars: int = MAX_TEXT_CHARS) -> Plan:
    """Pass 1: spool the input as envelopes and index records and charts (no texts kept)."""
    result = Plan(tempfile.TemporaryFile(prefix="notes-nlp-", dir=spool_dir))
    seen: dict[bytes, int] = {}
    for item in read_records(source, max_chars):
        error, record = item.error, item.record
        note_id = item.note_id
        if error is None and note_id is not None:
            first = seen.setdefault(_id_hash(note_id), item.line)
            if first != item.line:
                error, record = f"line {item.line}: duplicate note_id {note_id!r} (first on line {first})", {"note_id": note_id}
        index = len(result.offsets)
        result.offsets.append(result.spool.tell())
        envelope = json.dumps({"line": item.line, "record": record, "error": error}, ensure_ascii=False).encode("utf-8")
        result.spool.write(envelope + b"\n")
        result.digests += hashlib.blake2b(envelope, digest_size=DIGEST_BYTES).digest()
        chart = chart_key(record) if error is None else None
        if chart:
            result.charts.setdefault(chart, []).append(index)
            result.chart_of[index] = chart
    result.spool.flush()
    return result


def envelopes(the_plan: Plan) -> Iterator[dict[str, Any]]:
    """All envelopes of a plan's spool, in input order."""
    the_plan.spool.seek(0)
    for line in the_plan.spool:
        yield json.loads(line)


def read_envelopes(the_plan: Plan, indices: list[int]) -> list[dict[str, Any]]:
    found = []
    for index in indices:
        the_plan.spool.seek(the_plan.offsets[index])
        found.append(json.loads(the_plan.spool.readline()))
    return found


def chunks(the_plan: Plan, options: Options, start: int, chunk_size: int) -> Iterator[Chunk]:
    """Chunks of consecutive records from ``start``, each with the other notes of its charts,
    read from the spool as the engine asks for them."""
    for first in range(start, len(the_plan), chunk_size):
        chunk = list(range(first, min(first + chunk_size, len(the_plan))))
        inside = set(chunk)
        charts = {the_plan.chart_of[i] for i in chunk if i in the_plan.chart_of}
        mates = sorted({m for chart in charts for m in the_plan.charts[chart] if m not in inside})
        yield Chunk(read_envelopes(the_plan, chunk + mates), len(chunk), options)


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


def local_engine(workers: int = 1) -> Engine:
    """Chunks scored in this process, or in ``workers`` spawned processes (each loads the
    pipeline and model once), with at most :data:`IN_FLIGHT_PER_WORKER` chunks each read
    ahead of the writer, so memory stays flat; the pool lives as long as the run."""

    def mapped(work: Iterator[Chunk]) -> Generator[list[str], None, None]:
        if workers == 1:
            yield from map(score_chunk, work)
            return
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"))
        pending: deque = deque()
        try:
            for chunk in work:
                pending.append(pool.submit(score_chunk, chunk))
                if len(pending) >= IN_FLIGHT_PER_WORKER * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            pool.shutdown(cancel_futures=True)

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
    digests: IO[str] | None = None,
) -> Summary:
    """Score ``source`` into ``out`` from record ``start`` on, with ``engine`` (default: this
    process), and each written record's input digest into ``digests``; returns the summary of
    what was written. A plan made here is dropped at the end; the caller closes its own."""
    own_plan = the_plan is None
    the_plan = the_plan or plan(source, max_chars=options.max_chars)
    summary = Summary()
    results = (engine or local_engine())(chunks(the_plan, options, start, chunk_size))
    try:
        _write(results, out, digests, the_plan, summary, start, progress)
    finally:
        results.close()  # stops the engine's work in flight when writing failed
        if own_plan:
            the_plan.close()
    return summary


def _write(results: Iterator[list[str]], out: IO[str], digests: IO[str] | None, the_plan: Plan, summary: Summary,
           done: int, progress: Callable[[int, int], None] | None) -> None:
    """Write each chunk's lines as soon as it is ready, in input order; the digests after the
    records, so that a killed run never has a digest for a record it did not write."""
    for lines in results:
        for line in lines:
            out.write(line + "\n")
            summary.add(line)
        out.flush()
        if digests is not None:
            digests.write("".join(the_plan.digest(i) + "\n" for i in range(done, done + len(lines))))
            digests.flush()
        done += len(lines)
        if progress:
            progress(done, len(the_plan))


class ResumeError(Exception):
    """An output that ``--resume`` must not continue; the message says why and what to do."""


def digests_path(output: Path) -> Path:
    return output.with_name(output.name + DIGESTS_SUFFIX)


def resume_point(the_plan: Plan, output: Path) -> int:
    """How many of the records already in ``output`` to keep: the complete ones, each checked to
    be this input's record (the same note_id and input digest, in the same place). The output
    and its digests are cut to them. ResumeError when any is not this input's."""
    digests = digests_path(output)
    if not output.exists() or output.stat().st_size == 0:
        return 0
    if not digests.exists():
        raise ResumeError(f"{output} has no {digests.name} beside it to show which input its records were scored from: {_START_AGAIN}")
    keep, record_bytes, digest_bytes = 0, 0, 0
    with output.open("rb") as records, digests.open("rb") as sums:
        for envelope, line, digest in zip(envelopes(the_plan), records, sums):
            if not line.endswith(b"\n") or not digest.endswith(b"\n"):
                break  # the partial last line of a killed run
            _check_kept(output, keep, line, digest, envelope, the_plan)
            keep, record_bytes, digest_bytes = keep + 1, record_bytes + len(line), digest_bytes + len(digest)
        else:
            if keep == len(the_plan) and next(records, b"").endswith(b"\n"):
                raise ResumeError(f"{output} has more records than the input's {len(the_plan)}: {_START_AGAIN}")
    _cut(output, record_bytes)
    _cut(digests, digest_bytes)
    return keep


_START_AGAIN = "it is not an output of this input; score without --resume (or to a new file)"


def _check_kept(output: Path, index: int, line: bytes, digest: bytes, envelope: dict[str, Any], the_plan: Plan) -> None:
    expected = note_id_of(envelope["record"])
    try:
        kept = json.loads(line).get("note_id")
    except (ValueError, AttributeError):
        raise ResumeError(f"{output}: record {index + 1} is not a scored record: {_START_AGAIN}") from None
    if kept != expected:
        raise ResumeError(f"{output}: record {index + 1} is note {kept!r}, this input's is {expected!r}: {_START_AGAIN}")
    if digest.rstrip(b"\n") != the_plan.digest(index).encode("ascii"):
        raise ResumeError(f"{output}: record {index + 1} (note {kept!r}) was scored from another version of it: {_START_AGAIN}")


def _cut(path: Path, size: int) -> None:
    with path.open("r+b") as stream:
        stream.truncate(size)

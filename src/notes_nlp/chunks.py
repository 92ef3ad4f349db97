"""A chunk of note records and its scoring: the unit of work every batch engine runs.

A :class:`Chunk` carries envelopes ``{"line", "record", "error"}``: its own
records first, then the other notes of the charts they belong to, so that a
chart is judged whole wherever the chunk is scored. :func:`score_chunk` is a
pure function of the chunk, so the batch's local processes and a Dask
cluster's workers (``notes_nlp.engines``) run the same code, and neither
engine needs the batch job itself: the batch (a shell) builds chunks and
writes their lines; engines (shells) only map :func:`score_chunk` over them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Generator, Iterator

from notes_nlp.scoring import Options, error_record, scorer


@dataclass(frozen=True)
class Chunk:
    """A chunk's envelopes (the chunk's records, then the other notes of their charts), as one
    task's argument. Its repr leaves the notes out: a pool or a Dask worker logs the arguments
    of a failed task, and logs never hold note text."""

    envelopes: list[dict[str, Any]] = field(repr=False)
    count: int
    options: Options


#: What scores the chunks of a batch: maps :func:`score_chunk` over them and yields their lines
#: in chunk order, so the batch writes the same bytes whatever scored them.
Engine = Callable[[Iterator[Chunk]], Generator[list[str], None, None]]


def score_chunk(chunk: Chunk) -> list[str]:
    """One JSON line for each of the chunk's records (its first ``count`` envelopes), judged
    with the rest (the other notes of their charts). A pure function of the chunk, so that
    any engine's workers can score it, without the spool."""
    valid = [(i, e) for i, e in enumerate(chunk.envelopes) if e["error"] is None]
    scored = dict(zip((i for i, _ in valid), scorer(chunk.options)([e["record"] for _, e in valid])))
    lines = []
    for i, envelope in enumerate(chunk.envelopes[:chunk.count]):
        if envelope["error"] is not None:
            record = error_record(envelope["record"], envelope["error"])
        else:
            record = scored[i]
            if record["error"] and not record["error"].startswith("line "):
                record["error"] = f"line {envelope['line']}: {record['error']}"
        lines.append(json.dumps(record, ensure_ascii=False))
    return lines

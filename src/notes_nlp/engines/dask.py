"""The batch on a Dask cluster: ``notes-nlp score IN -o OUT --engine dask``.

The client (the machine running the command) does what the local engine does:
pass 1 spools and indexes the input, pass 2 cuts chunks of consecutive records
with the other notes of their charts, and the writer writes their lines in
input order. Only the scoring moves: each chunk travels to a worker as its own
envelopes (a :class:`notes_nlp.chunks.Chunk`, tens of kilobytes), so workers
need notes-nlp and its model, not the client's files. A worker loads the pipeline and the model
once, when it starts (:class:`Warm`). At most :data:`IN_FLIGHT_PER_THREAD`
chunks per worker thread are submitted ahead of the writer, so memory stays
flat whatever the input's size. Scoring a chunk is a pure function of the
chunk: when a worker dies, Dask runs its chunks again elsewhere, and the
output is byte for byte that of a local run.
"""

from __future__ import annotations

import asyncio
from collections import deque
from contextlib import contextmanager
from typing import Any, Generator, Iterator

from dask.distributed import Client, Future, KilledWorker, LocalCluster, WorkerPlugin

from notes_nlp.chunks import Chunk, Engine, score_chunk
from notes_nlp.scoring import Options, default_pipeline, loaded

IN_FLIGHT_PER_THREAD = 4
PLUGIN_NAME = "notes-nlp-warm"
CONNECT_TIMEOUT = "30s"


class ClusterError(Exception):
    """The cluster cannot score this run; the message says what to do."""


@contextmanager
def cluster_client(scheduler: str | None = None, workers: int = 1) -> Iterator[Client]:
    """A client of the running cluster at ``scheduler``, or of a local cluster of ``workers``
    single-threaded processes on 127.0.0.1 (no dashboard, so no bokeh and no fixed port)."""
    if scheduler:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except OSError as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {scheduler} ({exc}); start one with `dask scheduler`") from exc
        with client:
            yield client
        return
    only_here = {"dashboard_address": "127.0.0.1:0"}  # the scheduler's health page: any free port
    with LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None, scheduler_kwargs=only_here
    ) as cluster, Client(cluster) as client:
        client.wait_for_workers(workers)
        yield client


class Warm(WorkerPlugin):
    """Loads the pipeline, the model and the payer profile when a worker joins (a worker
    restarted after a crash too), so that each worker process loads them once and no task
    waits for it. Loading runs off the worker's event loop, which keeps answering the
    scheduler meanwhile; a worker gets its first task only once this is done."""

    def __init__(self, options: Options) -> None:
        self.options = options

    async def setup(self, worker: Any) -> None:
        await asyncio.to_thread(warm, self.options)


def warm(options: Options) -> None:
    """Fill this process's caches of the scorer's pipeline, model and payer profile."""
    loaded(options)
    default_pipeline()


def in_flight(client: Client) -> int:
    """How many chunks to keep submitted: a few per worker thread, so none waits for work;
    asked again as the run goes, for workers that join or leave."""
    return IN_FLIGHT_PER_THREAD * max(1, sum(client.nthreads().values()))


def engine(client: Client, options: Options) -> Engine:
    """The batch engine on ``client``'s cluster; returns once every worker has loaded what
    ``options`` asks for (a worker that cannot raises here: ModelError or ProfileError)."""
    crowded = sorted(address for address, threads in client.nthreads().items() if threads > 1)
    if crowded:
        raise ClusterError(
            f"Dask worker(s) {', '.join(crowded)} run several threads: start workers with "
            "`--nthreads 1` (and `--nworkers N` for N processes): a process scores one chunk at a time with its one pipeline"
        )
    client.register_plugin(Warm(options), name=PLUGIN_NAME)

    def mapped(work: Iterator[Chunk]) -> Generator[list[str], None, None]:
        pending: deque[Future] = deque()
        try:
            for chunk in work:
                pending.append(client.submit(score_chunk, chunk, pure=False))
                if len(pending) >= in_flight(client):
                    yield result(pending.popleft())
            while pending:
                yield result(pending.popleft())
        finally:
            client.cancel(list(pending))

    return mapped


def result(future: Future) -> list[str]:
    """A chunk's lines; a chunk that killed worker after worker stops the run."""
    try:
        return future.result()
    except KilledWorker as exc:
        raise ClusterError(
            f"a chunk was running on each of several Dask workers when they died ({exc}); "
            "the output holds every record before it: look at the workers' logs, then rerun with --resume"
        ) from exc

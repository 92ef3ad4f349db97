"""The batch on a Dask cluster: the local engine's bytes, faults included."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("dask.distributed")

from dask.distributed import Client, LocalCluster  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from notes_nlp import batch  # noqa: E402
from notes_nlp.scoring import Options  # noqa: E402
from notes_nlp.cli import app  # noqa: E402
from notes_nlp.engines import dask as on_dask  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "corpus" / "samples" / "notes.jsonl"
MIXED = ROOT / "tests" / "fixtures" / "mixed_records.jsonl"
GENERATED = ROOT / "corpus" / "generated" / "notes.jsonl"
DEFAULT = Options()


@pytest.fixture(scope="module")
def client():
    """A local cluster of 2 worker processes on 127.0.0.1, shared by the tests that keep it whole."""
    with on_dask.cluster_client(workers=2) as client:
        yield client


@pytest.fixture(scope="module")
def samples_and_bad_records(tmp_path_factory) -> Path:
    """The sample corpus, then the fixture of 28 kinds of bad records among good ones."""
    path = tmp_path_factory.mktemp("dask") / "mixed.jsonl"
    path.write_bytes(SAMPLES.read_bytes() + MIXED.read_bytes())
    return path


def local_output(source: Path, options: Options = DEFAULT, **kwargs) -> str:
    out = io.StringIO()
    batch.run(source, out, options, **kwargs)
    return out.getvalue()


def score_command(source: Path, target: Path, *args: str) -> bytes:
    command = [sys.executable, "-m", "notes_nlp.cli", "score", str(source), "-o", str(target), *args]
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    return target.read_bytes()


@pytest.mark.slow
def test_dask_output_is_byte_identical_to_the_local_engine(client, samples_and_bad_records, tmp_path):
    """The command with a local cluster of 2 workers, and with a running cluster's scheduler;
    and chunks of 3 (charts cut across chunks): the local engine's bytes each time."""
    local = score_command(samples_and_bad_records, tmp_path / "local.jsonl")
    assert local.count(b"\n") == 62 and local.count(b'"error": "line ') == 28
    assert score_command(samples_and_bad_records, tmp_path / "dask.jsonl", "--engine", "dask", "--workers", "2") == local
    assert score_command(samples_and_bad_records, tmp_path / "remote.jsonl", "--engine", "dask", "--scheduler", client.scheduler.address) == local
    small = local_output(samples_and_bad_records, engine=on_dask.engine(client, DEFAULT), chunk_size=3)
    assert small.encode("utf-8") == local


@pytest.mark.slow
def test_resume_on_dask_continues_where_the_cut_output_ends(client, tmp_path):
    source = tmp_path / "generated.jsonl"
    source.write_text("".join(GENERATED.read_text().splitlines(keepends=True)[:40]))
    rules_only = Options(rules_only=True)
    full = local_output(source, rules_only)
    cut = tmp_path / "cut.jsonl"
    with cut.open("w") as out, batch.digests_path(cut).open("w") as digests:
        batch.run(source, out, rules_only, digests=digests)
    cut.write_text(full[: len(full) // 2])
    the_plan = batch.plan(source)
    start = batch.resume_point(the_plan, cut)
    assert 0 < start < 40
    with cut.open("a") as out:
        batch.run(source, out, rules_only, on_dask.engine(client, rules_only), start=start, the_plan=the_plan)
    the_plan.close()
    assert cut.read_text() == full


@pytest.mark.slow
def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(tmp_path):
    """SIGKILL a worker that is scoring, a quarter of the way in: Dask runs its chunks again
    on the other worker (and the nanny restarts it); the output is the local engine's."""
    source = tmp_path / "generated.jsonl"
    source.write_text("".join(GENERATED.read_text().splitlines(keepends=True)[:240]))
    options = Options(rules_only=True)
    expected = local_output(source, options)
    with on_dask.cluster_client(workers=2) as client:
        engine = on_dask.engine(client, options)
        pids = client.run(os.getpid)
        killed: list[tuple[int, int]] = []

        def kill_a_busy_worker(done: int, total: int) -> None:
            busy = [address for address, keys in client.processing().items() if keys]
            if not killed and done >= total // 4 and busy:
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed.append((pids[busy[0]], done))

        out = io.StringIO()
        batch.run(source, out, options, engine, chunk_size=4, progress=kill_a_busy_worker)
        [(pid, done)] = killed
        assert done < 240, "the worker was killed before the end of the run"
        assert pid not in client.run(os.getpid).values()
    assert out.getvalue() == expected


@pytest.mark.slow
def test_workers_with_several_threads_are_refused():
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True, host="127.0.0.1", dashboard_address=None) as cluster, Client(cluster) as client:
        with pytest.raises(on_dask.ClusterError, match="--nthreads 1"):
            on_dask.engine(client, DEFAULT)


def test_an_unreachable_scheduler_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(on_dask, "CONNECT_TIMEOUT", "1s")
    result = CliRunner().invoke(app, ["score", str(SAMPLES), "--rules-only", "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9"])
    assert result.exit_code == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in result.output and "dask scheduler" in result.output


def test_the_local_engine_never_imports_dask(tmp_path):
    code = (
        "import sys\nfrom typer.testing import CliRunner\nfrom notes_nlp.cli import app\n"
        f"result = CliRunner().invoke(app, ['score', {str(SAMPLES)!r}, '--rules-only', '-o', {str(tmp_path / 'out.jsonl')!r}])\n"
        "assert result.exit_code == 0, result.output\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_a_chunk_that_kills_worker_after_worker_stops_the_run_with_what_to_do():
    from types import SimpleNamespace

    class Killer:
        def result(self):
            raise on_dask.KilledWorker("score-1", SimpleNamespace(address="tcp://127.0.0.1:1"), 3)

    with pytest.raises(on_dask.ClusterError, match="--resume"):
        on_dask.result(Killer())

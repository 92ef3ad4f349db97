"""The benchmark script runs and prints its figures (on a tiny input; figures are not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench.py"


@pytest.mark.slow
def test_bench_prints_one_json_line_of_figures():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--notes", "8", "--long-notes", "2", "--check-calls", "5", "--rss-notes", "20", "--batch-notes", "12"],
        capture_output=True, text=True, check=True, timeout=600,
    )
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"tokenizer", "extraction", "scoring", "batch", "check_warm_ms", "check_cold_s", "full_gc_ms", "peak_rss_mb", "machine"} <= set(figures)
    assert figures["scoring"]["notes_per_s"] > 0


@pytest.mark.slow
def test_bench_dask_figures_on_a_tiny_input(tmp_path):
    pytest.importorskip("dask.distributed")
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    path = tmp_path / "notes.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in bench.corpus_notes(6)))
    figures = bench.dask_figures(path)
    assert set(figures) == {"dask_1_worker_notes_per_s", "dask_2_workers_notes_per_s", "dask_speedup"}
    assert figures["dask_1_worker_notes_per_s"] > 0 and figures["dask_2_workers_notes_per_s"] > 0

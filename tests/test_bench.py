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
    assert {"tokenizer", "extraction", "scoring", "batch", "check_warm_ms", "check_cold_s", "peak_rss_mb", "machine"} <= set(figures)
    assert figures["scoring"]["notes_per_s"] > 0

"""Load-test the check at signing over HTTP and print one JSON line of figures.

N clients (threads, each with its own keep-alive connection) send POST
/v1/check with one typical note until the requests are all sent or the time
is up; the line reports p50/p90/p99/max latency in ms, errors, requests/s and
the machine, with its speed at the time (``scoring_ms_all_cores``: the time to
score the same note with every core scoring it, just before the load).
With no --url it starts `notes-nlp serve` on a free loopback port (with
--workers) and stops it at the end. It only ever talks to loopback
addresses, and is bounded in requests and in time.

    python scripts/load_test.py                          # 20 clients, 2,000 requests, 1 worker
    python scripts/load_test.py --workers 2
    python scripts/load_test.py --url http://127.0.0.1:8000 --requests 200

The client is the standard library's http.client: the fewer cycles the load
generator spends, the more of the 2 cores are left to the server it measures.
NOTES_NLP_TOKEN, when set, is sent as the bearer token (and a server started
here inherits it).
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import multiprocessing
import os
import platform
import queue
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from notes_nlp.service.server import is_loopback

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "corpus" / "samples" / "notes.jsonl"
CALIBRATION_TIMEOUT = 300.0  # seconds for each scoring process to load and time the note


def typical_note() -> dict:
    """The first sample note: a PT evaluation billing 97140 with minutes, 578 characters."""
    return json.loads(SAMPLES.read_text(encoding="utf-8").splitlines()[0])


def scoring_ms(note: dict, start: Any, results: Any, seconds: float = 1.0) -> None:
    """Put on ``results`` the median milliseconds to score the note, timed for ``seconds`` once
    every process has passed the ``start`` barrier."""
    from notes_nlp.model.persist import load_model
    from notes_nlp.scoring import score

    model = load_model()
    for _ in range(20):  # load the pipeline, fill the tokenizer's cache
        score([note], model)
    start.wait(CALIBRATION_TIMEOUT)  # a sibling that died breaks the barrier: this one stops too
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        began = time.perf_counter()
        score([note], model)
        times.append(time.perf_counter() - began)
    results.put(statistics.median(times) * 1000)


def machine_speed(note: dict) -> float:
    """The milliseconds to score the note with every core scoring it at once, just before the
    load (the slowest core's median): how fast the machine is at the time of the run. The
    host's other work moves that by as much as 2x within minutes, and the latencies with it,
    so each figure comes with the speed it was measured at. The processes exit after: a
    pipeline loaded here would stay in the load generator's heap, where collections walk it."""
    context = multiprocessing.get_context("spawn")
    cores = os.cpu_count() or 1
    start, results = context.Barrier(cores), context.Queue()
    processes = [context.Process(target=scoring_ms, args=(note, start, results), daemon=True) for _ in range(cores)]
    for process in processes:
        process.start()
    medians: list[float] = []
    deadline = time.monotonic() + CALIBRATION_TIMEOUT
    while len(medians) < cores:
        try:
            medians.append(results.get(timeout=1))
        except queue.Empty:
            failed = [process.exitcode for process in processes if process.exitcode not in (None, 0)]
            if failed or time.monotonic() > deadline:
                why = f"a scoring process exited with code {failed[0]}" if failed else f"not done in {CALIBRATION_TIMEOUT:.0f} s"
                raise SystemExit(f"load_test: the calibration failed: {why} (--no-calibrate skips it)") from None
    for process in processes:
        process.join()
    return round(max(medians), 2)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def target(parser: argparse.ArgumentParser, url: str | None) -> tuple[str, int]:
    """The host and port to test: a running service given by ``--url``, only on a loopback
    address (these scripts flood what they reach), else a free local port for one started here."""
    if not url:
        return "127.0.0.1", free_port()
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 80
    if parts.scheme != "http" or not is_loopback(host):
        parser.error(f"--url must be http:// on a loopback address (127.0.0.0/8, ::1, localhost), got {url}")
    return host, port


def wait_healthy(host: str, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection(host, port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"load_test: no healthy server on {host}:{port} after {timeout:.0f} s")


def start_server(port: int, workers: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "notes_nlp.cli", "serve", "--port", str(port), "--workers", str(workers)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def run(host: str, port: int, requests: int, clients: int, seconds: float, body: bytes, headers: dict[str, str]) -> dict:
    """Send ``requests`` checks from ``clients`` threads; stop early when ``seconds`` have passed."""
    tickets = itertools.count()
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client() -> None:
        connection = http.client.HTTPConnection(host, port, timeout=30)
        while next(tickets) < requests and time.monotonic() < deadline:
            start = time.perf_counter()
            try:
                connection.request("POST", "/v1/check", body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                problem = None if response.status == 200 else f"HTTP {response.status}"
            except (OSError, http.client.HTTPException) as exc:
                problem = type(exc).__name__
                connection.close()
                connection = http.client.HTTPConnection(host, port, timeout=30)
            elapsed = time.perf_counter() - start
            with lock:
                (errors.append(problem) if problem else latencies.append(elapsed))
        connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    done = len(latencies) + len(errors)
    cuts = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else [latencies[0] if latencies else 0.0] * 99
    ms = lambda seconds: round(seconds * 1000, 1)  # noqa: E731
    return {
        "requests": done, "clients": clients, "errors": len(errors), "error_kinds": sorted(set(errors)),
        "p50_ms": ms(cuts[49]), "p90_ms": ms(cuts[89]), "p99_ms": ms(cuts[98]), "max_ms": ms(max(latencies, default=0.0)),
        "requests_per_s": round(done / wall, 1), "wall_s": round(wall, 2), "stopped_by_time_limit": done < requests,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running service on a loopback address (default: start one)")
    parser.add_argument("--workers", type=int, default=1, help="workers of the server started here")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=40, help="requests sent first and not counted")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="stop sending after this long")
    parser.add_argument("--no-calibrate", dest="calibrate", action="store_false",
                        help="skip timing the note scored on every core before the load (scoring_ms_all_cores)")
    args = parser.parse_args()
    if args.requests < 1 or args.clients < 1 or args.max_seconds <= 0:
        parser.error("--requests, --clients and --max-seconds must be positive")

    host, port = target(parser, args.url)

    note = typical_note()
    speed_ms = machine_speed(note) if args.calibrate else None  # before a server started here loads
    server = None if args.url else start_server(port, args.workers)
    try:
        wait_healthy(host, port, timeout=120)
        body = json.dumps(note).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if os.environ.get("NOTES_NLP_TOKEN"):
            headers["Authorization"] = f"Bearer {os.environ['NOTES_NLP_TOKEN']}"
        if args.warmup:
            run(host, port, args.warmup, min(args.clients, args.warmup), args.max_seconds, body, headers)
        figures = run(host, port, args.requests, args.clients, args.max_seconds, body, headers)
    finally:
        if server:
            server.terminate()
            server.wait(timeout=30)
    figures.update({
        "endpoint": "POST /v1/check", "note_chars": len(note["text"]),
        "server": args.url or f"notes-nlp serve --workers {args.workers}", "scoring_ms_all_cores": speed_ms,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    })
    print(json.dumps(figures))
    sys.exit(1 if figures["errors"] else 0)


if __name__ == "__main__":
    main()

"""Abuse `notes-nlp serve` from loopback and show it still answers: one JSON line of figures.

For ``--seconds`` (30), three kinds of abusive clients hold the server, each
reconnecting as soon as the server lets it go: ``--slow`` (200) send a
request head one header line a second and never finish it; ``--idle`` (500)
connect and send nothing; ``--big`` (8) send a header of 64 MB as fast as
they can. Meanwhile a well-behaved client asks ``GET /healthz`` every 0.1 s
and ``POST /v1/check`` (the typical note) every 0.25 s, each on a new
connection, and the line reports their latencies, with how the server dealt
with the abusers (the connections it closed, its 408 and 431 answers). The
exit status is 0 when every probe was answered with 200 within 1 s.

    python scripts/abuse.py                     # starts `notes-nlp serve` on a free loopback port
    python scripts/abuse.py --workers 2 --seconds 60
    python scripts/abuse.py --url http://127.0.0.1:8000

It only ever talks to loopback addresses, and is bounded in connections (slow
+ idle + big + 2 at a time) and in time. NOTES_NLP_TOKEN, when set, is sent
with the checks (and a server started here inherits it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections import Counter
from urllib.parse import urlsplit

from load_test import start_server, target, typical_note, wait_healthy

from notes_nlp.service.server import is_loopback

WITHIN_S = 1.0
PROBE_TIMEOUT_S = 5.0
BIG_HEADER_BYTES = 64 << 20
CHUNK = 64 << 10


async def hold(host: str, port: int, kind: str, until: float, seen: Counter) -> None:
    """One abusive client of ``kind`` until ``until``, reconnecting whenever the server lets it go."""
    while time.monotonic() < until:
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            seen[f"{kind}: connect failed"] += 1
            await asyncio.sleep(0.1)
            continue
        try:
            answer = await asyncio.wait_for(_abuse(reader, writer, kind), max(0.0, until - time.monotonic()))
            seen[f"{kind}: {_status(answer)}"] += 1
        except asyncio.TimeoutError:
            pass  # the run is over
        except OSError:
            seen[f"{kind}: reset by the server"] += 1
        finally:
            writer.close()


async def _abuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, kind: str) -> bytes:
    """What the client sends, until the server answers or closes; returns the answer's start."""
    if kind != "idle":
        writer.write(b"POST /v1/check HTTP/1.1\r\nHost: abuse\r\nContent-Type: application/json\r\n")
    if kind == "big":
        writer.write(b"X-Big: ")
    answered = asyncio.ensure_future(reader.read(200))
    try:
        await _send(writer, kind, answered)
        return await answered
    finally:
        answered.cancel()  # when the run ends first (nothing, once it is done)


async def _send(writer: asyncio.StreamWriter, kind: str, answered: asyncio.Future) -> None:
    """The rest of the abuser's head, until the server answers (or closes while we write)."""
    sent = 0
    try:
        while not answered.done():
            if kind == "slow":
                writer.write(f"X-Slow-{sent}: 1\r\n".encode())
                sent += 1
                await asyncio.wait([answered], timeout=1.0)
            elif kind == "big" and sent < BIG_HEADER_BYTES:
                writer.write(b"a" * CHUNK)
                sent += CHUNK
                await writer.drain()
                await asyncio.sleep(0)
            else:
                await asyncio.wait([answered])
    except ConnectionError:  # the server closed while we wrote: its answer may still be there to read
        pass


def _status(answer: bytes) -> str:
    if not answer:
        return "closed by the server"
    return "answered " + answer.split(b"\r\n", 1)[0].decode("ascii", "replace").removeprefix("HTTP/1.1 ")


async def probe(host: str, port: int, path: str, body: bytes | None, headers: str, every: float, until: float, results: list) -> None:
    """A well-behaved client: ``path`` every ``every`` seconds on a new connection, timed."""
    request = (f"{'POST' if body else 'GET'} {path} HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n{headers}"
               f"Content-Length: {len(body or b'')}\r\n\r\n").encode() + (body or b"")
    while time.monotonic() < until:
        began = time.perf_counter()
        try:
            status = await asyncio.wait_for(_ask(host, port, request), PROBE_TIMEOUT_S)
        except (OSError, asyncio.TimeoutError) as exc:
            status = type(exc).__name__
        results.append((status, time.perf_counter() - began))
        await asyncio.sleep(max(0.0, every - (time.perf_counter() - began)))


async def _ask(host: str, port: int, request: bytes) -> str:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request)
        answer = await reader.read()  # to the end: Connection: close
        return answer.split(b" ", 2)[1].decode() if answer.startswith(b"HTTP/1.1 ") else "no answer"
    finally:
        writer.close()


def figures(results: list) -> dict:
    latencies = [seconds for _, seconds in results]
    failed = Counter(status for status, _ in results if status != "200")
    ms = lambda seconds: round(seconds * 1000, 1)  # noqa: E731
    return {
        "probes": len(results), "not_200": dict(failed),
        "p50_ms": ms(statistics.median(latencies)) if latencies else None, "max_ms": ms(max(latencies, default=0.0)),
        "over_1s": sum(seconds > WITHIN_S for seconds in latencies),
    }


async def attack(host: str, port: int, args: argparse.Namespace, check: bytes, auth: str) -> dict:
    until = time.monotonic() + args.seconds
    seen: Counter = Counter()
    health: list = []
    checks: list = []
    abusers = [hold(host, port, kind, until, seen) for kind, count in (("slow", args.slow), ("idle", args.idle), ("big", args.big)) for _ in range(count)]
    await asyncio.gather(
        *abusers,
        probe(host, port, "/healthz", None, "", 0.1, until, health),
        probe(host, port, "/v1/check", check, f"Content-Type: application/json\r\n{auth}", 0.25, until, checks),
    )
    return {"healthz": figures(health), "check": figures(checks), "abusers_let_go": dict(sorted(seen.items()))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running service on a loopback address (default: start one)")
    parser.add_argument("--workers", type=int, default=1, help="workers of the server started here")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--slow", type=int, default=200, help="clients sending a head a line a second")
    parser.add_argument("--idle", type=int, default=500, help="clients that connect and send nothing")
    parser.add_argument("--big", type=int, default=8, help="clients sending a 64 MB header")
    args = parser.parse_args()
    if not 0 < args.seconds <= 600 or min(args.slow, args.idle, args.big) < 0 or args.slow + args.idle + args.big > 2000:
        parser.error("--seconds must be from 0 to 600, and the abusive clients at most 2,000 in all")
    host, port = target(parser, args.url)
    server = None if args.url else start_server(port, args.workers)
    try:
        wait_healthy(host, port, timeout=120)
        token = os.environ.get("NOTES_NLP_TOKEN")
        result = asyncio.run(attack(host, port, args, json.dumps(typical_note()).encode(), f"Authorization: Bearer {token}\r\n" if token else ""))
    finally:
        if server:
            server.terminate()
            server.wait(timeout=30)
    result.update({
        "seconds": args.seconds, "abusers": {"slow_headers": args.slow, "idle": args.idle, "big_headers": args.big},
        "server": args.url or f"notes-nlp serve --workers {args.workers}",
    })
    held = all(not part["not_200"] and not part["over_1s"] and part["probes"] for part in (result["healthz"], result["check"]))
    result["answered_within_1s_throughout"] = held
    print(json.dumps(result))
    sys.exit(0 if held else 1)


if __name__ == "__main__":
    main()

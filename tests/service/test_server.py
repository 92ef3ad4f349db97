"""A real `notes-nlp serve` on 127.0.0.1, called over HTTP, and the load-test script against it."""

from __future__ import annotations

import http.client
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from typer.testing import CliRunner

from notes_nlp.cli import app as cli
from notes_nlp.service.server import is_loopback

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "real-server-token"
MARKER = "Vqxzy-private-words"
NOTE = {"note_id": "n1", "text": f"{MARKER}. Dx M54.2. MFR to R upper trapezius 12 min to restore rotation.", "billed": [{"code": "97140"}]}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(port: int, method: str, path: str, body: dict | None = None, token: str | None = TOKEN) -> tuple[int, dict, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    connection.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
    response = connection.getresponse()
    return response.status, dict(response.getheaders()), json.loads(response.read() or b"null")


@contextmanager
def running_server(log_path: Path, workers: int = 2, **env: str) -> Iterator[tuple[subprocess.Popen, int]]:
    """`notes-nlp serve --workers N` on a free port (with ``env`` set), once healthy; stopped as
    Ctrl-C or a service manager stops it (SIGTERM) at the end."""
    port = free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "notes_nlp.cli", "serve", "--port", str(port), "--workers", str(workers)],
            cwd=ROOT, env={**os.environ, "NOTES_NLP_TOKEN": TOKEN, **env}, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, f"notes-nlp serve exited: {log_path.read_text()}"
            assert time.monotonic() < deadline, f"notes-nlp serve did not become healthy: {log_path.read_text()}"
            try:
                if call(port, "GET", "/healthz", token=None)[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        yield process, port
    finally:
        process.terminate()
        process.wait(timeout=30)


def scoring_processes(pid: int) -> list[int]:
    """The scoring processes that ``pid`` started (Linux /proc): its children that
    multiprocessing spawned, other than its resource tracker."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rpartition(")")[2].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if parent == pid and b"spawn_main" in command:
            found.append(int(stat.parent.name))
    return found


def wait_dead(pid: int, timeout: float = 10) -> None:
    """Until ``pid`` is a zombie with no thread left: its parent may then reap it. (The leader
    of a killed process shows as a zombie while its other threads, numpy's, still exit.)"""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
            if state == "Z" and len(os.listdir(f"/proc/{pid}/task")) <= 1:
                return
        except OSError:
            return
        time.sleep(0.01)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log_path = tmp_path_factory.mktemp("serve") / "serve.log"
    with running_server(log_path) as (_, port):
        yield port, log_path


@pytest.mark.slow
def test_a_real_server_answers_over_http_and_logs_no_note_text(server, fhir):
    port, log_path = server
    status, _, health = call(port, "GET", "/healthz", token=None)
    assert status == 200 and health["status"] == "ok"
    status, headers, _ = call(port, "POST", "/v1/check", NOTE, token=None)
    assert status == 401 and headers["www-authenticate"].startswith("Bearer")
    status, _, checked = call(port, "POST", "/v1/check", NOTE)
    assert status == 200 and checked["message"].startswith("97140 x1:")
    status, _, answer = call(port, "POST", "/cds-services/note-check", fhir.note_sign(fhir.document(NOTE["text"])))
    assert status == 200 and answer["cards"][0]["summary"].startswith("97140 x1:")
    status, _, problem = call(port, "POST", "/v1/check", {**NOTE, "billed": [{"code": "97140", "units": 99}]})
    assert status == 422 and problem["detail"][0]["field"] == "billed[0].units"
    time.sleep(0.2)  # let the access log reach the file
    log = log_path.read_text()
    assert '"POST /v1/check HTTP/1.1" 200' in log and '"POST /cds-services/note-check HTTP/1.1" 200' in log
    assert MARKER not in log


@pytest.mark.slow
def test_concurrent_checks_each_get_what_a_lone_check_gets(server):
    """Checks that arrive together are scored in one call (micro-batching); sample-1 and
    sample-2 share a chart, but separate checks never see each other's notes."""
    from concurrent.futures import ThreadPoolExecutor

    from notes_nlp.model.persist import load_model
    from notes_nlp.scoring import score

    port, _ = server
    notes = [json.loads(line) for line in (ROOT / "corpus" / "samples" / "notes.jsonl").read_text().splitlines()]
    model = load_model()
    alone = {note["note_id"]: score([note], model)[0] for note in notes}
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda note: call(port, "POST", "/v1/check", note), notes * 8))
    for note, (status, _, answer) in zip(notes * 8, answers):
        assert status == 200 and answer["result"] == alone[note["note_id"]]


@pytest.mark.slow
def test_the_load_test_script_runs_on_a_tiny_input(server):
    port, _ = server
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "load_test.py"), "--url", f"http://127.0.0.1:{port}", "--requests", "20", "--clients", "4", "--warmup", "2"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "NOTES_NLP_TOKEN": TOKEN},
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["requests"] == 20 and figures["errors"] == 0 and figures["clients"] == 4
    assert 0 < figures["p50_ms"] <= figures["p99_ms"] <= figures["max_ms"]
    assert {"requests_per_s", "machine", "endpoint"} <= set(figures)
    assert figures["scoring_ms_all_cores"] > 0, "the machine's speed at the time of the run"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")
def test_the_scoring_processes_serve_and_stop_with_the_server(tmp_path):
    """--workers 2: two scoring processes answer checks; one killed is started again; SIGTERM
    stops the server and its scoring processes, none left running."""
    with running_server(tmp_path / "serve.log", workers=2) as (process, port):
        scorers = scoring_processes(process.pid)
        assert len(scorers) == 2, scorers
        os.kill(scorers[0], signal.SIGKILL)
        wait_dead(scorers[0])
        answers = [call(port, "POST", "/v1/check", NOTE)[0] for _ in range(6)]
        assert set(answers) == {200}, "a dead scorer idle between checks is started again before its next batch"
        scorers = scoring_processes(process.pid)
        assert len(scorers) == 2
    assert "Application shutdown complete" in (tmp_path / "serve.log").read_text()  # uvicorn exits by the signal it got (-15)
    time.sleep(0.5)
    assert not [pid for pid in scorers if Path(f"/proc/{pid}").exists()], "scoring processes outlived the server"


LIMITS = {"NOTES_NLP_MAX_HEADER_BYTES": "2048", "NOTES_NLP_HEADER_TIMEOUT_SECONDS": "1", "NOTES_NLP_BODY_TIMEOUT_SECONDS": "1",
          "NOTES_NLP_KEEP_ALIVE_SECONDS": "1", "NOTES_NLP_MAX_CONNECTIONS": "40"}


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    """A server with small limits (set from the environment), so each shows in a second."""
    with running_server(tmp_path_factory.mktemp("limited") / "serve.log", workers=1, **LIMITS) as (_, port):
        yield port


def exchange(port: int, data: bytes, wait: float = 10) -> bytes:
    """Send raw bytes, then read until the server closes the connection (or ``wait`` passes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        if data:
            sock.sendall(data)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except ConnectionResetError:  # closed with what we sent still unread: the kernel resets
            pass
        except socket.timeout:
            answer += b"<not closed>"
        return answer


HEAD = b"POST /v1/check HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN.encode() + b"\r\nContent-Type: application/json\r\n"


@pytest.mark.slow
@pytest.mark.parametrize("sent, status", [
    (HEAD + b"X-Big: " + b"a" * 5000 + b"\r\n\r\n", b"431"),  # a whole head over the limit
    (HEAD + b"X-Big: " + b"a" * 200_000, b"431"),  # a head that keeps coming: refused before it ends
    (HEAD, b"408"),  # a head that stops coming
    (HEAD + b"Content-Length: 200\r\n\r\n{", b"408"),  # a body that stops coming
    (b"", b""),  # a connection that never sends: closed
])
def test_a_client_holding_the_server_is_answered_and_let_go(limited, sent, status):
    answer = exchange(limited, sent)
    assert answer.startswith(b"HTTP/1.1 " + status if status else b"") and b"<not closed>" not in answer
    assert b"connection: close" in answer.lower() or not status


@pytest.mark.slow
def test_an_idle_keep_alive_connection_is_closed_and_connections_past_the_cap_at_once(limited):
    with socket.create_connection(("127.0.0.1", limited), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = sock.makefile("rb")
        assert answer.readline().startswith(b"HTTP/1.1 200")
        while (line := answer.readline()) != b"\r\n":
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        answer.read(length)
        assert answer.read() == b"", "closed after the keep-alive time"
    cap = int(LIMITS["NOTES_NLP_MAX_CONNECTIONS"])
    held = [socket.create_connection(("127.0.0.1", limited), timeout=10) for _ in range(cap + 5)]
    try:
        time.sleep(0.3)  # well within the 1 s head timeout, which would close them all
        closed, _, _ = select.select(held, [], [], 0)  # readable: at end of file
        assert len(closed) == 5 and all(sock.recv(1) == b"" for sock in closed), "past the cap, closed at once"
    finally:
        for sock in held:
            sock.close()
    assert call(limited, "GET", "/healthz", token=None)[0] == 200, "and the server answers once they go"


@pytest.mark.slow
def test_the_abuse_script_runs_briefly(limited):
    """The script's figures, on a short run against the server with small limits (how fast the
    server answered is the script's own verdict, not this test's)."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "abuse.py"), "--url", f"http://127.0.0.1:{limited}", "--seconds", "3",
         "--slow", "3", "--idle", "3", "--big", "1"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "NOTES_NLP_TOKEN": TOKEN},
    )
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert result.returncode == (0 if figures["answered_within_1s_throughout"] else 1), result.stderr
    assert figures["healthz"]["probes"] > 0 and figures["check"]["probes"] > 0
    assert not figures["healthz"]["not_200"] and not figures["check"]["not_200"]
    let_go = figures["abusers_let_go"]
    assert let_go.get("big: answered 431 Request Header Fields Too Large") and let_go.get("slow: answered 408 Request Timeout")
    assert let_go.get("idle: closed by the server")


def test_the_abuse_script_only_targets_loopback():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "abuse.py"), "--url", "http://192.0.2.1:8000"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "loopback" in result.stderr


def test_the_load_test_script_only_targets_loopback():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "load_test.py"), "--url", "http://192.0.2.1:8000", "--requests", "1"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2 and "loopback" in result.stderr


def test_is_loopback():
    assert all(map(is_loopback, ["127.0.0.1", "127.8.0.1", "::1", "[::1]", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "192.0.2.1", "example.org", "::"]))


def test_serve_runs_the_app_in_uvicorn_and_warns_off_loopback(monkeypatch):
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append((args, kwargs)))
    monkeypatch.delenv("NOTES_NLP_TOKEN", raising=False)
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--port", "8123", "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert "reachable from the network" in result.output and "NOTES_NLP_TOKEN" in result.output
    [([app], kwargs)] = calls
    assert app.state.settings.workers == 2, "--workers sets the scoring processes, not uvicorn's workers"
    assert "workers" not in kwargs and kwargs["host"] == "0.0.0.0" and kwargs["port"] == 8123
    assert kwargs["limit_concurrency"] == 1000 and kwargs["timeout_keep_alive"] == 5.0
    assert kwargs["http"].head_limit == 16_384 and kwargs["http"].head_timeout == 10.0
    calls.clear()
    assert CliRunner().invoke(cli, ["serve"]).exit_code == 0 and calls[0][1]["host"] == "127.0.0.1"


def test_serve_stops_on_a_bad_model_or_setting(monkeypatch, tmp_path):
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: pytest.fail("the server was started"))
    monkeypatch.setenv("NOTES_NLP_MODEL", "")
    result = CliRunner().invoke(cli, ["serve", "--model", str(tmp_path)])
    assert result.exit_code == 2 and "not a model directory" in result.output
    monkeypatch.setenv("NOTES_NLP_MAX_BODY_BYTES", "a lot")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 2 and "NOTES_NLP_MAX_BODY_BYTES" in result.output


def test_serve_without_the_service_extra_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import uvicorn now raises ImportError
    monkeypatch.delitem(sys.modules, "notes_nlp.service.server", raising=False)
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 2 and "pip install 'notes-nlp[service]'" in result.output and "uvicorn" in result.output

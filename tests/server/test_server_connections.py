"""A real ``nnplay serve`` against slow, silent and too many clients, a low open-file limit and spoofed
forwarded headers: the network stack, the process limits and the log are what is tested here."""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Optional

import pytest

ROOT = Path(__file__).resolve().parents[2]
SLACK = 4.0  # seconds allowed beyond a configured timeout on a busy machine


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Served:
    """A running server: its port and pid, and its stdout and stderr so far."""

    def __init__(self, port: int, process: subprocess.Popen, out: Path, err: Path):
        self.port, self.process, self._out, self._err = port, process, out, err

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)

    def get(self, path: str, headers: Optional[dict] = None) -> int:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", headers=headers or {})
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status

    def stdout(self) -> str:
        return self._out.read_text()

    def stderr(self) -> str:
        return self._err.read_text()


@contextmanager
def serving(tmp_path: Path, env: dict[str, str], log_level: str = "warning",
            preexec: Optional[Callable[[], None]] = None) -> Iterator[Served]:
    """``nnplay serve`` on a free port with ``env`` (live sessions in a thread: no worker processes), its
    output in files, ``preexec`` run in the child before it starts (e.g. to lower its file limit)."""
    port = free_port()
    out, err = tmp_path / f"serve-{port}.out", tmp_path / f"serve-{port}.err"
    command = [sys.executable, "-m", "nnplay", "serve", "--port", str(port), "--log-level", log_level]
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "NNPLAY_ENGINE_PROCESSES": "0", **env},
                                   stdout=stdout, stderr=stderr, preexec_fn=preexec)
    served = Served(port, process, out, err)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                served.get("/api/health")
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"nnplay serve did not start: {served.stderr()}") from None
                time.sleep(0.1)
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def closed_after(connection: socket.socket, dribble: bytes = b"", limit: float = 30.0) -> tuple[float, bytes]:
    """Seconds until the server closes ``connection`` (sending ``dribble`` a byte every 0.2 s meanwhile, as a
    slowloris does) and what it sent before closing; ``limit`` if it is still open then."""
    started, answer = time.monotonic(), b""
    connection.settimeout(0.2)
    for index in range(int(limit / 0.2)):
        try:
            if dribble:
                connection.sendall(dribble[index % len(dribble):][:1])
            chunk = connection.recv(4096)
        except socket.timeout:
            continue
        except (BrokenPipeError, ConnectionResetError):
            return time.monotonic() - started, answer
        if not chunk:
            return time.monotonic() - started, answer
        answer += chunk
    return limit, answer


def test_a_dribbled_or_missing_request_head_is_closed_within_the_head_timeout(tmp_path):
    with serving(tmp_path, {"NNPLAY_HEAD_TIMEOUT": "1"}) as server, server.connect() as silent, \
            server.connect() as dribbling:
        dribbling.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")
        seconds, answer = closed_after(dribbling, dribble=b"X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n")
        assert seconds < 1 + SLACK and answer.startswith(b"HTTP/1.1 408 "), (seconds, answer)
        seconds, answer = closed_after(silent)  # opened at the same time; it never sent a byte
        assert answer == b"" and seconds < SLACK
        with server.connect() as on_time:  # a head on time is answered
            on_time.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert on_time.recv(4096).startswith(b"HTTP/1.1 200 ")


def test_a_dribbled_request_body_is_closed_within_the_body_timeout(tmp_path):
    head = b"POST /api/train HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n"
    with serving(tmp_path, {"NNPLAY_BODY_TIMEOUT": "1"}) as server, server.connect() as slow_post:
        slow_post.sendall(head + b'{"config": ')
        seconds, answer = closed_after(slow_post, dribble=b" ")
        assert seconds < 1 + SLACK and answer.startswith(b"HTTP/1.1 408 "), (seconds, answer)
        assert server.get("/api/health") == 200


def test_a_connection_past_max_connections_is_answered_503_at_once(tmp_path):
    with serving(tmp_path, {"NNPLAY_MAX_CONNECTIONS": "3", "NNPLAY_HEAD_TIMEOUT": "60"}) as server:
        held = [server.connect() for _ in range(3)]
        try:
            time.sleep(0.5)  # the server has accepted them
            with server.connect() as extra:
                seconds, answer = closed_after(extra, limit=10)
        finally:
            for connection in held:
                connection.close()
        assert answer.startswith(b"HTTP/1.1 503 ") and b"retry-after: 5" in answer.lower() and seconds < SLACK
        time.sleep(0.5)
        assert server.get("/api/health") == 200


def _open_files(soft: int, hard: int) -> Callable[[], None]:
    return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_the_open_file_limit_is_raised_to_the_hard_limit_and_said_once(tmp_path):
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard <= 256:
        pytest.skip(f"the hard open-file limit here is {hard}: nothing to raise to")
    with serving(tmp_path, {}, log_level="info", preexec=_open_files(256, hard)) as server:
        limits = Path(f"/proc/{server.process.pid}/limits").read_text()
        row = next(line for line in limits.splitlines() if line.startswith("Max open files")).split()
        assert int(row[3]) == hard
        assert server.stderr().count(f"open-file limit raised from 256 to {hard}") == 1


def test_a_flood_of_failed_accepts_is_one_line_per_interval_with_its_count(tmp_path):
    """With 100 descriptors and connections that never send a head, accepting fails (EMFILE) on every turn
    of the event loop; the log has the first failure and then one line per interval saying how many more."""
    env = {"NNPLAY_MAX_CONNECTIONS": "100000", "NNPLAY_HEAD_TIMEOUT": "60", "NNPLAY_LOG_REPEAT_INTERVAL": "1"}
    with serving(tmp_path, env, preexec=_open_files(100, 100)) as server:
        connections, started = [], time.monotonic()
        try:
            for _ in range(200):
                connections.append(server.connect())
            time.sleep(3.5)  # three intervals of failing accepts
        finally:
            for connection in connections:
                connection.close()
        time.sleep(1.5)  # the descriptors are free again, the last interval has ended
        assert server.get("/api/health") == 200
        log, intervals = server.stderr(), time.monotonic() - started + 1
    failures = [line for line in log.splitlines() if "socket.accept() out of system resource" in line]
    repeated = [line for line in failures if "repeated" in line]
    # per interval: the first failure, then one line with the count
    assert len(log) < 20_000 and 1 <= len(failures) <= 2 * intervals, (len(log), len(failures), log[-3000:])
    assert repeated and all(int(line.split("repeated ")[1].split()[0].replace(",", "")) > 0 for line in repeated)


def test_forwarded_headers_count_only_from_configured_proxies(tmp_path):
    spoofed = {"X-Forwarded-For": "203.0.113.9"}
    with serving(tmp_path, {}, log_level="info") as server:
        assert server.get("/api/health", spoofed) == 200
        time.sleep(0.3)
        access = server.stdout()
    assert "203.0.113.9" not in access and '127.0.0.1:' in access
    with serving(tmp_path, {"NNPLAY_FORWARDED_ALLOW_IPS": "127.0.0.1"}, log_level="info") as server:
        assert server.get("/api/health", spoofed) == 200
        time.sleep(0.3)
        assert "203.0.113.9" in server.stdout()

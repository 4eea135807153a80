"""Abandoned work stops: a request whose client leaves, and the whole server on Ctrl+C (SIGINT)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import uvicorn
from server_helpers import make_settings, wait_until

from nnplay.server.main import create_app

ROOT = Path(__file__).resolve().parents[2]
websockets_sync = pytest.importorskip("websockets.sync.client")
from websockets.exceptions import ConnectionClosed  # noqa: E402 - after the importorskip above

BIG = {"dataset": "spiral", "hidden": [32] * 6, "n_samples": 5000, "batch_size": 10, "seed": 1}
LONG = {"config": BIG, "epochs": 100_000}


@pytest.fixture
def served():
    """The app under uvicorn in a thread on a free loopback port: (base url, the app's state)."""
    app = create_app(make_settings(max_epochs=100_000))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"127.0.0.1:{port}", app.state.nnplay
    server.should_exit = True
    thread.join(20)


def post_then_leave(address: str, path: str, body: dict, engine_busy) -> None:
    """Send a POST, wait until the engine works on it, then close the connection without reading."""
    host, port = address.split(":")
    payload = json.dumps(body).encode()
    with socket.create_connection((host, int(port))) as connection:
        connection.sendall(f"POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n"
                           f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
        wait_until(engine_busy, "the engine never started the work")


def engine_idle_for(state, seconds: float) -> bool:
    """True once the engine pool has had no work for ``seconds`` in a row."""
    since = time.monotonic()
    while time.monotonic() - since < seconds:
        if state.pool.queue.borrowed_tokens or state.pool.queue.statistics().tasks_waiting:
            return False
        time.sleep(0.005)
    return True


@pytest.mark.parametrize("path, body", [
    ("/api/train", LONG),
    ("/api/compare", {**LONG, "variants": [{"optimizer": "sgd"}, {"optimizer": "adam"}]}),
])
def test_a_request_whose_client_leaves_stops_training(served, path, body):
    address, state = served
    post_then_leave(address, path, body, lambda: state.pool.queue.borrowed_tokens > 0)
    wait_until(lambda: engine_idle_for(state, 0.3), "the engine kept training for a client that left", 10)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_ctrl_c_stops_the_server_within_5_seconds_while_long_work_runs():
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "NNPLAY_MAX_EPOCHS": "100000"}
    process = subprocess.Popen([sys.executable, "-m", "nnplay", "serve", "--port", str(port), "--log-level",
                                "warning"], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: _answers(f"{base}/api/health"), "nnplay serve did not start", 30)
        request = urllib.request.Request(f"{base}/api/runs", json.dumps(LONG).encode(),
                                         {"content-type": "application/json"})
        assert json.load(urllib.request.urlopen(request, timeout=10))["status"] == "running"
        with websockets_sync.connect(f"ws://127.0.0.1:{port}/ws") as session:
            session.send(json.dumps({"type": "view", "speed": "max"}))
            session.send(json.dumps({"type": "play"}))
            threading.Thread(target=_long_train, args=(base,), daemon=True).start()
            time.sleep(1.0)  # the run, the session and the request all train now
            started = time.monotonic()
            process.send_signal(signal.SIGINT)
            process.wait(timeout=5)
            assert time.monotonic() - started < 5
            assert process.returncode == 130 and process.stderr.read().strip() == "nnplay serve: interrupted"
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    session.recv(timeout=5)
            assert closed.value.rcvd.code == 1012  # "service restart": the session was closed, not dropped
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        process.stderr.close()


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=1)
        return True
    except OSError:
        return False


def _long_train(base: str) -> None:
    request = urllib.request.Request(f"{base}/api/train", json.dumps(LONG).encode(),
                                     {"content-type": "application/json"})
    try:
        urllib.request.urlopen(request, timeout=60)
    except OSError:
        pass  # the server went away, as it should

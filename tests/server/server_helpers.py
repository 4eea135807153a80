"""Helpers shared by the server tests: settings, reading socket messages with a timeout, configs, an engine worker in
a thread, and a real ``nnplay serve`` in a subprocess."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import anyio

with warnings.catch_warnings():  # starlette 1.x asks for httpx2 instead of httpx; these tests run on httpx
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient  # noqa: F401 - re-exported for the tests

from nnplay.engine import Limits
from nnplay.server.live import wire
from nnplay.server.live.channel import ThreadChannel
from nnplay.server.live.frames import decode
from nnplay.server.live.worker import EngineWorker
from nnplay.server.settings import Settings

ROOT = Path(__file__).resolve().parents[2]

C1 = {"dataset": "circle", "features": ["x1", "x2"], "hidden": [4, 2], "activation": "tanh", "loss": "square",
      "optimizer": "sgd", "learning_rate": 0.03, "batch_size": 10, "n_samples": 500, "seed": 1}
C2 = {"dataset": "spiral", "features": ["x1", "x2", "x1_sq", "x2_sq", "x1_x2", "sin_x1", "sin_x2"],
      "hidden": [8] * 6, "activation": "tanh", "regularization": "l2", "reg_rate": 0.001, "learning_rate": 0.03,
      "batch_size": 10, "seed": 1}
SMALL = {"dataset": "xor", "hidden": [3], "seed": 7, "n_samples": 100}


def make_settings(**overrides: Any) -> Settings:
    """Defaults (not the environment's NNPLAY_* variables), a small epoch cap, no page, and ``overrides``."""
    base = {"max_epochs": 500, "max_background_runs": 2, "frontend_dir": Path("/nonexistent-nnplay-frontend"),
            "engine_processes": 0,  # live sessions in a thread: no processes to start for every test
            "data_dir": Path(os.environ["NNPLAY_DATA_DIR"]),  # this run's folder (tests/conftest.py)
            "port": free_port()}  # its own: the rooms an app keeps in the store are restored by host and port only

    return Settings.model_construct(**{**base, **overrides})


def receive(ws, timeout: float = 10.0) -> dict:
    """The next ASGI message the server sent on a TestClient socket, failing after ``timeout`` seconds.
    (TestClient's own receive waits forever; this waits on the same stream inside the socket's portal.)"""

    async def get():
        with anyio.fail_after(timeout):
            return await ws._send_rx.receive()

    return ws.portal.call(get)


def parse(message: dict) -> tuple[str, Any]:
    """("state"|"error"|..., dict) for JSON, ("frame"|"data", (header, arrays)) for binary, ("close", msg)."""
    if message["type"] == "websocket.close":
        return "close", message
    if message.get("text") is not None:
        payload = json.loads(message["text"])
        return payload["type"], payload
    header, arrays = decode(message["bytes"])
    return header["type"], (header, arrays)


def wait_for(ws, kind: str, predicate: Optional[Callable[[Any], bool]] = None, timeout: float = 10.0,
             seen: Optional[list] = None) -> Any:
    """Read until a ``kind`` message satisfying ``predicate`` arrives (within ``timeout`` seconds in all);
    the skipped ones go to ``seen``."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {kind} message matching the test within {timeout} s")
        got, payload = parse(receive(ws, left))
        if got == kind and (predicate is None or predicate(payload)):
            return payload
        if seen is not None:
            seen.append((got, payload))
        if got == "close":
            raise AssertionError(f"socket closed while waiting for {kind}: {payload}")


@contextmanager
def live(client, **kwargs: Any) -> Iterator[tuple[Any, dict]]:
    """Open /ws and read the greeting (hello, data, state, frame): yields (socket, {kind: payload})."""
    with client.websocket_connect("/ws", **kwargs) as ws:
        greeting = {}
        for _ in range(4):
            kind, payload = parse(receive(ws))
            greeting[kind] = payload
        yield ws, greeting


def send(ws, **message: Any) -> None:
    """Send a JSON message (``from`` can be given as ``from_``)."""
    if "from_" in message:
        message["from"] = message.pop("from_")
    ws.send_text(json.dumps(message))


def drain_until_state(ws, reply_id: Any, timeout: float = 10.0) -> tuple[dict, list]:
    """Read until the ``state`` answering ``reply_id``; returns it and everything read before."""
    seen: list = []
    state = wait_for(ws, "state", lambda s: s.get("id") == reply_id, timeout, seen)
    return state, seen


@contextmanager
def worker_thread() -> Iterator[tuple[ThreadChannel, threading.Thread]]:
    """An engine worker serving in a thread; yields the server's end of its channel and the thread, and stops
    the worker after (it must have stopped)."""
    server_end, worker_end = ThreadChannel.pair()
    thread = threading.Thread(target=EngineWorker(worker_end, Limits().model_dump(), None, 0.01).serve)
    thread.start()
    try:
        assert isinstance(server_end.recv(), wire.Ready)
        yield server_end, thread
    finally:
        server_end.send([wire.Stop()])
        thread.join(10)
    assert not thread.is_alive()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serving(env: dict[str, str], command: Optional[list[str]] = None, log_level: str = "warning",
            output: Optional[Path] = None, port: Optional[int] = None) -> Iterator[dict[str, Any]]:
    """``nnplay serve`` on ``port`` (default: a free one) with ``NNPLAY_*`` settings ``env`` (``command``: how to
    start it, ``python -m nnplay`` by default; ``output``: a file for its log), once ``/api/health`` answers;
    yields its ``port``, ``http`` and ``ws`` addresses and ``log``; terminated after (SIGTERM: a drain)."""
    port = port or free_port()
    served = {"port": port, "http": f"http://127.0.0.1:{port}", "ws": f"ws://127.0.0.1:{port}/ws", "log": output}
    out = open(output, "wb") if output is not None else None
    process = subprocess.Popen([*(command or [sys.executable, "-m", "nnplay"]), "serve", "--port", str(port),
                                "--log-level", log_level], cwd=ROOT, env={**os.environ, **env},
                               stdout=out, stderr=subprocess.STDOUT if out else None)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{served['http']}/api/health", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("nnplay serve did not start") from None
                time.sleep(0.1)
        yield served
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        if out is not None:
            out.close()


def wait_until(condition: Callable[[], Any], failure: str, timeout: float = 20.0) -> Any:
    """``condition()``'s first truthy value, polled every 50 ms; an AssertionError saying ``failure`` if none
    comes within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{failure} (within {timeout} s)")

"""Helpers shared by the server tests: settings, reading socket messages with a timeout, configs."""

from __future__ import annotations

import json
import time
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import anyio

with warnings.catch_warnings():  # starlette 1.x asks for httpx2 instead of httpx; these tests run on httpx
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient  # noqa: F401 - re-exported for the tests

from nnplay.server.live.frames import decode
from nnplay.server.settings import Settings

C1 = {"dataset": "circle", "features": ["x1", "x2"], "hidden": [4, 2], "activation": "tanh", "loss": "square",
      "optimizer": "sgd", "learning_rate": 0.03, "batch_size": 10, "n_samples": 500, "seed": 1}
C2 = {"dataset": "spiral", "features": ["x1", "x2", "x1_sq", "x2_sq", "x1_x2", "sin_x1", "sin_x2"],
      "hidden": [8] * 6, "activation": "tanh", "regularization": "l2", "reg_rate": 0.001, "learning_rate": 0.03,
      "batch_size": 10, "seed": 1}
SMALL = {"dataset": "xor", "hidden": [3], "seed": 7, "n_samples": 100}


def make_settings(**overrides: Any) -> Settings:
    """Defaults (not the environment's NNPLAY_* variables), a small epoch cap, no page, and ``overrides``."""
    base = {"max_epochs": 500, "max_background_runs": 2, "frontend_dir": Path("/nonexistent-nnplay-frontend"),
            "engine_processes": 0}  # live sessions in a thread: no processes to start for every test
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

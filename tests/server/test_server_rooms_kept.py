"""Rooms kept in the store (server/rooms/keep.py): a real ``nnplay serve`` with a room, its lecturer and two
students is stopped with SIGTERM (a drain) and started again on the same data folder and port; the room comes
back with its key, code, title, challenge, locks and students, who rejoin with their tokens at their epochs
and weights (batch normalization's parameters and running statistics too). An ended room does not come back."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from contextlib import ExitStack

import numpy as np
import pytest
from server_helpers import SMALL, free_port, serving
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from nnplay.server.live.frames import decode

WAIT = 20.0


def call(url: str, method: str = "GET", body: dict | None = None, key: str | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
    request = urllib.request.Request(url, json.dumps(body).encode() if body else None, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            text = answer.read()
            return answer.status, json.loads(text) if text else {}
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def until(ws, predicate) -> dict | bytes:
    """The first message (JSON as a dict, binary as bytes) that ``predicate`` accepts."""
    while True:
        raw = ws.recv(timeout=WAIT)
        message = raw if isinstance(raw, bytes) else json.loads(raw)
        if predicate(message):
            return message


def is_json(kind: str, **fields):
    return lambda m: isinstance(m, dict) and m.get("type") == kind and all(m.get(k) == v for k, v in fields.items())


def lecturer(sockets: ExitStack, served: dict, code: str, key: str):
    ws = sockets.enter_context(connect(f"{served['ws']}/rooms/{code}", max_size=None))
    ws.send(json.dumps({"type": "lecturer", "key": key}))
    return ws, until(ws, is_json("room"))


def student(sockets: ExitStack, served: dict, code: str, **join):
    """A joined student's socket and their ``room`` message."""
    ws = sockets.enter_context(connect(f"{served['ws']}?room={code}", max_size=None))
    ws.send(json.dumps({"type": "join", **join}))
    return ws, until(ws, is_json("room"))


def train(ws, epochs: int) -> dict:
    """Train ``epochs`` epochs (a ``step``); the epoch and weights (with normalization's) of the frame sent with
    the answer."""
    ws.send(json.dumps({"type": "step", "id": "s", "n": epochs}))
    last = None
    while True:
        message = until(ws, lambda m: isinstance(m, bytes) or m.get("type") == "state")
        if isinstance(message, bytes) and decode(message)[0]["type"] == "frame":
            last = message
        elif isinstance(message, dict) and message["id"] == "s":
            network = weights_of(last)
            assert network["epoch"] == message["epoch"] == epochs
            return network


def weights_of(frame: bytes) -> dict:
    """A frame's epoch and its weights array: every layer's W and b, then normalization's γ, β, running stats."""
    header, arrays = decode(frame)
    return {"epoch": header["epoch"], "weights": arrays["weights"], "sizes": header["sizes"]}


def first_frame(ws) -> dict:
    return weights_of(until(ws, lambda m: isinstance(m, bytes) and decode(m)[0]["type"] == "frame"))


@pytest.fixture
def sockets():
    with ExitStack() as stack:
        yield stack


def test_a_room_its_lecturer_and_its_students_survive_a_sigterm_restart(tmp_path, sockets):
    env = {"NNPLAY_DATA_DIR": str(tmp_path), "NNPLAY_ENGINE_PROCESSES": "1"}
    port = free_port()
    with serving(env, port=port) as served:
        status, made = call(f"{served['http']}/api/rooms", "POST", {"config": SMALL, "title": "Spirals"})
        assert status == 201
        code, key = made["code"], made["key"]
        teacher, _ = lecturer(sockets, served, code, key)
        teacher.send(json.dumps({"type": "challenge", "id": "c", "text": "Fewest neurons wins"}))
        teacher.send(json.dumps({"type": "lock", "id": "l", "fields": ["activation"]}))
        until(teacher, is_json("room", id="l"))
        ada, ada_room = student(sockets, served, code, nickname="Ada")
        bo, bo_room = student(sockets, served, code, nickname="Bo")
        ada.send(json.dumps({"type": "configure", "id": "mine", "config": {**SMALL, "hidden": [5]}}))
        until(ada, is_json("state", id="mine"))
        bo.send(json.dumps({"type": "configure", "id": "mine", "config": {**SMALL, "normalization": "batch"}}))
        until(bo, is_json("state", id="mine"))
        before = {"Ada": train(ada, 30), "Bo": train(bo, 10)}
    # leaving ``serving`` sent SIGTERM: the drain wrote the rooms, then closed the students' sessions (1012)
    for ws in (ada, bo, teacher):  # the student's and the lecturer's pages reconnect after 1012 (and rejoin)
        with pytest.raises(ConnectionClosed) as closed:
            until(ws, lambda m: False)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012, closed.value

    with serving(env, port=port) as served:
        status, public = call(f"{served['http']}/api/rooms/{code}")
        assert status == 200 and public["title"] == "Spirals" and public["locked"] == ["activation"]
        assert public["challenge"] == "Fewest neurons wins" and public["state"] == "open"
        wrong = sockets.enter_context(connect(f"{served['ws']}/rooms/{code}"))
        wrong.send(json.dumps({"type": "lecturer", "key": key[:-2] + "xx"}))
        with pytest.raises(ConnectionClosed) as refused:
            wrong.recv(timeout=WAIT)
        assert refused.value.rcvd.code == 1008 and refused.value.rcvd.reason == "wrong room key"
        assert call(f"{served['http']}/api/rooms/{code}/results.csv", key="not-the-key")[0] == 403
        teacher, room = lecturer(sockets, served, code, key)
        assert room["challenge"] == "Fewest neurons wins" and room["locked"] == ["activation"]
        tiles = until(teacher, lambda m: isinstance(m, bytes))
        assert [s["nickname"] for s in decode(tiles)[0]["students"]] == ["Ada", "Bo"]

        for name, room_before in (("Ada", ada_room), ("Bo", bo_room)):
            ws, rejoined = student(sockets, served, code, student=room_before["student"])
            assert rejoined["nickname"] == name and rejoined["student"] == room_before["student"]
            state = until(ws, is_json("state"))
            network = first_frame(ws)
            assert state["epoch"] == network["epoch"] == before[name]["epoch"] > 0
            assert network["sizes"] == before[name]["sizes"]
            assert np.array_equal(network["weights"], before[name]["weights"])  # Bo's: with batch norm's γ, β, stats
            field, value = {"Ada": ("hidden", [5]), "Bo": ("normalization", "batch")}[name]
            assert state["config"][field] == value
            ws.close()
        assert call(f"{served['http']}/api/rooms/{code}", "DELETE", key=key)[0] == 204
        teacher.close()

    with serving(env, port=port) as served:  # an ended room is gone from the store
        status, answer = call(f"{served['http']}/api/rooms/{code}")
        assert status == 404 and "no room" in answer["detail"]

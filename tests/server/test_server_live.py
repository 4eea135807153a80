"""A real ``nnplay serve`` on a free port, driven by the ``websockets`` client as a browser tab would."""

from __future__ import annotations

import json
import shutil
import time
import urllib.request

import pytest
from server_helpers import C2, serving

from nnplay.engine import Trainer
from nnplay.server.live.frames import decode

websockets_sync = pytest.importorskip("websockets.sync.client")


@pytest.fixture(scope="module")
def server():
    """``nnplay serve`` (the console script if installed, else ``python -m nnplay``: the same ``main``)."""
    command = [shutil.which("nnplay")] if shutil.which("nnplay") else None
    with serving({"NNPLAY_MAX_SESSIONS": "3", "NNPLAY_MAX_MESSAGE_BYTES": "20000"}, command) as served:
        yield served


def health(server) -> dict:
    return json.load(urllib.request.urlopen(f"{server['http']}/api/health", timeout=5))


class Client:
    """A websockets client that sorts what arrives into JSON messages and decoded frames."""

    def __init__(self, url: str, **kwargs):
        self._connection = websockets_sync.connect(url, **kwargs)
        self.ws = self._connection.__enter__()

    def send(self, **message) -> None:
        if "from_" in message:
            message["from"] = message.pop("from_")
        self.ws.send(json.dumps(message))

    def next(self, timeout: float = 10.0):
        message = self.ws.recv(timeout=timeout)
        if isinstance(message, str):
            payload = json.loads(message)
            return payload["type"], payload
        header, arrays = decode(message)
        return header["type"], (header, arrays)

    def wait(self, kind: str, predicate=lambda _: True, timeout: float = 10.0, seen=None):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got, payload = self.next(max(deadline - time.monotonic(), 0.01))
            if got == kind and predicate(payload):
                return payload
            if seen is not None:
                seen.append((got, payload))
        raise AssertionError(f"no {kind} within {timeout} s")

    def close(self) -> None:
        self._connection.__exit__(None, None, None)


def test_a_live_session_end_to_end(server):
    client = Client(server["ws"])
    try:
        assert [client.next()[0] for _ in range(4)] == ["hello", "data", "state", "frame"]
        assert health(server)["sessions"] == 1

        # configure C2, play at full speed: frames arrive with a falling loss
        client.send(type="configure", id="c", config=C2)
        assert client.wait("state", lambda s: s["id"] == "c")["sizes"] == [7, 8, 8, 8, 8, 8, 8, 1]
        client.send(type="view", speed="max", fps=30)
        client.send(type="play", id="p")
        assert client.wait("state", lambda s: s["id"] == "p")["playing"] is True
        frames = []
        client.wait("frame", lambda f: f[0]["epoch"] >= 150, timeout=30, seen=frames)
        losses = [header["train_loss"] for kind, (header, _) in frames if kind == "frame"]
        assert len(losses) >= 3 and losses[-1] < losses[0]

        # pause takes effect within 100 ms, and nothing trains after it
        times = []
        for attempt in range(3):
            if attempt:
                client.send(type="play")
            client.wait("frame", lambda f: f[0]["playing"])
            started = time.perf_counter()
            client.send(type="pause", id=f"stop{attempt}")
            paused = client.wait("state", lambda s, a=attempt: s["id"] == f"stop{a}")
            times.append(time.perf_counter() - started)
            assert paused["playing"] is False
        assert max(times) < 0.1, times
        client.send(type="gradcheck", id="g", max_params=10)
        seen = []
        client.wait("gradcheck", seen=seen)
        assert all(p[0]["epoch"] <= paused["epoch"] for kind, p in seen if kind == "frame")

        # a live change of the learning rate, then one weight by hand
        client.send(type="set", id="lr", values={"learning_rate": 0.001})
        assert client.wait("state", lambda s: s["id"] == "lr")["config"]["learning_rate"] == 0.001
        client.send(type="step", id="s", n=2)
        client.wait("state", lambda s: s["id"] == "s")
        client.send(type="set_weight", id="w", layer=0, to=0, from_=1, value=1.25)
        assert client.wait("state", lambda s: s["id"] == "w")["epoch"] == paused["epoch"] + 2
        _, arrays = client.wait("frame")
        assert arrays["weights"][1] == 1.25  # W[0][0][1]

        # bad messages get an error and the session carries on
        for bad in ("{oops", '{"type": "fly"}', '{"type": "set", "values": {"learning_rate": -3}}',
                    '{"type": "view", "speed": NaN}', "x" * 30000):
            client.ws.send(bad)
            assert client.wait("error")["message"]
        client.ws.send(b"\x00binary")
        assert "binary" in client.wait("error")["message"]
        client.send(type="step", id="alive")
        state = client.wait("state", lambda s: s["id"] == "alive")
        assert state["epoch"] == paused["epoch"] + 3 and state["config"]["learning_rate"] == 0.001
    finally:
        client.close()

    # leaving frees the session
    deadline = time.monotonic() + 5
    while health(server)["sessions"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert health(server)["sessions"] == 0


def test_a_restored_run_that_plays_sends_its_own_frame_before_any_of_its_training(server):
    """A page restoring its run after a reconnect (configure with weights, epoch and play) reads a frame older
    than the one before it as a new run and clears its loss chart; so the restored epoch's frame comes first.
    A race (news of the run's training overtook the answer's frame): 40 tries caught it in 4 of 6 runs."""
    config = {"dataset": "gauss", "hidden": [3], "seed": 5}
    engine = Trainer(config)
    engine.train(12)
    client = Client(server["ws"])
    try:
        client.wait("frame")
        for attempt in range(40):
            client.send(type="configure", id=attempt, config=config, weights=engine.get_weights(), epoch=12, play=True)
            client.wait("state", lambda s, a=attempt: s["id"] == a)
            seen: list = []
            client.wait("frame", lambda f: f[0]["epoch"] >= 15, seen=seen)
            epochs = [p[0]["epoch"] for kind, p in seen if kind == "frame"]
            assert epochs[:1] == [12] and epochs == sorted(epochs), f"try {attempt}: frames at epochs {epochs}"
    finally:
        client.close()


def test_origin_check_and_session_limit_on_a_real_server(server):
    from websockets.exceptions import ConnectionClosed

    refused = Client(server["ws"], origin="http://evil.example")
    with pytest.raises(ConnectionClosed) as closed:
        refused.next()
    assert closed.value.rcvd.code == 1008 and "origin" in closed.value.rcvd.reason

    clients = [Client(server["ws"]) for _ in range(3)]
    try:
        for c in clients:
            c.wait("frame")
        extra = Client(server["ws"])
        with pytest.raises(ConnectionClosed) as closed:
            extra.next()
        assert closed.value.rcvd.code == 1013 and "too many sessions" in closed.value.rcvd.reason
    finally:
        for c in clients:
            c.close()


def test_a_deeply_nested_message_gets_an_error_and_the_session_carries_on(server):
    client = Client(server["ws"])
    try:
        client.wait("frame")
        client.ws.send('{"type": "configure", "id": 1, "config": ' + "[" * 9_000 + "]" * 9_000 + "}")
        error = client.wait("error")
        assert "9001 levels" in error["message"] and "at most 32" in error["allowed"]
        client.send(type="step", id="alive", n=2)
        assert client.wait("state", lambda s: s["id"] == "alive")["epoch"] == 2
    finally:
        client.close()


def test_the_bound_address_is_an_allowed_origin_by_both_loopback_names(server):
    port = server["ws"].rsplit(":", 1)[1].split("/")[0]
    for own in (f"http://127.0.0.1:{port}", f"http://localhost:{port}"):
        client = Client(server["ws"], origin=own)
        try:
            assert client.wait("frame")
        finally:
            client.close()

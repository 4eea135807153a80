"""What one socket may cost: bytes of messages waiting, a client that stops reading, sessions per address,
invalid UTF-8. The flood runs in-process; the rest depend on the network stack and uvicorn, so they run
against a real ``nnplay serve``."""

from __future__ import annotations

import base64
import json
import os
import socket
import time
import urllib.request
from contextlib import ExitStack

import pytest
from server_helpers import drain_until_state, live, send, serving

websockets_sync = pytest.importorskip("websockets.sync.client")
SEND_TIMEOUT = 1.0
PER_ADDRESS = 2
KERNEL_BUFFERS = 40 << 20  # generous: Linux may grow a loopback socket's receive buffer to 32 MB (tcp_rmem)


# ---- a flood of large messages (in-process) -------------------------------------------------------------------
def padded(size: int, **message) -> str:
    """``message`` as JSON, padded with trailing whitespace (still valid JSON) to ``size`` bytes."""
    text = json.dumps(message)
    return text + " " * (size - len(text))


def test_messages_beyond_the_queued_bytes_wait_and_are_all_applied_in_order(client_for):
    """A slow gradcheck holds the queue; three 2,000-byte `set`s behind it do not all fit in 4,096 bytes
    waiting, so the server reads the third only once there is room: nothing is refused or lost, and every
    answer comes in order with the state it should have."""
    with client_for(max_queued_bytes=4096, max_message_bytes=4096) as client, live(client) as (ws, _):
        send(ws, type="configure", id="big", config={"dataset": "spiral", "hidden": [32] * 10, "n_samples": 1000})
        drain_until_state(ws, "big", timeout=30)
        ws.send_text(padded(100, type="gradcheck", id="slow", max_params=5000))  # 100 + 2 × 2,000 > 4,096
        for rate in (0.1, 0.2, 0.3):
            ws.send_text(padded(2000, type="set", id=f"lr{rate}", values={"learning_rate": rate}))
        answers = []
        for rate in (0.1, 0.2, 0.3):
            state, seen = drain_until_state(ws, f"lr{rate}", timeout=60)
            answers += [kind for kind, _ in seen if kind in ("gradcheck", "error")] + [state["config"]["learning_rate"]]
        assert answers == ["gradcheck", 0.1, 0.2, 0.3]


# ---- a real server -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``nnplay serve`` with a 1 s send timeout and 2 sessions per address; its log in ``server["log"]``."""
    env = {"NNPLAY_SEND_TIMEOUT": str(SEND_TIMEOUT), "NNPLAY_MAX_SESSIONS_PER_ADDRESS": str(PER_ADDRESS),
           "NNPLAY_ENGINE_PROCESSES": "1"}
    with serving(env, log_level="info", output=tmp_path_factory.mktemp("serve") / "serve.log") as served:
        yield served


def sessions(server) -> int:
    return json.load(urllib.request.urlopen(f"{server['http']}/api/health", timeout=5))["sessions"]


def wait_sessions(server, count: int, timeout: float) -> float:
    """Seconds until the server holds ``count`` sessions (failing after ``timeout``)."""
    start = time.monotonic()
    while sessions(server) != count:
        assert time.monotonic() - start < timeout, f"still {sessions(server)} sessions after {timeout} s"
        time.sleep(0.05)
    return time.monotonic() - start


def text_frame(payload: bytes) -> bytes:
    """A masked client text frame (RFC 6455) carrying ``payload`` as it is."""
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        length = bytes([0x80 | n])
    elif n < 1 << 16:
        length = bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        length = bytes([0x80 | 127]) + n.to_bytes(8, "big")
    key = int.from_bytes(mask * (n // 4 + 1), "little")
    return b"\x81" + length + mask + (int.from_bytes(payload, "little") ^ key).to_bytes(n + 4, "little")[:n]


def raw_socket(port: int, receive_buffer: int = 4096) -> socket.socket:
    """An open WebSocket on a plain socket with a small receive buffer, past the handshake; nothing else read."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def test_a_client_that_stops_reading_is_closed_within_twice_the_send_timeout(server):
    wait_sessions(server, 0, 10)
    sock = raw_socket(server["port"])
    try:
        sock.sendall(text_frame(json.dumps({"type": "view", "speed": "max", "fps": 60, "density": 200}).encode()))
        sock.sendall(text_frame(json.dumps({"type": "configure", "id": "go", "play": True, "config": {
            "dataset": "spiral", "hidden": [8, 8], "seed": 1}}).encode()))
        wait_sessions(server, 1, 10)
        # it never reads: its window fills in a second or two at 60 frames/s, then the sends wait
        assert wait_sessions(server, 0, 2 * SEND_TIMEOUT + 20) <= 2 * SEND_TIMEOUT + 20
        sock.settimeout(5)
        with pytest.raises((ConnectionResetError, EOFError)):
            while sock.recv(1 << 16):  # what was buffered, then the end: the connection is gone, not just idle
                pass
            raise EOFError
    finally:
        sock.close()


def test_a_flood_is_held_back_by_tcp_instead_of_read_into_memory(server):
    """Behind a slow gradcheck, 1 MB messages are read only as the queue (``max_queued_bytes``, 1 MiB) has
    room: the client's sends stop being taken once the socket buffers are full. Before, the server read 64
    of them into its queue at once (64 MB)."""
    wait_sessions(server, 0, 10)
    sock = raw_socket(server["port"], receive_buffer=1 << 20)
    try:
        sock.sendall(text_frame(json.dumps({"type": "configure", "id": "big", "config": {
            "dataset": "spiral", "hidden": [32] * 10, "n_samples": 1000}}).encode()))
        flood = text_frame(padded(1_000_000, type="gradcheck", id="g", max_params=5000).encode()) * 4
        sock.settimeout(0.2)
        taken, deadline = 0, time.monotonic() + 6
        while time.monotonic() < deadline and taken < 100 * len(flood) // 4:
            try:
                taken += sock.send(flood[taken % len(flood):])
            except socket.timeout:
                pass
        # what the server may hold (the queue, one message waiting for room, one in uvicorn) and what the two
        # kernels' socket buffers took; 64 MB before
        assert taken < 3 * 1_000_000 + KERNEL_BUFFERS, taken
    finally:
        sock.close()
    wait_sessions(server, 0, 20)


def test_invalid_utf8_closes_with_1007_and_logs_no_traceback(server):
    from websockets.exceptions import ConnectionClosed

    wait_sessions(server, 0, 10)
    with websockets_sync.connect(server["ws"]) as ws:
        ws.send(b'{"type": "play", "id": "\xff\xfe"}', text=True)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(timeout=10)
    assert closed.value.rcvd.code == 1007
    wait_sessions(server, 0, 10)
    log = server["log"].read_text()
    assert "utf-8" in log.lower() and "Traceback" not in log  # one line says why, nothing more


def test_sessions_from_one_address_are_capped(server):
    from websockets.exceptions import ConnectionClosed

    wait_sessions(server, 0, 10)
    with ExitStack() as stack:
        clients = [stack.enter_context(websockets_sync.connect(server["ws"])) for _ in range(PER_ADDRESS)]
        for ws in clients:
            assert json.loads(ws.recv(timeout=10))["type"] == "hello"
        with websockets_sync.connect(server["ws"]) as extra, pytest.raises(ConnectionClosed) as closed:
            extra.recv(timeout=10)
        assert closed.value.rcvd.code == 1013 and f"from this address ({PER_ADDRESS})" in closed.value.rcvd.reason
        clients[0].close()
        wait_sessions(server, PER_ADDRESS - 1, 10)
        with websockets_sync.connect(server["ws"]) as again:  # a place is free again
            assert json.loads(again.recv(timeout=10))["type"] == "hello"

"""A real ``nnplay serve`` stops cleanly when a signal reaches its whole process group (Ctrl+C in a terminal,
systemd's default ``KillMode=control-group``), and replaces an engine worker that stops answering or dies,
saying so in ``/api/health`` and in an ERROR line with the signal."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import pytest
from server_helpers import C2, SMALL, wait_until

from nnplay.engine import Limits
from nnplay.server.live import wire
from nnplay.server.live.channel import ThreadChannel
from nnplay.server.live.run import Mode, Plan
from nnplay.server.live.supervisor import exit_status
from nnplay.server.live.worker import EngineWorker

ROOT = Path(__file__).resolve().parents[2]
websockets_sync = pytest.importorskip("websockets.sync.client")
from websockets.exceptions import ConnectionClosed  # noqa: E402 - after the importorskip above


class Served:
    """``python -m nnplay serve`` in a process group of its own, with NNPLAY_* ``settings``; stderr in a file."""

    def __init__(self, folder: Path, **settings: str):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.stderr = folder / "stderr.log"
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **{f"NNPLAY_{k.upper()}": v for k, v in settings.items()}}
        with self.stderr.open("w") as stderr:
            self.process = subprocess.Popen([sys.executable, "-m", "nnplay", "serve", "--port", str(self.port),
                                             "--log-level", "info"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                            stderr=stderr, start_new_session=True)
        wait_until(lambda: self.health() is not None, "nnplay serve did not start", 60)

    def health(self) -> Optional[tuple[int, dict]]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/health", timeout=2) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)
        except OSError:
            return None

    def workers(self) -> set[int]:
        """The pids of its engine worker processes, from /proc (multiprocessing's spawned children)."""
        found = set()
        for entry in Path("/proc").iterdir():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                if parent == self.process.pid and b"spawn_main" in (entry / "cmdline").read_bytes():
                    found.add(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue  # not a process, or it ended while we looked
        return found

    def log(self) -> str:
        return self.stderr.read_text()

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


@pytest.fixture
def serve(tmp_path) -> Iterator:
    started: list[Served] = []

    def start(**settings: str) -> Served:
        started.append(Served(tmp_path, **settings))
        return started[-1]

    yield start
    for served in started:
        served.kill()


@contextmanager
def play(served: Served) -> Iterator:
    """A live session playing C2, its first frames read."""
    with websockets_sync.connect(f"ws://127.0.0.1:{served.port}/ws", open_timeout=30, ping_interval=None) as ws:
        ws.send(json.dumps({"type": "configure", "id": "go", "config": C2, "play": True}))
        frames = 0
        while frames < 3:
            frames += isinstance(ws.recv(timeout=30), bytes)
        yield ws


def close_frame(ws, timeout: float):
    """The close frame the server sent (what came before it is dropped)."""
    with pytest.raises(ConnectionClosed) as closed:
        deadline = time.monotonic() + timeout
        while True:
            ws.recv(timeout=max(0.01, deadline - time.monotonic()))
    return closed.value.rcvd


@pytest.mark.parametrize("sig, status", [(signal.SIGINT, 130), (signal.SIGTERM, -signal.SIGTERM)],
                         ids=["SIGINT", "SIGTERM"])
def test_a_signal_to_the_process_group_closes_sessions_with_1012_and_starts_no_worker(serve, sig, status):
    """Every process of the group gets the signal; the workers leave it to the server, which closes the
    sessions with 1012 (the page reconnects), replaces no worker, and exits as the signal asks."""
    served = serve(engine_processes="2", drain_grace="0")
    with play(served) as ws:
        close, started = signal_while_playing(served, ws, sig, status)
    assert close.code == 1012, close
    assert started == set(), "engine workers were started during the shutdown"
    log = served.log()
    assert "Traceback" not in log and "KeyboardInterrupt" not in log, log
    assert "stopped unexpectedly" not in log, log


def signal_while_playing(served: Served, ws, sig: signal.Signals, status: int):
    """Send ``sig`` to the group: (the session's close frame, the worker pids that appeared meanwhile)."""
    before = served.workers()
    assert len(before) == 2
    started: set[int] = set()
    watching = threading.Event()

    def watch() -> None:
        while not watching.is_set():
            started.update(served.workers() - before)
            time.sleep(0.005)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    os.killpg(served.process.pid, sig)
    close = close_frame(ws, 15)
    assert served.process.wait(30) == status
    watching.set()
    watcher.join()
    return close, started


def test_a_frozen_worker_is_reported_killed_and_replaced_within_its_timeout(serve):
    served = serve(engine_processes="1", worker_heartbeat="0.5", worker_timeout="2")
    with play(served) as ws:
        (frozen,) = served.workers()
        os.kill(frozen, signal.SIGSTOP)
        began = time.monotonic()
        try:
            close = close_frame(ws, 15)
            closed_after = time.monotonic() - began
        finally:
            if frozen in served.workers():
                os.kill(frozen, signal.SIGCONT)
    # the page reconnects on any code but an idle 1000; the reason says the worker hung, not that it crashed
    assert close.code == 1011 and close.reason == "the engine worker stopped answering; reconnect to start again"
    assert 1.5 <= closed_after <= 2 + 0.5 + 3, closed_after  # the timeout (+ a heartbeat), with slack either side

    def replaced() -> Optional[dict]:
        got = served.health()
        worker = got[1]["workers"][0] if got else None
        return worker if worker and worker["pid"] != frozen and worker["state"] == "ready" else None

    worker = wait_until(replaced, "health reports no ready replacement", 30)
    assert worker["restarts"] == 1 and worker["last_exit"].startswith("did not answer for ")
    assert worker["last_exit"].endswith("(killed by SIGKILL)")
    status, body = served.health()
    assert status == 200 and body["status"] == "ready"
    assert frozen not in served.workers() and len(served.workers()) == 1
    lines = [line for line in served.log().splitlines() if f"pid {frozen}" in line]
    assert len(lines) == 1 and lines[0].startswith("ERROR:") and "did not answer" in lines[0], lines
    with play(served):  # the replacement trains new sessions
        pass


def test_health_is_degraded_while_a_replacement_starts(serve):
    served = serve(engine_processes="1")
    (worker,) = served.workers()
    seen: list[tuple[int, dict]] = []

    def watch() -> None:
        while len(seen) < 2000:
            got = served.health()
            if got is not None:
                seen.append(got)
                if got[1]["workers"][0]["pid"] != worker and got[1]["status"] == "ready":
                    return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    os.kill(worker, signal.SIGKILL)
    watcher.join(60)
    degraded = [body for status, body in seen if body["status"] == "degraded"]
    assert degraded and all(status == 200 for status, _ in seen)  # still takes work: sessions wait for it
    assert {body["workers"][0]["state"] for body in degraded} <= {"starting", "dead"}


def test_a_killed_worker_is_logged_at_error_with_its_signal(serve):
    served = serve(engine_processes="1")
    with play(served) as ws:
        (worker,) = served.workers()
        os.kill(worker, signal.SIGKILL)
        assert close_frame(ws, 15).code == 1011
    line = wait_until(lambda: next((line for line in served.log().splitlines() if f"pid {worker}" in line), None),
                      "no log line about the killed worker", 15)
    assert line.startswith("ERROR:") and "stopped unexpectedly (killed by SIGKILL); 1 session(s) closed" in line


@pytest.mark.parametrize("code, words", [(-9, "killed by SIGKILL"), (-15, "killed by SIGTERM"), (1, "exit status 1"),
                                         (0, "exit status 0"), (None, "exit status unknown (still running)")])
def test_an_exit_code_is_described_in_words(code, words):
    assert exit_status(code) == words


def test_a_worker_that_dies_during_a_drain_is_not_replaced(serve):
    """A draining instance takes no new sessions: a worker that dies then is reported, not replaced."""
    served = serve(engine_processes="1", drain_grace="60", max_epochs="100000")
    run = {"config": {"dataset": "spiral", "n_samples": 5000, "hidden": [8] * 6, "seed": 3}, "epochs": 100000}
    request = urllib.request.Request(f"http://127.0.0.1:{served.port}/api/runs", json.dumps(run).encode(),
                                     {"content-type": "application/json"})
    assert urllib.request.urlopen(request, timeout=10).status == 202  # it keeps the drain going
    (worker,) = served.workers()
    served.process.send_signal(signal.SIGTERM)
    wait_until(lambda: served.health()[1]["status"] == "draining", "the instance does not drain", 10)
    os.kill(worker, signal.SIGKILL)
    line = wait_until(lambda: next((line for line in served.log().splitlines() if f"pid {worker}" in line), None),
                      "no log line about the killed worker", 15)
    assert line.startswith("ERROR:") and line.endswith("not replaced: the server is draining/stopping"), line
    time.sleep(1.0)
    assert served.workers() == set() and served.health()[1]["workers"][0]["state"] == "dead"


def test_a_worker_answers_each_heartbeat_between_rounds_while_it_trains():
    """The watchdog's heartbeat is answered with its serial while a session trains flat out (its frames held
    back: no credit), not only when the worker is idle."""
    server_end, worker_end = ThreadChannel.pair()
    worker = threading.Thread(target=EngineWorker(worker_end, Limits().model_dump(), None, 0.01).serve)
    worker.start()
    try:
        assert isinstance(server_end.recv(), wire.Ready)
        configure = {"config": SMALL, "weights": None, "epoch": None, "variants": None, "labels": None, "play": True}
        server_end.send([wire.Call(1, "s", "configure", configure), wire.PlanChange("s", Plan(1, Mode.PLAYING, "max"))])
        assert isinstance(server_end.recv(), wire.Done)
        assert isinstance(server_end.recv(), wire.News)  # then nothing more until a credit
        for serial in (7, 8):
            server_end.send([wire.Ping(serial)])
            assert server_end.poll(2) and server_end.recv() == wire.Pong(serial)
        server_end.send([wire.Call(2, "s", "state", {})])
        assert server_end.recv().value["facts"]["epoch"] > 1  # it was training all along
    finally:
        server_end.send([wire.Stop()])
        worker.join(5)

"""How a real ``nnplay serve`` stops and how it notices a frozen engine worker.

    python benchmarks/stops.py [--python PATH] [--wait 20]

* **signal to the group**: the server in a process group of its own (as a terminal or systemd's
  ``KillMode=control-group`` has it), two engine workers, one live session playing C2; then SIGINT (Ctrl+C)
  and, on a fresh server, SIGTERM to the whole group. Reported: the session's close code and reason, the
  tracebacks on the server's stderr, the engine workers started after the signal, the exit status and how
  long the exit took. Target: 1012, no traceback, none started, exit 0.
* **frozen worker**: one engine worker, one live session playing; SIGSTOP the worker. Reported: the seconds
  until the session is closed (and its code), until ``/api/health`` stops saying ``ready`` (or reports the
  worker), and until a new session trains again. ``--wait`` seconds at most for each. Target: within the
  watchdog's timeout (``NNPLAY_WORKER_TIMEOUT``) plus a second.

``--python`` serves the checkout installed in another environment (see its help) to measure before and after
on the same machine.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

from harness import CONFIGS, PYTHON_HELP, free_port, process_tree

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect


def start(python: str, port: int, workers: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "NNPLAY_ENGINE_PROCESSES": str(workers), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([python, "-m", "nnplay", "serve", "--port", str(port), "--log-level", "info"],
                               env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"), start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if health(port) is not None:
            return process
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("the server did not start")


def health(port: int) -> Optional[tuple[int, dict]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)
    except OSError:
        return None


def workers_of(pid: int) -> set[int]:
    """The engine worker processes of the server ``pid`` (multiprocessing's children, less its resource tracker)."""
    found = set()
    for child in set(process_tree(pid)) - {pid}:
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command:
            found.add(child)
    return found


@contextmanager
def playing(port: int) -> Iterator:
    """A live session playing C2, with its first frames read."""
    with connect(f"ws://127.0.0.1:{port}/ws", max_size=2**24, open_timeout=30, ping_interval=None) as ws:
        ws.send(json.dumps({"type": "configure", "id": "go", "config": CONFIGS["C2"], "play": True}))
        frames = 0
        while frames < 5:
            if isinstance(ws.recv(timeout=30), bytes):
                frames += 1
        yield ws


def closed(ws, timeout: float) -> tuple[Optional[float], str]:
    """(seconds until the server closed the socket, "code reason") or (None, "open")."""
    began = time.monotonic()
    try:
        while time.monotonic() - began < timeout:
            ws.recv(timeout=timeout)
    except ConnectionClosed as exc:
        got = exc.rcvd
        return time.monotonic() - began, f"{got.code} {got.reason!r}" if got else "no close frame"
    except TimeoutError:
        pass
    return None, "open"


def group_signal(python: str, sig: signal.Signals) -> dict:
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "stderr.log"
        process = start(python, port, 2, log)
        with playing(port) as ws:
            result = signal_while_playing(process, ws, sig)
        result["tracebacks"] = log.read_text().count("Traceback")
    return result


def signal_while_playing(process: subprocess.Popen, ws, sig: signal.Signals) -> dict:
    before = workers_of(process.pid)
    started: set[int] = set()
    watching = threading.Event()
    watching.set()

    def watch() -> None:  # workers that appear after the signal
        while watching.is_set():
            started.update(workers_of(process.pid) - before)
            time.sleep(0.01)

    threading.Thread(target=watch, daemon=True).start()
    began = time.monotonic()
    os.killpg(process.pid, sig)
    close_s, close = closed(ws, 15)
    try:
        code = process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        code = f"still running after 30 s ({process.wait()})"
    exit_s = time.monotonic() - began
    watching.clear()
    return {"close": close, "close_s": close_s and round(close_s, 3), "workers_started": len(started),
            "exit": code, "exit_s": round(exit_s, 2)}


def frozen_worker(python: str, wait: float) -> dict:
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "stderr.log"
        process = start(python, port, 1, log)
        try:
            with playing(port) as ws:
                result = freeze_while_playing(process, port, ws, wait)
        finally:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        result["log"] = [line for line in log.read_text().splitlines() if "worker" in line][:3]
    return result


def freeze_while_playing(process: subprocess.Popen, port: int, ws, wait: float) -> dict:
    (worker,) = workers_of(process.pid)
    began = time.monotonic()
    os.kill(worker, signal.SIGSTOP)
    result: dict = {}

    def health_changed() -> None:
        while time.monotonic() - began < wait:
            got = health(port)
            if got is not None and (got[1]["status"] != "ready" or any(
                    w["state"] != "ready" for w in got[1].get("workers", []))):
                result["health_s"], result["health"] = round(time.monotonic() - began, 2), got[1]
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=health_changed)
    watcher.start()
    close_s, result["close"] = closed(ws, wait)
    result["close_s"] = close_s and round(close_s, 2)
    watcher.join()
    try:
        with playing(port):
            result["new_session_s"] = round(time.monotonic() - began, 2)
    except (OSError, TimeoutError, ConnectionClosed) as exc:
        result["new_session"] = f"failed: {type(exc).__name__}"
    try:
        os.kill(worker, signal.SIGCONT)
    except ProcessLookupError:  # killed and reaped by the server's watchdog
        pass
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=sys.executable, help=PYTHON_HELP)
    parser.add_argument("--wait", type=float, default=20.0, help="seconds to wait for each reaction")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}; serving {args.python}")
    for sig in (signal.SIGINT, signal.SIGTERM):
        print(f"{sig.name} to the process group:", json.dumps(group_signal(args.python, sig)))
    print("SIGSTOP to the only engine worker:", json.dumps(frozen_worker(args.python, args.wait)))


if __name__ == "__main__":
    main()

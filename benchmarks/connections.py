"""Slow, silent and too many clients, and the largest pictures: what a server holds, logs and allocates.

Three measurements, each against the server of ``--python`` (this checkout's by default; another's to
compare, see harness.PYTHON_HELP):

* ``slowloris``: ``--connections`` connections that each send a request head a byte a second; after
  ``--hold`` seconds, how many the server still holds open (target: none once NNPLAY_HEAD_TIMEOUT, 10 s by
  default, has passed);
* ``accept flood``: a server whose open-file limit is 128 (soft and hard, so start-up cannot raise it) and
  400 connections that never send anything, held for ``--flood`` seconds: accepting fails on every turn of
  the event loop; the bytes and lines it logs meanwhile (target: a few lines per interval, not one
  traceback per failure);
* ``render``: in a fresh process, the growth of the peak resident set (VmHWM less the resident set after a
  small warm-up picture) while drawing and encoding the largest PNG (2000 px, six classes, grid density 200)
  and one frame of the largest GIF (800 px: frames are encoded one at a time, benchmarks/render.py).

    python benchmarks/connections.py [--python /tmp/base/bin/python] [--json]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import select
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

from harness import PYTHON_HELP, Server, free_port, load_average, server_code

DRIBBLE = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 200  # a head that never ends
FLOOD_FILES = 128
FLOOD_CONNECTIONS = 400
LARGEST = {"png": 2000, "gif": 800}
SIX_CLASSES = {"dataset": "spiral_multi", "n_classes": 6, "n_samples": 5000, "seed": 1, "hidden": [32] * 10,
               "features": ["x1", "x2", "x1_sq", "x2_sq", "x1_x2", "sin_x1", "sin_x2"]}


# ---- slowloris ---------------------------------------------------------------------------------------------
def closed_by_server(connection: socket.socket) -> bool:
    """Whether the server has closed the connection (EOF or a reset; a 408 it sent first counts as closed)."""
    readable, _, _ = select.select([connection], [], [], 0)
    if not readable:
        return False
    try:
        while chunk := connection.recv(65536, socket.MSG_DONTWAIT):
            if not chunk:
                break
    except BlockingIOError:
        return False
    except OSError:
        return True
    return True


def slowloris(python: str, connections: int, hold: float) -> dict:
    """Open ``connections`` dribbling heads, a byte each per second; count those still open after ``hold`` s."""
    with Server(python, {"NNPLAY_ENGINE_PROCESSES": "1"}) as server:
        sockets = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(connections)]
        open_ = set(range(connections))
        started = time.monotonic()
        try:
            for second in range(int(hold)):
                for index in list(open_):
                    if closed_by_server(sockets[index]):
                        open_.discard(index)
                        continue
                    try:
                        sockets[index].sendall(DRIBBLE[second % len(DRIBBLE):][:1])
                    except OSError:
                        open_.discard(index)
                time.sleep(max(0.0, started + second + 1 - time.monotonic()))
            open_ = {index for index in open_ if not closed_by_server(sockets[index])}
            health = server.get("/api/health")["status"]
        finally:
            for connection in sockets:
                connection.close()
    return {"connections": connections, "seconds": hold, "held": len(open_), "health": health}


# ---- a flood of failed accepts -------------------------------------------------------------------------------
def accept_flood(python: str, seconds: float) -> dict:
    """A server limited to FLOOD_FILES descriptors, FLOOD_CONNECTIONS silent connections for ``seconds``: the
    log it writes from then until it has stopped (its stderr), in bytes and lines, and the failed accepts
    it reports (one line each, or a line with a count)."""
    port = free_port()
    env = {**os.environ, "NNPLAY_ENGINE_PROCESSES": "1", "NNPLAY_MAX_CONNECTIONS": "100000",
           "NNPLAY_HEAD_TIMEOUT": str(seconds + 30)}  # the flood is the log's, not the head deadline's
    limit = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (FLOOD_FILES, FLOOD_FILES))  # noqa: E731
    with tempfile.TemporaryFile() as log:
        command = [python, "-m", "nnplay", "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level",
                   "warning"]
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log, preexec_fn=limit)
        try:
            wait_for_health(port, process)
            before = log.tell()
            sockets = []
            try:
                for _ in range(FLOOD_CONNECTIONS):
                    sockets.append(socket.create_connection(("127.0.0.1", port), timeout=10))
                time.sleep(seconds)
            finally:
                for connection in sockets:
                    connection.close()
            time.sleep(1)
            served = wait_for_health(port, process, timeout=10)
        finally:
            process.terminate()  # a stop writes the counts of intervals still open
            process.wait(30)
        text = read_from(log, before)
    failures = [line for line in text.splitlines() if b"out of system resource" in line]
    counted = sum(int(line.split(b"(repeated ")[1].split()[0].replace(b",", b"")) if b"(repeated " in line else 1
                  for line in failures)
    return {"seconds": seconds, "log_bytes": len(text), "log_lines": text.count(b"\n"),
            "failed_accepts": counted, "answers_after": served}


def wait_for_health(port: int, process: subprocess.Popen, timeout: float = 60) -> bool:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2).close()
            return True
        except OSError:
            time.sleep(0.2)
    return False


def read_from(file, offset: int) -> bytes:
    file.flush()
    file.seek(offset)
    return file.read()


# ---- the largest pictures -------------------------------------------------------------------------------------
def render_child(kind: str) -> dict:
    """In this process (of the measured checkout's Python): the peak growth drawing the largest picture."""
    from nnplay.engine import Trainer
    from nnplay.server.jobs.pictures import GifPalette, GifWriter, Picture, StillWriter

    trainer = Trainer(SIX_CLASSES)
    trainer.step_epoch(gradients=False)

    def draw(size: int) -> int:
        if kind == "png":
            writer = StillWriter()
            writer.add(Picture(size=size, density=200).image(trainer))
            return len(writer.png())
        palette, out = GifPalette(trainer.task, trainer.config.n_classes), io.BytesIO()
        gif = GifWriter(out, size, 100, palette)
        gif.add(Picture(size=size, density=200).image(trainer, palette))
        gif.close()
        return out.tell()

    draw(64)  # imports, the font, the grid's buffers
    base = status_mb("VmRSS")
    started = time.perf_counter()
    size = draw(LARGEST[kind])
    return {"size_px": LARGEST[kind], "growth_mb": status_mb("VmHWM") - base, "bytes": size,
            "seconds": time.perf_counter() - started}


def status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def render(python: str, kind: str) -> dict:
    command = [python, __file__, "--render-child", kind]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=600)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable, help=PYTHON_HELP)
    parser.add_argument("--connections", type=int, default=300, help="slowloris connections")
    parser.add_argument("--hold", type=float, default=20.0, help="seconds the slowloris clients keep dribbling")
    parser.add_argument("--flood", type=float, default=10.0, help="seconds the accept flood lasts")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--render-child", choices=sorted(LARGEST), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.render_child:
        print(json.dumps(render_child(args.render_child)))
        return
    results = {"server": server_code(args.python), "load": load_average(),
               "slowloris": slowloris(args.python, args.connections, args.hold),
               "accept_flood": accept_flood(args.python, args.flood),
               "render": {kind: render(args.python, kind) for kind in LARGEST}}
    if args.json:
        print(json.dumps(results, indent=1))
        return
    loris, flood = results["slowloris"], results["accept_flood"]
    print(f"server code: {results['server']} ({results['load']})")
    print(f"slowloris: {loris['held']} of {loris['connections']} dribbling connections held after "
          f"{loris['seconds']:g} s (health: {loris['health']})")
    print(f"accept flood ({FLOOD_FILES} files, {FLOOD_CONNECTIONS} connections, {flood['seconds']:g} s): "
          f"{flood['log_bytes']:,} bytes, {flood['log_lines']:,} lines of log for {flood['failed_accepts']:,} failed "
          f"accepts; answers afterwards: {flood['answers_after']}")
    for kind, r in results["render"].items():
        print(f"render {kind} {r['size_px']} px, six classes: peak growth {r['growth_mb']:.0f} MB, "
              f"{r['seconds']:.2f} s, {r['bytes']:,} bytes")


if __name__ == "__main__":
    main()

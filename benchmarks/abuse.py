"""What careless or hostile clients cost a real ``nnplay serve``: memory and event-loop latency gauges.

    python benchmarks/abuse.py [--runs 200] [--seconds 8] [--python PATH]

* **finished runs**: the server's RSS when idle, then after ``--runs`` background runs of the 5,000-point
  spiral (grid, data, history and weights in each result) have finished. Target: ≤ 150 MB above idle.
* **large bodies**: ``GET /api/health`` latency (p50, p99, polled every 20 ms by a separate process) and
  the server's peak RSS while three clients send 50 MB ``POST /api/train`` bodies over and over, half with
  ``Content-Length``, half chunked. Target: p99 ≤ 100 ms. A quiet window first gives the reference.
* **configure flood**: four WebSocket clients each send 1 MB ``configure`` messages as fast as the socket takes
  them (reading and dropping what comes back) for ``--seconds``: the server's RSS growth (peak and after, over
  its RSS just before) and ``GET /api/health`` p50/p99. Each message is a real compare-mode restore, as large
  as the limits allow (5,000 custom points, weights of a 10 × 32 network, 4 variants: 432 kB), padded with
  spaces to 1,000,000 bytes. Target: growth ≤ 100 MB, p99 ≤ 100 ms.
* **silent client**: a client on a plain socket configures, plays at speed ``max`` with 60 frames/s at grid
  density 200, then never reads again (its TCP window fills): the seconds until the server ends its session
  (up to ``--silent-limit``), and the CPU the server's processes use meanwhile (training or not).

``--python`` serves the checkout installed in another environment (see its help) to measure before and after
on the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from itertools import pairwise
from pathlib import Path

from harness import PYTHON_HELP, cpu_seconds, free_port, percentile, process_tree  # shared by every benchmark


SPIRAL_RUN = {"config": {"dataset": "spiral", "n_samples": 5000, "hidden": [8, 8], "seed": 1}, "epochs": 2,
              "include": ["history", "weights", "grid", "data"]}
BODY_MB = 50


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def post(base: str, path: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(base + path, json.dumps(body).encode(), {"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def get(base: str, path: str) -> dict:
    with urllib.request.urlopen(base + path, timeout=60) as response:
        return json.load(response)


def start_server(python: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "NNPLAY_MAX_EPOCHS": "100000"}
    process = subprocess.Popen([python, "-m", "nnplay", "serve", "--port", str(port), "--log-level", "error"],
                               env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            get(f"http://127.0.0.1:{port}", "/api/health")
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the server did not start")


# ---- gauge 1: finished runs ------------------------------------------------------------------------------
def finished_runs(base: str, pid: int, runs: int) -> dict:
    idle = rss_mb(pid)
    started, ids = time.perf_counter(), []
    while len(ids) < runs:
        status, info = post(base, "/api/runs", SPIRAL_RUN)
        if status == 202:
            ids.append(info["id"])
        elif status == 429:  # max_background_runs are training: wait for one
            time.sleep(0.05)
        else:
            raise RuntimeError(f"POST /api/runs answered {status}: {info}")
    while get(base, "/api/health")["runs"]:
        time.sleep(0.1)
    kept = len(get(base, "/api/runs")["runs"])
    return {"idle_mb": idle, "after_mb": rss_mb(pid), "kept": kept, "seconds": time.perf_counter() - started}


# ---- gauge 2: 50 MB bodies ----------------------------------------------------------------------------------
def big_body() -> bytes:
    row = b"[0.123456789, -0.987654321, 1.0],"
    rows = row * (BODY_MB * (1 << 20) // len(row))
    return b'{"config": {}, "epochs": 1, "data": {"train": [' + rows[:-1] + b"]}}"


def send_forever(port: int, body: bytes, chunked: bool, stop: threading.Event, answers: list) -> None:
    """Send the body again and again on new connections (declared or chunked), noting each status."""
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=60) as connection:
                head = "POST /api/train HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                head += "Transfer-Encoding: chunked\r\n\r\n" if chunked else f"Content-Length: {len(body)}\r\n\r\n"
                connection.sendall(head.encode())
                for start in range(0, len(body), 1 << 20):
                    piece = body[start:start + (1 << 20)]
                    connection.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                if chunked:
                    connection.sendall(b"0\r\n\r\n")
                answers.append(connection.recv(64).split(b" ")[1].decode())
        except (OSError, IndexError):
            answers.append("closed")  # the server stopped reading and closed the connection


def poll_health(port: int, seconds: float, interval: float = 0.02) -> None:
    """Print the latencies (ms) of ``GET /api/health`` every ``interval`` s; a request that stalls counts with
    the time it took (up to 60 s), a failed one as 60 s."""
    latencies, end = [], time.perf_counter() + seconds
    while time.perf_counter() < end:
        start = time.perf_counter()
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=60).read()
            latencies.append((time.perf_counter() - start) * 1000)
        except OSError:
            latencies.append(60_000.0)
        time.sleep(max(0.0, interval - (time.perf_counter() - start)))
    print(json.dumps(latencies))


def health_latencies(port: int, seconds: float) -> list[float]:
    """``GET /api/health`` latencies in ms over ``seconds``, polled by a separate process."""
    poller = subprocess.run([sys.executable, __file__, "--poll-health", str(port), str(seconds)],
                            capture_output=True, text=True, timeout=seconds + 180, check=True)
    return json.loads(poller.stdout)


def large_bodies(port: int, pid: int, seconds: float) -> dict:
    quiet = health_latencies(port, seconds / 2)
    body, stop, answers = big_body(), threading.Event(), []
    senders = [threading.Thread(target=send_forever, args=(port, body, i == 1, stop, answers), daemon=True)
               for i in range(3)]
    for sender in senders:
        sender.start()
    time.sleep(0.5)
    loaded = health_latencies(port, seconds)
    stop.set()
    for sender in senders:
        sender.join(120)
    return {"quiet_p50": percentile(quiet, 50), "quiet_p99": percentile(quiet, 99),
            "p50": percentile(loaded, 50), "p99": percentile(loaded, 99), "bodies": len(answers),
            "answers": sorted(set(answers)), "peak_mb": rss_mb(pid, "VmHWM")}


# ---- gauge 3: 1 MB configure messages from 4 clients ---------------------------------------------------------
FLOOD_BYTES = 1_000_000


def big_configure() -> str:
    """A valid compare-mode ``configure`` as large as the limits allow, padded with spaces to 1,000,000 bytes."""
    rng = random.Random(1)
    features, hidden = ["x1", "x2", "x1_sq", "x2_sq", "x1_x2", "sin_x1", "sin_x2"], [32] * 10
    sizes = [len(features), *hidden, 1]
    weights = [{"W": [[rng.uniform(-1, 1) for _ in range(fan_in)] for _ in range(fan_out)],
                "b": [rng.uniform(-1, 1) for _ in range(fan_out)]} for fan_in, fan_out in pairwise(sizes)]
    points = [[rng.uniform(-6, 6), rng.uniform(-6, 6), rng.choice([-1, 1])] for _ in range(5000)]
    text = json.dumps({"type": "configure", "id": "flood", "weights": weights, "variants": [
        {"learning_rate": rate} for rate in (0.01, 0.03, 0.1, 0.3)], "config": {
        "dataset": "custom", "custom_points": points, "features": features, "hidden": hidden, "batch_size": 10}})
    return text + " " * (FLOOD_BYTES - len(text))


async def flood(url: str, message: str, seconds: float, answers: dict) -> None:
    """Send ``message`` as fast as the socket takes it for ``seconds``, reading and counting the answers."""
    import websockets

    async def read(ws) -> None:
        async for reply in ws:
            kind = json.loads(reply)["type"] if isinstance(reply, str) else "binary"
            answers[kind] = answers.get(kind, 0) + 1

    try:
        async with websockets.connect(url, max_size=2**24, compression=None, open_timeout=60) as ws:
            reader = asyncio.create_task(read(ws))
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                await ws.send(message)
                answers["sent"] = answers.get("sent", 0) + 1
            reader.cancel()
    except (OSError, websockets.WebSocketException) as exc:
        answers[f"closed ({type(exc).__name__})"] = 1


def configure_flood(port: int, pid: int, seconds: float) -> dict:
    message, answers = big_configure(), {}
    before = rss_mb(pid)
    url = f"ws://127.0.0.1:{port}/ws"

    async def clients() -> None:
        await asyncio.gather(*(flood(url, message, seconds, answers) for _ in range(4)))

    quiet = health_latencies(port, seconds / 2)
    runner = threading.Thread(target=asyncio.run, args=(clients(),), daemon=True)
    runner.start()
    time.sleep(0.5)
    loaded = health_latencies(port, seconds - 1)
    runner.join(seconds + 120)
    time.sleep(1)
    return {"before_mb": before, "peak_mb": rss_mb(pid, "VmHWM"), "after_mb": rss_mb(pid),
            "p50": percentile(loaded, 50), "p99": percentile(loaded, 99), "answers": answers,
            "quiet_p50": percentile(quiet, 50), "quiet_p99": percentile(quiet, 99)}


# ---- gauge 4: a client that stops reading ------------------------------------------------------------------
def masked_text(payload: bytes) -> bytes:
    mask = os.urandom(4)
    n = len(payload)
    length = bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + n.to_bytes(2, "big")
    return b"\x81" + length + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def silent_client(base: str, port: int, pid: int, limit: float) -> dict:
    """Open a session on a plain socket, play at max, never read; time until the server drops the session."""
    sock = socket.create_connection(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:  # frames sent before the 101 would wait for more data in uvicorn's parser
        head += sock.recv(1)
    sock.sendall(masked_text(json.dumps({"type": "view", "speed": "max", "fps": 60, "density": 200}).encode()))
    sock.sendall(masked_text(json.dumps({"type": "configure", "id": "go", "play": True, "config": {
        "dataset": "spiral", "hidden": [8, 8, 8], "seed": 1}}).encode()))
    start, cpu, samples = time.monotonic(), cpu_seconds(process_tree(pid)), []
    try:
        while get(base, "/api/health")["sessions"] and time.monotonic() - start < limit:
            time.sleep(1)
            now = cpu_seconds(process_tree(pid))
            samples.append(now - cpu)
            cpu = now
        closed = time.monotonic() - start
        still_open = bool(get(base, "/api/health")["sessions"])
    finally:
        sock.close()
    return {"seconds": closed, "still_open": still_open, "cpu": samples}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=8.0, help="the loaded health-polling window")
    parser.add_argument("--silent-limit", type=float, default=90.0, help="seconds to wait for a silent client's end")
    parser.add_argument("--only", choices=["runs", "bodies", "flood", "silent"], action="append",
                        help="run only these gauges (repeatable; default all)")
    parser.add_argument("--python", default=sys.executable, help=PYTHON_HELP)
    parser.add_argument("--poll-health", nargs=2, metavar=("PORT", "SECONDS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.poll_health:
        return poll_health(int(args.poll_health[0]), float(args.poll_health[1]))
    port = free_port()
    process = start_server(args.python, port)
    try:
        base = f"http://127.0.0.1:{port}"
        gauges = set(args.only or ["runs", "bodies", "flood", "silent"])
        if "silent" in gauges:  # first: the flood's clients must not count against its address
            silent = silent_client(base, port, process.pid, args.silent_limit)
            cpu = silent["cpu"]
            print(f"silent client at speed max: {'still open after' if silent['still_open'] else 'closed after'} "
                  f"{silent['seconds']:.0f} s; server CPU (cores) in its first 5 s {sum(cpu[:5]) / 5:.2f}, "
                  f"in its last 5 s {sum(cpu[-5:]) / 5:.2f} (by second: {' '.join(f'{c:.1f}' for c in cpu)})")
        if "flood" in gauges:
            result = configure_flood(port, process.pid, args.seconds)
            growth = result["peak_mb"] - result["before_mb"]
            answers = ", ".join(f"{k} {v}" for k, v in sorted(result["answers"].items()))
            print(f"configure flood: 4 clients, 1 MB configure messages for {args.seconds:.0f} s ({answers}); "
                  f"RSS before {result['before_mb']:.0f} MB, peak {result['peak_mb']:.0f} MB, after "
                  f"{result['after_mb']:.0f} MB; health p50/p99 {result['p50']:.1f}/{result['p99']:.1f} ms, quiet "
                  f"{result['quiet_p50']:.1f}/{result['quiet_p99']:.1f} ms "
                  f"(target growth <= 100 MB: {'ok' if growth <= 100 else 'MISSED'}, p99 <= 100 ms: "
                  f"{'ok' if result['p99'] <= 100 else 'MISSED'})")
        if "runs" in gauges:
            runs = finished_runs(base, process.pid, args.runs)
            growth = runs["after_mb"] - runs["idle_mb"]
            print(f"finished runs: {args.runs} spiral runs (5,000 points, grid, data) in {runs['seconds']:.0f} s, "
                  f"{runs['kept']} kept; RSS idle {runs['idle_mb']:.0f} MB, after {runs['after_mb']:.0f} MB, "
                  f"growth {growth:.0f} MB (target <= 150 MB: {'ok' if growth <= 150 else 'MISSED'})")
        if "bodies" not in gauges:
            return
        bodies = large_bodies(port, process.pid, args.seconds)
        print(f"50 MB bodies: health p50/p99 {bodies['p50']:.1f}/{bodies['p99']:.1f} ms while 3 clients sent "
              f"{bodies['bodies']} bodies (answers {', '.join(bodies['answers'])}); quiet p50/p99 "
              f"{bodies['quiet_p50']:.1f}/{bodies['quiet_p99']:.1f} ms; peak RSS {bodies['peak_mb']:.0f} MB "
              f"(target p99 <= 100 ms: {'ok' if bodies['p99'] <= 100 else 'MISSED'})")
    finally:
        process.kill()  # (not a graceful stop: a server that reads 50 MB bodies on its loop may take minutes)
        process.wait(30)


if __name__ == "__main__":
    main()

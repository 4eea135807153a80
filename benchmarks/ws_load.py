"""Live-session load: K concurrent WebSocket sessions against a real ``nnplay serve`` on loopback.

    python benchmarks/ws_load.py [--sessions 1 8 32] [--configs C1 C2] [--speeds 30 max] [--seconds 4]

For every (K, config, speed) it opens K sessions, configures and plays them, and measures over a window:
per-session epochs/s (from the epochs the frames carry) and frames/s, bytes per frame, the server's CPU
(from /proc), and ``GET /api/health`` latency (p50, p99) polled every 20 ms by a separate process, so the
client's own work does not count. It also times the engine alone on C2 (epochs/s of ``run_epoch``, as
benchmarks/engine.py does; and ``step_epoch``, which the live session needs for per-epoch losses).

Targets (issue 3): 32 C1 sessions at speed 30 get ≥ 25 epochs/s and ≥ 20 frames/s each with health
p99 ≤ 50 ms; one C2 session at max within 20% of the engine's epochs/s; health p99 ≤ 50 ms while 20
sessions train C2 at max.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import socket
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PLAYGROUND_FEATURES = ["x1", "x2", "x1_sq", "x2_sq", "x1_x2", "sin_x1", "sin_x2"]
CONFIGS = {  # as benchmarks/engine.py
    "C1": {"dataset": "circle", "features": ["x1", "x2"], "hidden": [4, 2], "activation": "tanh", "loss": "square",
           "optimizer": "sgd", "learning_rate": 0.03, "batch_size": 10, "n_samples": 500, "seed": 1},
    "C2": {"dataset": "spiral", "features": PLAYGROUND_FEATURES, "hidden": [8] * 6, "activation": "tanh",
           "regularization": "l2", "reg_rate": 0.001, "learning_rate": 0.03, "batch_size": 10, "seed": 1},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def header_of(frame: bytes) -> dict:
    (length,) = struct.unpack_from("<I", frame, 4)
    return json.loads(frame[8: 8 + length])


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


# ---- the health poller (runs as its own process) --------------------------------------------------------
def poll_health(port: int, seconds: float, interval: float = 0.02) -> None:
    latencies, end = [], time.perf_counter() + seconds
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    while time.perf_counter() < end:
        start = time.perf_counter()
        conn.request("GET", "/api/health")
        conn.getresponse().read()
        latencies.append((time.perf_counter() - start) * 1000)
        time.sleep(max(0.0, interval - (time.perf_counter() - start)))
    print(json.dumps(latencies))


# ---- one scenario ----------------------------------------------------------------------------------------------
class Stats:
    def __init__(self) -> None:
        self.frames = self.bytes = 0
        self.first: tuple[float, int] | None = None
        self.last: tuple[float, int] | None = None


async def session(url: str, config: dict, speed, stats: Stats, measuring: asyncio.Event, stop: asyncio.Event):
    import websockets

    async with websockets.connect(url, max_size=2**24, compression=None) as ws:
        await ws.send(json.dumps({"type": "configure", "config": config}))
        await ws.send(json.dumps({"type": "view", "speed": speed, "fps": 30}))
        await ws.send(json.dumps({"type": "play"}))
        while not stop.is_set():
            try:
                message = await asyncio.wait_for(ws.recv(), 0.5)
            except asyncio.TimeoutError:
                continue
            if isinstance(message, bytes) and measuring.is_set():
                header = header_of(message)
                if header["type"] != "frame":
                    continue
                now = time.perf_counter()
                stats.frames += 1
                stats.bytes += len(message)
                stats.first = stats.first or (now, header["epoch"])
                stats.last = (now, header["epoch"])
        await ws.send(json.dumps({"type": "pause"}))


async def scenario(port: int, server_pid: int, k: int, name: str, speed, seconds: float, warmup: float) -> dict:
    stats = [Stats() for _ in range(k)]
    measuring, stop = asyncio.Event(), asyncio.Event()
    url = f"ws://127.0.0.1:{port}/ws"
    tasks = [asyncio.create_task(session(url, CONFIGS[name], speed, s, measuring, stop)) for s in stats]
    await asyncio.sleep(warmup + 0.05 * k)
    poller = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--poll-health", str(port), str(seconds), stdout=asyncio.subprocess.PIPE)
    cpu0, t0 = cpu_seconds(server_pid), time.perf_counter()
    measuring.set()
    await asyncio.sleep(seconds)
    measuring.clear()
    cpu1, t1 = cpu_seconds(server_pid), time.perf_counter()
    latencies = json.loads((await poller.communicate())[0])
    stop.set()
    await asyncio.gather(*tasks)
    window = t1 - t0
    eps = [(s.last[1] - s.first[1]) / (s.last[0] - s.first[0]) for s in stats
           if s.first and s.last and s.last[0] > s.first[0]]
    fps = [s.frames / window for s in stats]
    frames = sum(s.frames for s in stats)
    return {"K": k, "config": name, "speed": speed,
            "epochs_s": statistics.mean(eps) if eps else 0.0, "epochs_s_min": min(eps) if eps else 0.0,
            "frames_s": statistics.mean(fps), "frames_s_min": min(fps),
            "bytes_frame": sum(s.bytes for s in stats) / frames if frames else 0.0,
            "server_cpu": (cpu1 - cpu0) / window, "health_p50": percentile(latencies, 50),
            "health_p99": percentile(latencies, 99), "health_n": len(latencies)}


def engine_rates(name: str, seconds: float = 2.0) -> tuple[float, float]:
    """Epochs/s of the engine alone: run_epoch (benchmarks/engine.py's measure) and step_epoch."""
    from nnplay.engine import Trainer

    rates = []
    for method in ("run_epoch", "step_epoch"):
        trainer = Trainer(CONFIGS[name])
        fn = getattr(trainer, method)
        fn()
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            fn()
            count += 1
        rates.append(count / (time.perf_counter() - start))
    return rates[0], rates[1]


def wait_for_server(port: int, timeout: float = 30.0) -> None:
    end = time.time() + timeout
    while time.time() < end:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/api/health")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--configs", nargs="+", default=["C1", "C2"], choices=sorted(CONFIGS))
    parser.add_argument("--speeds", nargs="+", default=["30", "max"])
    parser.add_argument("--seconds", type=float, default=4.0, help="measurement window per scenario")
    parser.add_argument("--warmup", type=float, default=1.5)
    parser.add_argument("--extra", action="store_true", help="also 20 sessions of C2 at max (the health target)")
    parser.add_argument("--env", nargs="*", default=[], metavar="NAME=VALUE",
                        help="server settings to try, e.g. NNPLAY_ENGINE_THREADS=2")
    parser.add_argument("--poll-health", nargs=2, metavar=("PORT", "SECONDS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.poll_health:
        return poll_health(int(args.poll_health[0]), float(args.poll_health[1]))

    run_epoch, step_epoch = engine_rates("C2")
    print(f"engine alone, C2: run_epoch {run_epoch:,.0f} epochs/s, step_epoch {step_epoch:,.0f} epochs/s",
          flush=True)
    port = free_port()
    env = {**os.environ, "NNPLAY_MAX_SESSIONS": "256", "PYTHONPATH": str(ROOT),
           **dict(item.split("=", 1) for item in args.env)}
    server = subprocess.Popen([sys.executable, "-m", "nnplay", "serve", "--port", str(port), "--log-level", "warning"],
                              cwd=ROOT, env=env)
    rows = []
    try:
        wait_for_server(port)
        plan = [(k, c, s) for c in args.configs for s in args.speeds for k in args.sessions]
        if args.extra:
            plan.append((20, "C2", "max"))
        for k, name, speed in plan:
            speed_value = speed if speed == "max" else float(speed)
            rows.append(asyncio.run(scenario(port, server.pid, k, name, speed_value, args.seconds, args.warmup)))
            r = rows[-1]
            print(f"  K={k:>2} {name} speed={speed:>3}: {r['epochs_s']:7.1f} epochs/s, {r['frames_s']:5.1f} frames/s,"
                  f" health p99 {r['health_p99']:.1f} ms", file=sys.stderr, flush=True)
    finally:
        server.terminate()
        server.wait(10)
    print_table(rows, run_epoch, step_epoch)


def print_table(rows: list[dict], run_epoch: float, step_epoch: float) -> None:
    head = ("K", "config", "speed", "epochs/s (mean/min)", "frames/s (mean/min)", "bytes/frame", "server CPU",
            "health p50", "health p99")
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" for _ in head) + "|")
    for r in rows:
        print(f"| {r['K']} | {r['config']} | {r['speed']} | {r['epochs_s']:.1f} / {r['epochs_s_min']:.1f} | "
              f"{r['frames_s']:.1f} / {r['frames_s_min']:.1f} | {r['bytes_frame']:,.0f} | "
              f"{r['server_cpu'] * 100:.0f}% | {r['health_p50']:.1f} ms | {r['health_p99']:.1f} ms |")
    single = next((r for r in rows if r["K"] == 1 and r["config"] == "C2" and r["speed"] == "max"), None)
    if single:
        print(f"\none C2 session at max: {single['epochs_s']:,.0f} epochs/s = "
              f"{single['epochs_s'] / run_epoch:.0%} of the engine's run_epoch rate ({run_epoch:,.0f}/s), "
              f"{single['epochs_s'] / step_epoch:.0%} of its step_epoch rate ({step_epoch:,.0f}/s)")


if __name__ == "__main__":
    main()

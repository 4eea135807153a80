"""Live-session load: K concurrent WebSocket sessions against a real ``nnplay serve`` on loopback.

    python benchmarks/ws_load.py [--sessions 1 8 32] [--configs C1 C2] [--speeds 30 max] [--seconds 4]

For every (K, config, speed) it opens K sessions, configures and plays them, and measures over a window:
per-session epochs/s (from the epochs the frames carry) and frames/s, bytes per frame, the server's CPU (all
its processes, from /proc), and ``GET /api/health`` latency (p50, p99) polled every 20 ms by a separate
process, so the client's own work does not count (benchmarks/harness.py holds the client). It also times
the engine alone on C2 (epochs/s of ``run_epoch``, as benchmarks/engine.py does; and ``step_epoch``, which
the live session needs for per-epoch losses).

Targets (issue 3): 32 C1 sessions at speed 30 get ≥ 25 epochs/s and ≥ 20 frames/s each with health
p99 ≤ 50 ms; one C2 session at max within 20% of the engine's epochs/s; health p99 ≤ 50 ms while 20
sessions train C2 at max.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys

from harness import CONFIGS, Server, Student, engine_rates, measure, percentile


def scenario(server: Server, k: int, name: str, speed, seconds: float, warmup: float) -> dict:
    students = [Student({"config": CONFIGS[name]}, view={"speed": speed, "fps": 30}) for _ in range(k)]
    window = asyncio.run(measure(server, students, seconds, warmup))
    eps, fps = window.epochs_per_s(), window.frames_per_s()
    frames = sum(s.frames for s in students)
    return {"K": k, "config": name, "speed": speed,
            "epochs_s": statistics.mean(eps), "epochs_s_min": min(eps),
            "frames_s": statistics.mean(fps), "frames_s_min": min(fps),
            "bytes_frame": sum(s.bytes for s in students) / frames if frames else 0.0,
            "server_cpu": window.server_cpu, "health_p50": percentile(window.health_ms, 50),
            "health_p99": percentile(window.health_ms, 99), "health_n": len(window.health_ms)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--configs", nargs="+", default=["C1", "C2"], choices=sorted(CONFIGS))
    parser.add_argument("--speeds", nargs="+", default=["30", "max"])
    parser.add_argument("--seconds", type=float, default=4.0, help="measurement window per scenario")
    parser.add_argument("--warmup", type=float, default=1.5, help="seconds after every session has its first frame")
    parser.add_argument("--extra", action="store_true", help="also 20 sessions of C2 at max (the health target)")
    parser.add_argument("--env", nargs="*", default=[], metavar="NAME=VALUE",
                        help="server settings to try, e.g. NNPLAY_ENGINE_THREADS=2")
    args = parser.parse_args()

    rates = engine_rates("C2")
    run_epoch, step_epoch = rates["run_epoch"], rates["step_epoch"]
    print(f"engine alone, C2, per CPU second: run_epoch {run_epoch:,.0f} epochs/s, step_epoch {step_epoch:,.0f}/s",
          flush=True)
    env = {"NNPLAY_MAX_SESSIONS": "256", **dict(item.split("=", 1) for item in args.env)}
    rows = []
    with Server(env=env) as server:
        plan = [(k, c, s) for c in args.configs for s in args.speeds for k in args.sessions]
        if args.extra:
            plan.append((20, "C2", "max"))
        for k, name, speed in plan:
            speed_value = speed if speed == "max" else float(speed)
            server.wait_idle()
            rows.append(scenario(server, k, name, speed_value, args.seconds, args.warmup))
            r = rows[-1]
            print(f"  K={k:>2} {name} speed={speed:>3}: {r['epochs_s']:7.1f} epochs/s, {r['frames_s']:5.1f} frames/s,"
                  f" health p99 {r['health_p99']:.1f} ms", file=sys.stderr, flush=True)
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

"""Soak: N live sessions for a long while against ``nnplay serve``; the server's memory must stay flat.

    python benchmarks/soak.py [--sessions 32] [--minutes 30] [--threshold-mb 20] [--touch-every 300] [--python PATH]

N students (as in benchmarks/classroom.py: C2, each with its own seed, at the server's default pace) train
for the whole run; each re-sends its pace every 5 minutes (``--touch-every``), as a student touching a
control, so that no session is closed as idle. Every 10 s the RSS of all the server's processes is
recorded (summed, and each process's own). Growth is the last sample minus the first after warm-up (a
minute, or a third of a shorter run); the script prints the samples, the growth and the least-squares slope
(for a shorter run, also what that slope makes of 30 minutes), and exits with status 1 when the growth
exceeds ``--threshold-mb``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from harness import (CONFIGS, PYTHON_HELP, Server, Student, load_average, median, process_tree, rss_bytes, server_code,
                     start_students)

MB = 1024 * 1024
FULL_RUN_S = 1800.0  # the default run, which the threshold is meant for
WARMUP_S = 60.0  # or a third of a shorter run
TOUCH_EVERY = 300.0  # seconds; well inside the idle timeout (NNPLAY_IDLE_TIMEOUT, 1800 s by default)


async def soak(server: Server, students: list[Student], seconds: float, interval: float) -> list[tuple[float, int]]:
    """Run the students for ``seconds``; return (elapsed seconds, server RSS bytes) every ``interval``. Each
    line also shows every process's own RSS (the server's first, then its engine workers')."""
    measuring, stop = asyncio.Event(), asyncio.Event()
    tasks = await start_students(server, students, measuring, stop)
    measuring.set()
    samples, start = [], time.monotonic()
    while True:
        elapsed = time.monotonic() - start
        pids = process_tree(server.pid)
        each = [rss_bytes([pid]) for pid in pids]
        samples.append((elapsed, sum(each)))
        print(f"  {elapsed:7.0f} s  RSS {samples[-1][1] / MB:8.1f} MB  ({' + '.join(f'{r / MB:.1f}' for r in each)})",
              flush=True)
        if elapsed >= seconds:
            break
        await asyncio.sleep(min(interval, seconds - elapsed))
    stop.set()
    await asyncio.gather(*tasks)
    return samples


def slope_mb_per_hour(samples: list[tuple[float, int]]) -> float:
    """Least-squares slope of RSS against time: Σ(t − t̄)(r − r̄) / Σ(t − t̄)², in MB per hour."""
    if len(samples) < 2:
        return 0.0
    t_mean = sum(t for t, _ in samples) / len(samples)
    r_mean = sum(r for _, r in samples) / len(samples)
    covariance = sum((t - t_mean) * (r - r_mean) for t, r in samples)
    variance = sum((t - t_mean) ** 2 for t, _ in samples)
    return covariance / variance / MB * 3600 if variance else 0.0


def report(samples: list[tuple[float, int]], warmup: float, students: list[Student]) -> float:
    """Print the verdict's figures; return the growth after warm-up in MB."""
    steady = [s for s in samples if s[0] >= warmup] or samples[-1:]
    growth = (steady[-1][1] - steady[0][1]) / MB
    peak = (max(r for _, r in steady) - steady[0][1]) / MB
    rates = [s.epochs_per_s() for s in students]
    failed = [s.error or s.stopped for s in students if s.error or s.stopped]
    print(f"sessions: {len(students)}, epochs/s over the run min {min(rates):.1f} / median {median(rates):.1f}"
          f"{f'; {len(failed)} failed or stopped: {failed[0]}' if failed else ''}")
    slope = slope_mb_per_hour(steady)
    print(f"RSS after warm-up ({steady[0][0]:.0f} s): {steady[0][1] / MB:.1f} MB; at the end ({steady[-1][0]:.0f} s): "
          f"{steady[-1][1] / MB:.1f} MB; growth {growth:+.1f} MB (peak {peak:+.1f} MB), slope {slope:+.1f} MB/hour")
    if samples[-1][0] < FULL_RUN_S:
        projected = slope * (FULL_RUN_S - WARMUP_S) / 3600
        print(f"at that slope a {FULL_RUN_S / 60:.0f}-minute run would grow {projected:+.0f} MB after its warm-up")
    return growth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=32)
    parser.add_argument("--minutes", type=float, default=FULL_RUN_S / 60)
    parser.add_argument("--threshold-mb", type=float, default=20.0, help="the most RSS may grow after warm-up")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between RSS samples")
    parser.add_argument("--touch-every", type=float, default=TOUCH_EVERY,
                        help="seconds between each student's re-sending of its pace")
    parser.add_argument("--python", default=sys.executable, help=PYTHON_HELP)
    args = parser.parse_args()
    seconds = args.minutes * 60
    warmup = min(WARMUP_S, seconds / 3)

    print(f"server: {server_code(args.python)}; {args.sessions} C2 sessions for {args.minutes:g} min; "
          f"{load_average()}", flush=True)
    students = [Student({"config": {**CONFIGS["C2"], "seed": 3000 + i}}, touch_every=args.touch_every)
                for i in range(args.sessions)]
    with Server(args.python) as server:
        samples = asyncio.run(soak(server, students, seconds, args.interval))
    growth = report(samples, warmup, students)
    print(load_average())
    if growth > args.threshold_mb:
        print(f"FAILED: RSS grew {growth:.1f} MB after warm-up, more than {args.threshold_mb:g} MB")
        sys.exit(1)
    print(f"ok: growth within {args.threshold_mb:g} MB")


if __name__ == "__main__":
    main()

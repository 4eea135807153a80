"""Heavy sessions beside a class on one engine worker: do the bystanders keep their pace?

    python benchmarks/heavy.py [--k 4 8] [--seconds 10] [--python PATH]

One ``nnplay serve`` with a single engine worker (``NNPLAY_ENGINE_PROCESSES=1``), so that every session
shares it. Beside K bystanders training C2 at the server's default pace (benchmarks/harness.py), two heavy
sessions run the largest network the server's limits allow (the spiral with the most points, every layer
at the most neurons, benchmarks/render.py's ``largest_config``):

* **max** — trains it at speed ``"max"`` in mini-batches of one (an epoch is 2,500 steps);
  (``--big-frames``: with the largest frames a view allows, density 200 and thumbnails of 50, about 30 ms
  each);
* **gradcheck** — sends ``gradcheck`` with the most parameters allowed (5,000) again as soon as each answer
  arrives.

Each K is measured with the heavy sessions and, for reference, without them (``--no-alone`` skips that).
Target: with the heavy sessions, every bystander gets ≥ 55 epochs/s and ≥ 20 frames/s. The rows also show
how many gradient checks were answered per second and the heavy run's epochs/s: what the heavy sessions got.
The exit status is 1 when a K misses the target.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Optional

from harness import (CONFIGS, PYTHON_HELP, Server, Student, Window, answer, cpu_seconds, load_average, median,
                     process_tree, server_code, start_students)
from render import largest_config

from nnplay.engine import Limits

MIN_EPOCHS_PER_S, MIN_FRAMES_PER_S = 55.0, 20.0
MAX_PARAMS = 5000  # the most a gradcheck may ask for (server/live/messages.py)


@dataclass
class Checker:
    """The session that sends gradient checks back to back; counts the answers while measuring."""

    config: dict
    answered: int = 0
    seconds: list[float] = field(default_factory=list)  # each answer's round trip while measuring
    error: Optional[str] = None


async def run_checker(url: str, checker: Checker, measuring: asyncio.Event, stop: asyncio.Event) -> None:
    import websockets

    try:
        async with websockets.connect(url, max_size=2**24, compression=None, open_timeout=60) as ws:
            await ws.send(json.dumps({"type": "configure", "id": "go", "config": checker.config, "play": False}))
            await answer(ws, "go", timeout=60)
            while not stop.is_set():
                started = time.perf_counter()
                await ws.send(json.dumps({"type": "gradcheck", "id": "check", "max_params": MAX_PARAMS}))
                await answer(ws, "check", timeout=120, kind="gradcheck")
                if measuring.is_set():
                    checker.answered += 1
                    checker.seconds.append(time.perf_counter() - started)
    except Exception as exc:  # noqa: BLE001 - reported in the row
        checker.error = f"{type(exc).__name__}: {exc}"


async def run_viewer(url: str, big: dict, counted: list[int], measuring: asyncio.Event, stop: asyncio.Event) -> None:
    """A paused session on the largest network that changes its view back to back (each change is answered
    with a state and a frame at the new density, the largest there is)."""
    import websockets

    async with websockets.connect(url, max_size=2**24, compression=None, open_timeout=60) as ws:
        await ws.send(json.dumps({"type": "configure", "id": "go", "config": big, "play": False}))
        await answer(ws, "go", timeout=60)
        density = 200
        while not stop.is_set():
            density = 399 - density  # 200, 199, 200, ...: a change each time
            await ws.send(json.dumps({"type": "view", "id": "v", "density": density, "thumb": 50}))
            await answer(ws, "v", timeout=60)
            counted[0] += measuring.is_set()


async def trial(server: Server, k: int, heavy: bool, args: argparse.Namespace) -> tuple[Window, Optional[Checker]]:
    """K bystanders (and, if ``heavy``, the two heavy sessions): started, warmed up, then one window."""
    big = largest_config(Limits(**server.get("/api/options")["limits"]))
    students = [Student({"config": {**CONFIGS["C2"], "seed": 1000 + i}}, label="C2") for i in range(k)]
    measuring, stop = asyncio.Event(), asyncio.Event()
    checker, tasks, views = None, [], [0]
    if heavy:
        view = {"speed": "max", **({"density": 200, "thumb": 50} if args.big_frames else {})}
        students.append(Student({"config": {**big, "batch_size": 1}}, view, label="max"))
        checker = Checker(big)
        tasks.append(asyncio.create_task(run_checker(server.ws_url, checker, measuring, stop)))
        if args.viewer:
            tasks.append(asyncio.create_task(run_viewer(server.ws_url, big, views, measuring, stop)))
    tasks += await start_students(server, students, measuring, stop)
    await asyncio.sleep(args.warmup)
    cpu0, t0 = cpu_seconds(process_tree(server.pid)), time.perf_counter()
    measuring.set()
    await asyncio.sleep(args.seconds)
    measuring.clear()
    cpu1, t1 = cpu_seconds(process_tree(server.pid)), time.perf_counter()
    stop.set()
    await asyncio.gather(*tasks)
    if args.viewer and heavy:
        print(f"    viewer: {views[0] / (t1 - t0):.1f} view changes/s")
    return Window(students, None, t1 - t0, (cpu1 - cpu0) / (t1 - t0), 0.0, []), checker


def row(k: int, heavy: bool, window: Window, checker: Optional[Checker]) -> tuple[str, list[str]]:
    """The printed row and what missed the target."""
    bystanders = [s for s in window.students if s.label == "C2"]
    epochs = [s.epochs_per_s() for s in bystanders]
    frames = [s.frames / window.seconds for s in bystanders]
    failed = [s.error or s.stopped for s in window.students if s.error or s.stopped]
    short = [f"{len(failed)} session(s) failed: {failed[0]}"] if failed else []
    if checker is not None and checker.error:
        short.append(f"gradcheck: {checker.error}")
    if min(epochs) < MIN_EPOCHS_PER_S:
        short.append(f"epochs/s {min(epochs):.1f} < {MIN_EPOCHS_PER_S:.0f}")
    if min(frames) < MIN_FRAMES_PER_S:
        short.append(f"frames/s {min(frames):.1f} < {MIN_FRAMES_PER_S:.0f}")
    heavy_run = next((s for s in window.students if s.label == "max"), None)
    heavy_cell = "-" if heavy_run is None else f"{heavy_run.epochs_per_s():.2f}"
    checks = "-" if checker is None else f"{checker.answered / window.seconds:.2f}"
    check_p50 = "-" if not checker or not checker.seconds else f"{median(checker.seconds):.2f}"
    verdict = "; ".join(short) or "holds"
    text = (f"{k:>3}  {'yes' if heavy else 'no':>5}  {min(epochs):7.1f} / {median(epochs):7.1f}  "
            f"{min(frames):7.1f} / {median(frames):7.1f}  {heavy_cell:>13}  {checks:>11}  {check_p50:>13}  "
            f"{window.server_cpu:10.0%}  {verdict}")
    return text, short


HEAD = (f"{'K':>3}  {'heavy':>5}  {'epochs/s min/median':>17}  {'frames/s min/median':>17}  {'max epochs/s':>13}  "
        f"{'gradchecks/s':>11}  {'gradcheck p50 s':>13}  {'server CPU':>10}  verdict")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--k", type=int, nargs="+", default=[4, 8], help="bystanders per trial")
    parser.add_argument("--seconds", type=float, default=10.0, help="measuring window per trial")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds after every session has its first frame")
    parser.add_argument("--big-frames", action="store_true",
                        help="the max session draws the largest frames (density 200, thumbnails 50)")
    parser.add_argument("--viewer", action="store_true",
                        help="a third heavy session: paused, changing its view back to back (a large frame each)")
    parser.add_argument("--no-alone", action="store_true", help="skip the trials without the heavy sessions")
    parser.add_argument("--python", default=sys.executable, help=PYTHON_HELP)
    args = parser.parse_args()

    print(f"server: {server_code(args.python)}; one engine worker; {os.cpu_count()} CPUs, {load_average()}",
          flush=True)
    missed = []
    with Server(args.python, env={"NNPLAY_ENGINE_PROCESSES": "1"}) as server:
        print(HEAD, flush=True)
        for k in args.k:
            for heavy in ((True,) if args.no_alone else (False, True)):
                server.wait_idle()
                window, checker = asyncio.run(trial(server, k, heavy, args))
                text, short = row(k, heavy, window, checker)
                print(text, flush=True)
                if heavy and short:
                    missed.append(f"K = {k}: {'; '.join(short)}")
    print(load_average())
    if missed:
        print("below target: " + " | ".join(missed), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()

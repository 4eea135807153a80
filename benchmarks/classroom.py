"""Classroom capacity: the largest number K of students one ``nnplay serve`` (its defaults) holds live.

    python benchmarks/classroom.py [--quick] [--k 32] [--classroom c2 mixed room] [--sweep-beside EPOCHS]
                                   [--python PATH]

Each student is one WebSocket session, as a browser tab would be: it configures its setup with its own seed,
plays at the server's default pace (speed and fps untouched, so the defaults are what is measured) and
decodes every frame. Two classrooms:

* ``c2`` — every student trains C2: the spiral with the playground's seven features, six layers of 8;
* ``mixed`` — half the students train C2, the rest a spread of the lesson presets from ``/api/presets``
  (those whose training does not stop by itself: early stopping and divergence end a run, not a lesson);
* ``room`` — a classroom room (server/rooms): K students join one room whose setup is the lecturer's C2 and
  play at the default pace, while the lecturer's dashboard (its socket, decoding every ``tiles`` message)
  watches. A K holds when every student gets ≥ 58 epochs/s (60, less the measuring's jitter) and ≥ 20
  frames/s and the dashboard ≥ 2 updates/s; its rows add the dashboard's updates/s and bytes/s. The room's
  server raises the session and room limits (``ROOM_ENV``) so that K may reach 64 and more. Only for a server
  that has rooms (not for a ``--python`` of the code before them).

A K holds when, over a window after warm-up, every session gets ≥ 50 epochs/s and ≥ 20 frames/s,
``GET /api/health`` (polled every 20 ms by a separate process) answers with p99 ≤ 50 ms, and a ``pause`` is
answered within 100 ms: one more C2 session, the probe (not one of the K), pauses once a second, switches
its optimiser (so its run leaves its stack and joins another) and plays again; the slowest answer to each
and the time from ``play`` to its next epoch's frame are printed. The search doubles K from ``--start``
until a K fails (or the server's session limit, less the probe's session), then bisects between the
largest K that held and the smallest that failed, within ``--trials`` measurements. ``--k`` measures one K.
The exit status is 1 when a classroom searched at the default pace holds fewer students than its target
(``TARGETS``), or when the K given with ``--k`` does not hold.

Beside the table it prints the reference measured in the same run: the engine alone on C2 in this process,
and how many C2 students one core could carry at that rate, so that figures from a busy machine can be
judged. The table's ``students/core`` is the live counterpart: the students' worth of epochs the server
delivered per core of CPU it used, which depends little on what else the machine runs (its rates do). The
client shares the machine with the server: its own CPU is printed too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Optional

from harness import (CONFIGS, PYTHON_HELP, Probe, Server, Student, Window, cpu_seconds, engine_rates, load_average,
                     measure, median, percentile, process_tree, server_code)

MIN_EPOCHS_PER_S, MIN_FRAMES_PER_S, MAX_HEALTH_P99_MS, MAX_PAUSE_MS = 50.0, 20.0, 50.0, 100.0
CLASSROOMS = ("c2", "mixed", "room")
TARGETS = {"c2": 32, "mixed": 16, "room": 48}  # the students one 2-core server must hold (the aim for c2, room: 64)
MIN_ROOM_EPOCHS_PER_S, MIN_DASHBOARD_PER_S = 58.0, 2.0
ROOM_ENV = {"NNPLAY_MAX_SESSIONS": "200", "NNPLAY_MAX_ROOM_STUDENTS": "200", "NNPLAY_ROOM_JOIN_RATE": "100000"}


# ---- who is in the class -----------------------------------------------------------------------------------
def c2_student(i: int, view: Optional[dict]) -> Student:
    return Student({"config": {**CONFIGS["C2"], "seed": 1000 + i}}, view, label="C2")


def preset_student(preset: dict, i: int, view: Optional[dict]) -> Student:
    setup = {"config": {**preset["config"], "seed": 2000 + i}}
    if preset.get("variants"):
        setup.update(variants=preset["variants"], labels=preset["labels"])
    return Student(setup, view, label=preset["name"])


def lesson_spread(server: Server) -> list[dict]:
    """The server's lesson presets whose training goes on until paused (the mixed classroom's lessons)."""
    presets = server.get("/api/presets")["presets"]
    spread = [p for p in presets if keeps_training(p)]
    left_out = ", ".join(p["name"] for p in presets if p not in spread)
    print(f"mixed classroom: {len(spread)} presets in turn; left out (training stops by itself): {left_out}")
    return spread


def keeps_training(preset: dict, epochs: int = 50) -> bool:
    """False for a preset whose run stops by itself: early stopping, or divergence within ``epochs``."""
    from nnplay.engine import Trainer

    configs = [{**preset["config"], **variant} for variant in preset.get("variants") or [{}]]
    if any(config.get("early_stopping") for config in configs):
        return False
    for config in configs:
        trainer = Trainer(config)
        trainer.train(epochs)
        if trainer.status != "ok":
            return False
    return True


def classroom(kind: str, k: int, spread: list[dict], view: Optional[dict]) -> list[Student]:
    """``k`` students: all C2, or (mixed) ⌈k/2⌉ on C2 and the others through ``spread`` in turn."""
    on_c2 = k if kind == "c2" else math.ceil(k / 2)
    return ([c2_student(i, view) for i in range(on_c2)]
            + [preset_student(spread[i % len(spread)], i, view) for i in range(k - on_c2)])


# ---- one trial -----------------------------------------------------------------------------------------------
@dataclass
class Trial:
    kind: str
    k: int
    window: Window

    @property
    def epochs(self) -> list[float]:
        return self.window.epochs_per_s()

    @property
    def frames(self) -> list[float]:
        return self.window.frames_per_s()

    @property
    def health_p99(self) -> float:
        return percentile(self.window.health_ms, 99)

    def students_per_core(self) -> float:
        """Students' worth of epochs the server delivers per core of its CPU: (Σ epochs/s ÷ speed) ÷ server CPU.
        Unlike the rates it hardly depends on what else the machine runs; compare it with the reference."""
        speed = next((s.pace["speed"] for s in self.window.students if s.pace), None)
        if not speed or not self.window.server_cpu:
            return float("nan")
        return sum(self.epochs) / speed / self.window.server_cpu

    def shortfalls(self) -> list[str]:
        """What kept this K from holding (empty when it held)."""
        failed = [s.error or s.stopped for s in self.window.students if s.error or s.stopped]
        reasons = [f"{len(failed)} session(s) failed or stopped: {failed[0]}"] if failed else []
        for name, rates, least in (("epochs/s", self.epochs, MIN_EPOCHS_PER_S),
                                   ("frames/s", self.frames, MIN_FRAMES_PER_S)):
            short = sorted({s.label for s, r in zip(self.window.students, rates) if r < least})
            if short:
                reasons.append(f"{name} {min(rates):.1f} < {least:.0f} ({', '.join(short)})")
        if not self.health_p99 <= MAX_HEALTH_P99_MS:
            reasons.append(f"health p99 {self.health_p99:.1f} ms > {MAX_HEALTH_P99_MS:.0f}")
        probe = self.window.probe
        if probe.error or not probe.pause_ms:
            reasons.append(f"probe: {probe.error or 'no pause answered'}")
        elif max(probe.pause_ms) > MAX_PAUSE_MS:
            reasons.append(f"pause {max(probe.pause_ms):.0f} ms > {MAX_PAUSE_MS:.0f}")
        return reasons


def run_trial(server: Server, kind: str, k: int, spread: list[dict], view: Optional[dict],
              args: argparse.Namespace) -> Trial:
    server.wait_idle()
    students = classroom(kind, k, spread, view)
    probe = Probe({"config": {**CONFIGS["C2"], "seed": 999}})
    trial = Trial(kind, k, asyncio.run(measure(server, students, args.seconds, args.warmup, probe)))
    print(row(trial), flush=True)
    return trial


# ---- a room: K students and the lecturer's dashboard ------------------------------------------------------
@dataclass
class Dashboard:
    updates: int = 0
    bytes: int = 0
    listed: int = 0  # students in the last tiles message


@dataclass
class RoomTrial:
    kind: str
    k: int
    window: Window
    dashboard: Dashboard

    epochs = Trial.epochs
    frames = Trial.frames
    students_per_core = Trial.students_per_core

    def shortfalls(self) -> list[str]:
        failed = [s.error or s.stopped for s in self.window.students if s.error or s.stopped]
        reasons = [f"{len(failed)} session(s) failed or stopped: {failed[0]}"] if failed else []
        if min(self.epochs) < MIN_ROOM_EPOCHS_PER_S:
            reasons.append(f"epochs/s {min(self.epochs):.1f} < {MIN_ROOM_EPOCHS_PER_S:.0f}")
        if min(self.frames) < MIN_FRAMES_PER_S:
            reasons.append(f"frames/s {min(self.frames):.1f} < {MIN_FRAMES_PER_S:.0f}")
        if self.dashboard.updates / self.window.seconds < MIN_DASHBOARD_PER_S:
            reasons.append(f"dashboard {self.dashboard.updates / self.window.seconds:.1f} updates/s "
                           f"< {MIN_DASHBOARD_PER_S:.0f}")
        if self.dashboard.listed != self.k:
            reasons.append(f"the dashboard lists {self.dashboard.listed} of {self.k} students")
        return reasons


async def room_student(url: str, code: str, student: Student, measuring: asyncio.Event, stop: asyncio.Event,
                       name: str) -> None:
    """Join the room, play at the room's setup and pace, then follow the session as :func:`harness.follow`."""
    import websockets

    from harness import follow

    try:
        async with websockets.connect(f"{url}?room={code}", max_size=2**24, compression=None, open_timeout=60) as ws:
            await ws.send(json.dumps({"type": "join", "nickname": name}))
            await ws.send(json.dumps({"type": "play", "id": "go"}))
            await follow(ws, student, measuring, stop)
    except (OSError, asyncio.TimeoutError, websockets.WebSocketException) as exc:
        student.error = f"{type(exc).__name__}: {exc}"
        student.started.set()


async def lecturer_dashboard(url: str, made: dict, dashboard: Dashboard, measuring: asyncio.Event,
                             stop: asyncio.Event) -> None:
    import websockets

    from nnplay.server.live.frames import decode

    async with websockets.connect(f"{url}/rooms/{made['code']}", max_size=2**24, compression=None) as ws:
        await ws.send(json.dumps({"type": "lecturer", "key": made["key"]}))
        while not stop.is_set():
            try:
                message = await asyncio.wait_for(ws.recv(), 0.5)
            except asyncio.TimeoutError:
                continue
            if isinstance(message, bytes):
                header, _ = decode(message)
                dashboard.listed = len(header["students"])
                if measuring.is_set():
                    dashboard.updates += 1
                    dashboard.bytes += len(message)


async def measure_room(server: Server, k: int, seconds: float, warmup: float) -> tuple[Window, Dashboard]:
    """A room on C2, the dashboard, and ``k`` students joining it; measured as :func:`harness.measure`."""
    made = server.post("/api/rooms", {"config": CONFIGS["C2"], "title": "benchmark"})
    students = [Student({}, None, label="C2 room") for _ in range(k)]
    measuring, stop, dashboard = asyncio.Event(), asyncio.Event(), Dashboard()
    tasks = [asyncio.create_task(lecturer_dashboard(server.ws_url, made, dashboard, measuring, stop))]
    tasks += [asyncio.create_task(room_student(server.ws_url, made["code"], s, measuring, stop, f"student {i}"))
              for i, s in enumerate(students)]
    try:
        await asyncio.wait_for(asyncio.gather(*(s.started.wait() for s in students)), 60 + k)
    except asyncio.TimeoutError:
        pass
    await asyncio.sleep(warmup)
    cpu0, client0, t0 = cpu_seconds(process_tree(server.pid)), time.process_time(), time.perf_counter()
    measuring.set()
    await asyncio.sleep(seconds)
    measuring.clear()
    cpu1, client1, t1 = cpu_seconds(process_tree(server.pid)), time.process_time(), time.perf_counter()
    stop.set()
    await asyncio.gather(*tasks)
    server.delete(f"/api/rooms/{made['code']}", made["key"])
    window = t1 - t0
    return Window(students, None, window, (cpu1 - cpu0) / window, (client1 - client0) / window, []), dashboard


def run_room_trial(server: Server, k: int, args: argparse.Namespace) -> RoomTrial:
    server.wait_idle()
    window, dashboard = asyncio.run(measure_room(server, k, args.seconds, args.warmup))
    trial = RoomTrial("room", k, window, dashboard)
    print(room_row(trial), flush=True)
    return trial


def room_row(trial: RoomTrial) -> str:
    w, d = trial.window, trial.dashboard
    verdict = "; ".join(trial.shortfalls()) or "holds"
    return (f"{trial.kind:9} {trial.k:>3}  {min(trial.epochs):8.1f} / {median(trial.epochs):8.1f}  "
            f"{min(trial.frames):8.1f} / {median(trial.frames):8.1f}  dashboard {d.updates / w.seconds:5.1f} "
            f"updates/s, {d.bytes / w.seconds / 1000:7.1f} kB/s  {w.server_cpu:10.0%}  "
            f"{trial.students_per_core():13.1f}  {w.client_cpu:10.0%}  {verdict}")


# ---- the search ----------------------------------------------------------------------------------------------
def search(try_k, start: int, limit: int, trials: int) -> tuple[int, list[Trial]]:
    """The largest K that holds: double from ``start`` until one fails (or ``limit``), then bisect between
    the largest K that held and the smallest that failed; at most ``trials`` measurements."""
    held, failed, k, done = 0, None, min(start, limit), []
    while len(done) < trials:
        done.append(try_k(k))
        if done[-1].shortfalls():
            failed = k
        else:
            held = k
        if failed is None:
            if k >= limit:
                break
            k = min(2 * k, limit)
        elif failed - held <= 1:
            break
        else:
            k = (held + failed) // 2
    return held, done


# ---- printing ------------------------------------------------------------------------------------------------
HEAD = (f"{'classroom':9} {'K':>3}  {'epochs/s min/median':>19}  {'frames/s min/median':>19}  "
        f"{'health p50/p99 ms':>17}  {'pause/set/resume max ms':>23}  {'server CPU':>10}  {'students/core':>13}  "
        f"{'client CPU':>10}  verdict")


def row(trial: Trial) -> str:
    w = trial.window
    verdict = "; ".join(trial.shortfalls()) or "holds"
    return (f"{trial.kind:9} {trial.k:>3}  {min(trial.epochs):8.1f} / {median(trial.epochs):8.1f}  "
            f"{min(trial.frames):8.1f} / {median(trial.frames):8.1f}  "
            f"{percentile(w.health_ms, 50):7.1f} / {trial.health_p99:7.1f}  {probe_maxima(w.probe):>23}  "
            f"{w.server_cpu:10.0%}  {trial.students_per_core():13.1f}  {w.client_cpu:10.0%}  {verdict}")


def probe_maxima(probe: Probe) -> str:
    if not probe.pause_ms:
        return "-"
    return " / ".join(f"{max(ms):.0f}" for ms in (probe.pause_ms, probe.set_ms, probe.resume_ms or [float("nan")]))


def print_summary(kind: str, held: int, trials: list[Trial], limit: int) -> None:
    bound = " (the server's session limit)" if held == limit else ""
    tried = ", ".join(str(t.k) for t in trials)
    print(f"largest K that holds, {kind} classroom: {held}{bound}   (measured K = {tried})")


def print_reference(rates: dict[str, float], pace: dict) -> None:
    """The engine alone on C2, and the C2 students one core could carry at that rate: a student costs
    speed/run_epoch + fps·(1/step_epoch − 1/run_epoch + 1/grid) core-seconds per second (an epoch, plus per
    frame the losses and gradient norms step_epoch adds and the grid)."""
    cost = pace["speed"] / rates["run_epoch"] + pace["fps"] * (
        1 / rates["step_epoch"] - 1 / rates["run_epoch"] + 1 / rates["grid"])
    print(f"reference, engine alone on C2 in this process, per CPU second: run_epoch {rates['run_epoch']:,.0f}/s, "
          f"step_epoch {rates['step_epoch']:,.0f}/s, grid(100, 10) {rates['grid']:,.0f}/s "
          f"-> one core carries about {1 / cost:.1f} C2 students at {pace['speed']} epochs/s, {pace['fps']} frames/s")


@contextmanager
def sweep_beside(server: Server, epochs: Optional[int]) -> Iterator[None]:
    """With ``epochs``: a sweep of 256 C2 runs trains on ``server`` in the block (cancelled at its end, its
    progress printed), so the students are measured beside it. Without: nothing."""
    if not epochs:
        yield
        return
    from sweep import request  # noqa: PLC0415 - benchmarks/sweep.py

    url = f"http://127.0.0.1:{server.port}/api/sweeps"
    post = urllib.request.Request(url, data=json.dumps(request(epochs)).encode(),
                                  headers={"Content-Type": "application/json"})
    sweep_id = json.loads(urllib.request.urlopen(post, timeout=60).read())["id"]
    print(f"a sweep of 256 C2 runs x {epochs} epochs trains beside the students ({sweep_id})", flush=True)
    try:
        yield
    finally:
        urllib.request.urlopen(urllib.request.Request(f"{url}/{sweep_id}", method="DELETE"), timeout=60).read()
        state = server.get(f"/api/sweeps/{sweep_id}")
        print(f"the sweep: {state['done']} of {state['total']} runs done, {state['model_epochs']} model-epochs "
              f"while the students were measured", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short look: 4 s windows, at most 4 trials each")
    parser.add_argument("--k", type=int, help="measure this one K instead of searching")
    parser.add_argument("--classroom", nargs="+", choices=CLASSROOMS, default=list(CLASSROOMS))
    parser.add_argument("--start", type=int, default=8, help="the first K of the search")
    parser.add_argument("--trials", type=int, help="at most this many measurements per classroom (default 7)")
    parser.add_argument("--seconds", type=float, help="measuring window per trial (default 10)")
    parser.add_argument("--warmup", type=float, help="seconds after every session has its first frame (default 3)")
    parser.add_argument("--speed", type=float, help="play at this speed instead of the server's default")
    parser.add_argument("--sweep-beside", type=int, metavar="EPOCHS", help="train a sweep (benchmarks/sweep.py's 256 "
                        "C2 runs, EPOCHS epochs each) on the server while the students are measured")
    parser.add_argument("--python", default=sys.executable, help=PYTHON_HELP)
    args = parser.parse_args()
    args.trials = args.trials or (4 if args.quick else 7)
    args.seconds = args.seconds or (4.0 if args.quick else 10.0)
    args.warmup = args.warmup if args.warmup is not None else (1.5 if args.quick else 3.0)

    print(f"server: {server_code(args.python)}; {os.cpu_count()} CPUs, {load_average()}", flush=True)
    rates = engine_rates("C2")
    view = {"speed": args.speed} if args.speed else None
    summaries = []
    rooms = "room" in args.classroom
    args.classroom = [kind for kind in args.classroom if kind != "room"]
    with Server(args.python) as server, sweep_beside(server, args.sweep_beside):
        spread = lesson_spread(server) if "mixed" in args.classroom else []
        limit = int(server.get("/api/options")["server_limits"]["max_sessions"]) - 1  # one is the probe's
        print(HEAD, flush=True)
        for kind in args.classroom:
            def try_k(k: int, kind: str = kind) -> Trial:
                return run_trial(server, kind, k, spread, view, args)

            if args.k:
                trials = [try_k(args.k)]
                held = 0 if trials[0].shortfalls() else args.k
            else:
                held, trials = search(try_k, args.start, limit, args.trials)
            summaries.append((kind, held, trials, limit))
    if rooms:
        with Server(args.python, ROOM_ENV) as server:
            limit = int(server.get("/api/options")["server_limits"]["max_room_students"])
            print(HEAD.replace("health p50/p99 ms", "dashboard").replace("  pause/set/resume max ms", ""), flush=True)
            if args.k:
                trials = [run_room_trial(server, args.k, args)]
                held = 0 if trials[0].shortfalls() else args.k
            else:
                held, trials = search(lambda k: run_room_trial(server, k, args), args.start, limit, args.trials)
            summaries.append(("room", held, trials, limit))
    for summary in summaries:
        print_summary(*summary)
    paces = (s.pace for _, _, trials, _ in summaries for t in trials for s in t.window.students if s.pace)
    print_reference(rates, next(paces))
    print(load_average())
    short = [f"{kind} {held} < {TARGETS[kind]}" for kind, held, _, _ in summaries
             if not args.k and not args.speed and held < TARGETS[kind]]
    failed_k = args.k and any(held < args.k for _, held, _, _ in summaries)
    if short or failed_k:
        print(f"below target: {'; '.join(short) or f'K = {args.k} does not hold'}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()

"""The live clock: one task steps every live session of the app, in the engine pool, a round at a time.

Why one clock rather than a loop per session. With a loop per session (the previous design) every burst
was a separate turn in the engine pool and a separate wake-up of the event loop, and a class of sessions
that run the same lesson could never be stepped as one computation. Here one task of the app's lifespan
asks the pool for a *tick* whenever an epoch is due somewhere, and a tick runs *rounds*: each round takes
one epoch of every run that wants one, all together (:class:`Stacks`), then copies out the frames that are
due, releases the runs and encodes the frames. A tick ends after ``slice_seconds`` or when nothing is due;
the event loop is then woken once for all the news of the tick (one ``to_thread`` completion per tick, not
one per frame or per session).

* Paced runs are due on a common clock: an epoch due within ``HORIZON`` of now is taken in this tick, so
  sessions at the same speed fall into step and are stepped together.
* Fair under overload: every round gives each due run one epoch, so when the engine cannot keep up all
  runs fall behind alike (their pace drops the backlog beyond ``CATCH_UP`` seconds) and all get frames at
  the same reduced rate; no run starves. The tick gives its turn back after a slice, so REST runs and
  commands keep their place in the pool's fair queue, and ``/api/health`` stays on a free event loop.
* A run busy with a command (its lock held) sits a round out rather than blocking the tick.
"""

from __future__ import annotations

import time
from typing import Callable, Optional

import anyio

from engine import EpochReport, Trainer

from .live_run import Delivery, LiveRun
from .pool import EnginePool

HORIZON = 0.008  # seconds: an epoch due this soon is stepped now, with the others (half a frame at 60/s)


class Stacks:
    """Steps a set of trainers one epoch each, as few computations as possible."""

    def step(self, trainers: list[Trainer], framed: list[bool]) -> list[EpochReport]:
        """One epoch of each trainer; those whose epoch a frame follows also get gradient norms and
        confusion matrices from their report's pass. Reports in the order given."""
        return [trainer.step_epoch(gradients=full) for trainer, full in zip(trainers, framed)]


class LiveScheduler:
    """The clock of every live run of one app. ``add`` a run with the callback that wakes its session."""

    def __init__(self, pool: EnginePool):
        self.pool = pool
        self.runs: dict[LiveRun, Callable[[], None]] = {}
        self.stacks = Stacks()
        self._wake = anyio.Event()
        self.ticks = 0

    def __repr__(self) -> str:
        return f"LiveScheduler({len(self.runs)} runs, {self.ticks} ticks)"

    def add(self, run: LiveRun, notify: Callable[[], None]) -> None:
        self.runs[run] = notify
        self.wake()

    def remove(self, run: LiveRun) -> None:
        self.runs.pop(run, None)

    def wake(self) -> None:
        """A run's plan changed: look at the clock again (event loop)."""
        self._wake.set()

    async def serve(self) -> None:
        """Run ticks whenever something is due, until cancelled (the app's lifespan)."""
        while True:
            wait = self._due_in()
            if wait is None or wait > 0:
                with anyio.move_on_after(wait):
                    await self._wake.wait()
                self._wake = anyio.Event()
                continue
            news = await self.pool.run(self.tick)
            self.ticks += 1
            for run in news:
                notify = self.runs.get(run)
                if notify is not None:
                    notify()

    def _due_in(self) -> Optional[float]:
        now = time.perf_counter()
        waits = [w for w in (run.due_in(now, HORIZON) for run in list(self.runs)) if w is not None]
        return min(waits, default=None)

    # ---- engine worker ----------------------------------------------------------------------------------------
    def tick(self) -> set[LiveRun]:
        """Rounds of epochs until nothing is due or the slice is over; returns the runs with news."""
        start, news = time.perf_counter(), set()
        while True:
            stepped, deliveries, stops = self._round(list(self.runs))
            for delivery in deliveries:
                delivery.deliver()
            for run, why in stops:
                run.publish_stop(why)
            news.update(stepped)
            if not stepped or time.perf_counter() - start >= self.pool.slice_seconds:
                return news

    def _round(self, runs: list[LiveRun]) -> tuple[list[LiveRun], list[Delivery], list[tuple[LiveRun, str]]]:
        """One epoch of every run that wants one, stepped together; their frames copied out."""
        now = time.perf_counter()
        held = [run for run in runs if run.lock.acquire(blocking=False)]
        try:
            due = [run for run in held if run.wants_epoch(now, HORIZON)]
            framed = {run: run.frame_due(now) for run in due}
            members = [(run, trainer) for run in due for trainer in run.members()]
            reports = dict(zip((id(t) for _, t in members), self.stacks.step(
                [t for _, t in members], [framed[run] for run, _ in members])))
            deliveries, stops = [], []
            for run in due:
                run_reports = [reports.get(id(t)) for t in run.trainers]
                stop = run.epoch_done(run_reports, now)
                if stop is not None:
                    stops.append((run, stop))
                if framed[run] or stop is not None:
                    deliveries += run.frames(run_reports, playing=False if stop is not None else None)
        finally:
            for run in held:
                run.lock.release()
        return due, deliveries, stops

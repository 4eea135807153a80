"""Where the REST routes' engine work runs: worker threads, a bounded number at a time, in short slices.

It serves ``/api/train``, ``/api/runs``, ``/api/compare`` and the renders, which stay in the server process
so that a background run started through one request can be polled and cancelled through any other. (Live
sessions train in engine worker processes: server/live/.)

* One fair FIFO queue (an anyio ``CapacityLimiter``) admits ``engine_threads`` (default 1) pieces of engine
  work at a time, whoever they come from; the event loop only ever competes with that many threads for
  the GIL.
* Each piece is short (``slice_seconds``, default 10 ms, plus at most one epoch) and gives its turn back;
  when nobody else is waiting it goes on longer (up to ``LONE_SLICES`` slices).
* While serving, ``sys.setswitchinterval`` is lowered (default 1 ms, from 5 ms), which bounds how long the
  loop waits for the GIL when it wakes up; NumPy has one BLAS thread (server/__init__.py).
* Work that takes the limiter is awaited by the task that asked for it (never a loose background task) and
  is cancelled with it between slices.

Why threads, one at a time, with measurements: docs/decisions.md, "REST engine work in one pool of threads".
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Optional, TypeVar

import anyio
import anyio.to_thread

T = TypeVar("T")
LONE_SLICES = 5  # how many slices work may run on when no one else waits for a turn


class EnginePool:
    """A fair queue in front of ``threads`` worker threads. Create inside the running event loop."""

    _serving = 0  # pools started in this process (the switch interval is process-wide)
    _saved_interval: Optional[float] = None

    def __init__(self, threads: int = 1, slice_seconds: float = 0.01, switch_interval: Optional[float] = None):
        self.threads = threads
        self.slice_seconds = slice_seconds
        self.switch_interval = switch_interval
        self.queue = anyio.CapacityLimiter(threads)  # who may run engine work now (FIFO)
        self._workers = anyio.CapacityLimiter(threads)  # the threads themselves (never the bottleneck)

    def __repr__(self) -> str:
        return f"EnginePool(threads={self.threads}, slice={self.slice_seconds}s, busy={self.queue.borrowed_tokens})"

    def start(self) -> None:
        """Lower the interpreter's switch interval (process-wide) while any pool serves."""
        if self.switch_interval is not None:
            if not EnginePool._serving:
                EnginePool._saved_interval = sys.getswitchinterval()
            EnginePool._serving += 1
            sys.setswitchinterval(min(self.switch_interval, sys.getswitchinterval()))

    def stop(self) -> None:
        """Put the switch interval back once the last pool stops."""
        if self.switch_interval is not None:
            EnginePool._serving -= 1
            if not EnginePool._serving and EnginePool._saved_interval is not None:
                sys.setswitchinterval(EnginePool._saved_interval)

    def turn_over(self, elapsed: float, has_news: bool = False) -> bool:
        """Whether work that has run ``elapsed`` seconds should give its turn back. When someone is waiting
        for a turn: after one slice. When nobody is: as soon as it has news for the event loop (a frame to
        send), or after ``LONE_SLICES`` slices (fewer hand-overs, more epochs)."""
        if self.queue.statistics().tasks_waiting > 0:
            return elapsed >= self.slice_seconds
        return has_news or elapsed >= self.slice_seconds * LONE_SLICES

    async def run(self, fn: Callable[..., T], *args: Any, lock: Optional[anyio.Lock] = None) -> T:
        """Wait for a turn, then run ``fn(*args)`` in a worker thread (holding ``lock`` if given, after the turn
        is granted, so a lock holder never waits in the queue)."""
        async with self.queue:
            if lock is None:
                return await anyio.to_thread.run_sync(fn, *args, limiter=self._workers)
            async with lock:
                return await anyio.to_thread.run_sync(fn, *args, limiter=self._workers)

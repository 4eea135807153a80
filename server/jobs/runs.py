"""Background runs (``POST/GET/DELETE /api/runs``): the scripted run of ``POST /api/train``, off the request.

A :class:`RunStore` keeps each run's progress and, once done, its result for ``run_ttl`` seconds. Runs
train in the app's task group (started in the lifespan, so every run is awaited or cancelled at
shutdown), a slice at a time through the engine pool (server/jobs/pool.py), beside the other REST work.

Memory stays bounded: when a run ends, its Trainer, its request (data, weights) and its epoch reports are
dropped and only the result is kept, as compact JSON bytes; finished runs are capped by count
(``max_finished``) and by those bytes (``max_finished_bytes``), the oldest evicted first (the newest is
always kept, so a poll finds it). Measurements: docs/decisions.md, "Finished runs kept as JSON bytes".
Each finished run is also written to the server's store (table ``runs``), so a poll finds it after it left
memory, after a restart, or on another instance sharing the data folder, until ``store_ttl``.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Optional

import anyio
import anyio.abc

from nnplay.engine import Limits, Trainer

from ..http.schemas import TrainRequest
from ..store import Store, Table
from .pool import EnginePool
from .results import Progress, make_trainer, result_of


@dataclass
class Run:
    id: str
    request: Optional[TrainRequest]  # dropped when the run ends
    status: str = "running"  # running, done, failed, cancelled
    progress: Optional[Progress] = None  # holds the Trainer while running; dropped when the run ends
    created: float = field(default_factory=time.time)
    finished: Optional[float] = None
    error: Optional[str] = None
    result_json: Optional[bytes] = None  # the result, kept as compact JSON
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    epochs_total: int = 0
    epochs_finished: int = 0  # epochs done when the run ended
    collected: bool = False  # a poll has read how the run ended (see RunStore.awaiting)

    def __post_init__(self) -> None:
        if self.request is not None:
            self.epochs_total = self.request.epochs

    @property
    def result(self) -> Optional[dict[str, Any]]:
        return None if self.result_json is None else json.loads(self.result_json)

    @result.setter
    def result(self, value: Optional[dict[str, Any]]) -> None:
        self.result_json = None if value is None else compact_json(value)

    @property
    def nbytes(self) -> int:
        """What the kept result costs (its JSON bytes)."""
        return len(self.result_json or b"")

    def end(self, status: str) -> None:
        """Finish: record the status and the epochs done, and drop the Trainer, the request and the reports."""
        self.status, self.finished = status, time.time()
        if self.progress is not None:
            self.epochs_finished = self.progress.done
        self.progress, self.request = None, None

    def info(self, with_result: bool = True) -> dict[str, Any]:
        """``RunInfo``'s fields; ``with_result=False`` leaves the result out (and does not decode it)."""
        done = self.progress.done if self.progress else self.epochs_finished
        return {"id": self.id, "status": self.status, "epochs_done": done, "epochs_total": self.epochs_total,
                "created": self.created, "finished": self.finished, "error": self.error,
                "result": self.result if with_result else None}


RUNS = Table("runs", """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    info TEXT NOT NULL,          -- JSON: the run's RunInfo fields, the result included
    used_at REAL NOT NULL
)
""")


def compact_json(result: dict[str, Any]) -> bytes:
    return json.dumps(result, separators=(",", ":"), allow_nan=False).encode()


async def prepare(pool: EnginePool, request: TrainRequest, limits: Limits, device: Optional[str]) -> Trainer:
    """The request's Trainer, built in the pool; :class:`InvalidInput` for bad config, data or weights."""
    return await pool.run(make_trainer, request, limits, device)


async def train_in_pool(pool: EnginePool, trainer: Trainer, request: TrainRequest,
                        run: Optional[Run] = None) -> dict[str, Any]:
    """Train and summarise a request a slice at a time in the engine pool (never on the event loop)."""
    progress = run.progress if run is not None else Progress(trainer, request.epochs)
    while not await pool.run(progress.advance, pool.turn_over):
        pass
    return await pool.run(result_of, trainer, progress.reports, request.include, request.density)


class RunStore:
    """The background runs of one app."""

    def __init__(self, pool: EnginePool, max_running: int, ttl: float, max_finished: int = 100,
                 max_finished_bytes: int = 64 << 20, store: Optional[Store] = None):
        self.pool = pool
        self.store = store
        if store is not None:
            store.define(RUNS)
        self.max_running, self.ttl = max_running, ttl
        self.max_finished, self.max_finished_bytes = max_finished, max_finished_bytes
        self.runs: dict[str, Run] = {}
        self.task_group: Optional[anyio.abc.TaskGroup] = None

    @property
    def running(self) -> int:
        return sum(run.status == "running" for run in self.runs.values())

    @property
    def finished_bytes(self) -> int:
        """Bytes of the results kept."""
        return sum(run.nbytes for run in self.runs.values())

    def _expire(self) -> None:
        """Forget finished runs older than the ttl, then the oldest while over the count or byte cap."""
        now = time.time()
        for key in [k for k, r in self.runs.items() if r.finished is not None and now - r.finished > self.ttl]:
            del self.runs[key]
        finished = sorted((r for r in self.runs.values() if r.finished is not None), key=lambda r: r.finished)
        kept_bytes = sum(r.nbytes for r in finished)
        while len(finished) > 1 and (len(finished) > self.max_finished or kept_bytes > self.max_finished_bytes):
            oldest = finished.pop(0)
            kept_bytes -= oldest.nbytes
            del self.runs[oldest.id]

    def full(self) -> bool:
        self._expire()
        return self.running >= self.max_running

    def start(self, request: TrainRequest, trainer: Trainer) -> Run:
        """Start training ``trainer`` in the background (check :meth:`full` first)."""
        run = Run(secrets.token_hex(8), request)
        run.progress = Progress(trainer, request.epochs)
        self.runs[run.id] = run
        assert self.task_group is not None, "the app's lifespan has not started"
        self.task_group.start_soon(self._train, run, trainer)
        return run

    async def _train(self, run: Run, trainer: Trainer) -> None:
        status = "running"
        with run.scope:
            try:
                result = await train_in_pool(self.pool, trainer, run.request, run)
                run.result_json = await self.pool.run(compact_json, result)
                status = "done"
            except Exception as exc:  # noqa: BLE001 - a run's failure is reported, never kills the server
                status, run.error = "failed", f"{type(exc).__name__}: {exc}"
        if run.status == "running":  # (not when cancel() has ended it already)
            run.end("cancelled" if status == "running" else status)
        if self.store is not None and run.id in self.runs:
            info = compact_json(run.info())
            await anyio.to_thread.run_sync(self.store.write, "INSERT OR REPLACE INTO runs VALUES (?, ?, ?)",
                                           (run.id, info, time.time()))
        self._expire()

    def get(self, run_id: str) -> Optional[Run]:
        self._expire()
        return self.runs.get(run_id)

    def stored(self, run_id: str) -> Optional[Run]:
        """A finished run from the store (no longer in memory: evicted, or before a restart) within ``ttl`` of its
        end, or None."""
        if self.store is None:
            return None
        rows = self.store.read("SELECT info FROM runs WHERE id = ?", (run_id,))
        if not rows:
            return None
        info = json.loads(rows[0]["info"])
        if time.time() - info["finished"] > self.ttl:
            return None
        run = Run(run_id, None, status=info["status"], created=info["created"], finished=info["finished"],
                  error=info["error"], epochs_total=info["epochs_total"], epochs_finished=info["epochs_done"],
                  collected=True)
        run.result = info["result"]
        return run

    def read(self, run_id: str) -> Optional[Run]:
        """:meth:`get` for a client's poll (or the stored run): once the run has ended, the answer counts as its
        result collected."""
        run = self.get(run_id) or self.stored(run_id)
        if run is not None and run.status != "running":
            run.collected = True
        return run

    def awaiting(self, since: float) -> int:
        """The runs their clients still wait for: those training, and those that ended after ``since`` (a
        ``time.time()``) that no poll has read since. A draining instance stays up for them."""
        return sum(run.status == "running" or (not run.collected and (run.finished or 0) >= since)
                   for run in self.runs.values())

    def cancel(self, run_id: str) -> Optional[Run]:
        """Cancel a running run (between slices) and forget it; returns it, or None if unknown."""
        run = self.runs.pop(run_id, None)
        stored = self.stored(run_id)
        if stored is not None and self.store is not None:
            self.store.write("DELETE FROM runs WHERE id = ?", (run_id,))
            run = run or stored
        if run is not None and run.status == "running":
            if run.progress is not None:
                run.progress.cancelled = True
            run.scope.cancel()
            run.end("cancelled")
        return run

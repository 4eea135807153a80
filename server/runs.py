"""Background runs (``POST/GET/DELETE /api/runs``): the scripted run of ``POST /api/train``, off the request.

A :class:`RunStore` keeps each run's progress and, once done, its result for ``run_ttl`` seconds. Runs
train in the app's task group (started in the lifespan, so every run is awaited or cancelled at
shutdown), a slice at a time through the same engine pool as the live sessions.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Optional

import anyio
import anyio.abc

from nnplay.engine import Limits, Trainer

from .models import TrainRequest
from .pool import EnginePool
from .results import Progress, make_trainer, result_of


@dataclass
class Run:
    id: str
    request: TrainRequest
    status: str = "running"  # running, done, failed, cancelled
    progress: Optional[Progress] = None
    created: float = field(default_factory=time.time)
    finished: Optional[float] = None
    error: Optional[str] = None
    result: Optional[dict[str, Any]] = None
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)

    def info(self) -> dict[str, Any]:
        done = self.progress.done if self.progress else 0
        return {"id": self.id, "status": self.status, "epochs_done": done, "epochs_total": self.request.epochs,
                "created": self.created, "finished": self.finished, "error": self.error, "result": self.result}


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

    def __init__(self, pool: EnginePool, max_running: int, ttl: float):
        self.pool = pool
        self.max_running, self.ttl = max_running, ttl
        self.runs: dict[str, Run] = {}
        self.task_group: Optional[anyio.abc.TaskGroup] = None

    @property
    def running(self) -> int:
        return sum(run.status == "running" for run in self.runs.values())

    def _expire(self) -> None:
        now = time.time()
        for key in [k for k, r in self.runs.items() if r.finished is not None and now - r.finished > self.ttl]:
            del self.runs[key]

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
        with run.scope:
            try:
                run.result = await train_in_pool(self.pool, trainer, run.request, run)
                run.status = "done"
            except Exception as exc:  # noqa: BLE001 - a run's failure is reported, never kills the server
                run.status, run.error = "failed", f"{type(exc).__name__}: {exc}"
        if run.scope.cancel_called and run.status == "running":
            run.status = "cancelled"
        run.finished = time.time()

    def get(self, run_id: str) -> Optional[Run]:
        self._expire()
        return self.runs.get(run_id)

    def cancel(self, run_id: str) -> Optional[Run]:
        """Cancel a running run (between slices) and forget it; returns it, or None if unknown."""
        run = self.runs.pop(run_id, None)
        if run is not None and run.status == "running":
            if run.progress is not None:
                run.progress.cancelled = True
            run.scope.cancel()
            run.status, run.finished = "cancelled", time.time()
        return run

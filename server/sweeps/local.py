"""A whole sweep in this process, without a server: the CLI's local mode, notebooks, the plot's tests.

``run_sweep(request, limits=...)`` checks the request as the server does, trains its chunks through an
executor (by default a pool of ``os.cpu_count()`` worker processes at normal priority) and returns the same
JSON as ``GET /api/sweeps/{id}`` once done (history included), with the same numbers.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import Executor
from typing import Any, Callable, Optional

from .executors import make_executor
from .export import document
from .plan import SweepLimits, make_plan
from .runner import execute
from .schemas import SweepRequest

DEFAULT_CHUNK = 32  # runs per stacked group (docs/decisions.md, "Sweeps: stacked chunks in a pool of …")


def run_sweep(request: dict | SweepRequest, *, limits: SweepLimits,
              progress: Optional[Callable[[int, int], Any]] = None, executor: Optional[Executor] = None,
              chunk_size: int = DEFAULT_CHUNK,
              history: bool = True) -> dict[str, Any]:
    """Run a sweep here; ``progress(done, total)`` is called as runs finish. Raises
    :class:`~nnplay.server.problems.InvalidInput` for a request the server would answer 422."""
    plan = make_plan(request, limits)
    created = time.time()
    rows: dict[int, dict[str, Any]] = {}

    def finished(row: dict[str, Any]) -> None:
        rows[row["index"]] = row
        if progress is not None:
            progress(len(rows), plan.total)

    own = executor is None
    pool = make_executor(os.cpu_count() or 1, idle=False) if own else executor  # no live sessions to yield to
    try:
        execute(plan, pool, limits=limits.engine, chunk_size=chunk_size, finished=finished)
    finally:
        if own:
            pool.shutdown()
    meta = {"id": "local", "status": "done", "created": created, "finished": time.time(), "error": None,
            "request": plan.request.model_dump(mode="json", exclude_none=True), "fields": plan.fields,
            "combinations": plan.combinations, "seeds": plan.seeds, "epochs": plan.request.epochs}
    return document(meta, rows, history=history)

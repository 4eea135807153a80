"""A sweep's training: its runs split by signature into chunks, the chunks sent to an executor, successive
halving between rungs, each run's outcome handed over as soon as it is known.

:func:`execute` works with any ``concurrent.futures.Executor`` (the sweep pool's processes, Ray tasks through
server/sweeps/ray_tasks.py, :class:`Inline` in the caller's thread): it submits :func:`work.train_chunk` once
per chunk and rung and waits for the answers. Without halving there is one rung, the sweep's last epoch.
With halving, rungs fall every ``halving.every`` epochs: after each, the combinations still training are
ranked by the mean of ``halving.metric`` over their seeds, the worse ones' runs leave with status ``halved``
and the others' Trainers, regrouped into full chunks, go on from where they stand.
"""

from __future__ import annotations

import math
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional

from nnplay.engine import Limits, Trainer, group_configs, signature

from . import transfer
from .plan import Plan
from .work import Chunk, ChunkResult, RunPiece, train_chunk

POLL = 0.5  # seconds between looks at whether the sweep was cancelled while chunks train
# metric -> (key in the last report, sign): ranked by sign × value, lower first
METRICS = {"test_loss": ("test_loss", 1), "train_loss": ("train_loss", 1), "accuracy": ("test_accuracy", -1),
           "r2": ("test_r2", -1), "rmse": ("test_rmse", 1)}


class Inline(Executor):
    """An executor that runs each call at once in the caller's thread (small sweeps, tests, a CLI without
    processes to spare)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to whoever reads the future
            future.set_exception(exc)
        return future


@dataclass
class Outcome:
    """A run's result row as it builds up: status, epochs, its last report's metrics, its history."""

    index: int
    status: str = "pending"
    epochs_run: int = 0
    final: Optional[dict[str, Any]] = None
    history: list[tuple[int, Optional[float], Optional[float]]] = field(default_factory=list)

    def add(self, piece: RunPiece) -> None:
        self.status, self.epochs_run = piece.status, piece.epochs_run
        self.history.extend(piece.history)
        if piece.final is not None:
            self.final = piece.final

    def done(self) -> dict[str, Any]:
        """The run is over: its :meth:`row`, after which the history is dropped (the row holds it; a large sweep
        keeps only each finished run's metrics in memory, which halving ranks by)."""
        row = self.row()
        self.history = []
        return row

    def row(self) -> dict[str, Any]:
        """The stored form: status, epochs_run, the metrics of the result table, the history."""
        final = self.final or {}
        return {"index": self.index, "status": self.status, "epochs_run": self.epochs_run,
                "train_loss": final.get("train_loss"), "test_loss": final.get("test_loss"),
                "accuracy": final.get("test_accuracy"), "r2": final.get("test_r2"), "rmse": final.get("test_rmse"),
                "history": [list(point) for point in self.history]}


def rungs(plan: Plan) -> list[int]:
    """The epochs at which the sweep's chunks come back: every ``halving.every`` epochs, and the last."""
    halving, epochs = plan.request.halving, plan.request.epochs
    if halving is None:
        return [epochs]
    return [*range(halving.every, epochs, halving.every), epochs]


def chunked(indices: list[int], size: int) -> list[list[int]]:
    """``indices`` in consecutive parts of at most ``size``, as even as that allows (7 in 4s: 4 + 3)."""
    parts = max(1, math.ceil(len(indices) / size))
    step = math.ceil(len(indices) / parts)
    return [indices[i:i + step] for i in range(0, len(indices), step)]


def execute(plan: Plan, executor: Executor, *, limits: Limits, chunk_size: int,
            finished: Callable[[dict[str, Any]], None], started: Callable[[list[int]], None] = lambda _: None,
            cancelled: Callable[[], bool] = lambda: False, skip: Iterable[int] = ()) -> bool:
    """Train the plan's runs (those not in ``skip``); ``finished(row)`` gets each run's row as soon as its run
    is over (done, diverged, stopped early, halved), ``started(indices)`` each chunk as it is sent. Returns
    False when ``cancelled()`` said stop (between chunks; what is training then is dropped), else True."""
    skipped = set(skip)
    todo = [i for i in range(plan.total) if i not in skipped]
    outcomes = {i: Outcome(i) for i in todo}
    chunks = [Chunk(part, 0, limits, configs=[plan.configs[i] for i in part])
              for group in group_configs([plan.configs[i] for i in todo], limits)
              for part in chunked([todo[p] for p in group], chunk_size)]
    for until in rungs(plan):
        if not chunks:
            break
        going_on: list[tuple[list[int], bytes]] = []

        def take(result: ChunkResult, going_on: list = going_on) -> None:
            for piece in result.pieces:
                outcomes[piece.index].add(piece)
                if not piece.going_on:
                    finished(outcomes[piece.index].done())
            if result.trainers is not None:
                going_on.append((result.going_on, result.trainers))

        if not _train(executor, [Chunk(c.indices, until, limits, c.configs, c.trainers) for c in chunks],
                      plan.request.epochs, take, started, cancelled):
            return False
        chunks = _next_rung(plan, outcomes, going_on, limits, chunk_size, finished)
    return True


def _train(executor: Executor, chunks: list[Chunk], epochs: int, take: Callable[[ChunkResult], None],
           started: Callable[[list[int]], None], cancelled: Callable[[], bool]) -> bool:
    """Send every chunk and ``take`` each result as it arrives; False when cancelled first (the chunks not
    started are cancelled, the answers of those training are dropped)."""
    pending: set[Future] = set()

    def collect(done: Iterable[Future]) -> None:
        for future in done:
            pending.discard(future)
            take(future.result())

    def stop() -> bool:
        if not cancelled():
            return False
        for future in pending:
            future.cancel()
        return True

    for chunk in chunks:
        if stop():
            return False
        started(chunk.indices)
        pending.add(executor.submit(train_chunk, chunk, epochs))
        collect([f for f in pending if f.done()])  # an executor in this thread has trained it already
    while pending:
        if stop():
            return False
        done, _ = wait(pending, timeout=POLL, return_when=FIRST_COMPLETED)
        collect(done)
    return True


def _next_rung(plan: Plan, outcomes: dict[int, Outcome], going_on: list[tuple[list[int], bytes]], limits: Limits,
               chunk_size: int, finished: Callable[[dict[str, Any]], None]) -> list[Chunk]:
    """The chunks of the runs that go on after a rung: halving's survivors, regrouped into full chunks."""
    if not going_on:
        return []
    survivors = _survivors(plan, outcomes, [i for indices, _ in going_on for i in indices])
    trainers: dict[int, Trainer] = {}
    for indices, data in going_on:
        trainers.update(zip(indices, transfer.loads(data), strict=True))
    for index in sorted(set(trainers) - survivors):
        outcomes[index].status = "halved"
        finished(outcomes[index].done())
    groups: dict[Any, list[int]] = {}
    for index in sorted(survivors):
        groups.setdefault(signature(trainers[index]), []).append(index)
    return [Chunk(part, 0, limits, trainers=transfer.dumps([trainers[i] for i in part]))
            for indices in groups.values() for part in chunked(indices, chunk_size)]


def _survivors(plan: Plan, outcomes: dict[int, Outcome], training: list[int]) -> set[int]:
    """The runs of ``training`` whose combinations are among the best ``keep`` of those still training."""
    halving = plan.request.halving
    if halving is None:
        return set(training)
    key, sign = METRICS[halving.metric]
    seeds = len(plan.seeds)
    alive = sorted({index // seeds for index in training})

    def score(combination: int) -> float:
        values = [(outcomes[i].final or {}).get(key) for i in range(combination * seeds, (combination + 1) * seeds)
                  if i in outcomes]
        values = [v for v in values if v is not None and math.isfinite(v)]
        # a combination with a diverged seed counts as its worst: its mean is not finite
        return sign * sum(values) / len(values) if values and len(values) == seeds else math.inf

    kept = set(sorted(alive, key=lambda c: (score(c), c))[:max(1, math.floor(len(alive) * halving.keep))])
    return {index for index in training if index // seeds in kept}

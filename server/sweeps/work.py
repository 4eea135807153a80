"""One piece of a sweep's training: a chunk of runs of one signature, trained as one ``TrainerGroup`` up to an
epoch, in whatever process runs it (a worker of the sweep pool, a Ray task, the caller's own thread).

:func:`train_chunk` is a plain function of picklable values, so every executor runs the same code. Its runs
either start from their configs (built exactly as ``POST /api/train`` builds a run) or go on from Trainers a
previous piece returned (a halving rung), and step together until ``until`` epochs or until each has stopped
(diverged or stopped early, as a lone ``Trainer.train`` stops). The answer is each run's reports of this
piece, reduced to what a sweep keeps, and the Trainers that still train (as :mod:`transfer` bytes).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Optional

from nnplay.engine import EpochReport, Limits, Trainer, TrainerGroup, limit_blas_threads

from . import transfer

NICE = 19  # where SCHED_IDLE is missing: the lowest priority nice gives


@dataclass(frozen=True)
class Chunk:
    """Runs ``indices`` to train up to epoch ``until``: from ``configs`` (a first piece) or from ``trainers``
    (transfer bytes of Trainers a previous piece returned, in the order of ``indices``)."""

    indices: list[int]
    until: int
    limits: Limits
    configs: Optional[list[dict[str, Any]]] = None
    trainers: Optional[bytes] = None


@dataclass
class RunPiece:
    """What one run did in a piece: its reports (epoch, train_loss, test_loss), its last report's metrics,
    its status and epochs so far, and whether it goes on (status ok and epochs left)."""

    index: int
    status: str
    epochs_run: int
    history: list[tuple[int, Optional[float], Optional[float]]]
    final: Optional[dict[str, Any]]
    going_on: bool


@dataclass
class ChunkResult:
    pieces: list[RunPiece]
    trainers: Optional[bytes] = None  # the Trainers that go on (transfer bytes), in the order of their pieces
    going_on: list[int] = field(default_factory=list)


FINAL_KEYS = ("train_loss", "test_loss", "test_accuracy", "test_r2", "test_rmse")


def start_worker(idle: bool = True) -> None:
    """A sweep worker process's initializer: one BLAS thread and, in a server (``idle``), only CPU time
    nothing else wants (Linux's SCHED_IDLE, else nice 19), so live sessions keep their frame rate beside a
    sweep. A sweep run without a server (the CLI, a notebook) keeps normal priority."""
    limit_blas_threads(1)
    if not idle:
        return
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):  # not Linux, or not allowed: the lowest nice instead
        try:
            os.nice(NICE)
        except OSError:  # not allowed either: normal priority
            pass


def train_chunk(chunk: Chunk, total_epochs: int) -> ChunkResult:
    """Train ``chunk`` (see the module's docstring); ``total_epochs`` is the sweep's epochs per run."""
    if chunk.trainers is not None:
        members: list[Trainer] = transfer.loads(chunk.trainers)
        group = TrainerGroup.of(members)
    else:
        group = TrainerGroup(chunk.configs or [], limits=chunk.limits)
        members = list(group.members)
    start = members[0].epoch
    reports = group.train(chunk.until - start)
    pieces, going_on = [], []
    for index, member, history in zip(chunk.indices, members, reports, strict=True):
        keeps_going = member.status == "ok" and member.epoch < total_epochs
        pieces.append(_piece(index, member, history, keeps_going))
        if keeps_going:
            going_on.append(member)
    for member in members:
        member.leave()
    kept = transfer.dumps(going_on) if going_on else None
    return ChunkResult(pieces, kept, [p.index for p in pieces if p.going_on])


def _piece(index: int, member: Trainer, history: list[EpochReport], going_on: bool) -> RunPiece:
    last = history[-1] if history else None
    final = {key: getattr(last, key) for key in FINAL_KEYS} if last is not None else None
    return RunPiece(index, member.status, member.epoch, [(r.epoch, r.train_loss, r.test_loss) for r in history],
                    final, going_on)

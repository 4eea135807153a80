"""Where a sweep's chunks train: :func:`make_executor` picks, from the settings, a pool of worker processes on
this machine (the default), the server's own thread (``sweep_processes = 0``), or a Ray cluster
(``ray_address``, server/sweeps/ray_tasks.py). Each is a ``concurrent.futures.Executor``.

The pool's processes are started with ``spawn`` (the server has threads; a fork would copy their locks) as
``SCHED_IDLE`` (``work.start_worker``), with one BLAS thread each: live sessions train in their own engine
workers at normal priority, so a sweep takes only the CPU time they leave free. Why processes, and how many:
docs/decisions.md, "Sweeps: stacked chunks in a pool of idle-priority processes".
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Optional

from .runner import Inline
from .work import start_worker


def process_pool(processes: int, idle: bool = True) -> Executor:
    """``processes`` workers, at idle priority unless ``idle`` is False (see ``work.start_worker``)."""
    return ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"), initializer=start_worker,
                               initargs=(idle,))


def make_executor(processes: int, ray_address: Optional[str] = None, idle: bool = True) -> Executor:
    """The executor the settings ask for (Ray first, then a pool of ``processes``, then this process)."""
    if ray_address:
        from .ray_tasks import RayExecutor  # noqa: PLC0415 - ray is an optional extra

        return RayExecutor(ray_address)
    return process_pool(processes, idle) if processes > 0 else Inline()

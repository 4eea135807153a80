"""Which engine worker a live session trains in: an estimate of what a lesson costs, and the choice.

A session is placed by count when it connects (nothing is known of its lesson yet), and it may move when
it configures a network, since nothing needs carrying then: the worker builds the network anew either way.
Why. A mixed classroom (half C2, half the lesson presets) of 16 on two workers held or failed by the luck of
the connection order: its two expensive lessons, ``batch_size`` (a variant in batches of one: 250 optimiser
steps an epoch) and ``optimizer_race`` (four networks), fell short on the same worker (22-24 epochs/s at the
least) in two of four runs of ``benchmarks/classroom.py --k 16 --classroom mixed`` on one day, and held
(59.5) in the others.

The estimate is rough on purpose: it only has to rank lessons. An epoch of a lone network costs a fixed
``STEP_SECONDS`` per optimiser step (the Python and NumPy calls: a step of the batch-1 variant is ~18 µs,
whatever its size) plus ``ROW_PARAM_SECONDS`` per training row and parameter (the matrix work: C2's
epoch, 25 steps over 250 rows × 433 parameters, is ~1.3 ms on this machine).
"""

from __future__ import annotations

import math
from typing import Any, Hashable, Iterable, Optional

from pydantic import ValidationError

from nnplay.engine import Config
from nnplay.engine.datasets import train_count
from nnplay.engine.losses import output_units

STEP_SECONDS = 18e-6
ROW_PARAM_SECONDS = 7e-9


def epoch_seconds(config: dict[str, Any], variants: Optional[list[dict[str, Any]]] = None) -> Optional[float]:
    """Estimated CPU seconds of one epoch of every network of a ``configure`` (a comparison's variants each
    count), or None when the config is not valid (the worker will say why; the session does not move)."""
    try:
        configs = [Config.model_validate({**config, **overrides}) for overrides in (variants or [{}])]
    except (ValidationError, TypeError, ValueError):
        return None
    return sum(_one_epoch(c) for c in configs)


def _one_epoch(config: Config) -> float:
    n_train = train_count(config.samples, config.train_ratio)
    sizes = [len(config.features), *config.hidden, output_units(config.task, config)]
    params = sum((fan_in + 1) * fan_out for fan_in, fan_out in zip(sizes[:-1], sizes[1:]))
    steps = math.ceil(n_train / min(config.batch_size, n_train)) if n_train else 0
    return steps * STEP_SECONDS + n_train * params * ROW_PARAM_SECONDS


def least_loaded(own: Hashable, loads: dict[Hashable, float], cost: float) -> Hashable:
    """Where a session of ``cost`` should train, given each worker's load without it (``own`` is its worker
    now): another worker only if it would still carry less than ``own`` does without the session, so a
    move always lowers the busier of the two, and the next configure does not move it straight back."""
    best = min(loads, key=loads.__getitem__)
    return best if best != own and loads[best] + cost < loads[own] else own


def load_of(sessions: Iterable[str], costs: dict[str, float], without: str) -> float:
    """The summed cost of ``sessions`` other than ``without`` (one not yet configured counts nothing)."""
    return sum(costs.get(session, 0.0) for session in sessions if session != without)

"""Which engine worker a live session trains in: an estimate of what a lesson costs there, and the choice.

A session is placed by count when it connects (nothing is known of its lesson yet), and it may move when
it configures a network, since nothing needs carrying then: the worker builds the network anew either way.

A worker steps the live networks that share a :func:`~nnplay.engine.signature` as one stacked computation
(server/live/clock.py ``Stacks``), so what a session costs depends on who else is in its worker. The model,
in CPU seconds per epoch of one network, fitted to measurements of the lesson presets and C2 alone and in
groups of 2 to 16, in the engine and in a worker's live clock, on the 2-core machine (the constants below):

    lone   = steps · (STEP + LAYER_STEP · layers + OPTIMIZER_STATE_STEP · buffers) + rows · params · ROW_PARAM
    member = steps · MEMBER_STEP + rows · params · MEMBER_ROW_PARAM
    group of n ≥ 2 = 2 · lone + (n − 2) · member      (a group of two costs about two lone networks)

(``buffers``: the optimiser's state buffers, 0 for SGD, 2 for Adam), and every network, alone or a member,
adds NETWORK_EPOCH for its epoch's report and its frames' fixed work, and (fps / speed at the defaults) ·
density² · params · GRID_POINT_PARAM for their grid pass. It only has to rank placements; it assumes the
default pace and view. What it measured, and what it cannot undo: docs/decisions.md, "Placement by
estimated cost".
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Hashable, Iterable, Optional

from pydantic import ValidationError

from nnplay.engine import Config, signature
from nnplay.engine.datasets import train_count
from nnplay.engine.group import Signature
from nnplay.engine.losses import output_units
from nnplay.engine.optimizers import OPTIMIZER_CLASSES

from ..options import DEFAULT_DENSITY, DEFAULT_FPS, DEFAULT_SPEED

STEP_SECONDS = 4.5e-6  # a lone optimiser step's fixed Python and NumPy calls
LAYER_STEP_SECONDS = 4.6e-6  # ... and those of each layer (forward, backward, update)
# ... and each normalized layer's (batch norm on C2's 8 × 10 batches: ~9 µs forward, ~9 µs backward)
NORM_LAYER_STEP_SECONDS = 18e-6
ROW_PARAM_SECONDS = 2e-9  # the matrix work per training row and parameter (C2: 250 rows × 433 parameters)
OPTIMIZER_STATE_STEP_SECONDS = 3.5e-6  # per state buffer (momentum 1, Adam 2): SGD 1.3 µs a step, Adam 8.8
NETWORK_EPOCH_SECONDS = 0.25e-3  # a network's epoch report and its frames' fixed work (live clock)
MEMBER_STEP_SECONDS = 0.37e-6  # what one more member adds to a stacked step
MEMBER_ROW_PARAM_SECONDS = 0.9e-9
GRID_POINT_PARAM_SECONDS = 0.075e-9  # a frame's grid pass (C2 at density 100: 0.33 ms)
FRAMES_PER_EPOCH = DEFAULT_FPS / DEFAULT_SPEED


@dataclass(frozen=True)
class NetworkCost:
    """One network of a lesson: its stacking signature, and CPU seconds per epoch alone (frames included)
    and as one more member of a stacked group of its signature."""

    signature: Signature
    lone: float
    member: float


def lesson_cost(config: dict, variants: Optional[list[dict]] = None) -> Optional[tuple[NetworkCost, ...]]:
    """Every network of a ``configure`` (a comparison's variants each count), or None when the config is not
    valid (the worker will say why; the session does not move)."""
    try:
        configs = [Config.model_validate({**config, **overrides}) for overrides in (variants or [{}])]
    except (ValidationError, TypeError, ValueError):
        return None
    return tuple(_network_cost(c) for c in configs)


def _network_cost(config: Config) -> NetworkCost:
    n_train = train_count(config.samples, config.train_ratio)
    sizes = [len(config.features), *config.hidden, output_units(config.task, config)]
    params = sum((fan_in + 1) * fan_out for fan_in, fan_out in zip(sizes[:-1], sizes[1:]))
    steps = math.ceil(n_train / min(config.batch_size, n_train)) if n_train else 0
    layers = len(sizes) - 1
    buffers = len(OPTIMIZER_CLASSES[config.optimizer].state_names)
    frame = FRAMES_PER_EPOCH * DEFAULT_DENSITY ** 2 * params * GRID_POINT_PARAM_SECONDS + NETWORK_EPOCH_SECONDS
    normalized = sum(name != "none" for name in config.normalizations)
    step = (STEP_SECONDS + LAYER_STEP_SECONDS * layers + NORM_LAYER_STEP_SECONDS * normalized
            + OPTIMIZER_STATE_STEP_SECONDS * buffers)
    lone = steps * step + n_train * params * ROW_PARAM_SECONDS
    member = steps * MEMBER_STEP_SECONDS + n_train * params * MEMBER_ROW_PARAM_SECONDS
    return NetworkCost(signature(config), lone + frame, member + frame)


def worker_load(networks: Iterable[NetworkCost]) -> float:
    """Estimated CPU seconds per epoch of a worker that trains ``networks``, those sharing a signature as
    one stacked group."""
    by_signature: dict[Signature, list[NetworkCost]] = defaultdict(list)
    for network in networks:
        by_signature[network.signature].append(network)
    return sum(_group_cost(group) for group in by_signature.values())


def _group_cost(group: list[NetworkCost]) -> float:
    if len(group) <= 2:
        return sum(network.lone for network in group)
    return group[0].lone + group[1].lone + sum(network.member for network in group[2:])


def least_loaded(own: Hashable, placed: dict[Hashable, list[NetworkCost]],
                 lesson: tuple[NetworkCost, ...]) -> Hashable:
    """Where a session training ``lesson`` should go, given what each worker trains without it (``own`` is
    its worker now): the worker whose load with it is least, if that is below ``own``'s load with it (so the
    next configure does not move it straight back). A lesson that stacks with a worker's group costs that
    worker little, so a class following one lesson gathers where its group is."""
    with_lesson = {worker: worker_load([*networks, *lesson]) for worker, networks in placed.items()}
    best = min(with_lesson, key=with_lesson.__getitem__)
    return best if best != own and with_lesson[best] < with_lesson[own] else own

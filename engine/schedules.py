"""Learning-rate schedules, stepped once per epoch, as torch.optim.lr_scheduler's closed forms.

Each maps (base η, epoch e ≥ 0, parameters) to the rate used during epoch e.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from .registry import lookup


@dataclass(frozen=True)
class Schedule:
    name: str
    label: str
    params: tuple[str, ...]  # the config fields it reads
    fn: Callable[..., float]

    def __call__(self, lr: float, epoch: int, **params: float) -> float:
        return self.fn(lr, epoch, **params)

    def __repr__(self) -> str:
        return f"Schedule({self.name!r})"


def _constant(lr, epoch, **_):
    return lr


def _step(lr, epoch, lr_step_size=100, lr_gamma=0.5, **_):
    return lr * lr_gamma ** (epoch // lr_step_size)  # StepLR: η·γ^⌊e / step_size⌋


def _exponential(lr, epoch, lr_gamma=0.5, **_):
    return lr * lr_gamma**epoch  # ExponentialLR: η·γ^e


def _cosine(lr, epoch, lr_t_max=500, lr_eta_min=0.0, **_):
    # CosineAnnealingLR: η_min + (η − η_min)·(1 + cos(π e / T_max)) / 2
    return lr_eta_min + (lr - lr_eta_min) * (1 + math.cos(math.pi * epoch / lr_t_max)) / 2


SCHEDULES: dict[str, Schedule] = {
    s.name: s
    for s in (
        Schedule("constant", "Constant", (), _constant),
        Schedule("step", "Step decay", ("lr_step_size", "lr_gamma"), _step),
        Schedule("exponential", "Exponential decay", ("lr_gamma",), _exponential),
        Schedule("cosine", "Cosine annealing", ("lr_t_max", "lr_eta_min"), _cosine),
    )
}


def get_schedule(name: str) -> Schedule:
    return lookup(SCHEDULES, "lr_schedule", name)

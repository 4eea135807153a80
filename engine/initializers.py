"""Weight initialisers. Each returns (W, b) for one layer in PyTorch's layout: W (fan_out, fan_in), b (fan_out).

They draw on the host with a NumPy Generator in float64, so the same seed gives the same initial network
on every device and dtype.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .registry import lookup

PLAYGROUND_BIAS = 0.1  # the playground starts every bias at 0.1


@dataclass(frozen=True)
class Initializer:
    name: str
    label: str
    description: str
    fn: Callable[[np.random.Generator, int, int], tuple[np.ndarray, np.ndarray]]

    def __call__(self, rng: np.random.Generator, fan_in: int, fan_out: int) -> tuple[np.ndarray, np.ndarray]:
        return self.fn(rng, fan_in, fan_out)

    def __repr__(self) -> str:
        return f"Initializer({self.name!r})"


def _playground(rng, fan_in, fan_out):
    return rng.uniform(-0.5, 0.5, (fan_out, fan_in)), np.full(fan_out, PLAYGROUND_BIAS)


def _xavier(rng, fan_in, fan_out):
    std = np.sqrt(2.0 / (fan_in + fan_out))  # var(w) = 2 / (n_in + n_out)  (Glorot normal)
    return rng.normal(0.0, std, (fan_out, fan_in)), np.zeros(fan_out)


def _he(rng, fan_in, fan_out):
    std = np.sqrt(2.0 / fan_in)  # var(w) = 2 / n_in  (Kaiming normal, for ReLU)
    return rng.normal(0.0, std, (fan_out, fan_in)), np.zeros(fan_out)


def _zeros(rng, fan_in, fan_out):
    return np.zeros((fan_out, fan_in)), np.full(fan_out, PLAYGROUND_BIAS)  # the playground's initZero


def _normal(rng, fan_in, fan_out):
    return rng.normal(0.0, 1.0, (fan_out, fan_in)), np.zeros(fan_out)


INITIALIZERS: dict[str, Initializer] = {
    i.name: i
    for i in (
        Initializer("playground", "Playground", "W ~ U(−0.5, 0.5), b = 0.1 (TensorFlow Playground)", _playground),
        Initializer("xavier", "Xavier / Glorot", "W ~ N(0, 2/(fan_in + fan_out)), b = 0", _xavier),
        Initializer("he", "He / Kaiming", "W ~ N(0, 2/fan_in), b = 0", _he),
        Initializer("zeros", "Zeros", "W = 0, b = 0.1 (the playground's initZero: neurons stay symmetric)", _zeros),
        Initializer("normal", "Standard normal", "W ~ N(0, 1), b = 0 (unscaled: explodes in deep nets)", _normal),
    )
}


def get_initializer(name: str) -> Initializer:
    return lookup(INITIALIZERS, "init", name)

"""Optimisers, in order of increasing complexity, following ``torch.optim`` formulas and defaults exactly.

They work on one flat parameter vector and its gradient, so an update is a handful of vector operations
whatever the network's shape. The base class validates hyper-parameters and keeps the step count; each
subclass writes only how its update is computed, with its state in ``zeros_like`` buffers.

Notation: θ parameters, g gradient, η learning rate, λ weight_decay, t the step count (from 1).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .registry import lookup


@dataclass(frozen=True)
class OptimizerSpec:
    """What the API and UI show for an optimiser: its parameters and their torch defaults."""

    name: str
    label: str
    params: dict[str, float] = field(default_factory=dict)


class Optimizer:
    """Base: holds hyper-parameters, the step count and one scratch buffer; subclasses write ``_update``.

    The same code steps one network or a stack of K (engine/group.py): for a stack, ``params`` is (K, P),
    every hyper-parameter, ``weight_decay``, ``lr`` and ``t`` are float64/int (K, 1) columns, one value per
    member. Each coefficient is worked out in float64 (Python floats, or NumPy on the host) and only then
    cast to the parameters' dtype by :meth:`_c`, so a member's update is bit for bit a lone network's.
    """

    state_names: tuple[str, ...] = ()  # the buffers a subclass keeps, each shaped like the parameters
    decoupled = False  # AdamW decays θ directly instead of adding λθ to g

    def __init__(self, xp: Any, params: Any, weight_decay: Any, **hyper: Any) -> None:
        if _negative(weight_decay):
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        for name, value in hyper.items():
            if _negative(value):
                raise ValueError(f"{name} must be >= 0, got {value}")
        self.xp = xp
        self.weight_decay = weight_decay
        self.hyper = hyper
        self.t: Any = 0
        self._scratch = xp.zeros_like(params)
        self.reset()

    @property
    def weight_decay(self) -> Any:
        """λ: a float, or a (K, 1) column for a stack."""
        return self._weight_decay

    @weight_decay.setter
    def weight_decay(self, value: Any) -> None:
        # Whether any λ is non-zero is asked at every step; working it out there costs 5% of a live worker's time
        self._weight_decay, self._decays = value, _any(value)

    def reset(self) -> None:
        """Forget all state (momentum buffers, running averages, step count). Buffers are zeroed in place,
        so views of them (a member of a stack) stay valid."""
        self.t = self.t * 0
        for name in self.state_names:
            buffer = getattr(self, name, None)
            if buffer is None:
                setattr(self, name, self.xp.zeros_like(self._scratch))
            else:
                buffer.fill(0)

    def _c(self, value: Any) -> Any:
        """A float64 coefficient as an operand: Python floats as they are (NumPy computes in the array's
        dtype), per-member columns cast to the parameters' dtype on the parameters' device."""
        if isinstance(value, float):
            return value
        return self.xp.asarray(value, dtype=self._scratch.dtype)

    def step(self, params: Any, grad: Any, lr: Any) -> None:
        """One update of ``params`` in place; ``grad`` may be overwritten."""
        self.t += 1
        xp = self.xp
        if self._decays and not self.decoupled:
            xp.multiply(params, self._c(self.weight_decay), out=self._scratch)  # g ← g + λθ
            xp.add(grad, self._scratch, out=grad)
        self._update(params, grad, lr)

    def _update(self, params: Any, grad: Any, lr: Any) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        hyper = ", ".join(f"{k}={v}" for k, v in self.hyper.items())
        return f"{type(self).__name__}({hyper}, weight_decay={self.weight_decay})"


def _negative(value: Any) -> bool:
    return bool(np.any(np.asarray(value) < 0))


def _any(value: Any) -> bool:
    return bool(np.any(np.asarray(value) != 0))


class SGD(Optimizer):
    """θ ← θ − η·g"""

    def _update(self, params, grad, lr):
        self.xp.multiply(grad, self._c(-lr), out=self._scratch)
        self.xp.add(params, self._scratch, out=params)


class Momentum(Optimizer):
    """torch SGD(momentum=μ, dampening=0): b ← μ·b + g (b₁ = g); θ ← θ − η·b.
    With nesterov: θ ← θ − η·(g + μ·b)."""

    nesterov = False
    state_names = ("buf",)

    def _update(self, params, grad, lr):
        xp, c, mu = self.xp, self._c, self.hyper["momentum"]
        xp.multiply(self.buf, c(mu), out=self.buf)  # with b₀ = 0 the first step gives b₁ = g, as torch
        xp.add(self.buf, grad, out=self.buf)
        if self.nesterov:
            xp.multiply(self.buf, c(mu), out=self._scratch)
            xp.add(self._scratch, grad, out=self._scratch)
        else:
            self._scratch[...] = self.buf
        xp.multiply(self._scratch, c(-lr), out=self._scratch)
        xp.add(params, self._scratch, out=params)


class Nesterov(Momentum):
    __doc__ = Momentum.__doc__
    nesterov = True


class Adagrad(Optimizer):
    """torch Adagrad: G ← G + g²; θ ← θ − η·g / (√G + ε)   (ε outside the root, default 1e−10)."""

    state_names = ("sum_sq",)

    def _update(self, params, grad, lr):
        xp, s = self.xp, self._scratch
        xp.multiply(grad, grad, out=s)
        xp.add(self.sum_sq, s, out=self.sum_sq)
        xp.sqrt(self.sum_sq, out=s)
        xp.add(s, self._c(self.hyper["eps"]), out=s)
        xp.divide(grad, s, out=s)
        xp.multiply(s, self._c(-lr), out=s)
        xp.add(params, s, out=params)


class RMSprop(Optimizer):
    """torch RMSprop: E ← α·E + (1 − α)·g²; θ ← θ − η·g / (√E + ε)   (α = 0.99, ε = 1e−8)."""

    state_names = ("square_avg",)

    def _update(self, params, grad, lr):
        xp, c, s, alpha = self.xp, self._c, self._scratch, self.hyper["alpha"]
        xp.multiply(grad, grad, out=s)
        xp.multiply(s, c(1 - alpha), out=s)
        xp.multiply(self.square_avg, c(alpha), out=self.square_avg)
        xp.add(self.square_avg, s, out=self.square_avg)
        xp.sqrt(self.square_avg, out=s)
        xp.add(s, c(self.hyper["eps"]), out=s)
        xp.divide(grad, s, out=s)
        xp.multiply(s, c(-lr), out=s)
        xp.add(params, s, out=params)


class Adam(Optimizer):
    """torch Adam: m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²;
    θ ← θ − (η / (1 − β₁ᵗ))·m / (√v / √(1 − β₂ᵗ) + ε)."""

    state_names = ("m", "v")

    def _update(self, params, grad, lr):
        xp, c, s = self.xp, self._c, self._scratch
        b1, b2, eps, t = self.hyper["beta1"], self.hyper["beta2"], self.hyper["eps"], self.t
        if self.decoupled and self._decays:
            xp.multiply(params, c(1 - lr * self.weight_decay), out=params)  # AdamW: θ ← θ(1 − ηλ)
        xp.multiply(self.m, c(b1), out=self.m)
        xp.multiply(grad, c(1 - b1), out=s)
        xp.add(self.m, s, out=self.m)
        xp.multiply(self.v, c(b2), out=self.v)
        xp.multiply(grad, grad, out=s)
        xp.multiply(s, c(1 - b2), out=s)
        xp.add(self.v, s, out=self.v)
        xp.sqrt(self.v, out=s)
        xp.divide(s, c((1 - b2**t) ** 0.5), out=s)
        xp.add(s, c(eps), out=s)
        xp.divide(self.m, s, out=s)
        xp.multiply(s, c(-lr / (1 - b1**t)), out=s)
        xp.add(params, s, out=params)


class AdamW(Adam):
    """torch AdamW: θ ← θ(1 − ηλ), then the Adam update (λ's default is torch's, as for every optimiser:
    see :data:`OPTIMIZERS`)."""

    decoupled = True


OPTIMIZER_CLASSES: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adagrad": Adagrad,
    "rmsprop": RMSprop,
    "adam": Adam,
    "adamw": AdamW,
}

# The hyper-parameters each optimiser takes, with their defaults: the one place a default is written. They are
# torch.optim's, but for momentum's 0.9 (torch's SGD has momentum 0, off). weight_decay is every optimiser's.
OPTIMIZERS: dict[str, OptimizerSpec] = {
    s.name: s
    for s in (
        OptimizerSpec("sgd", "SGD", {"weight_decay": 0.0}),
        OptimizerSpec("momentum", "SGD + momentum", {"momentum": 0.9, "weight_decay": 0.0}),
        OptimizerSpec("nesterov", "Nesterov momentum", {"momentum": 0.9, "weight_decay": 0.0}),
        OptimizerSpec("adagrad", "Adagrad", {"eps": 1e-10, "weight_decay": 0.0}),
        OptimizerSpec("rmsprop", "RMSprop", {"alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0}),
        OptimizerSpec("adam", "Adam", {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0}),
        OptimizerSpec("adamw", "AdamW", {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.01}),
    )
}


def _defaults(param: str) -> dict[str, float]:
    """{label: default} of hyper-parameter ``param`` over the optimisers that take it."""
    return {spec.label: spec.params[param] for spec in OPTIMIZERS.values() if param in spec.params}


def common_default(param: str) -> float:
    """The default of hyper-parameter ``param`` that most optimisers taking it share (:data:`OPTIMIZERS`)."""
    return Counter(_defaults(param).values()).most_common(1)[0][0]


def default_text(param: str) -> str:
    """The defaults of hyper-parameter ``param`` in words: the common one, then the others by optimiser,
    e.g. "default: 0 (AdamW 0.01)"."""
    common = common_default(param)
    others = ", ".join(f"{label} {value:g}" for label, value in _defaults(param).items() if value != common)
    return f"default: {common:g}" + (f" ({others})" if others else "")


def make_optimizer(xp: Any, name: str, params: Any, **given: float | None) -> Optimizer:
    """Build optimiser ``name`` for ``params``; hyper-parameters not given (or None) take torch's defaults."""
    spec = lookup(OPTIMIZERS, "optimizer", name)
    hyper = {key: (given.get(key) if given.get(key) is not None else default) for key, default in spec.params.items()}
    weight_decay = hyper.pop("weight_decay")
    return OPTIMIZER_CLASSES[name](xp, params, weight_decay=weight_decay, **hyper)

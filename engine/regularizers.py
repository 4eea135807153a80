"""Weight penalties R(W). The total loss is data loss + reg_rate·R(W), over weights only, never biases.

``penalty(xp, w, l1_ratio)`` is R(w); ``grad(xp, w, l1_ratio, out)`` returns R'(w) (it may return
``w`` itself when R'(w) = w, to save a copy). The trainer adds reg_rate·R'(w) to the data gradient
before the optimiser, as torch's ``weight_decay`` does.

Every penalty here is a mix a·Σ|W| + b·½ΣW² (``mix(l1_ratio)`` gives (a, b)), so a stack of networks
with different penalties (engine/group.py) applies R'(W) = a·sign(W) + b·W with one (a, b) per member.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .registry import lookup


@dataclass(frozen=True)
class Regularizer:
    name: str
    label: str
    penalty: Callable[[Any, Any, float], float]
    grad: Callable[[Any, Any, float, Any], Any] | None  # None for "none": nothing to add
    mix: Callable[[float], tuple[float, float]]  # l1_ratio -> (a, b) in R = a·Σ|W| + b·½ΣW²

    def __repr__(self) -> str:
        return f"Regularizer({self.name!r})"


def _l1_penalty(xp, w, l1_ratio):
    return float(xp.abs(w).sum())  # R = Σ|W|


def _l1_grad(xp, w, l1_ratio, out):
    return xp.sign(w, out=out)  # R' = sign(W) (0 at 0)


def _l2_penalty(xp, w, l1_ratio):
    return 0.5 * float((w * w).sum())  # R = ½ΣW²


def _l2_grad(xp, w, l1_ratio, out):
    return w  # R' = W


def _elastic_penalty(xp, w, l1_ratio):
    return l1_ratio * _l1_penalty(xp, w, l1_ratio) + (1 - l1_ratio) * _l2_penalty(xp, w, l1_ratio)


def _elastic_grad(xp, w, l1_ratio, out):
    xp.sign(w, out=out)  # R' = l1_ratio·sign(W) + (1 − l1_ratio)·W
    xp.multiply(out, l1_ratio, out=out)
    out += (1 - l1_ratio) * w
    return out


REGULARIZERS: dict[str, Regularizer] = {
    r.name: r
    for r in (
        Regularizer("none", "None", lambda xp, w, l1_ratio: 0.0, None, lambda r: (0.0, 0.0)),
        Regularizer("l1", "L1  Σ|W|", _l1_penalty, _l1_grad, lambda r: (1.0, 0.0)),
        Regularizer("l2", "L2  ½ΣW²", _l2_penalty, _l2_grad, lambda r: (0.0, 1.0)),
        Regularizer("elastic", "Elastic net", _elastic_penalty, _elastic_grad, lambda r: (r, 1.0 - r)),
    )
}


def get_regularizer(name: str) -> Regularizer:
    return lookup(REGULARIZERS, "regularization", name)

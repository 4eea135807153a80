"""Output heads: the output activation and the data loss, together, per task.

A head maps the last layer's pre-activation z (rows = samples) to the network output o and gives the
per-sample loss and its gradient dL/dz. Keeping the output activation inside the head lets each pair be
computed stably from the logit (e.g. the logistic loss as softplus(z) − t·z).

Arrays are feature-major, (n_out, rows): one column per sample. Targets ``y`` have the output's
shape: ±1 in one row (binary), one-hot columns (multiclass), real values in one row (regression).
A stack of K networks (engine/group.py) passes (K, n_out, rows) arrays through the same functions: every
reduction runs over the output axis −2 and every "first output" is ``[..., 0, :]``, so a leading member
axis changes nothing else.

``grad(xp, z, o, y, scale, out)`` writes scale·dL/dz into ``out`` (scale = 1/batch, for the batch mean).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .activations import ONE, sigmoid
from .registry import lookup

TASKS = ("binary", "multiclass", "regression")
# Output units per task: a number, or the config field that gives it (the page reads this rule from
# GET /api/options instead of writing it again).
OUTPUT_UNITS = {"binary": 1, "multiclass": "n_classes", "regression": 1}


def output_units(task: str, config: Any) -> int:
    """How many output units a network for ``task`` has under ``config``."""
    rule = OUTPUT_UNITS[task]
    return getattr(config, rule) if isinstance(rule, str) else rule
HUBER_DELTA = 1.0  # torch.nn.HuberLoss default delta


@dataclass(frozen=True)
class Head:
    """One loss for one task: output activation, per-sample loss value, and dL/dz."""

    name: str
    task: str
    output: Callable[[Any, Any, Any], Any]  # (xp, z, out) -> o
    value: Callable[[Any, Any, Any, Any], Any]  # (xp, z, o, y) -> per-sample loss, shape (rows,)
    grad: Callable[[Any, Any, Any, Any, float, Any], Any]  # (xp, z, o, y, scale, out) -> scale·dL/dz

    def __repr__(self) -> str:
        return f"Head({self.name!r}, task={self.task!r})"


def _identity(xp, z, out):
    out[...] = z
    return out


def _tanh(xp, z, out):
    return xp.tanh(z, out=out)


def _softmax(xp, z, out):
    """p_k = e^{s_k − max s} / Σ_j e^{s_j − max s}: subtracting the max keeps exp from overflowing."""
    xp.subtract(z, z.max(axis=-2, keepdims=True), out=out)
    xp.exp(out, out=out)
    xp.divide(out, out.sum(axis=-2, keepdims=True), out=out)
    return out


def _log_softmax(xp, z):
    shifted = z - z.max(axis=-2, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=-2, keepdims=True))


def _scaled(xp, out, scale):
    """``out``·scale (the mean's 1/rows), skipped for one row, where it is exact anyway (x·1 = x): a step of
    batch size 1 is ~20 tiny NumPy calls, and this one, with its Python scalar, was ~0.6 µs of ~16."""
    return out if scale == 1.0 else xp.multiply(out, scale, out=out)


# --- binary (labels ±1, one output unit) -------------------------------------------------------------
def _binary_square_value(xp, z, o, y):
    return 0.5 * ((o - y) ** 2)[..., 0, :]  # ½(o − y)², o = tanh(z): the playground's loss


def _binary_square_grad(xp, z, o, y, scale, out):
    xp.subtract(o, y, out=out)  # dL/dz = (o − y)·(1 − o²)
    tmp = xp.multiply(o, o)
    xp.subtract(ONE, tmp, out=tmp)
    xp.multiply(out, tmp, out=out)
    return _scaled(xp, out, scale)


def _binary_ce_value(xp, z, o, y):
    t = (y + 1) * 0.5  # y ∈ {−1, 1} → t ∈ {0, 1}; L = −[t log σ(z) + (1−t) log(1−σ(z))] = softplus(z) − t·z
    return (xp.logaddexp(0, z) - t * z)[..., 0, :]


def _binary_ce_grad(xp, z, o, y, scale, out):
    xp.add(y, 1, out=out)  # dL/dz = σ(z) − t, t = (y + 1)/2
    xp.multiply(out, 0.5, out=out)
    xp.subtract(o, out, out=out)
    return _scaled(xp, out, scale)


def _binary_hinge_value(xp, z, o, y):
    return xp.maximum(0, 1 - y * z)[..., 0, :]  # max(0, 1 − y·o), o = z


def _binary_hinge_grad(xp, z, o, y, scale, out):
    active = (y * z) < 1  # dL/dz = −y where the margin is violated, else 0
    xp.multiply(y, -scale, out=out)
    out *= active
    return out


# --- multiclass (labels 0..k−1 as one-hot rows, k output units) --------------------------------------
def _softmax_ce_value(xp, z, o, y):
    return -(y * _log_softmax(xp, z)).sum(axis=-2)  # −Σ y_k log p_k, via the stable log-softmax


def _softmax_ce_grad(xp, z, o, y, scale, out):
    xp.subtract(o, y, out=out)  # dL/ds = p − onehot
    return _scaled(xp, out, scale)


def _svm_margins(xp, z, y):
    correct = (z * y).sum(axis=-2, keepdims=True)
    margins = xp.maximum(0, z - correct + 1)
    margins *= 1 - y  # the j = y term is excluded
    return margins


def _svm_value(xp, z, o, y):
    return _svm_margins(xp, z, y).sum(axis=-2)  # Σ_{j≠y} max(0, s_j − s_y + 1)


def _svm_grad(xp, z, o, y, scale, out):
    violated = (_svm_margins(xp, z, y) > 0).astype(z.dtype)  # dL/ds_j = 1[margin_j > 0], j ≠ y
    out[...] = violated - y * violated.sum(axis=-2, keepdims=True)  # dL/ds_y = −#violations
    return _scaled(xp, out, scale)


def _softmax_square_value(xp, z, o, y):
    return 0.5 * ((o - y) ** 2).sum(axis=-2)  # ½‖softmax(s) − onehot‖²


def _softmax_square_grad(xp, z, o, y, scale, out):
    r = o - y  # dL/ds_i = p_i (r_i − Σ_j p_j r_j): the softmax Jacobian (diag p − p pᵀ) applied to r
    xp.multiply(o, r - (o * r).sum(axis=-2, keepdims=True), out=out)
    return _scaled(xp, out, scale)


# --- regression (real targets, one linear output unit) -----------------------------------------------
def _square_value(xp, z, o, y):
    return 0.5 * ((o - y) ** 2)[..., 0, :]  # ½(o − y)²


def _square_grad(xp, z, o, y, scale, out):
    xp.subtract(o, y, out=out)  # dL/do = o − y
    return _scaled(xp, out, scale)


def _absolute_value(xp, z, o, y):
    return xp.abs(o - y)[..., 0, :]  # |o − y|


def _absolute_grad(xp, z, o, y, scale, out):
    xp.subtract(o, y, out=out)  # dL/do = sign(o − y)
    xp.sign(out, out=out)
    return _scaled(xp, out, scale)


def _huber_value(xp, z, o, y):
    d = xp.abs(o - y)[..., 0, :]  # ½d² if |d| < δ else δ(|d| − ½δ)   (torch.nn.HuberLoss)
    return xp.where(d < HUBER_DELTA, 0.5 * d * d, HUBER_DELTA * (d - 0.5 * HUBER_DELTA))


def _huber_grad(xp, z, o, y, scale, out):
    xp.subtract(o, y, out=out)  # dL/do = clip(o − y, −δ, δ)
    xp.clip(out, -HUBER_DELTA, HUBER_DELTA, out=out)
    return _scaled(xp, out, scale)


def _head(name, task, output, value, grad):
    return Head(name, task, output, value, grad)


# LOSSES[name][task] -> Head. A name missing for a task is not offered for that task.
LOSSES: dict[str, dict[str, Head]] = {
    "square": {
        "binary": _head("square", "binary", _tanh, _binary_square_value, _binary_square_grad),
        "multiclass": _head("square", "multiclass", _softmax, _softmax_square_value, _softmax_square_grad),
        "regression": _head("square", "regression", _identity, _square_value, _square_grad),
    },
    "cross_entropy": {
        "binary": _head("cross_entropy", "binary", sigmoid, _binary_ce_value, _binary_ce_grad),
        "multiclass": _head("cross_entropy", "multiclass", _softmax, _softmax_ce_value, _softmax_ce_grad),
    },
    "hinge": {
        "binary": _head("hinge", "binary", _identity, _binary_hinge_value, _binary_hinge_grad),
        "multiclass": _head("hinge", "multiclass", _identity, _svm_value, _svm_grad),
    },
    "absolute": {"regression": _head("absolute", "regression", _identity, _absolute_value, _absolute_grad)},
    "huber": {"regression": _head("huber", "regression", _identity, _huber_value, _huber_grad)},
}

LOSS_LABELS = {
    "square": "Square ½(o − y)²",
    "cross_entropy": "Cross-entropy (sigmoid / softmax)",
    "hinge": "Hinge (SVM)",
    "absolute": "Absolute |o − y|",
    "huber": "Huber (δ = 1)",
}


def losses_for(task: str) -> list[str]:
    """The loss names offered for a task, in registry order."""
    return [name for name, heads in LOSSES.items() if task in heads]


def get_head(name: str, task: str) -> Head:
    """The head for loss ``name`` on ``task``; the error lists the losses that task allows."""
    heads = lookup(LOSSES, "loss", name)
    if task not in heads:
        raise ValueError(f"loss {name!r} does not apply to {task}; allowed: {', '.join(losses_for(task))}")
    return heads[task]

"""Shared helpers for the engine tests (imported by the test modules as a plain top-level module).

Everything here goes through the engine's public API (Trainer, get_weights/set_weights, report, train), so
the tests keep working while the internals (buffer layout, batching) are rewritten for speed.
"""

from __future__ import annotations

import math

import numpy as np

from nnplay.engine import Trainer

# A dataset for each task, as the gradient checks use them.
TASK_DATA = {
    "binary": {"problem": "classification", "dataset": "circle"},
    "multiclass": {"problem": "classification", "dataset": "blobs", "n_classes": 3},
    "regression": {"problem": "regression", "dataset": "plane"},
}


def flat(weights: list[dict]) -> np.ndarray:
    """get_weights() output as one float64 vector (W row-major, then b, layer by layer)."""
    parts = []
    for layer in weights:
        parts.append(np.asarray(layer["W"], dtype=np.float64).ravel())
        parts.append(np.asarray(layer["b"], dtype=np.float64).ravel())
    return np.concatenate(parts) if parts else np.zeros(0)


def unflat(vector: np.ndarray, like: list[dict]) -> list[dict]:
    """The inverse of :func:`flat`, shaped like ``like``."""
    out, k = [], 0
    for layer in like:
        w = np.asarray(layer["W"], dtype=np.float64)
        b = np.asarray(layer["b"], dtype=np.float64)
        W_part = vector[k:k + w.size].reshape(w.shape)
        b_part = vector[k + w.size:k + w.size + b.size]
        out.append({"W": W_part.tolist(), "b": b_part.tolist()})
        k += w.size + b.size
    assert k == vector.size
    return out


def weight_mask(like: list[dict]) -> np.ndarray:
    """1 for the entries of :func:`flat` that are weights, 0 for biases."""
    return flat([{"W": np.ones_like(np.asarray(layer["W"], dtype=float)).tolist(),
                  "b": np.zeros_like(np.asarray(layer["b"], dtype=float)).tolist()} for layer in like])


def steps_per_epoch(n_train: int, batch: int) -> int:
    return math.ceil(n_train / min(batch, n_train))


def training_gradient(config: dict, h: float = 1e-6, data=None, weights=None) -> tuple[np.ndarray, np.ndarray]:
    """The gradient training actually applies, and central differences of the reported total loss.

    In float64, one full-batch SGD step with learning rate 1 moves the weights by exactly −∇F, where F is
    the mean data loss over the training set plus reg_rate·R(W) (weights only): so ∇F = θ0 − θ1, read
    through get_weights. F itself is ``report().total_loss`` (the data loss of the training set plus the
    penalty), evaluated at θ0 ± h·e_i with set_weights. Nothing of the engine's own gradient check is used.
    """
    cfg = {**config, "optimizer": "sgd", "learning_rate": 1.0, "batch_size": 5000, "dropout": 0,
           "weight_decay": 0, "lr_schedule": "constant", "shuffle": False, "early_stopping": None}
    trainer = Trainer(cfg, data=data, weights=weights, dtype=np.float64)
    start = trainer.get_weights()
    theta0 = flat(start)
    trainer.train(1)
    assert trainer.status == "ok"
    analytic = theta0 - flat(trainer.get_weights())
    numeric = np.empty_like(theta0)
    for i in range(theta0.size):
        values = []
        for sign in (1, -1):
            theta = theta0.copy()
            theta[i] += sign * h
            trainer.set_weights(unflat(theta, start))
            values.append(trainer.report().total_loss)
        numeric[i] = (values[0] - values[1]) / (2 * h)
    return analytic, numeric

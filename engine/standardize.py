"""Standardized inputs: each input feature shifted and scaled by the training set's mean and standard deviation.

As scikit-learn's ``StandardScaler``: the population (biased) standard deviation, and a scale of 1 for a
feature that is constant on the training set (it becomes 0 rather than a division by zero). The statistics
come from the training points only and are applied unchanged to the test set, the grid, the thumbnails and
the backprop trace, so the network sees every input through the same affine map.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .features import feature_matrix

CONSTANT_SCALE = 10 * np.finfo(np.float64).eps  # a std below this (relative to the mean) counts as constant


@dataclass(frozen=True, eq=False)
class Standardizer:
    """``(x − mean) / scale`` per feature column; ``mean`` and ``scale`` are float64 host arrays."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, points: np.ndarray, features: list[str]) -> "Standardizer":
        """The statistics of the named features over ``points`` (the training set, rows × 2), in float64."""
        columns = feature_matrix(np, np.asarray(points, dtype=np.float64), features, np.float64, ones_column=False)
        if not len(columns):
            return cls(np.zeros(len(features)), np.ones(len(features)))
        mean = columns.mean(axis=0)
        scale = columns.std(axis=0)  # ddof = 0: the population standard deviation, as StandardScaler
        constant = scale <= CONSTANT_SCALE * np.maximum(np.abs(mean), 1)
        scale[constant] = 1.0
        return cls(mean, scale)

    @property
    def key(self) -> bytes:
        """Equal for equal statistics: what caches and stacked grids use to tell input maps apart."""
        return self.mean.tobytes() + self.scale.tobytes()

    def apply(self, xp: Any, rows: Any) -> Any:
        """Standardize the first ``len(mean)`` columns of ``rows`` (rows × features [+ ones]) in place."""
        n = len(self.mean)
        dtype = rows.dtype
        rows[:, :n] -= xp.asarray(self.mean, dtype=dtype)
        rows[:, :n] /= xp.asarray(self.scale, dtype=dtype)
        return rows

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist()}

"""What a run reports: per-epoch metrics and evaluation grids."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, Optional

import numpy as np
from pydantic import BaseModel, Field

from .features import GRID_EXTENT

Status = Literal["ok", "diverged", "early_stopped"]


def finite_or_none(value: float) -> Optional[float]:
    """JSON has no NaN or inf: a non-finite metric is reported as null."""
    value = float(value)
    return value if math.isfinite(value) else None


class EpochReport(BaseModel):
    """Metrics after an epoch. Losses are the mean data loss; ``total_loss`` adds reg_rate·R(W) to train."""

    epoch: int
    train_loss: Optional[float]
    test_loss: Optional[float]
    total_loss: Optional[float]
    train_accuracy: Optional[float] = None
    test_accuracy: Optional[float] = None
    train_r2: Optional[float] = None
    test_r2: Optional[float] = None
    train_rmse: Optional[float] = None
    test_rmse: Optional[float] = None
    learning_rate: float
    grad_norms: list[Optional[float]] = []
    weight_norms: list[Optional[float]] = []
    status: Status = "ok"
    message: str = ""
    # {"classes": [...], "train": k×k, "test": k×k} when asked for (report(confusion=True)); not in JSON
    confusion: Optional[dict] = Field(None, exclude=True)


@dataclass
class GridResult:
    """The network evaluated over [−6, 6]² (or [−6, 6] for 1-D data).

    ``values``: (density, density), row 0 at x2 = +6 (as the playground draws it); for 1-D data
    (density,). Classification values are in [−1, 1] (binary: tanh output, 2p − 1, or the clipped hinge
    score; multiclass: the winning class's probability); regression values are the raw output.
    ``probabilities`` (k, d, d) and ``classes`` (d, d) are set for multiclass.
    ``neurons``: per hidden layer an array (width, thumb, thumb) (1-D data: (width, thumb)).
    """

    density: int
    thumb: int
    values: np.ndarray
    neurons: list[np.ndarray]
    probabilities: Optional[np.ndarray] = None
    classes: Optional[np.ndarray] = None
    extent: tuple[float, float] = (-GRID_EXTENT, GRID_EXTENT)
    axis: Optional[np.ndarray] = None
    meta: dict = field(default_factory=dict)

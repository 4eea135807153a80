"""The data a run trains on: generated from the config, the config's custom points, or given splits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import Config
from .datasets import DATASETS, split_train_test


@dataclass(frozen=True)
class DataSplit:
    """Host float64 points (rows × 2) and labels (rows,) for training and test."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def n_train(self) -> int:
        return len(self.y_train)

    @property
    def n_test(self) -> int:
        return len(self.y_test)

    def rows(self, split: str) -> list[list[float]]:
        """[[x1, x2, label], ...] of 'train' or 'test', as the API exchanges data."""
        x, y = (self.x_train, self.y_train) if split == "train" else (self.x_test, self.y_test)
        return np.column_stack([x, y]).tolist()

    @classmethod
    def from_rows(cls, train: list[list[float]], test: list[list[float]]) -> "DataSplit":
        """Build from [[x1, x2, label], ...] lists (test may be empty)."""
        tr = np.asarray(train, dtype=np.float64).reshape(-1, 3)
        te = np.asarray(test, dtype=np.float64).reshape(-1, 3)
        return cls(tr[:, :2].copy(), tr[:, 2].copy(), te[:, :2].copy(), te[:, 2].copy())


def data_rng(seed: int) -> np.random.Generator:
    """The stream data is drawn from: generation then the train/test split."""
    return np.random.default_rng([seed, 1])


def make_data(config: Config, seed: int) -> DataSplit:
    """Generate (or take the custom points of) ``config`` and split it by ``train_ratio`` with ``seed``."""
    rng = data_rng(seed)
    if config.dataset == "custom":
        rows = np.asarray(config.custom_points, dtype=np.float64)
        points, labels = rows[:, :2], rows[:, 2]
    else:
        spec = DATASETS[config.dataset]
        points, labels = spec.generate(rng, config.samples, config.noise / 100.0, config.n_classes)
    x_train, y_train, x_test, y_test = split_train_test(points, labels, config.train_ratio, rng)
    return DataSplit(x_train, y_train, x_test, y_test)


def check_labels(data: DataSplit, task: str, n_classes: int) -> None:
    """Raise ValueError when labels do not fit the task (±1 binary, 0..k−1 multiclass, finite reals)."""
    labels = np.concatenate([data.y_train, data.y_test])
    if data.n_train < 1:
        raise ValueError("data: the training set is empty")
    if not np.isfinite(labels).all() or not np.isfinite(data.x_train).all() or not np.isfinite(data.x_test).all():
        raise ValueError("data: NaN or infinite values")
    if task == "binary" and not np.isin(labels, (-1.0, 1.0)).all():
        raise ValueError("data: binary labels must be -1 or 1")
    if task == "multiclass" and not np.isin(labels, np.arange(n_classes)).all():
        raise ValueError(f"data: multiclass labels must be integers 0..{n_classes - 1}")

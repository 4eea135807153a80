"""Scripted runs, shared by ``POST /api/train``, background runs and ``nnplay train``.

:func:`make_trainer` validates a :class:`~nnplay.server.http.schemas.TrainRequest` against the server's limits and
builds the engine's Trainer; :class:`Progress` trains it a slice at a time with exactly the semantics of
``Trainer.train(n)`` (stop on divergence or early stopping), so a run through the server gives the same
numbers as the engine for the same seed; :func:`result_of` builds the answer.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Optional

import numpy as np

from nnplay.engine import DataSplit, EpochReport, Limits, Trainer

from ..http.schemas import TrainRequest
from ..problems import InvalidInput
from ..trainers import build_trainer


def make_trainer(request: TrainRequest, limits: Limits, device: Optional[str] = None) -> Trainer:
    """The Trainer a train request asks for (its data and initial weights included)."""
    data = None
    if request.data is not None:
        if len(request.data.train) + len(request.data.test) > limits.max_samples:
            raise InvalidInput.single("data", len(request.data.train) + len(request.data.test),
                                      "too many points", f"at most {limits.max_samples} points in all")
        data = DataSplit.from_rows(request.data.train, request.data.test)
    weights = [layer.model_dump() for layer in request.weights] if request.weights is not None else None
    return build_trainer(request.config, limits, device, data=data, weights=weights)


class Progress:
    """A run's epochs so far; :meth:`advance` trains for one turn of the engine pool (one epoch at least)."""

    def __init__(self, trainer: Trainer, epochs: int):
        self.trainer = trainer
        self.total = epochs
        self.reports: list[EpochReport] = []
        self.finished = epochs <= 0
        self.cancelled = False

    @property
    def done(self) -> int:
        return len(self.reports)

    def advance(self, turn_over: Callable[[float], bool]) -> bool:
        """Train until ``turn_over(seconds elapsed)`` says stop or the run is over; True when it is over."""
        start = time.perf_counter()
        while not self.finished and not self.cancelled:
            report = self.trainer.step_epoch()
            self.reports.append(report)
            if report.status != "ok" or len(self.reports) >= self.total:
                self.finished = True
            elif turn_over(time.perf_counter() - start):
                break
        return self.finished or self.cancelled


def finite_list(values: np.ndarray) -> list:
    """A nested list with non-finite values as None (JSON has no NaN)."""
    array = np.asarray(values, dtype=np.float64)
    if np.isfinite(array).all():
        return array.tolist()
    as_objects = array.astype(object)
    as_objects[~np.isfinite(array)] = None
    return as_objects.tolist()


def result_of(trainer: Trainer, reports: list[EpochReport], include: list[str], density: int = 100) -> dict:
    """The answer of a run (``TrainResult``'s fields)."""
    result: dict[str, Any] = {
        "status": trainer.status,
        "message": trainer.message,
        "seed": trainer.seed,
        "data_seed": trainer.data_seed,
        "init_seed": trainer.init_seed,
        "task": trainer.task,
        "sizes": list(trainer.network.sizes),
        "epochs_run": trainer.epoch,
        "config": trainer.config.model_dump(),
        "final": reports[-1].model_dump() if reports else None,
    }
    if "history" in include:
        result["history"] = [r.model_dump() for r in reports]
    if "weights" in include:
        result["weights"] = trainer.get_weights()
    if "grid" in include:
        grid = trainer.grid(density=density)
        result["grid"] = {"density": density, "values": finite_list(grid.values),
                          "classes": grid.classes.tolist() if grid.classes is not None else None}
    if "data" in include:
        result["data"] = {"train": trainer.data.rows("train"), "test": trainer.data.rows("test")}
    return result


def check_request(request: TrainRequest, max_epochs: int, limits: Limits) -> None:
    """Caps known only to the server: epochs and grid density."""
    if request.epochs > max_epochs:
        raise InvalidInput.single("epochs", request.epochs, f"at most {max_epochs} epochs (the server's cap)",
                                  f"0 to {max_epochs}", loc=("body", "epochs"))
    if "grid" in request.include and not limits.min_grid_density <= request.density <= limits.max_grid_density:
        raise InvalidInput.single("density", request.density, "grid density out of range",
                                  f"{limits.min_grid_density} to {limits.max_grid_density}", loc=("body", "density"))


def train_blocking(request: TrainRequest, limits: Limits, device: Optional[str] = None, callback=None) -> dict:
    """Run a request in this thread with the engine's own ``Trainer.train`` (the CLI's path)."""
    trainer = make_trainer(request, limits, device)
    reports = trainer.train(request.epochs, callback=callback)
    return result_of(trainer, reports, request.include, request.density)

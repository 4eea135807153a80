"""Pydantic models of the sweep routes (``/api/sweeps``): the request, one result row, a sweep, the list.

A request sweeps the engine's config over a ``grid`` (every combination of the listed values) or a
``random`` search (``samples`` combinations drawn with ``sampler_seed``), each combination over ``seeds``,
for ``epochs`` epochs, optionally with successive ``halving``. What is checked against the server's limits
(fields, values, counts) is checked by server/sweeps/plan.py before any training starts.
"""

from __future__ import annotations

from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, Field, model_validator

from ..http.schemas import ConfigJSON, Request

SweepStatus = Literal["queued", "running", "done", "cancelled", "interrupted", "failed"]
ResultStatus = Literal["pending", "running", "ok", "diverged", "early_stopped", "halved", "cancelled"]
HalvingMetric = Literal["test_loss", "train_loss", "accuracy", "r2", "rmse"]


class Distribution(Request):
    """One field of a random search: exactly one of ``log_uniform: [low, high]`` (low > 0), ``uniform: [low,
    high]`` or ``choice: [value, ...]``."""

    log_uniform: Optional[list[float]] = Field(None, min_length=2, max_length=2, description="[low, high], low > 0")
    uniform: Optional[list[float]] = Field(None, min_length=2, max_length=2, description="[low, high]")
    choice: Optional[list[Any]] = Field(None, min_length=1, description="values drawn with equal chance")

    @model_validator(mode="after")
    def _one_kind(self) -> "Distribution":
        given = [name for name in ("log_uniform", "uniform", "choice") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one distribution, got {given or 'none'}; allowed: log_uniform, uniform, "
                             "choice")
        bounds = self.log_uniform or self.uniform
        if bounds is not None and not bounds[0] <= bounds[1]:
            raise ValueError(f"[low, high] needs low <= high, got {bounds}; allowed: low <= high")
        if self.log_uniform is not None and self.log_uniform[0] <= 0:
            raise ValueError(f"log_uniform needs low > 0, got {self.log_uniform}; allowed: 0 < low <= high")
        return self


class Halving(Request):
    """Successive halving: every ``every`` epochs, the combinations still training are ranked by ``metric``
    (mean over their seeds; losses and RMSE lower is better, accuracy and R² higher) and only the best
    ``keep`` fraction (at least one) goes on; the others' runs stop with status ``halved``."""

    metric: HalvingMetric = "test_loss"
    every: int = Field(ge=1, description="epochs between two rungs")
    keep: float = Field(0.5, gt=0, lt=1, description="fraction of the combinations kept at each rung")


class SweepRequest(Request):
    """A sweep: ``config`` is the base every run starts from (an engine Config, as in POST /api/train)."""

    config: ConfigJSON = Field(default_factory=dict, description="the base config (see GET /api/options)")
    grid: Optional[dict[str, list[Any]]] = Field(
        None, description="config field -> values; every combination is run (any field but seed, "
                          "shape-changing ones included)")
    random: Optional[dict[str, Distribution]] = Field(
        None, description="config field -> distribution; `samples` combinations are drawn with `sampler_seed`")
    samples: Optional[int] = Field(None, ge=1, description="combinations a random search draws")
    sampler_seed: int = Field(0, ge=0, description="seed of the random search's sampler (reproducible draws)")
    seeds: Union[int, list[int]] = Field(1, description="how many seeds (0, 1, …, or config.seed onwards) or "
                                         "the list of seeds each combination runs with")
    epochs: int = Field(ge=1, description="epochs per run (capped by the server's max_epochs)")
    halving: Optional[Halving] = None

    @model_validator(mode="after")
    def _one_search(self) -> "SweepRequest":
        if self.grid is not None and self.random is not None:
            raise ValueError("give grid or random, not both; allowed: one of them (or neither: one combination)")
        if self.random is not None and self.samples is None:
            raise ValueError("random needs samples; allowed: a number of combinations to draw, at least 1")
        if self.random is None and self.samples is not None:
            raise ValueError("samples goes with random; allowed: samples with random (a grid runs every combination)")
        return self


class HistoryPoint(BaseModel):
    epoch: int
    train_loss: Optional[float]
    test_loss: Optional[float]


class SweepResult(BaseModel):
    """One run of a sweep: a combination (``overrides`` of the base config) with one seed."""

    index: int = Field(description="combination index × seeds + seed position")
    combination: int = Field(description="index into the sweep's combinations")
    overrides: dict[str, Any]
    seed: int
    status: ResultStatus
    epochs_run: int = 0
    train_loss: Optional[float] = None
    test_loss: Optional[float] = None
    accuracy: Optional[float] = Field(None, description="test accuracy (classification)")
    r2: Optional[float] = Field(None, description="test R² (regression)")
    rmse: Optional[float] = Field(None, description="test RMSE (regression)")
    link: str = Field(description="the playground link that opens this run, seed included")
    history: Optional[list[HistoryPoint]] = Field(None, description="per-epoch losses, with ?history=1")


class SweepInfo(BaseModel):
    """A sweep with its results so far (``pending`` rows for runs not trained yet)."""

    id: str
    status: SweepStatus
    created: float = Field(description="Unix time")
    finished: Optional[float] = None
    error: Optional[str] = None
    done: int = Field(description="runs finished (any final status)")
    total: int = Field(description="runs in the sweep")
    epochs: int
    model_epochs: int = Field(description="epochs trained so far, summed over runs")
    fields: list[str] = Field(description="the swept config fields")
    seeds: list[int]
    request: dict[str, Any] = Field(description="the request as posted")
    combinations: list[dict[str, Any]] = Field(description="each combination's values of the swept fields")
    offset: int = Field(0, description="the index of the page's first run")
    limit: int = Field(description="the page's size asked for (the last page may hold fewer runs)")
    next: Optional[str] = Field(None, description="the path of the next page (same limit and history); null on the "
                                "last page")
    results: list[SweepResult] = Field(description="runs offset to offset + limit, in index order")


class SweepAccepted(BaseModel):
    id: str
    status: SweepStatus
    total: int
    combinations: list[dict[str, Any]]


class SweepSummary(BaseModel):
    id: str
    status: SweepStatus
    done: int
    total: int
    created: float
    fields: list[str]


class SweepList(BaseModel):
    sweeps: list[SweepSummary]

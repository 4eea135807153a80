"""Pydantic models of every REST request and response (they make up the OpenAPI schema at ``/docs``).

Requests forbid unknown keys and NaN/inf. ``config`` is taken as a plain object and validated by the engine
against the server's limits (``Config`` alone would apply the engine's default limits); its schema in
OpenAPI is still Config's.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, model_serializer, model_validator

from nnplay.engine import Config, EpochReport
from nnplay.engine.config import FLOAT32_MAX

ConfigJSON = Annotated[dict[str, Any], WithJsonSchema(Config.model_json_schema(mode="validation"))]


def _within_float32(value: float) -> float:
    if abs(value) > FLOAT32_MAX:
        raise ValueError(f"{value!r} is beyond float32's range; allowed: a number within ±{FLOAT32_MAX:.7g}")
    return value


# a number the engine stores as float32 (a larger one would become infinite there)
Float32 = Annotated[float, AfterValidator(_within_float32),
                    Field(json_schema_extra={"minimum": -FLOAT32_MAX, "maximum": FLOAT32_MAX})]
Row = Annotated[list[Float32], Field(min_length=3, max_length=3, description="[x1, x2, label]")]
Include = Literal["history", "weights", "grid", "data"]
RunStatus = Literal["running", "done", "failed", "cancelled"]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


# ---- shared pieces ---------------------------------------------------------------------------------------
class NormWeights(Request):
    """A normalized hidden layer's state, what torch's BatchNorm1d / LayerNorm after its Linear holds: ``gamma``
    and ``beta`` (fan_out each), and for batch norm ``running_mean`` and ``running_var`` (fan_out each)."""

    kind: Literal["batch", "layer"]
    gamma: list[Float32]
    beta: list[Float32]
    running_mean: Optional[list[Float32]] = None
    running_var: Optional[list[Float32]] = None

    @model_serializer(mode="wrap")
    def _without_absent(self, handler: Any) -> dict[str, Any]:
        return {key: value for key, value in handler(self).items() if value is not None}  # layer norm: no estimates


class LayerWeights(Request):
    """One layer in PyTorch's layout: ``W`` (fan_out × fan_in) and ``b`` (fan_out); a normalized hidden layer
    may carry its ``norm`` (without it, γ, β and running estimates stay as they are)."""

    W: list[list[Float32]]
    b: list[Float32]
    norm: Optional[NormWeights] = None

    @model_serializer(mode="wrap")
    def _without_empty_norm(self, handler: Any) -> dict[str, Any]:
        data = handler(self)  # a layer without normalization reads as before: {W, b}
        if data.get("norm") is None:
            data.pop("norm", None)
        return data

    @model_validator(mode="after")
    def _rectangular(self) -> "LayerWeights":
        widths = {len(row) for row in self.W}
        if len(widths) > 1:
            raise ValueError(f"W: every row needs the same number of columns (fan_in), got rows of "
                             f"{sorted(widths)}; allowed: a fan_out × fan_in matrix")
        return self


class DataRows(Request):
    """Points as ``[[x1, x2, label], ...]``; ``test`` may be empty."""

    train: list[Row] = Field(min_length=1)
    test: list[Row] = Field(default_factory=list)


class GridOut(BaseModel):
    """The output over [−6, 6]²: ``values`` rows from x2 = +6 down (1-D data: one row); null = not finite."""

    density: int
    values: Union[list[list[Optional[float]]], list[Optional[float]]]
    classes: Optional[list[list[int]]] = Field(None, description="multiclass: the winning class per cell")


# ---- POST /api/train, /api/runs -------------------------------------------------------------------------
class TrainRequest(Request):
    """A scripted run: the engine's config, the number of epochs, optional data and initial weights."""

    config: ConfigJSON = Field(default_factory=dict, description="an engine Config (see GET /api/options)")
    epochs: int = Field(ge=0, description="epochs to train (capped by the server's max_epochs); 0 gives the "
                                          "data and the initial weights without training")
    data: Optional[DataRows] = Field(None, description="replaces the generated dataset")
    weights: Optional[list[LayerWeights]] = Field(None, description="initial weights, PyTorch layout")
    include: list[Include] = Field(default_factory=lambda: ["history", "weights"],
                                   description="what the answer carries besides the summary")
    density: int = Field(100, description="grid density when 'grid' is included")


class TrainResult(BaseModel):
    """What a run produced. Deterministic for a given config seed."""

    status: Literal["ok", "diverged", "early_stopped"]
    message: str
    seed: int
    data_seed: int
    init_seed: int
    task: str
    sizes: list[int]
    epochs_run: int = Field(description="epochs whose result is kept (a diverged epoch is undone)")
    config: dict[str, Any] = Field(description="the normalised config")
    final: Optional[EpochReport] = Field(None, description="the last epoch's report")
    history: Optional[list[EpochReport]] = None
    weights: Optional[list[LayerWeights]] = None
    grid: Optional[GridOut] = None
    data: Optional[DataRows] = None


class RunInfo(BaseModel):
    """A background run: progress while it trains, the result once done (kept for ``run_ttl`` seconds)."""

    id: str
    status: RunStatus
    epochs_done: int
    epochs_total: int
    created: float = Field(description="Unix time")
    finished: Optional[float] = None
    error: Optional[str] = None
    result: Optional[TrainResult] = None


class RunList(BaseModel):
    runs: list[RunInfo]


# ---- GET /api/health ---------------------------------------------------------------------------------------
class Capacity(BaseModel):
    sessions: int = Field(description="live sessions this instance takes (max_sessions)")
    runs: int = Field(description="background runs it trains at once (max_background_runs)")


class WorkerHealth(BaseModel):
    index: int = Field(description="the worker's slot; a replacement takes the slot of the worker it replaces")
    pid: int
    state: Literal["starting", "ready", "unresponsive", "stopping", "dead"]
    sessions: int = Field(description="live sessions training in it")
    restarts: int = Field(description="workers replaced in this slot since the server started")
    last_exit: Optional[str] = Field(description="how the last worker replaced in this slot ended, e.g. "
                                     "'did not answer for 5.4 s (killed by SIGKILL)'")


class Health(BaseModel):
    status: Literal["ready", "degraded", "draining"] = Field(
        description="ready: takes new sessions and runs; degraded: still takes them (HTTP 200), but an engine "
                    "worker is not ready (starting after a crash or a hang; its sessions wait for it); draining: "
                    "shutting down, send new work elsewhere (HTTP 503)")
    version: str
    sessions: int = Field(description="live WebSocket sessions")
    runs: int = Field(description="background runs training now")
    capacity: Capacity
    device: str
    workers: list[WorkerHealth] = Field(description="the engine workers of the live sessions")


# ---- GET /api/options --------------------------------------------------------------------------------------
class Named(BaseModel):
    name: str
    label: str


class DatasetOption(Named):
    description: str
    task: Optional[str] = Field(description="binary, multiclass, regression; null for custom (from the labels)")
    dims: int
    default_samples: int


class FeatureOption(Named):
    url_key: str
    dims: int = Field(description="0: any data, 1: 1-D data only, 2: 2-D data only")
    thumbnail: list[float] = Field(description="values at the centres of a 10×10 tiling of [−6, 6]², row 0 at x2 = +6")


class FormulaRequest(BaseModel):
    """A feature to describe: a registry name or a formula over x1 and x2."""

    model_config = ConfigDict(extra="forbid")

    formula: str = Field(description="e.g. 'x1*x2', 'sin(x1*x2)', 'sqrt(x1^2 + x2^2)'")


class LossOption(Named):
    tasks: list[str]


class OptimizerOption(Named):
    params: dict[str, float] = Field(description="hyper-parameters and their defaults")


class ScheduleOption(Named):
    params: list[str] = Field(description="the config fields it reads")


class InitializerOption(Named):
    description: str


class Options(BaseModel):
    """Every choice with its allowed values, ranges and defaults, from the engine's registries."""

    version: str
    datasets: list[DatasetOption]
    features: list[FeatureOption]
    formulas: dict[str, Any] = Field(description="what a feature formula may use: variables, constants, "
                                     "operators, functions (with their number of arguments)")
    activations: list[Named]
    normalizations: list[Named] = Field(description="what a hidden layer may do between its product and its "
                                        "activation (config normalization)")
    losses: list[LossOption]
    regularizations: list[Named]
    optimizers: list[OptimizerOption]
    schedules: list[ScheduleOption]
    initializers: list[InitializerOption]
    fields: dict[str, dict[str, Any]] = Field(description="each Config field's JSON schema")
    defaults: dict[str, Any]
    limits: dict[str, int]
    server_limits: dict[str, float]
    live_fields: list[str]
    menus: dict[str, list[float]]
    view: dict[str, float] = Field(description="view defaults (speed, fps, density, thumb), the feature "
                                   "thumbnail size, the input extent (the domain is [−extent, extent]²) and "
                                   "the compare view's variant limits")
    output_units: dict[str, Union[int, str]] = Field(description="output units per task: a number, or the "
                                                     "config field that gives it")
    palette: dict[str, Any] = Field(description="the colours of every picture of a run (server/options.py)")
    devices: list[str]

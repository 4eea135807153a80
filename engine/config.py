"""The run configuration: one pydantic model, the same JSON for the engine, the REST API and the page.

Field names are the public contract. Choices are Literal types built from the registries, so a bad value
is rejected with the allowed names, and the OpenAPI schema lists them. Limits (layers, neurons, samples)
are not hard-coded: pass ``Limits`` through the validation context to change them::

    Config.model_validate(data, context={"limits": Limits(max_layers=20)})
"""

from __future__ import annotations

import math
from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from .activations import ACTIVATIONS
from .backend import DEVICES
from .datasets import DATASETS, train_count
from .features import FEATURES, features_for, resolve_feature
from .formulas import FormulaError
from .initializers import INITIALIZERS
from .losses import LOSSES, losses_for
from .normalization import NORMALIZATIONS
from .optimizers import OPTIMIZERS, common_default, default_text
from .regularizers import REGULARIZERS
from .schedules import SCHEDULES

FLOAT32_MAX = 3.4028234663852886e38  # np.finfo(np.float32).max: data and weights are stored as float32


def _literal(names):
    return Literal[tuple(names)]  # type: ignore[valid-type]


ActivationName = _literal(ACTIVATIONS)
DatasetName = _literal(DATASETS)
FeatureName = _literal(FEATURES)
InitName = _literal(INITIALIZERS)
LossName = _literal(LOSSES)
NormalizationName = _literal(NORMALIZATIONS)
OptimizerName = _literal(OPTIMIZERS)
RegularizationName = _literal(REGULARIZERS)
ScheduleName = _literal(SCHEDULES)
DeviceName = _literal(DEVICES)
Problem = Literal["classification", "regression"]


class Limits(BaseModel):
    """Size limits a config must respect; the server makes them configurable."""

    model_config = ConfigDict(extra="forbid")

    max_layers: int = Field(10, ge=0)
    max_neurons: int = Field(32, ge=1)
    min_samples: int = Field(20, ge=2)
    max_samples: int = Field(5000, ge=2)
    max_batch_size: int = Field(5000, ge=1)
    min_grid_density: int = Field(10, ge=2)
    max_grid_density: int = Field(200, ge=2)
    max_features: int = Field(16, ge=1, description="input features of a run, names and formulas together")
    max_formula_length: int = Field(100, ge=1, description="characters of one feature formula")


DEFAULT_LIMITS = Limits()


def _limits(info: ValidationInfo) -> Limits:
    context = info.context or {}
    return context.get("limits") or DEFAULT_LIMITS


class Config(BaseModel):
    """Everything that defines a run. Defaults are TensorFlow Playground's."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_assignment=False)

    problem: Problem = "classification"
    dataset: DatasetName = "circle"
    n_classes: int = Field(3, ge=3, le=6, description="classes of the multiclass datasets and custom data")
    n_samples: Optional[int] = Field(None, description="points to generate; default 500 (regression 1200)")
    noise: float = Field(0, ge=0, le=50, description="percent, as the playground")
    train_ratio: float = Field(0.5, ge=0.1, le=0.9)
    seed: Optional[int] = Field(None, ge=0, lt=2**32, description="random if absent, then reported")
    custom_points: Optional[list[list[float]]] = Field(
        None, description="[[x1, x2, label], ...] for dataset 'custom'"
    )
    features: list[Union[FeatureName, str]] = Field(
        default_factory=lambda: ["x1", "x2"], min_length=1,
        description="feature names, or formulas over x1 and x2 such as 'x1*x2' or 'sqrt(x1^2+x2^2)'")
    standardize: bool = Field(False, description="scale each input feature to zero mean and unit variance "
                                                 "by the training set's statistics (as StandardScaler)")
    hidden: list[int] = Field(default_factory=lambda: [4, 2])
    activation: Union[ActivationName, list[ActivationName]] = "tanh"
    normalization: Union[NormalizationName, list[NormalizationName]] = Field(
        "none", description="hidden layers: Linear → norm → activation; one name, or one per hidden layer")
    loss: LossName = "square"
    regularization: RegularizationName = "none"
    reg_rate: float = Field(0, ge=0)
    l1_ratio: float = Field(0.5, ge=0, le=1, description="elastic net: share of L1 in the penalty")
    dropout: float = Field(0, ge=0, le=0.9)
    optimizer: OptimizerName = "sgd"
    learning_rate: float = Field(0.03, gt=0)
    momentum: float = Field(common_default("momentum"), ge=0, lt=1)
    beta1: float = Field(common_default("beta1"), ge=0, lt=1)
    beta2: float = Field(common_default("beta2"), ge=0, lt=1)
    alpha: float = Field(common_default("alpha"), ge=0, lt=1, description="RMSprop smoothing constant")
    eps: Optional[float] = Field(None, gt=0, description=default_text("eps"))
    weight_decay: Optional[float] = Field(None, ge=0, description=default_text("weight_decay"))
    lr_schedule: ScheduleName = "constant"
    lr_step_size: int = Field(100, ge=1, description="step: epochs between decays")
    lr_gamma: float = Field(0.5, gt=0, le=1, description="step / exponential: decay factor")
    lr_t_max: int = Field(500, ge=1, description="cosine: epochs of the half period")
    lr_eta_min: float = Field(0, ge=0, description="cosine: the lowest rate")
    batch_size: int = Field(10, ge=1, description="larger than the training set means full batch")
    shuffle: bool = False
    init: InitName = "playground"
    early_stopping: Optional[int] = Field(None, ge=1, description="patience in epochs on test loss; off if absent")
    device: Optional[DeviceName] = Field(None, description="cpu or gpu; default: $NNPLAY_DEVICE or cpu")

    # ---- field checks that need the limits -------------------------------------------------------
    @field_validator("hidden")
    @classmethod
    def _check_hidden(cls, hidden: list[int], info: ValidationInfo) -> list[int]:
        limits = _limits(info)
        if len(hidden) > limits.max_layers:
            raise ValueError(f"at most {limits.max_layers} hidden layers, got {len(hidden)}")
        for width in hidden:
            if not 1 <= width <= limits.max_neurons:
                raise ValueError(f"each layer has 1 to {limits.max_neurons} neurons, got {width}")
        return hidden

    @field_validator("features")
    @classmethod
    def _check_features(cls, features: list[str], info: ValidationInfo) -> list[str]:
        """Limits first (count, length), then each formula parsed; the same text twice is refused."""
        limits = _limits(info)
        if len(features) > limits.max_features:
            raise ValueError(f"at most {limits.max_features} features, got {len(features)}")
        features = [f.strip() for f in features]
        for text in features:
            if len(text) > limits.max_formula_length:
                raise ValueError(f"a formula has at most {limits.max_formula_length} characters, got "
                                 f"{len(text)} in {text[:40]!r}...")
            try:
                resolve_feature(text)
            except FormulaError as exc:
                raise ValueError(_formula_problem(exc)) from None
        repeated = sorted({f for f in features if features.count(f) > 1})
        if repeated:
            raise ValueError(f"each feature may appear once, got {', '.join(map(repr, repeated))} more than once")
        return features

    @field_validator("batch_size")
    @classmethod
    def _check_batch(cls, batch_size: int, info: ValidationInfo) -> int:
        limit = _limits(info).max_batch_size
        if batch_size > limit:
            raise ValueError(f"batch_size is at most {limit}, got {batch_size}")
        return batch_size

    @field_validator("custom_points")
    @classmethod
    def _check_points(cls, points: Optional[list[list[float]]], info: ValidationInfo):
        if points is None:
            return points
        limit = _limits(info).max_samples
        if len(points) > limit:
            raise ValueError(f"at most {limit} points, got {len(points)}")
        for i, row in enumerate(points):
            if len(row) != 3:
                raise ValueError(f"point {i} must be [x1, x2, label], got {len(row)} values")
            if not all(math.isfinite(v) for v in row):
                raise ValueError(f"point {i} has a NaN or infinite value")
            if not all(abs(v) <= FLOAT32_MAX for v in row):
                raise ValueError(f"point {i} has a value beyond float32's range (±{FLOAT32_MAX:.7g})")
        return points

    # ---- checks across fields ----------------------------------------------------------------------
    @model_validator(mode="after")
    def _check_combination(self, info: ValidationInfo) -> "Config":
        limits = _limits(info)
        spec = DATASETS[self.dataset]
        if spec.task is not None and (spec.task == "regression") != (self.problem == "regression"):
            fitting = [n for n, d in DATASETS.items() if d.task is None or _fits(d.task, self.problem)]
            raise ValueError(
                f"dataset: {self.dataset!r} is a {spec.task} dataset and does not fit problem "
                f"{self.problem!r}; allowed: {', '.join(fitting)}"
            )
        task = self.task
        if task not in LOSSES[self.loss]:
            raise ValueError(f"loss: {self.loss!r} does not apply to {task}; allowed: {', '.join(losses_for(task))}")
        allowed = features_for(self.dims)
        wrong = [f for f in self.features if resolve_feature(f).dims not in (0, self.dims)]
        if wrong:
            raise ValueError(f"features: {', '.join(wrong)} do not apply to {self.dims}-D data; allowed: "
                             f"{', '.join(allowed)}, or formulas of x1 only")
        if isinstance(self.activation, list) and len(self.activation) != len(self.hidden):
            raise ValueError(
                f"activation: a list needs one name per hidden layer ({len(self.hidden)}), got {len(self.activation)}"
            )
        if isinstance(self.normalization, list) and len(self.normalization) != len(self.hidden):
            raise ValueError(f"normalization: a list needs one name per hidden layer ({len(self.hidden)}), "
                             f"got {len(self.normalization)}")
        if self.dataset == "custom":
            self._check_custom(task)
        elif self.dataset != "poly_demo":  # the default count too: a server may allow fewer points than 500
            if not limits.min_samples <= self.samples <= limits.max_samples:
                given = "" if self.n_samples is not None else " (the dataset's default; set n_samples)"
                raise ValueError(
                    f"n_samples: must be between {limits.min_samples} and {limits.max_samples}, "
                    f"got {self.samples}{given}")
        check_batches(self, train_count(self.samples, self.train_ratio))
        return self

    def _check_custom(self, task: str) -> None:
        if not self.custom_points or len(self.custom_points) < 2:
            raise ValueError("custom_points: dataset 'custom' needs at least 2 points [[x1, x2, label], ...]")
        labels = {row[2] for row in self.custom_points}
        if task == "multiclass":
            wrong = sorted(v for v in labels if v not in range(self.n_classes))
            if wrong:
                raise ValueError(
                    f"custom_points: multiclass labels must be integers 0..{self.n_classes - 1} "
                    f"(n_classes = {self.n_classes}), got {wrong[:5]}"
                )

    # ---- derived values ----------------------------------------------------------------------------
    @property
    def task(self) -> str:
        """'binary', 'multiclass' or 'regression'. Custom classification data with labels all ±1 is binary,
        any other labels make it multiclass (0..n_classes−1)."""
        spec = DATASETS[self.dataset]
        if spec.task is not None:
            return spec.task
        if self.problem == "regression":
            return "regression"
        labels = {row[2] for row in self.custom_points or []}
        return "binary" if labels <= {-1.0, 1.0} else "multiclass"

    @property
    def dims(self) -> int:
        return DATASETS[self.dataset].dims

    @property
    def samples(self) -> int:
        """The number of points the dataset will have."""
        if self.dataset == "custom":
            return len(self.custom_points or [])
        spec = DATASETS[self.dataset]
        if self.dataset == "poly_demo":
            return spec.default_samples
        return self.n_samples or spec.default_samples

    @property
    def activations(self) -> list[str]:
        """One activation name per hidden layer."""
        if isinstance(self.activation, list):
            return list(self.activation)
        return [self.activation] * len(self.hidden)

    @property
    def normalizations(self) -> list[str]:
        """One normalization name per hidden layer."""
        if isinstance(self.normalization, list):
            return list(self.normalization)
        return [self.normalization] * len(self.hidden)

    def optimizer_params(self) -> dict[str, Any]:
        """The hyper-parameters of the chosen optimiser (None = torch's default)."""
        given = {"momentum": self.momentum, "beta1": self.beta1, "beta2": self.beta2, "alpha": self.alpha,
                 "eps": self.eps, "weight_decay": self.weight_decay}
        return {k: given[k] for k in OPTIMIZERS[self.optimizer].params}

    def schedule_params(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in SCHEDULES[self.lr_schedule].params}


def _formula_problem(exc: FormulaError) -> str:
    """A bad formula's message; a lone unknown word is more likely a mistyped feature name than a formula."""
    word = exc.formula.replace("_", "a").isalnum() and not exc.formula[:1].isdigit()
    if word:
        names = ", ".join(map(repr, FEATURES))
        return f"unknown feature {exc.formula!r}; allowed: {names}, or a formula such as 'x1*x2'"
    return str(exc)

def check_batches(config: "Config", n_train: int) -> None:
    """Batch norm in training mode needs two rows a batch, as torch's BatchNorm1d (whose variance over one
    row is undefined): no mini-batch of the epoch, the last partial one included, may have a single row."""
    if "batch" not in config.normalizations:
        return
    batch = min(config.batch_size, n_train)
    if batch < 2 or n_train % batch == 1:
        raise ValueError(
            f"batch_size: {config.batch_size} leaves a mini-batch of one row (training set {n_train} rows), "
            "which batch normalization cannot normalize (as torch's BatchNorm1d refuses it); "
            "pick a batch_size of at least 2 whose last batch has 2 rows or more")


def _fits(task: str, problem: str) -> bool:
    return (task == "regression") == (problem == "regression")

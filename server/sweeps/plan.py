"""A sweep request checked and expanded into runs, before any training starts.

:func:`make_plan` checks the request against the server's :class:`SweepLimits` and the engine's config
validation (422 naming the field, the value and what is allowed: an unknown grid field, a value the engine
refuses, a combination that does not fit together, a count over a limit), draws a random search's
combinations with its sampler seed, and lists every run: combination ``c`` with seed position ``j`` is run
``c × len(seeds) + j`` and its config is ``{**config, **combination, "seed": seed}`` — the config a lone
``POST /api/train`` with the same seed would get.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import product
from typing import Any, Optional

import numpy as np
from pydantic import ValidationError

from nnplay.engine import Config, Limits, validate_config

from ..problems import InvalidInput, describe
from ..trainers import with_device
from .schemas import Distribution, SweepRequest

CONFIG_FIELDS = frozenset(Config.model_fields)
NOT_SWEPT = frozenset({"seed"})  # seeds have their own key: every combination runs with each of them


@dataclass(frozen=True)
class SweepLimits:
    """What one sweep may ask for (settings max_sweep_runs, max_sweep_model_epochs, max_epochs) and the
    engine's limits and default device its configs are checked against."""

    max_runs: int
    max_model_epochs: int
    max_epochs: int
    engine: Limits
    device: Optional[str] = None

    @classmethod
    def of(cls, settings: Any) -> "SweepLimits":
        """The limits of a server's ``Settings`` (``SweepLimits.of(Settings())``: the defaults and ``NNPLAY_*``)."""
        return cls(settings.max_sweep_runs, settings.max_sweep_model_epochs, settings.max_epochs, settings.limits(),
                   settings.device)


@dataclass(frozen=True)
class Plan:
    """A checked sweep: its combinations, seeds and each run's config (in run order)."""

    request: SweepRequest
    fields: list[str]
    combinations: list[dict[str, Any]]
    seeds: list[int]
    configs: list[dict[str, Any]]

    @property
    def total(self) -> int:
        return len(self.configs)

    def run_of(self, index: int) -> tuple[int, int]:
        """(combination index, seed) of run ``index``."""
        return index // len(self.seeds), self.seeds[index % len(self.seeds)]


def make_plan(request: SweepRequest | dict, limits: SweepLimits) -> Plan:
    """The request's :class:`Plan`, or :class:`InvalidInput` for the first thing wrong with it."""
    if not isinstance(request, SweepRequest):
        try:
            request = SweepRequest.model_validate(request)
        except ValidationError as exc:
            raise InvalidInput(describe(exc)) from None
    if request.epochs > limits.max_epochs:
        raise _bad("epochs", request.epochs, f"at most {limits.max_epochs} epochs (the server's max_epochs)",
                   f"1 to {limits.max_epochs}")
    swept = request.grid if request.grid is not None else (request.random or {})
    _check_fields(swept, "grid" if request.grid is not None else "random")
    seeds = _seeds(request)
    combinations = _combinations(request)
    _check_counts(request, len(combinations) * len(seeds), limits)
    base = with_device(request.config, limits.device)
    tasks = _check_values(base, request, combinations, limits.engine)
    _check_metric(request, tasks)
    configs = [{**base, **combo, "seed": seed} for combo in combinations for seed in seeds]
    return Plan(request, list(swept), combinations, seeds, configs)


def _bad(field: str, value: Any, message: str, allowed: Optional[str] = None, *loc: Any) -> InvalidInput:
    return InvalidInput.single(field, value, message, allowed, loc=("body", field, *loc))


def _check_fields(swept: dict[str, Any], key: str) -> None:
    for name, values in swept.items():
        if name in NOT_SWEPT:
            raise _bad(key, name, f"{key}.{name}: seeds are swept with the key 'seeds' (a count or a list)",
                       "any config field but seed", name)
        if name not in CONFIG_FIELDS:
            raise _bad(key, name, f"{key}.{name}: not a config field", ", ".join(sorted(CONFIG_FIELDS - NOT_SWEPT)),
                       name)
        if key == "grid" and not values:
            raise _bad(key, values, f"grid.{name}: needs at least one value", "a non-empty list", name)


def _seeds(request: SweepRequest) -> list[int]:
    if isinstance(request.seeds, int):
        if request.seeds < 1:
            raise _bad("seeds", request.seeds, "at least one seed", "a count ≥ 1 or a list of seeds")
        first = request.config.get("seed") or 0
        seeds = list(range(first, first + request.seeds))
    else:
        seeds = list(request.seeds)
        if not seeds or len(set(seeds)) != len(seeds):
            raise _bad("seeds", seeds, "the list needs at least one seed, each once", "distinct integers")
    bad = [s for s in seeds if not 0 <= s < 2**32]
    if bad:
        raise _bad("seeds", bad[0], "a seed out of range", "0 ≤ seed < 2**32")
    return seeds


def _combinations(request: SweepRequest) -> list[dict[str, Any]]:
    if request.grid is not None:
        names = list(request.grid)
        return [dict(zip(names, values, strict=True)) for values in product(*request.grid.values())]
    if request.random is not None:
        rng = np.random.default_rng(request.sampler_seed)
        return [{name: _draw(rng, spec) for name, spec in request.random.items()} for _ in range(request.samples or 0)]
    return [{}]


def _draw(rng: np.random.Generator, spec: Distribution) -> Any:
    """One value of a random search's field (log_uniform: exp of a uniform draw between the logs)."""
    if spec.log_uniform is not None:
        low, high = spec.log_uniform
        return float(math.exp(rng.uniform(math.log(low), math.log(high))))
    if spec.uniform is not None:
        return float(rng.uniform(*spec.uniform))
    assert spec.choice is not None
    return spec.choice[int(rng.integers(len(spec.choice)))]


def _check_counts(request: SweepRequest, runs: int, limits: SweepLimits) -> None:
    if runs > limits.max_runs:
        raise _bad("max_sweep_runs", runs, f"max_sweep_runs: the sweep has {runs} runs (combinations × seeds), more "
                   f"than the server's limit", f"at most {limits.max_runs} runs")
    model_epochs = runs * request.epochs
    if model_epochs > limits.max_model_epochs:
        raise _bad("max_sweep_model_epochs", model_epochs, f"max_sweep_model_epochs: {runs} runs × "
                   f"{request.epochs} epochs = {model_epochs} model-epochs, more than the server's limit",
                   f"at most {limits.max_model_epochs} model-epochs")


def _check_values(base: dict[str, Any], request: SweepRequest, combinations: list[dict[str, Any]],
                  limits: Limits) -> set[str]:
    """Each combination's config through the engine's validation (a seed stands in: seeds never make a
    config invalid); the tasks they are. The first refusal names the combination's values."""
    seen: set[str] = set()
    tasks: set[str] = set()
    for combo in combinations:
        key = repr(sorted(combo.items(), key=lambda item: item[0]))
        if key in seen:
            continue
        seen.add(key)
        try:
            tasks.add(validate_config({**base, **combo, "seed": 0}, limits).task)
        except ValidationError as exc:
            problems = describe(exc, ("body", "config"), config_level=True)
            where = ", ".join(f"{name}={value!r}" for name, value in combo.items())
            for item in problems:
                swept = item["field"] in combo
                item["loc"] = ["body", "grid" if request.grid is not None else "random", item["field"]] if swept \
                    else item["loc"]
                item["message"] = f"{item['message']} (in the combination {where})" if where else item["message"]
            raise InvalidInput(problems) from None
    return tasks


METRIC_TASKS = {"accuracy": {"binary", "multiclass"}, "r2": {"regression"}, "rmse": {"regression"}}


def _check_metric(request: SweepRequest, tasks: set[str]) -> None:
    """Halving's metric must exist for every run (accuracy for classification, r2 and rmse for regression)."""
    if request.halving is None or request.halving.metric not in METRIC_TASKS:
        return
    metric, fits = request.halving.metric, METRIC_TASKS[request.halving.metric]
    if not tasks <= fits:
        allowed = ["test_loss", "train_loss", *(m for m, t in METRIC_TASKS.items() if tasks <= t)]
        raise InvalidInput.single("metric", metric, f"halving.metric: {metric} is not reported for "
                                  f"{', '.join(sorted(tasks - fits))} runs", ", ".join(allowed),
                                  loc=("body", "halving", "metric"))

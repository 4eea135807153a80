"""Side-by-side runs: 2–4 variants of one setup on the same data, from the same initial weights.

Typical uses: an optimiser race (SGD, momentum, RMSprop, Adam), an initialiser comparison, L2 on/off.
Variants are the base config with a few training or network fields overridden: they share the base run's
data, so :func:`check_overrides` refuses the data-defining fields (the one rule for ``POST /api/compare``
and the live session's compare mode), and they start from the base run's initial weights whenever their
network has the same shape (and the variant does not change ``init``). Variants that share
a :func:`~nnplay.engine.group.signature` (an optimiser race, an L2 sweep) train as one :class:`TrainerGroup`.
"""

from __future__ import annotations

from typing import Any, Optional

from .config import Config, Limits
from .group import TrainerGroup, signature
from .reports import EpochReport
from .trainer import Trainer, validate_config

MIN_VARIANTS, MAX_VARIANTS = 2, 4
DATA_FIELDS = ("problem", "dataset", "n_classes", "n_samples", "noise", "train_ratio", "seed", "custom_points")


def share_weights(trainer: Trainer, source: Trainer) -> None:
    """Give ``trainer`` the layer weights of ``source`` (a network of the same sizes). The normalization
    parameters (γ, β after the blocks) stay the trainer's own: variants may normalize differently."""
    blocks = trainer.network.offsets[-1]
    trainer.network.params[:blocks] = source.network.params[:blocks]


def fitting_weights(weights: list[dict], trainer: Trainer) -> list[dict]:
    """``weights`` (as ``Trainer.get_weights`` gives them) for a variant of the same sizes: a layer's "norm"
    entry goes along only where the variant normalizes that layer the same way."""
    kinds = [norm.name if norm is not None else "none" for norm in trainer.network.norms] + ["none"]
    return [layer if (layer.get("norm") or {}).get("kind", kind) == kind
            else {k: v for k, v in layer.items() if k != "norm"} for layer, kind in zip(weights, kinds)]


class Comparison:
    """Several Trainers that differ only by ``overrides``; ``labels`` name them (default: the overrides)."""

    def __init__(self, base: Config | dict, overrides: list[dict[str, Any]], labels: Optional[list[str]] = None,
                 limits: Optional[Limits] = None):
        if not MIN_VARIANTS <= len(overrides) <= MAX_VARIANTS:
            raise ValueError(f"variants: {MIN_VARIANTS} to {MAX_VARIANTS} are compared, got {len(overrides)}")
        if labels is not None and len(labels) != len(overrides):
            raise ValueError(f"labels: one per variant ({len(overrides)}), got {len(labels)}")
        check_overrides(overrides)
        base_config = validate_config(base, limits)
        reference = Trainer(base_config, limits=limits)
        base_config = base_config.model_copy(update={"seed": reference.seed})
        base_dump = base_config.model_dump()
        self.trainers: list[Trainer] = []
        for changes in overrides:
            config = validate_config({**base_dump, **changes}, limits)
            trainer = Trainer(config, data=reference.data, limits=limits)
            trainer.explicit_data = False  # regenerating a variant alone is allowed, from its own config
            if trainer.network.sizes == reference.network.sizes and config.init == base_config.init:
                share_weights(trainer, reference)
            self.trainers.append(trainer)
        self.base = base_config
        self.overrides = overrides
        self.labels = labels or [describe(changes) for changes in overrides]
        self._signatures: list = []

    def _regroup(self) -> None:
        """Put the variants of one signature into one TrainerGroup (again after a live change moved one)."""
        signatures = [signature(t) for t in self.trainers]
        if signatures == self._signatures:
            return
        by_signature: dict = {}
        for trainer, sig in zip(self.trainers, signatures):
            by_signature.setdefault(sig, []).append(trainer)
        for runs in by_signature.values():
            if len(runs) > 1:
                TrainerGroup.of(runs)
            elif runs[0].group is not None:
                runs[0].group.remove(runs[0])
        self._signatures = signatures

    def _step(self, trainers: list[Trainer]) -> dict[int, EpochReport]:
        """One epoch of ``trainers``, a stacked step per group; reports by ``id`` of the trainer."""
        self._regroup()
        reports: dict[int, EpochReport] = {}
        groups = {id(t.group): t.group for t in trainers if t.group is not None}
        for group in groups.values():
            chosen = [t for t in trainers if t.group is group]
            reports.update(zip(map(id, chosen), group.step_epoch(chosen, gradients=True)))
        for trainer in trainers:
            if trainer.group is None:
                reports[id(trainer)] = trainer.step_epoch()
        return reports

    def __repr__(self) -> str:
        return f"Comparison({', '.join(self.labels)}; epoch={self.epoch})"

    @property
    def epoch(self) -> int:
        return max(t.epoch for t in self.trainers)

    def step_epoch(self) -> list[EpochReport]:
        """One epoch of every variant still running (a diverged or early-stopped one waits)."""
        reports = self._step([t for t in self.trainers if t.status == "ok"])
        return [reports[id(t)] if id(t) in reports else t.history[-1] if t.history else t.report()
                for t in self.trainers]

    def regenerate(self, seed: Optional[int] = None) -> int:
        """New data for every variant from one seed (variants with the base's data fields stay identical)."""
        seed = self.trainers[0].regenerate(seed)
        for trainer in self.trainers[1:]:
            trainer.regenerate(seed)
        return seed

    def reset(self, seed: Optional[int] = None) -> int:
        """New initial weights, shared again by every variant of the same shape and initialiser."""
        first = self.trainers[0]
        seed = first.reset(seed)
        for trainer in self.trainers[1:]:
            trainer.reset(seed)
            if trainer.network.sizes == first.network.sizes and trainer.config.init == first.config.init:
                share_weights(trainer, first)
        return seed

    def train(self, epochs: int) -> list[list[EpochReport]]:
        """Run ``epochs`` epochs of every variant (each stops, as ``Trainer.train`` does, when it diverges or
        stops early); returns each variant's reports."""
        history: list[list[EpochReport]] = [[] for _ in self.trainers]
        running = list(range(len(self.trainers)))
        for _ in range(epochs):
            if not running:
                break
            reports = self._step([self.trainers[i] for i in running])
            for i in running:
                history[i].append(reports[id(self.trainers[i])])
            running = [i for i in running if history[i][-1].status == "ok"]
        return history


def check_overrides(overrides: list[dict[str, Any]]) -> None:
    """Variants share the data (and its seed): a variant may not override a field of DATA_FIELDS."""
    for index, changes in enumerate(overrides):
        shared = [name for name in DATA_FIELDS if name in changes]
        if shared:
            name = shared[0]
            raise ValueError(f"{name}: variants share the data, so set {name} on the base config (variants[{index}] "
                             f"sets it to {changes[name]!r}); allowed: training and network fields")


def describe(changes: dict[str, Any]) -> str:
    """A short label for a variant, e.g. 'optimizer=adam, learning_rate=0.01'."""
    return ", ".join(f"{key}={value}" for key, value in changes.items()) or "base"

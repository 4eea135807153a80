"""Many runs of one shape trained as one stacked computation: a lecture hall, a sweep, a comparison.

On these small networks NumPy spends nearly all of a mini-batch step on per-call overhead, so stepping K
networks with one batched call per operation costs little more than stepping one. A :class:`TrainerGroup`
holds K ordinary :class:`~nnplay.engine.trainer.Trainer` members. While a run is a member, its parameters, its
optimiser's buffers and its epoch-start snapshot are views into the group's (K, P) stacks, so every Trainer
method (grid, trace, gradient check, confusion, weights, reset, update, regenerate) keeps working on it and
the group's stacked step moves it exactly as a lone step would: same data order, dropout masks, optimiser
arithmetic (per-member coefficients worked out in float64, then cast, as for one network), divergence and
early stopping.

The group reaches its members through Trainer's public API and the methods of its section "the
group-member protocol" (arrays, join, leave, start_epoch, draw_epoch, count_epoch, settle, note_gradients).

Which runs can share a stack is decided by one rule, :func:`signature`. Everything else may differ per
member: data and seed, learning rate and schedule, regulariser and its rate, dropout, shuffling, the
optimiser's hyper-parameters, early stopping.

    from nnplay.engine import TrainerGroup
    group = TrainerGroup([{**config, "seed": s} for s in range(32)])
    reports = group.train(100)                 # one list of EpochReport per member
    group.members[3].grid(), group.members[3].get_weights()
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Callable, Iterable, Optional, Sequence

import numpy as np

from .backend import device_name, to_host
from .config import Config, Limits
from .datasets import train_count
from .evaluation import evaluate, make_report
from .losses import output_units
from .normalization import MomentLog
from .probes import grid_inputs, grid_result
from .reports import EpochReport, GridResult
from .splits import DataSplit
from .stack import Stack, WorkspacePool
from .trainer import Trainer, validate_config

EVAL_BYTES = 32 << 20  # members are evaluated in chunks whose buffers stay under this many bytes
# A grid pass is memory-bound (10,100 points × every layer): chunks that stay in cache beat larger ones
# (measured with benchmarks/groups.py: 2,119 member-grids/s at 4 MB, 1,812 at 32 MB)
GRID_BYTES = 4 << 20


@dataclass(frozen=True)
class Signature:
    """What runs must share to train as one stack: the arrays' shapes and the code that steps them."""

    features: tuple[str, ...]
    hidden: tuple[int, ...]
    n_out: int
    activations: tuple[str, ...]
    normalizations: tuple[str, ...]
    loss: str
    task: str
    optimizer: str
    batch: int  # the effective batch size, min(batch_size, n_train)
    n_train: int
    n_test: int
    device: str
    dtype: str

    def differences(self, other: "Signature") -> list[str]:
        """The names of the fields in which two signatures differ."""
        return [f.name for f in fields(self) if getattr(self, f.name) != getattr(other, f.name)]


def signature(run: Trainer | Config | dict, limits: Optional[Limits] = None) -> Signature:
    """The :class:`Signature` of a Trainer, or of a config (whose data it would generate)."""
    if isinstance(run, Trainer):
        config, n_train, n_test = run.config, run.data.n_train, run.data.n_test
        device, dtype = run.backend.device, np.dtype(run.dtype).name
    else:
        config = validate_config(run, limits)
        n_train = train_count(config.samples, config.train_ratio)
        n_test = config.samples - n_train
        device, dtype = device_name(config.device), "float32"
    task = config.task
    return Signature(
        features=tuple(config.features), hidden=tuple(config.hidden),
        n_out=output_units(task, config), activations=tuple(config.activations),
        normalizations=tuple(config.normalizations),
        loss=config.loss, task=task, optimizer=config.optimizer, batch=min(config.batch_size, n_train),
        n_train=n_train, n_test=n_test, device=device, dtype=dtype)


def group_configs(configs: Sequence[Config | dict], limits: Optional[Limits] = None) -> list[list[int]]:
    """Split ``configs`` into lists of indices that can train as one group, in order of first appearance."""
    groups: dict[Signature, list[int]] = {}
    for index, config in enumerate(configs):
        groups.setdefault(signature(config, limits), []).append(index)
    return list(groups.values())


class TrainerGroup:
    """K Trainers of one :class:`Signature`, trained as one stacked computation.

    ``TrainerGroup(configs, *, data=None, weights=None, limits=None)`` builds a Trainer per config (``data``
    and ``weights``, when given, are lists with an entry, or None, per config); :meth:`of` adopts existing
    Trainers with all their state. Raises ValueError naming the fields that differ when the runs cannot
    share a stack.
    """

    def __init__(self, configs: Sequence[Config | dict], *, data: Optional[Sequence[Optional[DataSplit]]] = None,
                 weights: Optional[Sequence[Optional[list[dict]]]] = None, limits: Optional[Limits] = None):
        configs = list(configs)
        data = list(data) if data is not None else [None] * len(configs)
        weights = list(weights) if weights is not None else [None] * len(configs)
        if len(data) != len(configs) or len(weights) != len(configs):
            raise ValueError(f"data, weights: one entry (or None) per config ({len(configs)}), "
                             f"got {len(data)} and {len(weights)}")
        self._start([Trainer(c, data=d, weights=w, limits=limits) for c, d, w in zip(configs, data, weights)])

    @classmethod
    def of(cls, trainers: Iterable[Trainer]) -> "TrainerGroup":
        """A group of existing Trainers; each keeps its epoch, weights, optimiser state and history (and
        leaves the group it was in)."""
        group = cls.__new__(cls)
        group._start(list(trainers))
        return group

    def _start(self, trainers: list[Trainer]) -> None:
        if not trainers:
            raise ValueError("configs: a group needs at least one run")
        first = trainers[0]
        self.members: list[Trainer] = []
        self.sizes = list(first.network.sizes)
        self.signature = signature(first)
        for index, trainer in enumerate(trainers[1:], 1):
            self._check_fits(trainer, f"run {index}")
        if len({id(t) for t in trainers}) != len(trainers):
            raise ValueError("trainers: each run may appear once")
        self.xp, self.sizes, self.head = first.xp, list(first.network.sizes), first.head
        self.activations = first.network.activations
        self.norms = first.network.norms
        self.weight_mask = first.network.weight_mask
        self.optimizer_class = type(first.optimizer)
        self._workspaces = WorkspacePool(first.xp, first.network.dtype, self.sizes[1:], self.norms)
        self._moment_logs: dict[int, Any] = {}  # members stepped → normalization.MomentLog
        for trainer in trainers:
            if trainer.group is not None:
                trainer.group.remove(trainer)
        self._restack(trainers)

    def __repr__(self) -> str:
        return (f"TrainerGroup({len(self.members)} × {'→'.join(map(str, self.sizes))}, "
                f"optimizer={self.signature.optimizer}, batch={self.signature.batch})")

    def __len__(self) -> int:
        return len(self.members)

    # ---- membership ----------------------------------------------------------------------------------------
    def _check_fits(self, trainer: Trainer, name: str = "run") -> None:
        differ = self.signature.differences(signature(trainer))
        if differ:
            raise ValueError(f"{name} cannot train in this group: {', '.join(differ)} differ "
                             "(a group's runs share features, layer sizes, activations, loss, optimizer, "
                             "batch size, number of training and test points, device)")

    def _restack(self, members: list[Trainer]) -> None:
        """Build every stack from the members' current values and make their arrays views of it."""
        xp = self.xp
        self.members = list(members)
        self._index = {id(m): i for i, m in enumerate(self.members)}
        arrays = [m.arrays() for m in members]
        self.params = xp.stack([a["params"] for a in arrays])
        self.snapshot = xp.stack([a["snapshot"] for a in arrays])
        self.stats = xp.stack([a["stats"] for a in arrays])  # batch norm's running estimates (K, S)
        self.stats_snapshot = xp.stack([a["stats_snapshot"] for a in arrays])
        self.state = {name: xp.stack([a[name] for a in arrays]) for name in self.optimizer_class.state_names}
        self.data = {name: xp.stack([getattr(m, name) for m in members])
                     for name in ("x_train", "y_train", "x_test", "y_test")}
        for index, member in enumerate(members):
            self._bind(member, index)
        self._batches: Optional[list] = None

    def _bind(self, member: Trainer, index: int) -> None:
        """Make the member's arrays views of its row ``index`` of the stacks."""
        rows = {name: stack[index] for name, stack in self.state.items()}
        member.join(self, {"params": self.params[index], "snapshot": self.snapshot[index], **rows,
                           "stats": self.stats[index], "stats_snapshot": self.stats_snapshot[index]})

    def add(self, trainer: Trainer) -> None:
        """Adopt ``trainer`` with all its state (it leaves any other group). The others are not disturbed."""
        if trainer.group is self:
            return
        self._check_fits(trainer)
        if trainer.group is not None:
            trainer.group.remove(trainer)
        self._restack(self.members + [trainer])

    def remove(self, trainer: Trainer) -> Trainer:
        """Let ``trainer`` go with all its state, as a lone Trainer (its arrays become its own again)."""
        index = self._position(trainer)
        trainer.leave()
        rest = self.members[:index] + self.members[index + 1:]
        if rest:
            self._restack(rest)
        else:
            self.members, self._index = [], {}
        return trainer

    def refresh(self, trainer: Trainer) -> None:
        """Called by a member that rebuilt part of its state (reset, update, regenerate): copy it into the
        stacks, or let the member go when it no longer fits (a new optimizer or batch size)."""
        if self.signature.differences(signature(trainer)):
            self.remove(trainer)
            return
        index = self._position(trainer)
        self.params[index] = trainer.network.params
        self.stats[index] = trainer.network.stats
        for name, stack in self.state.items():
            stack[index] = getattr(trainer.optimizer, name)
        for name, stack in self.data.items():
            stack[index] = getattr(trainer, name)
        self._bind(trainer, index)
        self._batches = None

    def _position(self, trainer: Trainer) -> int:
        index = self._index.get(id(trainer))
        if index is None:
            raise ValueError(f"{trainer!r} is not a member of this group")
        return index

    # ---- training ------------------------------------------------------------------------------------------
    def train(self, epochs: int, callback: Optional[Callable[[list[EpochReport]], Any]] = None
              ) -> list[list[EpochReport]]:
        """Up to ``epochs`` epochs of every member; a member stops (as a lone Trainer's ``train`` would) when
        it diverges or stops early, the others go on. Returns each member's reports."""
        running, history = list(self.members), {id(m): [] for m in self.members}
        for _ in range(epochs):
            if not running:
                break
            reports = self.step_epoch(running, gradients=True)
            for member, report in zip(running, reports):
                history[id(member)].append(report)
            running = [m for m, r in zip(running, reports) if r.status == "ok"]
            if callback is not None and callback(reports) is False:
                break
        return [history[id(m)] for m in self.members]

    def step_epoch(self, members: Optional[Sequence[Trainer]] = None, *, gradients: bool = False,
                   confusion: bool = False) -> list[EpochReport]:
        """One epoch of each of ``members`` (default: all), as one stacked computation. Returns what each
        member's own ``step_epoch(gradients, confusion)`` would have returned, in the same order."""
        chosen = self.members if members is None else list(members)
        rows = [self._position(m) for m in chosen]
        if len(set(rows)) != len(rows):
            raise ValueError("members: each member may appear once")
        if not chosen:
            return []
        for member in chosen:
            member.start_epoch()
        finite = self._run_epoch(chosen, rows)
        values = self._evaluate(rows, gradients, confusion)
        penalties = self._penalties(chosen, rows)
        reports = []
        for j, member in enumerate(chosen):
            if gradients:
                member.note_gradients(values["grad_norms"][j])
            report = make_report(values, j, epoch=member.epoch, learning_rate=member.learning_rate(member.epoch - 1),
                                 penalty=penalties[j], task=member.task, n_classes=member.config.n_classes,
                                 status=member.status, message=member.message)
            reports.append(member.settle(report, finite=bool(finite[j])))
        return reports

    def _select(self, rows: list[int]) -> Any:
        """None when ``rows`` are all members in order (the stacks are used as they are), else an index."""
        return None if rows == list(range(len(self.members))) else self.xp.asarray(rows)

    def _run_epoch(self, chosen: list[Trainer], rows: list[int]) -> np.ndarray:
        """Train one epoch of the ``chosen`` members (at ``rows``); returns whether each one's parameters
        are all finite afterwards."""
        xp, sig = self.xp, self.signature
        select = self._select(rows)
        params = self.params if select is None else self.params[select]
        stats = self.stats if select is None else self.stats[select]
        state = {name: stack if select is None else stack[select] for name, stack in self.state.items()}
        if select is None:
            xp.copyto(self.snapshot, params)
            xp.copyto(self.stats_snapshot, stats)
        else:
            self.snapshot[select] = params
            self.stats_snapshot[select] = stats
        lr = np.array([[m.learning_rate()] for m in chosen])
        optimizer = self._optimizer(chosen, params, state)
        batches, masks = self._epoch_batches(chosen, select)
        penalty = _PenaltyGrad(xp, chosen, params, self.weight_mask)
        stack = Stack(xp, self.sizes, self.activations, self.head, params, self._workspaces, self.norms, stats)
        if stack.layout.stats:  # batch norm: the running estimates are updated once, at the epoch's end
            log = self._moment_logs.get(len(chosen))
            if log is None:  # one per number of members stepped, kept: its views are made once
                log = self._moment_logs[len(chosen)] = MomentLog(xp, params.dtype, stack.layout, (len(chosen),))
            stack.moment_log = log
        with np.errstate(all="ignore"):
            for start, (xb, yb) in zip(range(0, sig.n_train, sig.batch), batches):
                size = xb.shape[-1]
                ws = stack.workspace(size)
                batch_masks = None if masks is None else [m[:, :, start:start + size] for m in masks]
                stack.forward(xb, ws, batch_masks, train=True)
                stack.backward(xb, yb, ws, batch_masks)
                penalty.add_to(stack.grad)
                optimizer.step(params, stack.grad, lr)
            if stack.moment_log is not None:
                stack.moment_log.flush(stats)
            finite = to_host(xp.isfinite(params).all(axis=1))
        if select is not None:
            self.params[select] = params
            self.stats[select] = stats
            for name, stack_state in self.state.items():
                stack_state[select] = state[name]
        for member in chosen:
            member.count_epoch(len(batches))
        return finite

    def _optimizer(self, chosen: list[Trainer], params: Any, state: dict[str, Any]):
        """One optimiser over the chosen rows: per-member hyper-parameters as float64 (K, 1) columns, the
        members' own buffers and step counts."""
        first = chosen[0].optimizer
        hyper = {name: np.array([[m.optimizer.hyper[name]] for m in chosen]) for name in first.hyper}
        decay = np.array([[m.optimizer.weight_decay] for m in chosen])
        optimizer = self.optimizer_class(self.xp, params, weight_decay=decay, **hyper)
        for name, buffer in state.items():
            setattr(optimizer, name, buffer)
        optimizer.t = np.array([[m.optimizer.t] for m in chosen], dtype=np.int64)
        return optimizer

    def _epoch_batches(self, chosen: list[Trainer], select: Any) -> tuple[list, Optional[list]]:
        """This epoch's (inputs, targets) batches (K, ·, batch) and dropout masks (K, width, n_train) per
        hidden layer (None when no member drops out). Each member draws its order and masks from its own
        stream (``Trainer.draw_epoch``), exactly as a lone epoch does."""
        xp, sig = self.xp, self.signature
        orders, drawn = zip(*(m.draw_epoch() for m in chosen))
        masks = None
        if any(d is not None for d in drawn):
            masks = []
            for layer, width in enumerate(sig.hidden):
                stacked = np.ones((len(chosen), width, sig.n_train), dtype=np.float32)
                for j, member_masks in enumerate(drawn):
                    if member_masks is not None:
                        stacked[j] = member_masks[layer]
                masks.append(xp.asarray(stacked))
        shuffled = any(order is not None for order in orders)
        if select is None and not shuffled and self._batches is not None:
            return self._batches, masks
        x, y = self.data["x_train"], self.data["y_train"]
        if select is not None:
            x, y = x[select], y[select]
        if shuffled:
            order = xp.asarray(np.stack([np.arange(sig.n_train) if o is None else o for o in orders]))[:, None, :]
            x, y = xp.take_along_axis(x, order, axis=2), xp.take_along_axis(y, order, axis=2)
        asc = xp.ascontiguousarray
        batches = [(asc(x[:, :, i:i + sig.batch]), asc(y[:, :, i:i + sig.batch]))
                   for i in range(0, sig.n_train, sig.batch)]
        if select is None and not shuffled:
            self._batches = batches
        return batches, masks

    # ---- evaluation ----------------------------------------------------------------------------------------
    def _chunks(self, rows: list[int], points: int, budget: int = EVAL_BYTES) -> Iterable[tuple[int, int, Any]]:
        """(start, stop, parameters, index) of consecutive chunks of the members at ``rows`` whose buffers for
        ``points`` samples stay under ``budget`` bytes; ``index`` picks the chunk's rows out of the stacks
        (and out of ``stats``, for the chunk's :meth:`_stack`)."""
        per_member = 4 * points * (2 * sum(self.sizes[1:]) + len(self.sizes)) * 2  # z, a (+1 row), delta, scratch
        size = max(1, budget // max(per_member, 1))
        select = self._select(rows)
        for start in range(0, len(rows), size):
            stop = min(start + size, len(rows))
            if select is None:
                yield start, stop, self.params[start:stop], slice(start, stop)
            else:
                picked = self.xp.asarray(rows[start:stop])
                yield start, stop, self.params[picked], picked

    def _stack(self, params: Any, picked: Any) -> Stack:
        """A stack over a chunk's ``params``, with the running estimates of its rows ``picked`` (evaluation
        mode never writes them back)."""
        return Stack(self.xp, self.sizes, self.activations, self.head, params, self._workspaces, self.norms,
                     self.stats[picked])

    def _evaluate(self, rows: list[int], gradients: bool, confusion: bool) -> dict[str, Any]:
        """The evaluation (engine/evaluation.py) of the members at ``rows``, chunk by chunk, joined."""
        sig, parts = self.signature, []
        first = self.members[rows[0]]
        for _, _, params, picked in self._chunks(rows, max(sig.n_train, sig.n_test)):
            stack = self._stack(params, picked)
            d = self.data
            splits = {"train": (d["x_train"][picked], d["y_train"][picked]),
                      "test": (d["x_test"][picked], d["y_test"][picked])}
            parts.append(evaluate(stack, self.head, sig.task, first.config.n_classes, splits,
                                  gradients=gradients, confusion=confusion))
        return _join(parts)

    def _penalties(self, chosen: list[Trainer], rows: list[int]) -> np.ndarray:
        """reg_rate·R(W) per member, R = a·Σ|W| + b·½ΣW² over weights only."""
        a, b, rate = _penalty_columns(chosen)
        if not rate.any():
            return np.zeros(len(chosen))
        select = self._select(rows)
        params = self.params if select is None else self.params[select]
        weights = params * self.weight_mask
        with np.errstate(all="ignore"):
            l1 = to_host(self.xp.abs(weights).sum(axis=1)).astype(np.float64)
            l2 = 0.5 * to_host((weights * weights).sum(axis=1)).astype(np.float64)
            return rate[:, 0] * (a[:, 0] * l1 + b[:, 0] * l2)

    def grids(self, members: Optional[Sequence[Trainer]] = None, density: int = 100,
              thumb: int = 10) -> list[GridResult]:
        """Each member's output over [−6, 6]² and hidden-neuron thumbnails (as ``Trainer.grid``): every member
        sees the same grid points, so one stacked pass (in memory-bounded chunks) serves them all."""
        chosen = self.members if members is None else list(members)
        if not chosen:
            return []
        parts = _by_grid_inputs(chosen)
        if len(parts) > 1:
            placed: dict[int, GridResult] = {}
            for indices in parts:
                placed.update(zip(indices, self.grids([chosen[i] for i in indices], density, thumb)))
            return [placed[i] for i in range(len(chosen))]
        rows = [self._position(m) for m in chosen]
        inputs = grid_inputs(chosen[0], density, thumb)
        results = []
        for start, _, params, picked in self._chunks(rows, inputs.shape[1], GRID_BYTES):
            stack = self._stack(params, picked)
            ws = stack.workspace(inputs.shape[1])
            with np.errstate(all="ignore"):
                out = to_host(stack.forward(inputs, ws))
                logits = to_host(ws.z[-1])
                hidden = [to_host(a) for a in stack.hidden_outputs(ws)]
            for j in range(params.shape[0]):
                member = chosen[start + j]
                results.append(grid_result(member, out[j], logits[j], [h[j] for h in hidden], density, thumb))
        return results


def _by_grid_inputs(chosen: list[Trainer]) -> list[list[int]]:
    """Indices of ``chosen`` grouped by the grid inputs they need: standardized runs see the grid through
    their own training data's statistics (everyone else shares the raw features)."""
    parts: dict[Optional[bytes], list[int]] = {}
    for index, member in enumerate(chosen):
        parts.setdefault(member.standardizer.key if member.standardizer else None, []).append(index)
    return list(parts.values())


class _PenaltyGrad:
    """g ← g + λ·R'(W) for a stack, with R'(W) = a·sign(W) + b·W per member (l1: a = 1, b = 0; l2: 0, 1;
    elastic: r, 1 − r) over weights only: the same float32 operations as each lone regulariser."""

    def __init__(self, xp: Any, chosen: list[Trainer], params: Any, weight_mask: Any):
        a, b, rate = _penalty_columns(chosen)
        self.active = bool(rate.any())
        if self.active:
            dtype = params.dtype
            self.xp, self.params = xp, params
            self.a, self.b = xp.asarray(a, dtype=dtype), xp.asarray(b, dtype=dtype)
            self.rate_mask = weight_mask * xp.asarray(rate, dtype=dtype)
            self.scratch, self.term = xp.empty_like(params), xp.empty_like(params)

    def add_to(self, grad: Any) -> None:
        if not self.active:
            return
        xp, s = self.xp, self.scratch
        xp.sign(self.params, out=s)
        xp.multiply(s, self.a, out=s)
        xp.multiply(self.params, self.b, out=self.term)
        xp.add(s, self.term, out=s)
        xp.multiply(s, self.rate_mask, out=s)
        xp.add(grad, s, out=grad)


def _penalty_columns(chosen: list[Trainer]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(a, b, reg_rate) as float64 (K, 1) columns; a run without a penalty has rate 0."""
    mixes = [m.regularizer.mix(m.config.l1_ratio) for m in chosen]
    rates = [m.config.reg_rate if m.regularizer.grad is not None else 0.0 for m in chosen]
    return (np.array([[a] for a, _ in mixes]), np.array([[b] for _, b in mixes]), np.array([[r] for r in rates]))


def _join(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One evaluation from the evaluations of consecutive member chunks."""
    if len(parts) == 1:
        return parts[0]
    joined: dict[str, Any] = {}
    for key, value in parts[0].items():
        if key == "confusion":
            joined[key] = None if value is None else {
                split: np.concatenate([p[key][split] for p in parts]) for split in value}
        elif key.endswith("_rows"):
            joined[key] = value
        else:
            joined[key] = np.concatenate([p[key] for p in parts])
    return joined

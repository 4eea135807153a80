"""The training loop: a Trainer owns one run's data, network, optimiser, schedule and history.

Usage from a notebook::

    from nnplay.engine import Trainer
    run = Trainer({"dataset": "xor", "hidden": [4], "seed": 1})
    reports = run.train(200)
    print(reports[-1].test_accuracy, run.grid().values.shape)
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Optional

import numpy as np

from .activations import get_activation
from .backend import get_backend, to_host
from .config import FLOAT32_MAX, Config, Limits, check_batches
from .evaluation import evaluate, make_report
from .features import feature_matrix
from .initializers import get_initializer
from .losses import get_head, output_units
from .network import Network
from .normalization import MomentLog, get_normalization
from .optimizers import make_optimizer
from .regularizers import get_regularizer
from .reports import EpochReport, finite_or_none
from .schedules import get_schedule
from .splits import DataSplit, check_labels, make_data
from .standardize import Standardizer

# Fields ``update`` may change while a run goes on; anything else needs a new Trainer.
LIVE_FIELDS = frozenset({
    "learning_rate", "reg_rate", "regularization", "l1_ratio", "dropout", "batch_size", "shuffle",
    "optimizer", "momentum", "beta1", "beta2", "alpha", "eps", "weight_decay",
    "lr_schedule", "lr_step_size", "lr_gamma", "lr_t_max", "lr_eta_min", "early_stopping",
})
OPTIMIZER_FIELDS = frozenset({"optimizer", "momentum", "beta1", "beta2", "alpha", "eps", "weight_decay"})
HISTORY_LIMIT = 2000  # reports ``history`` keeps by default: a run that plays for hours must not grow without bound


def fresh_seed() -> int:
    """A random seed for a config that gave none (reported back, so the run can be repeated)."""
    return int(np.random.SeedSequence().entropy % 2**32)


def validate_config(config: Config | dict, limits: Optional[Limits] = None) -> Config:
    """A Config from a dict (or a Config re-checked) against ``limits``; raises pydantic.ValidationError."""
    raw = config.model_dump() if isinstance(config, Config) else config
    return Config.model_validate(raw, context={"limits": limits} if limits else None)


class Trainer:
    """One training run.

    ``Trainer(config, data=None, weights=None, limits=None)``: ``config`` is a :class:`Config` or its
    dict; ``data`` (a :class:`DataSplit`) replaces the generated points; ``weights`` is a list of
    ``{"W": (fan_out, fan_in), "b": (fan_out,)}`` in PyTorch's layout replacing the initialisation.
    ``history_limit`` is how many of the latest reports ``history`` keeps (at least 1; it may be changed
    later: the live server keeps one, since a session's loss curve travels as compact rows).
    With ``standardize`` on, ``standardizer`` holds the training set's feature statistics (else None); every
    input the network gets goes through :meth:`inputs`, which applies them.
    A run may train in a :class:`~nnplay.engine.group.TrainerGroup`; the section "the group-member
    protocol" below holds the methods the group calls.
    """

    def __init__(self, config: Config | dict, *, data: Optional[DataSplit] = None,
                 weights: Optional[list[dict]] = None, limits: Optional[Limits] = None, dtype=np.float32,
                 history_limit: int = HISTORY_LIMIT):
        self.history_limit = history_limit
        self.limits = limits
        self.config = validate_config(config, limits)
        self.seed = self.config.seed if self.config.seed is not None else fresh_seed()
        self.data_seed = self.seed
        self.backend = get_backend(self.config.device)
        self.xp = self.backend.xp
        self.dtype = dtype
        self.task = self.config.task
        self.explicit_data = data is not None
        self.group = None  # the TrainerGroup this run trains in (engine/group.py), if any
        self.data = data if data is not None else make_data(self.config, self.data_seed)
        check_labels(self.data, self.task, self.config.n_classes)
        check_batches(self.config, self.data.n_train)
        self.head = get_head(self.config.loss, self.task)
        n_out = output_units(self.task, self.config)
        sizes = [len(self.config.features), *self.config.hidden, n_out]
        self.network = Network(self.xp, sizes, [get_activation(a) for a in self.config.activations], self.head, dtype,
                               [get_normalization(n) for n in self.config.normalizations])
        self._snapshot = self.xp.zeros_like(self.network.params)
        self._stats_snapshot = self.xp.zeros_like(self.network.stats)
        self._moment_log = MomentLog(self.xp, dtype, self.network.layout) if self.network.layout.stats else None
        self._reg_scratch = self.xp.zeros_like(self.network.params)
        self._load_data()
        self.reset(self.seed)
        if weights is not None:
            self.set_weights(weights)

    @property
    def history_limit(self) -> int:
        """How many of the latest reports ``history`` keeps."""
        return self._history_limit

    @history_limit.setter
    def history_limit(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"history_limit: keep at least 1 report, got {limit}")
        self._history_limit = int(limit)
        if hasattr(self, "history"):
            del self.history[:-self._history_limit]

    def __repr__(self) -> str:
        return (f"Trainer({self.config.dataset}, {self.network!r}, optimizer={self.config.optimizer}, "
                f"epoch={self.epoch}, status={self.status!r}, seed={self.seed})")

    # ---- data ------------------------------------------------------------------------------------------
    def targets(self, labels: np.ndarray) -> np.ndarray:
        """Targets in the output's layout (n_out, rows): ±1 or values in one row, or one-hot columns."""
        if self.task == "multiclass":
            return np.eye(self.config.n_classes)[:, labels.astype(int)]
        return labels[None, :]

    def inputs(self, points: np.ndarray, dtype: Any = None):
        """Feature-major device inputs (n_features + 1, rows), last row ones, for the network: the features of
        ``points``, standardized by the training set's statistics when the config asks (``standardizer``)."""
        xp, dtype = self.xp, dtype or self.dtype
        if self.standardizer is None:
            rows = feature_matrix(xp, xp.asarray(points), self.config.features, dtype)
        else:  # standardized in float64, then rounded once to the run's dtype
            rows = feature_matrix(xp, xp.asarray(points, dtype=np.float64), self.config.features, np.float64)
            rows = self.standardizer.apply(xp, rows).astype(dtype, copy=False)
        return xp.ascontiguousarray(rows.T)

    def _load_data(self) -> None:
        """Features and targets of the training and the test set, on the device."""
        xp, d = self.xp, self.data
        self.standardizer = Standardizer.fit(d.x_train, self.config.features) if self.config.standardize else None
        self.x_train, self.x_test = self.inputs(d.x_train), self.inputs(d.x_test)
        self.y_train = xp.asarray(self.targets(d.y_train), dtype=self.dtype)
        self.y_test = xp.asarray(self.targets(d.y_test), dtype=self.dtype)
        self.n_train = d.n_train
        self._batches: tuple[int, list] | None = None

    def _batch_list(self, batch: int, order: Optional[np.ndarray]) -> list:
        """The epoch's mini-batches as contiguous (inputs, targets) pairs, in ``order`` (a permutation of the
        training set, or None for the stored order); rebuilt only when they change."""
        if order is not None:
            order = self.xp.asarray(order)
            x, y = self.x_train[:, order], self.y_train[:, order]
        elif self._batches is not None and self._batches[0] == batch:
            return self._batches[1]
        else:
            x, y = self.x_train, self.y_train
        asc = self.xp.ascontiguousarray
        batches = [(asc(x[:, i:i + batch]), asc(y[:, i:i + batch])) for i in range(0, self.n_train, batch)]
        self._batches = None if order is not None else (batch, batches)  # a shuffled order is never reused
        return batches

    def regenerate(self, seed: Optional[int] = None) -> int:
        """New data (new points and split) from ``seed`` (random if None); the weights stay. Returns the seed."""
        if self.explicit_data:
            raise ValueError("regenerate: this run was given its data explicitly")
        self.data_seed = fresh_seed() if seed is None else int(seed)
        self.data = make_data(self.config, self.data_seed)
        self._load_data()
        self._changed()
        return self.data_seed

    # ---- weights -----------------------------------------------------------------------------------------
    def reset(self, seed: Optional[int] = None) -> int:
        """New initial weights from ``seed`` (random if None), same data; epoch 0, history and state cleared."""
        self.init_seed = fresh_seed() if seed is None else int(seed)
        init = get_initializer(self.config.init)
        rng = np.random.default_rng([self.init_seed, 2])
        for index, (fan_in, fan_out) in enumerate(zip(self.network.sizes[:-1], self.network.sizes[1:])):
            self.network.set_layer(index, *init(rng, fan_in, fan_out))
        self.network.reset_norms()
        self._train_rng = np.random.default_rng([self.init_seed, 3])
        self._build_optimizer()
        self.epoch = 0
        self.history: list[EpochReport] = []  # the last ``history_limit`` reports
        self.status, self.message = "ok", ""
        self._best: Optional[tuple[float, int, Any, Any]] = None
        self._since_best = 0
        self._changed()
        return self.init_seed

    def _changed(self) -> None:
        """Tell this run's group (if any) that its state was rebuilt: new optimiser buffers, new data or new
        settings. The group copies them into its stacks, or lets the run go when it no longer fits."""
        if self.group is not None:
            self.group.refresh(self)

    def get_weights(self) -> list[dict[str, Any]]:
        """[{"W": [[...]] (fan_out × fan_in), "b": [...]}, ...] per layer, PyTorch's layout; a normalized hidden
        layer's entry also has "norm": {"kind", "gamma", "beta"} (batch norm: and "running_mean",
        "running_var"), what torch's BatchNorm1d / LayerNorm after that Linear hold."""
        layers: list[dict[str, Any]] = [{"W": w.tolist(), "b": b.tolist()} for w, b in self.network.get_layers()]
        for layer, norm in zip(layers, self.network.get_norms()):
            if norm is not None:
                layer["norm"] = norm
        return layers

    def set_weights(self, weights: list[dict]) -> None:
        """Replace every layer's weights; shapes must match the network (PyTorch layout). A normalized layer's
        "norm" entry (as :meth:`get_weights` gives it) replaces its γ, β and running estimates; without it
        they stay as they are."""
        if len(weights) != self.network.n_layers:
            raise ValueError(f"weights: expected {self.network.n_layers} layers, got {len(weights)}")
        self._check_norms(weights)
        for index, layer in enumerate(weights):
            weight, bias = np.asarray(layer["W"], dtype=float), np.asarray(layer["b"], dtype=float)
            if not (np.isfinite(weight).all() and np.isfinite(bias).all()):
                raise ValueError(f"weights: layer {index} has NaN or infinite values")
            if weight.size and np.abs(weight).max() > FLOAT32_MAX or bias.size and np.abs(bias).max() > FLOAT32_MAX:
                raise ValueError(f"weights: layer {index} has values beyond float32's range (±{FLOAT32_MAX:.7g})")
            self.network.set_layer(index, weight, bias)
            if layer.get("norm") is not None:
                self.network.set_norm(index, layer["norm"])

    def _check_norms(self, weights: list[dict]) -> None:
        """Every "norm" entry must belong to a layer normalized the same way, with finite values (and a
        non-negative running variance), before anything is replaced."""
        norms = self.network.norms + [None]
        for index, (layer, norm) in enumerate(zip(weights, norms)):
            given = layer.get("norm")
            if given is None:
                continue
            kind = norm.name if norm is not None else "none"
            if not isinstance(given, dict) or given.get("kind") != kind:
                got = given.get("kind") if isinstance(given, dict) else given
                raise ValueError(f"weights: layer {index} has normalization {kind!r}, got a norm entry {got!r}")
            for name, values in given.items():
                if name == "kind" or values is None:
                    continue
                values = np.asarray(values, dtype=float)
                if not np.isfinite(values).all() or np.abs(values).max(initial=0) > FLOAT32_MAX:
                    raise ValueError(f"weights: layer {index} {name} must be finite numbers within float32's range")
                if name == "running_var" and (values < 0).any():
                    raise ValueError(f"weights: layer {index} running_var must be >= 0")

    def set_weight(self, layer: int, to: int, source: Optional[int], value: float) -> None:
        """Set one weight W[layer][to, source], or the bias b[layer][to] when ``source`` is None."""
        net = self.network
        if not 0 <= layer < net.n_layers:
            raise ValueError(f"layer: must be 0..{net.n_layers - 1}, got {layer}")
        block = net.blocks[layer]
        fan_in, fan_out = block.shape[0] - 1, block.shape[1]
        if not 0 <= to < fan_out:
            raise ValueError(f"to: layer {layer} has neurons 0..{fan_out - 1}, got {to}")
        if source is not None and not 0 <= source < fan_in:
            raise ValueError(f"from: layer {layer} has inputs 0..{fan_in - 1}, got {source}")
        if not np.isfinite(value) or abs(value) > FLOAT32_MAX:
            raise ValueError(f"value: must be a finite number within float32's range (±{FLOAT32_MAX:.7g})")
        block[fan_in if source is None else source, to] = value

    # ---- settings ----------------------------------------------------------------------------------------
    def _build_optimizer(self) -> None:
        cfg = self.config
        self.optimizer = make_optimizer(self.xp, cfg.optimizer, self.network.params, **cfg.optimizer_params())
        self.regularizer = get_regularizer(cfg.regularization)
        self.schedule = get_schedule(cfg.lr_schedule)
        self._rate_mask = self.network.weight_mask * self.xp.asarray(cfg.reg_rate, dtype=self.dtype)

    def update(self, **changes: Any) -> Config:
        """Change settings while training goes on (no reset). Changing the optimizer resets its state only;
        changing one of its hyper-parameters keeps the state. Raises ValueError for fields that need a rebuild."""
        rebuild = sorted(set(changes) - LIVE_FIELDS)
        if rebuild:
            raise ValueError(f"{', '.join(rebuild)}: cannot change live; allowed: {', '.join(sorted(LIVE_FIELDS))}")
        old = self.config
        config = validate_config({**old.model_dump(), **changes}, self.limits)
        check_batches(config, self.n_train)
        self.config = config
        if self.config.optimizer != old.optimizer:
            self._build_optimizer()
        else:
            state = self.optimizer
            self._build_optimizer()
            if changes.keys() & OPTIMIZER_FIELDS:  # same optimiser, new hyper-parameters: keep its buffers
                state.hyper, state.weight_decay = self.optimizer.hyper, self.optimizer.weight_decay
            self.optimizer = state
        self._changed()
        return self.config

    def learning_rate(self, epoch: Optional[int] = None) -> float:
        """The scheduled rate for ``epoch`` (default: the next epoch to run)."""
        cfg = self.config
        return self.schedule(cfg.learning_rate, self.epoch if epoch is None else epoch, **cfg.schedule_params())

    # ---- training ----------------------------------------------------------------------------------------
    def run_epoch(self) -> None:
        """One pass over the training set in mini-batches (the last partial batch is a step of its own)."""
        for _ in self.epoch_parts():
            pass

    def epoch_parts(self, pause: Optional[Callable[[], bool]] = None) -> Iterator[None]:
        """:meth:`run_epoch` as resumable work: a generator that trains the epoch and yields between
        mini-batches whenever ``pause()`` is true; once exhausted, the run is exactly where ``run_epoch``
        leaves it (the same draws and steps). A live worker spreads a long epoch over several rounds of its
        clock this way; meanwhile nothing else may touch the run (server/live/clock.py sees to it)."""
        xp, cfg, net, opt = self.xp, self.config, self.network, self.optimizer
        params, grad = net.params, net.grad
        lr = self.learning_rate()
        batch = min(cfg.batch_size, self.n_train)
        order, drawn = self.draw_epoch()
        batches = self._batch_list(batch, order)
        dropout = drawn is not None
        masks = [xp.asarray(m) for m in drawn] if dropout else []
        penalty = self.regularizer.grad if cfg.reg_rate > 0 else None
        scratch, rate_mask, l1_ratio = self._reg_scratch, self._rate_mask, cfg.l1_ratio
        workspace, forward, backward, step = net.workspace, net.forward, net.backward, opt.step
        xp.copyto(self._snapshot, params)
        xp.copyto(self._stats_snapshot, net.stats)
        done = 0  # mini-batches trained
        log = self._moment_log  # batch norm: the running estimates are updated once, when the epoch ends
        try:
            while done < len(batches):
                net.moment_log = log  # set per part: a suspended epoch leaves the network as it was
                with np.errstate(all="ignore"):  # entered per part: a suspended generator leaves NumPy's state alone
                    for start, (xb, yb) in zip(range(done * batch, self.n_train, batch), batches[done:]):
                        ws = workspace(xb.shape[1])
                        for mask, epoch_mask in zip(ws.masks if dropout else [], masks):
                            mask[...] = epoch_mask[:, start:start + xb.shape[1]]
                        forward(xb, ws, dropout, True)
                        backward(xb, yb, ws, dropout)
                        if penalty is not None:  # g ← g + λ·R'(W), weights only (the mask zeroes the bias rows)
                            xp.multiply(penalty(xp, params, l1_ratio, scratch), rate_mask, out=scratch)
                            xp.add(grad, scratch, out=grad)
                        step(params, grad, lr)
                        if pause is not None and pause():
                            break
                    done = start // batch + 1
                net.moment_log = None
                if done < len(batches):
                    yield
        finally:  # an epoch abandoned part-way still leaves estimates that match the steps it took
            net.moment_log = None
            if log is not None:
                with np.errstate(all="ignore"):
                    log.flush(net.stats)
        self.epoch += 1

    def step_epoch(self, gradients: bool = True, confusion: bool = False) -> EpochReport:
        """Run one epoch and report it; handles divergence and early stopping. Never raises on NaN/inf.
        ``gradients=False`` leaves ``grad_norms`` empty (about 15% faster on small networks);
        ``confusion=True`` adds the confusion matrices, from the report's own forward passes."""
        self.start_epoch()
        self.run_epoch()
        return self.settle(self.report(gradients, confusion))

    def train(self, epochs: int, callback: Optional[Callable[[EpochReport], Any]] = None) -> list[EpochReport]:
        """Run up to ``epochs`` epochs; stops early on divergence, early stopping, or a callback returning False."""
        reports = []
        for _ in range(epochs):
            report = self.step_epoch()
            reports.append(report)
            if report.status != "ok" or (callback is not None and callback(report) is False):
                break
        return reports

    def _diverged(self, report: EpochReport) -> EpochReport:
        """Put back the weights from the start of the epoch so that a lower rate can carry on from there."""
        self.xp.copyto(self.network.params, self._snapshot)
        self.xp.copyto(self.network.stats, self._stats_snapshot)
        self.optimizer.reset()
        diverged_at = self.epoch
        self.epoch -= 1
        self.status = "diverged"
        self.message = (f"training diverged at epoch {diverged_at} (the loss became NaN or infinite); "
                        f"weights restored to epoch {self.epoch}. Try a smaller learning rate, or Reset.")
        return report.model_copy(update={"status": "diverged", "message": self.message})

    def _watch_early_stopping(self, report: EpochReport) -> None:
        if self._best is None or report.test_loss < self._best[0]:
            self._best = (report.test_loss, report.epoch, self.network.params.copy(), self.network.stats.copy())
            self._since_best = 0
            return
        self._since_best += 1
        if self._since_best >= self.config.early_stopping:
            loss, epoch, params, stats = self._best
            self.xp.copyto(self.network.params, params)
            self.xp.copyto(self.network.stats, stats)
            self.status = "early_stopped"
            self.message = (f"early stopping: test loss did not improve for {self.config.early_stopping} epochs; "
                            f"restored the best weights, from epoch {epoch} (test loss {loss:.4f})")
            report.status, report.message = self.status, self.message
            self._best, self._since_best = None, 0

    # ---- evaluation --------------------------------------------------------------------------------------
    def report(self, gradients: bool = True, confusion: bool = False) -> EpochReport:
        """Metrics of the current weights on the whole training and test sets (no dropout), from one forward
        pass per set (engine/evaluation.py); with ``gradients``, also ‖∂L/∂W_l‖ of the mean data loss over
        the whole training set, per layer, backpropagated from that same pass; with ``confusion``, the
        confusion matrices of both sets (classification) in ``report.confusion``."""
        values = evaluate(self.network, self.head, self.task, self.config.n_classes, self._splits(),
                          gradients=gradients, confusion=confusion)
        if gradients:
            self.note_gradients(values["grad_norms"])
        return make_report(values, (), epoch=self.epoch, learning_rate=self.learning_rate(max(self.epoch - 1, 0)),
                           penalty=self.penalty(), task=self.task, n_classes=self.config.n_classes,
                           status=self.status, message=self.message)

    def _splits(self) -> dict[str, tuple[Any, Any]]:
        return {"train": (self.x_train, self.y_train), "test": (self.x_test, self.y_test)}

    def penalty(self) -> float:
        """reg_rate·R(W) of the current weights (biases excluded)."""
        cfg = self.config
        if cfg.reg_rate == 0:
            return 0.0
        with np.errstate(all="ignore"):
            return cfg.reg_rate * sum(self.regularizer.penalty(self.xp, block[:-1], cfg.l1_ratio)
                                      for block in self.network.blocks)

    def gradient_norms(self) -> list[Optional[float]]:
        """‖∂L/∂W_l‖ of the mean data loss over the whole training set, per layer (weights only)."""
        ws = self.network.workspace(self.n_train)
        with np.errstate(all="ignore"):
            self.network.forward(self.x_train, ws)
            self.network.backward(self.x_train, self.y_train, ws)
            norms = [finite_or_none(self.xp.linalg.norm(g[:-1])) for g in self.network.grad_blocks]
        self.note_gradients(norms)
        return norms

    def _stalled_message(self) -> str:
        """Why no gradient flows: hidden units whose f′(z) is 0 on every training point (dead ReLUs, or
        saturated units), and the output when its own derivative is 0 everywhere."""
        xp, net = self.xp, self.network
        ws = net.workspace(self.n_train)
        with np.errstate(all="ignore"):
            net.forward(self.x_train, ws)
            net.backward(self.x_train, self.y_train, ws)
        causes = []
        if not bool(xp.any(ws.delta[-1] != 0)):  # δ_L = dL/dz_L, left in ws by backward
            causes.append("the output is saturated: its derivative is 0 on every training point")
        for layer, activation in enumerate(net.activations):
            local = ws.scratch[layer]
            activation.grad(xp, ws.z[layer], ws.a[layer][:-1], local)
            dead = int((~xp.any(local != 0, axis=1)).sum())
            if dead:
                kind = "dead ReLU" if activation.name == "relu" else f"saturated {activation.label}"
                causes.append(f"{dead} of {local.shape[0]} {kind} units in layer {layer + 1}")
        where = f" ({'; '.join(causes)})" if causes else ""
        return (f"no gradient flows: every weight's gradient is exactly 0{where}, so training cannot change the "
                f"network any more. Reset, or pick a smaller learning rate.")

    def predict(self, points: Any) -> dict[str, np.ndarray]:
        """Network output for host points (rows × 2): ``output`` (rows, n_out), ``logits``, and ``label``."""
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        ws = self.network.workspace(len(points))
        with np.errstate(all="ignore"):
            out = to_host(self.network.forward(self.inputs(points), ws)).T.copy()
        logits = to_host(ws.z[-1]).T.copy()
        if self.task == "binary":
            label = np.where(logits[:, 0] > 0, 1.0, -1.0)
        elif self.task == "multiclass":
            label = logits.argmax(axis=1).astype(np.float64)
        else:
            label = out[:, 0].astype(np.float64)
        return {"output": out, "logits": logits, "label": label}

    # ---- the group-member protocol (engine/group.py) -----------------------------------------------------
    # A TrainerGroup keeps its members' arrays in stacks and trains their epochs itself, as one computation.
    # These methods are all it asks of a member beyond the public API above, and between them a stacked
    # epoch is the member's lone epoch: the same random draws, optimiser steps, divergence, history and early
    # stopping. Runs enter and leave a group through TrainerGroup.add and remove, which call join and leave.
    def arrays(self) -> dict[str, Any]:
        """The arrays a group stacks, by name: shaped like the flat parameter vector, ``params``, ``snapshot``
        (the parameters at the start of the current epoch, which divergence restores) and the optimiser's
        buffers (one per name in ``optimizer.state_names``); shaped like the running estimates (empty without
        batch norm), ``stats`` and ``stats_snapshot``."""
        buffers = {name: getattr(self.optimizer, name) for name in self.optimizer.state_names}
        return {"params": self.network.params, "snapshot": self._snapshot, **buffers,
                "stats": self.network.stats, "stats_snapshot": self._stats_snapshot}

    def join(self, group: Any, arrays: dict[str, Any]) -> None:
        """Train in ``group`` with ``arrays`` (named as :meth:`arrays`; views of the group's stack rows) as
        this run's own arrays, not copied. The group calls it again whenever it moves the run's row."""
        self._bind(arrays)
        self.group = group

    def leave(self) -> None:
        """Train alone again: every array of :meth:`arrays` becomes a copy of its own (values unchanged), and
        ``group`` is None."""
        self._bind({name: array.copy() for name, array in self.arrays().items()})
        self.group = None

    def _bind(self, arrays: dict[str, Any]) -> None:
        shape, stats_shape = self.network.params.shape, self.network.stats.shape
        wrong = [name for name, array in arrays.items()
                 if array.shape != (stats_shape if name.startswith("stats") else shape)]
        if wrong:
            raise ValueError(f"arrays: {', '.join(wrong)} must have the parameters' shape {shape} "
                             f"(stats: the running estimates' {stats_shape})")
        self.network.bind(arrays["params"], arrays["stats"])
        self._snapshot = arrays["snapshot"]
        self._stats_snapshot = arrays["stats_snapshot"]
        for name in self.optimizer.state_names:
            setattr(self.optimizer, name, arrays[name])

    def start_epoch(self) -> None:
        """Before an epoch is trained: a run that diverged or stopped early goes on from where it stands, its
        status "ok" and its message cleared."""
        if self.status != "ok":
            self.status, self.message = "ok", ""

    def draw_epoch(self) -> tuple[Optional[np.ndarray], Optional[list[np.ndarray]]]:
        """One epoch's random draws from the run's own stream, in this order: the training order (a fresh
        permutation of the training set when shuffling, else None), then the dropout masks (None without
        dropout). Inverted dropout: per hidden layer a host (width, n_train) mask whose column i serves
        training row i of the epoch; each unit is kept with probability 1 − p and then scaled by 1/(1 − p), so
        a layer's expected output is unchanged. Whoever trains the epoch draws exactly once."""
        cfg = self.config
        order = self._train_rng.permutation(self.n_train) if cfg.shuffle else None
        if cfg.dropout == 0 or not cfg.hidden:
            return order, None
        p, scale = cfg.dropout, self.dtype(1 - cfg.dropout)
        masks = [(self._train_rng.random((width, self.n_train), dtype=np.float32) >= p).astype(self.dtype) / scale
                 for width in cfg.hidden]
        return order, masks

    def count_epoch(self, steps: int) -> None:
        """Count one epoch trained outside :meth:`run_epoch` (a group's stacked step) that took ``steps``
        optimiser steps: ``epoch`` goes up by one and the optimiser's step count by ``steps``."""
        self.epoch += 1
        self.optimizer.t += steps

    def settle(self, report: EpochReport, finite: Optional[bool] = None) -> EpochReport:
        """Close an epoch with its ``report``: when the loss is NaN or a parameter is not finite (``finite``:
        whether every parameter is finite, None to look), put back the epoch's starting weights and report
        the divergence; otherwise keep the report in ``history`` and watch early stopping. Returns the report
        with the run's status."""
        if finite is None:
            finite = bool(self.xp.isfinite(self.network.params).all())
        if report.train_loss is None or not finite:
            return self._diverged(report)
        self.history.append(report)
        if len(self.history) > self.history_limit:
            del self.history[:-self.history_limit]
        if self.config.early_stopping and report.test_loss is not None:
            self._watch_early_stopping(report)
        return report

    def note_gradients(self, norms) -> None:
        """Take in the latest per-layer gradient norms: a network whose every gradient is exactly 0 cannot
        learn any more, so while the status is "ok" the message says so and why (and is cleared once
        gradients flow again)."""
        if self.status == "ok":
            self.message = self._stalled_message() if len(norms) and all(n == 0 for n in norms) else ""

    # ---- probes (engine/probes.py) ---------------------------------------------------------------------
    def grid(self, density: int = 100, thumb: int = 10):
        """The output over [−6, 6]² and every hidden neuron's thumbnail, in one batched pass."""
        from .probes import evaluate_grid

        return evaluate_grid(self, density, thumb)

    def trace(self, point, label: Optional[float] = None) -> dict:
        """Forward and backward values for one point (see :func:`nnplay.engine.probes.backprop_trace`)."""
        from .probes import backprop_trace

        return backprop_trace(self, point, label)

    def confusion(self, split: str = "test") -> dict:
        """Confusion matrix of 'train' or 'test' data (see :func:`nnplay.engine.probes.confusion_matrix`)."""
        from .probes import confusion_matrix

        return confusion_matrix(self, split)

    def gradient_check(self, **kwargs) -> dict:
        """Compare backprop with central differences (see :func:`nnplay.engine.probes.gradient_check`)."""
        from .probes import gradient_check

        return gradient_check(self, **kwargs)

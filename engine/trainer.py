"""The training loop: a Trainer owns one run's data, network, optimiser, schedule and history.

Usage from a notebook::

    from nnplay.engine import Trainer
    run = Trainer({"dataset": "xor", "hidden": [4], "seed": 1})
    reports = run.train(200)
    print(reports[-1].test_accuracy, run.grid().values.shape)
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from .activations import get_activation
from .backend import get_backend, to_host
from .config import Config, Limits
from .data import DataSplit, check_labels, make_data
from .features import feature_matrix
from .initializers import get_initializer
from .losses import get_head
from .network import Network
from .optimizers import make_optimizer
from .regularizers import get_regularizer
from .reports import EpochReport, finite_or_none
from .schedules import get_schedule

# Fields ``update`` may change while a run goes on; anything else needs a new Trainer.
LIVE_FIELDS = frozenset({
    "learning_rate", "reg_rate", "regularization", "l1_ratio", "dropout", "batch_size", "shuffle",
    "optimizer", "momentum", "beta1", "beta2", "alpha", "eps", "weight_decay",
    "lr_schedule", "lr_step_size", "lr_gamma", "lr_t_max", "lr_eta_min", "early_stopping",
})
OPTIMIZER_FIELDS = frozenset({"optimizer", "momentum", "beta1", "beta2", "alpha", "eps", "weight_decay"})


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
    """

    def __init__(self, config: Config | dict, *, data: Optional[DataSplit] = None,
                 weights: Optional[list[dict]] = None, limits: Optional[Limits] = None, dtype=np.float32):
        self.limits = limits
        self.config = validate_config(config, limits)
        self.seed = self.config.seed if self.config.seed is not None else fresh_seed()
        self.data_seed = self.seed
        self.backend = get_backend(self.config.device)
        self.xp = self.backend.xp
        self.dtype = dtype
        self.task = self.config.task
        self.explicit_data = data is not None
        self.data = data if data is not None else make_data(self.config, self.data_seed)
        check_labels(self.data, self.task, self.config.n_classes)
        self.head = get_head(self.config.loss, self.task)
        n_out = self.config.n_classes if self.task == "multiclass" else 1
        sizes = [len(self.config.features), *self.config.hidden, n_out]
        self.network = Network(self.xp, sizes, [get_activation(a) for a in self.config.activations], self.head, dtype)
        self._snapshot = self.xp.zeros_like(self.network.params)
        self._reg_scratch = self.xp.zeros_like(self.network.params)
        self._load_data()
        self.reset(self.seed)
        if weights is not None:
            self.set_weights(weights)

    def __repr__(self) -> str:
        return (f"Trainer({self.config.dataset}, {self.network!r}, optimizer={self.config.optimizer}, "
                f"epoch={self.epoch}, status={self.status!r}, seed={self.seed})")

    # ---- data ------------------------------------------------------------------------------------------
    def _targets(self, labels: np.ndarray) -> np.ndarray:
        """Targets in the output's layout (n_out, rows): ±1 or values in one row, or one-hot columns."""
        if self.task == "multiclass":
            return np.eye(self.config.n_classes)[:, labels.astype(int)]
        return labels[None, :]

    def _inputs(self, points: np.ndarray):
        """Feature-major device inputs (n_features + 1, rows), last row ones, for the network."""
        xp = self.xp
        rows = feature_matrix(xp, xp.asarray(points), self.config.features, self.dtype)
        return xp.ascontiguousarray(rows.T)

    def _load_data(self) -> None:
        """Features and targets of the training and the test set, on the device."""
        xp, d = self.xp, self.data
        self.x_train, self.x_test = self._inputs(d.x_train), self._inputs(d.x_test)
        self.y_train = xp.asarray(self._targets(d.y_train), dtype=self.dtype)
        self.y_test = xp.asarray(self._targets(d.y_test), dtype=self.dtype)
        self.n_train = d.n_train
        self._batches: tuple[int, list] | None = None

    def _batch_list(self, batch: int) -> list:
        """The epoch's mini-batches as contiguous (inputs, targets) pairs; rebuilt only when they change."""
        shuffle = self.config.shuffle
        if shuffle:
            order = self.xp.asarray(self._train_rng.permutation(self.n_train))
            x, y = self.x_train[:, order], self.y_train[:, order]
        elif self._batches is not None and self._batches[0] == batch:
            return self._batches[1]
        else:
            x, y = self.x_train, self.y_train
        asc = self.xp.ascontiguousarray
        batches = [(asc(x[:, i:i + batch]), asc(y[:, i:i + batch])) for i in range(0, self.n_train, batch)]
        self._batches = None if shuffle else (batch, batches)  # a shuffled order is never reused
        return batches

    def regenerate(self, seed: Optional[int] = None) -> int:
        """New data (new points and split) from ``seed`` (random if None); the weights stay. Returns the seed."""
        if self.explicit_data:
            raise ValueError("regenerate: this run was given its data explicitly")
        self.data_seed = fresh_seed() if seed is None else int(seed)
        self.data = make_data(self.config, self.data_seed)
        self._load_data()
        return self.data_seed

    # ---- weights -----------------------------------------------------------------------------------------
    def reset(self, seed: Optional[int] = None) -> int:
        """New initial weights from ``seed`` (random if None), same data; epoch 0, history and state cleared."""
        self.init_seed = fresh_seed() if seed is None else int(seed)
        init = get_initializer(self.config.init)
        rng = np.random.default_rng([self.init_seed, 2])
        for index, (fan_in, fan_out) in enumerate(zip(self.network.sizes[:-1], self.network.sizes[1:])):
            self.network.set_layer(index, *init(rng, fan_in, fan_out))
        self._train_rng = np.random.default_rng([self.init_seed, 3])
        self._build_optimizer()
        self.epoch = 0
        self.history: list[EpochReport] = []
        self.status, self.message = "ok", ""
        self._best: Optional[tuple[float, int, Any]] = None
        self._since_best = 0
        return self.init_seed

    def get_weights(self) -> list[dict[str, list]]:
        """[{"W": [[...]] (fan_out × fan_in), "b": [...]}, ...] per layer, PyTorch's layout."""
        return [{"W": w.tolist(), "b": b.tolist()} for w, b in self.network.get_layers()]

    def set_weights(self, weights: list[dict]) -> None:
        """Replace every layer's weights; shapes must match the network (PyTorch layout)."""
        if len(weights) != self.network.n_layers:
            raise ValueError(f"weights: expected {self.network.n_layers} layers, got {len(weights)}")
        for index, layer in enumerate(weights):
            weight, bias = np.asarray(layer["W"], dtype=float), np.asarray(layer["b"], dtype=float)
            if not (np.isfinite(weight).all() and np.isfinite(bias).all()):
                raise ValueError(f"weights: layer {index} has NaN or infinite values")
            self.network.set_layer(index, weight, bias)

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
        if not np.isfinite(value):
            raise ValueError("value: must be a finite number")
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
        self.config = validate_config({**old.model_dump(), **changes}, self.limits)
        if self.config.optimizer != old.optimizer:
            self._build_optimizer()
        else:
            state = self.optimizer
            self._build_optimizer()
            if changes.keys() & OPTIMIZER_FIELDS:  # same optimiser, new hyper-parameters: keep its buffers
                state.hyper, state.weight_decay = self.optimizer.hyper, self.optimizer.weight_decay
            self.optimizer = state
        return self.config

    def learning_rate(self, epoch: Optional[int] = None) -> float:
        """The scheduled rate for ``epoch`` (default: the next epoch to run)."""
        cfg = self.config
        return self.schedule(cfg.learning_rate, self.epoch if epoch is None else epoch, **cfg.schedule_params())

    # ---- training ----------------------------------------------------------------------------------------
    def run_epoch(self) -> None:
        """One pass over the training set in mini-batches (the last partial batch is a step of its own)."""
        xp, cfg, net, opt = self.xp, self.config, self.network, self.optimizer
        params, grad = net.params, net.grad
        lr = self.learning_rate()
        batches = self._batch_list(min(cfg.batch_size, self.n_train))
        dropout = cfg.dropout > 0 and len(cfg.hidden) > 0
        penalty = self.regularizer.grad if cfg.reg_rate > 0 else None
        scratch, rate_mask, l1_ratio = self._reg_scratch, self._rate_mask, cfg.l1_ratio
        workspace, forward, backward, step = net.workspace, net.forward, net.backward, opt.step
        xp.copyto(self._snapshot, params)
        with np.errstate(all="ignore"):
            for xb, yb in batches:
                ws = workspace(xb.shape[1])
                if dropout:
                    self._draw_masks(ws)
                forward(xb, ws, dropout)
                backward(xb, yb, ws, dropout)
                if penalty is not None:  # g ← g + λ·R'(W), weights only (the mask zeroes the bias rows)
                    xp.multiply(penalty(xp, params, l1_ratio, scratch), rate_mask, out=scratch)
                    xp.add(grad, scratch, out=grad)
                step(params, grad, lr)
        self.epoch += 1

    def _draw_masks(self, ws) -> None:
        """Inverted dropout: keep each hidden unit with probability 1 − p and scale it by 1/(1 − p)."""
        p = self.config.dropout
        for mask in ws.masks:
            keep = self._train_rng.random(mask.shape, dtype=np.float32) >= p
            mask[...] = self.xp.asarray(keep.astype(self.dtype) / self.dtype(1 - p))

    def step_epoch(self, gradients: bool = True) -> EpochReport:
        """Run one epoch and report it; handles divergence and early stopping. Never raises on NaN/inf.
        ``gradients=False`` leaves ``grad_norms`` empty (about 15% faster on small networks)."""
        if self.status != "ok":
            self.status, self.message = "ok", ""
        self.run_epoch()
        report = self.report(gradients)
        if report.train_loss is None or not bool(self.xp.isfinite(self.network.params).all()):
            return self._diverged(report)
        self.history.append(report)
        if self.config.early_stopping and report.test_loss is not None:
            self._watch_early_stopping(report)
        return report

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
        self.optimizer.reset()
        diverged_at = self.epoch
        self.epoch -= 1
        self.status = "diverged"
        self.message = (f"training diverged at epoch {diverged_at} (the loss became NaN or infinite); "
                        f"weights restored to epoch {self.epoch}. Try a smaller learning rate, or Reset.")
        return report.model_copy(update={"status": "diverged", "message": self.message})

    def _watch_early_stopping(self, report: EpochReport) -> None:
        if self._best is None or report.test_loss < self._best[0]:
            self._best = (report.test_loss, report.epoch, self.network.params.copy())
            self._since_best = 0
            return
        self._since_best += 1
        if self._since_best >= self.config.early_stopping:
            loss, epoch, params = self._best
            self.xp.copyto(self.network.params, params)
            self.status = "early_stopped"
            self.message = (f"early stopping: test loss did not improve for {self.config.early_stopping} epochs; "
                            f"restored the best weights, from epoch {epoch} (test loss {loss:.4f})")
            report.status, report.message = self.status, self.message
            self._best, self._since_best = None, 0

    # ---- evaluation --------------------------------------------------------------------------------------
    def report(self, gradients: bool = True) -> EpochReport:
        """Metrics of the current weights on the whole training and test sets (no dropout); with
        ``gradients``, also ‖∂L/∂W_l‖ of the mean data loss over the whole training set, per layer."""
        xp, net, cfg = self.xp, self.network, self.config
        metrics: dict[str, Any] = {}
        with np.errstate(all="ignore"):
            for split, x, y in (("test", self.x_test, self.y_test), ("train", self.x_train, self.y_train)):
                if x.shape[1] == 0:
                    metrics[f"{split}_loss"] = None
                    continue
                ws = net.workspace(x.shape[1])
                out = net.forward(x, ws)
                metrics[f"{split}_loss"] = finite_or_none(self.head.value(xp, ws.z[-1], out, y).mean())
                metrics.update(self._quality(split, ws.z[-1], out, y))
            # the train forward pass is still in ws: backprop it for the full-batch gradient norms
            grad_norms = self._backprop_norms(ws) if gradients else []
            weights = [block[:-1] for block in net.blocks]
            penalty = cfg.reg_rate * sum(self.regularizer.penalty(xp, w, cfg.l1_ratio) for w in weights)
        train_loss = metrics["train_loss"]
        return EpochReport(
            epoch=self.epoch,
            total_loss=finite_or_none(train_loss + penalty) if train_loss is not None else None,
            learning_rate=self.learning_rate(max(self.epoch - 1, 0)),
            grad_norms=grad_norms,
            weight_norms=[finite_or_none(xp.linalg.norm(w)) for w in weights],
            status=self.status,
            message=self.message,
            **metrics,
        )

    def gradient_norms(self) -> list[Optional[float]]:
        """‖∂L/∂W_l‖ of the mean data loss over the whole training set, per layer (weights only)."""
        ws = self.network.workspace(self.n_train)
        with np.errstate(all="ignore"):
            self.network.forward(self.x_train, ws)
            return self._backprop_norms(ws)

    def _backprop_norms(self, ws) -> list[Optional[float]]:
        self.network.backward(self.x_train, self.y_train, ws)
        return [finite_or_none(self.xp.linalg.norm(g[:-1])) for g in self.network.grad_blocks]

    def _quality(self, split: str, logits, out, targets) -> dict[str, Optional[float]]:
        """Accuracy (classification) or RMSE and R² (regression) of one split; arrays are (n_out, rows)."""
        xp = self.xp
        if self.task == "regression":
            err = out[0] - targets[0]
            ss_tot = float(((targets[0] - targets[0].mean()) ** 2).sum())
            ss_res = float((err * err).sum())
            return {f"{split}_rmse": finite_or_none(np.sqrt(ss_res / err.size)),
                    f"{split}_r2": finite_or_none(1 - ss_res / ss_tot) if ss_tot > 0 else None}
        if self.task == "binary":
            correct = (logits[0] > 0) == (targets[0] > 0)  # every binary head decides by the logit's sign
        else:
            correct = xp.argmax(logits, axis=0) == xp.argmax(targets, axis=0)
        return {f"{split}_accuracy": float(correct.mean())}

    def predict(self, points: Any) -> dict[str, np.ndarray]:
        """Network output for host points (rows × 2): ``output`` (rows, n_out), ``logits``, and ``label``."""
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        ws = self.network.workspace(len(points))
        with np.errstate(all="ignore"):
            out = to_host(self.network.forward(self._inputs(points), ws)).T.copy()
        logits = to_host(ws.z[-1]).T.copy()
        if self.task == "binary":
            label = np.where(logits[:, 0] > 0, 1.0, -1.0)
        elif self.task == "multiclass":
            label = logits.argmax(axis=1).astype(np.float64)
        else:
            label = out[:, 0].astype(np.float64)
        return {"output": out, "logits": logits, "label": label}

    # ---- inspection (engine/inspect.py) ----------------------------------------------------------------
    def grid(self, density: int = 100, thumb: int = 10):
        """The output over [−6, 6]² and every hidden neuron's thumbnail, in one batched pass."""
        from .inspect import evaluate_grid

        return evaluate_grid(self, density, thumb)

    def trace(self, point, label: Optional[float] = None) -> dict:
        """Forward and backward values for one point (see :func:`nnplay.engine.inspect.backprop_trace`)."""
        from .inspect import backprop_trace

        return backprop_trace(self, point, label)

    def confusion(self, split: str = "test") -> dict:
        """Confusion matrix of 'train' or 'test' data (see :func:`nnplay.engine.inspect.confusion_matrix`)."""
        from .inspect import confusion_matrix

        return confusion_matrix(self, split)

    def gradient_check(self, **kwargs) -> dict:
        """Compare backprop with central differences (see :func:`nnplay.engine.inspect.gradient_check`)."""
        from .inspect import gradient_check

        return gradient_check(self, **kwargs)

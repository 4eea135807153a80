"""Looking inside a run: decision-boundary grids, a backprop trace for one point, a gradient check."""

from __future__ import annotations

from typing import Any, Callable, Generator, Optional

import numpy as np

from .backend import to_host
from .datasets import poly_x_from_network
from .features import GRID_EXTENT
from .reports import GridResult

_GRID_CACHE_SIZE = 4


def grid_points(density: int, dims: int = 2) -> np.ndarray:
    """Grid points over [−6, 6]² in row-major order, row 0 at x2 = +6 (1-D: along x1 with x2 = 0)."""
    axis = np.linspace(-GRID_EXTENT, GRID_EXTENT, density)
    if dims == 1:
        return np.column_stack([axis, np.zeros(density)])
    x1, x2 = np.meshgrid(axis, axis[::-1])
    return np.column_stack([x1.ravel(), x2.ravel()])


def thumbnail_points(thumb: int, dims: int = 2) -> np.ndarray:
    """Centres of a thumb × thumb tiling of [−6, 6]² (row 0 at the top), as small heatmaps sample it."""
    axis = -GRID_EXTENT + (np.arange(thumb) + 0.5) * (2 * GRID_EXTENT / thumb)
    if dims == 1:
        return np.column_stack([axis, np.zeros(thumb)])
    x1, x2 = np.meshgrid(axis, axis[::-1])
    return np.column_stack([x1.ravel(), x2.ravel()])


def _grid_features(trainer, density: int, thumb: int):
    """Feature matrix of grid + thumbnail points, cached per (features, density, thumb, input statistics)."""
    scaling = trainer.standardizer.key if trainer.standardizer is not None else None  # new data, new statistics
    key = (tuple(trainer.config.features), density, thumb, trainer.config.dims, scaling)
    cache = trainer.__dict__.setdefault("_grid_cache", {})
    if key not in cache:
        dims = trainer.config.dims
        points = np.concatenate([grid_points(density, dims), thumbnail_points(thumb, dims)])
        if len(cache) >= _GRID_CACHE_SIZE:
            cache.clear()
        cache[key] = trainer.inputs(points)
    return cache[key]


def display_values(task: str, loss: str, logits: np.ndarray, out: np.ndarray) -> np.ndarray:
    """What the heatmap colours: binary in [−1, 1] (tanh output, 2p − 1, or the clipped hinge score),
    multiclass the winning probability (hinge: softmax of the scores), regression the raw output."""
    if task == "regression":
        return out[:, 0]
    if task == "binary":
        if loss == "square":
            return out[:, 0]
        if loss == "cross_entropy":
            return 2 * out[:, 0] - 1
        return np.clip(out[:, 0], -1, 1)
    return _probabilities(loss, logits, out).max(axis=1)


def _probabilities(loss: str, logits: np.ndarray, out: np.ndarray) -> np.ndarray:
    if loss == "hinge":  # SVM scores are not probabilities; show their softmax
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)
    return out


def check_grid(trainer, density: int, thumb: int) -> None:
    """Raise ValueError for a grid density or thumbnail size outside the limits."""
    limits = trainer.limits
    lo, hi = (limits.min_grid_density, limits.max_grid_density) if limits else (10, 200)
    if not lo <= density <= hi:
        raise ValueError(f"density: must be between {lo} and {hi}, got {density}")
    if not 2 <= thumb <= 50:
        raise ValueError(f"thumb: must be between 2 and 50, got {thumb}")


def grid_inputs(trainer, density: int, thumb: int):
    """The feature-major inputs (n_features + 1, density² + thumb²) of a grid pass: grid points, then the
    thumbnails' points (validated against the limits)."""
    check_grid(trainer, density, thumb)
    return _grid_features(trainer, density, thumb)


def evaluate_grid(trainer, density: int = 100, thumb: int = 10) -> GridResult:
    """Evaluate the output on a density² grid and every hidden neuron on a thumb² grid, in one forward pass."""
    net = trainer.network
    features = grid_inputs(trainer, density, thumb)
    ws = net.workspace(features.shape[1])
    with np.errstate(all="ignore"):
        out = to_host(net.forward(features, ws))
        logits = to_host(ws.z[-1])
        hidden = [to_host(a) for a in net.hidden_outputs(ws)]
    return grid_result(trainer, out, logits, hidden, density, thumb)


def grid_result(trainer, out: np.ndarray, logits: np.ndarray, hidden: list[np.ndarray], density: int,
                thumb: int) -> GridResult:
    """A :class:`GridResult` from one network's host outputs over :func:`grid_inputs`: ``out`` and
    ``logits`` (n_out, points), ``hidden`` per layer (width, points)."""
    dims, cfg = trainer.config.dims, trainer.config
    out, logits = out.T, logits.T
    n_grid = density if dims == 1 else density * density
    shape = (density,) if dims == 1 else (density, density)
    thumb_shape = (thumb,) if dims == 1 else (thumb, thumb)
    values = display_values(trainer.task, cfg.loss, logits[:n_grid], out[:n_grid]).reshape(shape)
    neurons = [layer[:, n_grid:].reshape((layer.shape[0], *thumb_shape)).copy() for layer in hidden]
    result = GridResult(density=density, thumb=thumb, values=values.astype(np.float32), neurons=neurons)
    if trainer.task == "multiclass":
        probs = _probabilities(cfg.loss, logits[:n_grid], out[:n_grid])
        result.probabilities = probs.T.reshape((probs.shape[1], *shape)).astype(np.float32)
        result.classes = probs.argmax(axis=1).reshape(shape).astype(np.uint8)
    if dims == 1:
        result.axis = np.linspace(-GRID_EXTENT, GRID_EXTENT, density)
        if cfg.dataset == "poly_demo":
            result.meta["axis_units"] = poly_x_from_network(result.axis).tolist()
    return result


def _point_features(trainer, point) -> Any:
    return trainer.inputs(np.asarray(point, dtype=np.float64).reshape(1, 2), np.float64)


def _target(trainer, label: float) -> Any:
    return trainer.xp.asarray(trainer.targets(np.asarray([label], dtype=np.float64)), dtype=np.float64)


def backprop_trace(trainer, point, label: Optional[float] = None) -> dict:
    """Every value backprop computes for one point, in float64 (data loss of that point alone).

    Per layer (hidden layers, then the output): ``pre`` z = W a + b, ``post`` a = f(z), ``grad_pre``
    dL/dz; per link ``grad_W`` dL/dW[to][from] = dL/dz_to · a_from (PyTorch layout) and ``grad_b``.
    ``label`` defaults to the label of the nearest training point.

    A normalized hidden layer is traced in evaluation mode (one point has no batch statistics; batch norm
    uses its running estimates, as every prediction does): its ``pre`` and ``grad_pre`` are those of the
    product W a + b, and ``norm`` holds the step between product and activation: ``kind``, ``normalized``
    x̂, ``out`` = γ·x̂ + β (the activation's input, so ``post`` = f(out)), ``grad_out`` dL/d(out), ``gamma``,
    ``beta``, ``grad_gamma``, ``grad_beta``.
    """
    if label is None:
        d = trainer.data
        label = float(d.y_train[np.argmin(((d.x_train - np.asarray(point)) ** 2).sum(axis=1))])
    net = trainer.network.copy(np.float64)
    x, y = _point_features(trainer, point), _target(trainer, label)
    ws = net.workspace(1)
    with np.errstate(all="ignore"):
        out = net.forward(x, ws)
        loss = float(to_host(trainer.head.value(net.xp, ws.z[-1], out, y))[0])
        net.backward(x, y, ws)
        norms = _trace_norms(net, ws, x)
    layers = []
    for index in range(net.n_layers):
        hidden = index < net.n_layers - 1
        post = ws.a[index][:-1] if hidden else ws.out
        grad = to_host(net.grad_blocks[index])
        layers.append({
            "pre": to_host(ws.z[index])[:, 0].tolist(),
            "post": to_host(post)[:, 0].tolist(),
            "grad_pre": to_host(ws.delta[index])[:, 0].tolist(),
            "grad_W": grad[:-1].T.tolist(),
            "grad_b": grad[-1].tolist(),
        })
        if index < len(norms) and norms[index] is not None:
            layers[-1]["pre"], layers[-1]["norm"] = norms[index]
    return {
        "point": [float(v) for v in np.asarray(point).ravel()],
        "label": float(label),
        "features": dict(zip(trainer.config.features, to_host(x)[:-1, 0].tolist())),
        "layers": layers,
        "output": to_host(out)[:, 0].tolist(),
        "loss": loss,
    }


def _trace_norms(net, ws, x) -> list[Any]:
    """Per hidden layer, None, or (the product W a + b, the ``norm`` entry of :func:`backprop_trace`) after a
    forward and backward pass over one point on ``ws``."""
    xp, result = net.xp, []  # type: Any, list[Any]
    below = x
    for layer, views in enumerate(net.norm_views):
        if views is None:
            result.append(None)
        else:
            product = net.xp.dot(net.blocks[layer].T, below)
            grad_out = xp.dot(net.blocks[layer + 1][:-1], ws.delta[layer + 1])  # dL/da, then ⊙ f′(out)
            local = xp.empty_like(grad_out)
            net.activations[layer].grad(xp, ws.z[layer], ws.hidden[layer], local)
            column = lambda v: to_host(v)[:, 0].tolist()  # noqa: E731
            result.append((column(product), {
                "kind": views.norm.name, "normalized": column(ws.pre[layer]), "out": column(ws.z[layer]),
                "grad_out": column(grad_out * local), "gamma": column(views.gamma), "beta": column(views.beta),
                "grad_gamma": column(views.grad_gamma), "grad_beta": column(views.grad_beta)}))
        below = ws.a[layer]
    return result


def gradient_check(trainer, epsilon: float = 1e-6, max_params: int = 1000, max_points: int = 64,
                   seed: int = 0) -> dict:
    """Compare backprop with central differences (F(θ + ε) − F(θ − ε)) / 2ε in float64.

    F is the total loss (mean data loss over up to ``max_points`` training points + reg_rate·R(W)),
    without dropout, in training mode, the mode whose gradient training uses (batch norm normalizes by
    those points' own statistics, so F depends on the whole batch; the check runs on a copy, whose running
    estimates it may move). γ and β of normalized layers are parameters like the others.
    Up to ``max_params`` parameters are checked (all when there are fewer). The relative
    error of a parameter is |a − n| / max(|a|, |n|, 10⁻⁴·max|a|); the worst one is reported with its location.
    """
    return finish(gradient_check_parts(trainer, epsilon, max_params, max_points, seed))


def gradient_check_parts(trainer, epsilon: float = 1e-6, max_params: int = 1000, max_points: int = 64,
                         seed: int = 0, pause: Callable[[], bool] = lambda: False) -> Generator[None, None, dict]:
    """:func:`gradient_check` as resumable work: a generator that yields between parameters whenever
    ``pause()`` is true and returns the result that :func:`gradient_check` returns (the same numbers: the
    network is copied when it starts, so whatever happens to the trainer between parts changes nothing).
    A live worker runs it in slices between rounds of its clock (server/live/clock.py)."""
    cfg, xp = trainer.config, trainer.xp
    net = trainer.network.copy(np.float64)
    rows = min(max_points, trainer.n_train)
    x = xp.ascontiguousarray(trainer.x_train[:, :rows], dtype=np.float64)
    y = xp.ascontiguousarray(trainer.y_train[:, :rows], dtype=np.float64)
    ws = net.workspace(rows)
    weight_mask = net.weight_mask
    regularizer = trainer.regularizer

    def total_loss() -> float:
        out = net.forward(x, ws, train=True)
        data = float(trainer.head.value(xp, ws.z[-1], out, y).mean())
        weights = net.params[weight_mask.astype(bool)]
        return data + cfg.reg_rate * regularizer.penalty(xp, weights, cfg.l1_ratio)

    with np.errstate(all="ignore"):
        net.forward(x, ws, train=True)
        analytic = net.backward(x, y, ws).copy()
        if regularizer.grad is not None and cfg.reg_rate > 0:
            scratch = xp.zeros_like(net.params)
            analytic += cfg.reg_rate * weight_mask * regularizer.grad(xp, net.params, cfg.l1_ratio, scratch)
        analytic = to_host(analytic)
    count = analytic.size
    chosen = np.arange(count) if count <= max_params else np.sort(
        np.random.default_rng(seed).choice(count, max_params, replace=False))
    numeric = np.empty(len(chosen))
    k = 0
    while k < len(chosen):
        with np.errstate(all="ignore"):  # entered per part: a suspended generator must leave NumPy's state alone
            for i in chosen[k:]:
                original = float(net.params[i])
                net.params[i] = original + epsilon
                plus = total_loss()
                net.params[i] = original - epsilon
                minus = total_loss()
                net.params[i] = original
                numeric[k] = (plus - minus) / (2 * epsilon)
                k += 1
                if pause():
                    break
        if k < len(chosen):
            yield
    checked = analytic[chosen]
    # A central difference carries rounding noise of about eps_machine·|F|/ε (~1e−10 here), so a correct
    # gradient of 0 would show a huge *relative* error; the floor scales with the gradient's own size.
    floor = max(1e-4 * float(np.abs(analytic).max(initial=0.0)), 1e-8)
    errors = np.abs(checked - numeric) / np.maximum(np.maximum(np.abs(checked), np.abs(numeric)), floor)
    worst = int(np.argmax(errors)) if len(errors) else 0
    layer, parameter = _locate(net, int(chosen[worst])) if len(errors) else (0, "weight")
    return {
        "max_relative_error": float(errors.max()) if len(errors) else 0.0,
        "mean_relative_error": float(errors.mean()) if len(errors) else 0.0,
        "checked": int(len(chosen)),
        "total_params": int(count),
        "worst": {"layer": layer, "parameter": parameter, "analytic": float(checked[worst]),
                  "numeric": float(numeric[worst])},
        "epsilon": epsilon,
    }


def _locate(net, index: int) -> tuple[int, str]:
    """The layer of flat parameter ``index`` and what it is: "weight", "bias", or a normalized hidden
    layer's "gamma" or "beta"."""
    if index >= net.offsets[-1]:
        for layer, start in net.layout.params.items():
            width = net.sizes[layer + 1]
            if start <= index < start + 2 * width:
                return layer, "gamma" if index < start + width else "beta"
    layer = int(np.searchsorted(net.offsets, index, side="right") - 1)
    fan_out = net.shapes[layer][1]
    return layer, "bias" if index >= net.offsets[layer + 1] - fan_out else "weight"


def finish(parts: Generator[Any, None, Any]) -> Any:
    """Run resumable work (a generator such as :func:`gradient_check_parts`) to its end; returns its result."""
    while True:
        try:
            next(parts)
        except StopIteration as done:
            return done.value


def confusion_matrix(trainer, split: str = "test") -> dict:
    """Counts of (true class, predicted class) on 'train' or 'test' data, for classification.

    ``classes`` lists the class labels in matrix order (binary: −1, +1; multiclass: 0..k−1); row = true
    class, column = predicted class.
    """
    if trainer.task == "regression":
        raise ValueError("confusion matrix: only for classification problems")
    if split not in ("train", "test"):
        raise ValueError(f"split: must be 'train' or 'test', got {split!r}")
    data = trainer.data
    points, labels = (data.x_train, data.y_train) if split == "train" else (data.x_test, data.y_test)
    if trainer.task == "binary":
        classes = [-1.0, 1.0]
        truth = (labels > 0).astype(int)
    else:
        classes = [float(k) for k in range(trainer.config.n_classes)]
        truth = labels.astype(int)
    k = len(classes)
    matrix = np.zeros((k, k), dtype=np.int64)
    if len(labels):
        predicted = trainer.predict(points)["label"]
        predicted = (predicted > 0).astype(int) if trainer.task == "binary" else predicted.astype(int)
        np.add.at(matrix, (truth, predicted), 1)
    return {"split": split, "classes": classes, "matrix": matrix.tolist()}

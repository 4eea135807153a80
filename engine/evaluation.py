"""One evaluation of a network, or of a stack of networks, on its training and test sets.

This is where an :class:`~nnplay.engine.reports.EpochReport`'s numbers come from. Everything here works on arrays
with any leading axes: a lone network's outputs are (n_out, rows) and give 0-d results, a stack of K
networks' are (K, n_out, rows) and give (K,) results, member by member, in one pass (engine/group.py).

One forward pass per split gives the losses, the accuracies (or RMSE and R²) and, when asked, the
confusion matrices; the training split's pass is then backpropagated for the gradient norms. Nothing is
evaluated twice.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .backend import to_host
from .reports import EpochReport, finite_or_none

SPLITS = ("train", "test")


def split_metrics(xp: Any, task: str, head: Any, logits: Any, out: Any, targets: Any) -> dict[str, np.ndarray]:
    """Host float64 metrics of one split, each with the arrays' leading shape:
    ``loss`` (mean data loss), then ``accuracy`` (classification) or ``ss_res`` Σ(o − y)² and
    ``ss_tot`` Σ(y − ȳ)² (regression, for RMSE and R²)."""
    # Means as sum / rows: the same (pairwise) sum and a correctly rounded quotient, so the same numbers as
    # ``mean``, whose Python-level wrapper cost ~4 µs a call here, a fifth of a small network's report.
    rows = targets.shape[-1]
    metrics = {"loss": head.value(xp, logits, out, targets).sum(axis=-1) / rows}
    if task == "regression":
        truth = targets[..., 0, :]
        err = out[..., 0, :] - truth
        centred = truth - truth.mean(axis=-1, keepdims=True)
        metrics["ss_res"] = (err * err).sum(axis=-1)
        metrics["ss_tot"] = (centred * centred).sum(axis=-1)
    else:
        hits = predicted_class(xp, task, logits) == true_class(xp, task, targets)
        metrics["accuracy"] = hits.sum(axis=-1, dtype=np.float64) / rows
    return {name: to_host(value).astype(np.float64) for name, value in metrics.items()}


def predicted_class(xp: Any, task: str, logits: Any) -> Any:
    """Class index per sample: binary 1 where the logit is positive (every binary head decides by its sign),
    multiclass the largest score."""
    if task == "binary":
        return (logits[..., 0, :] > 0).astype(np.int64)
    return xp.argmax(logits, axis=-2)


def true_class(xp: Any, task: str, targets: Any) -> Any:
    """Class index per sample of ±1 targets (binary: 1 for +1) or one-hot columns (multiclass)."""
    if task == "binary":
        return (targets[..., 0, :] > 0).astype(np.int64)
    return xp.argmax(targets, axis=-2)


def confusion_counts(xp: Any, task: str, n_classes: int, logits: Any, targets: Any) -> np.ndarray:
    """Host int64 counts (leading shape…, k, k): row = true class, column = predicted class."""
    k = 2 if task == "binary" else n_classes
    cells = to_host(true_class(xp, task, targets) * k + predicted_class(xp, task, logits))
    leading = cells.shape[:-1]
    members = int(np.prod(leading, dtype=np.int64))
    offsets = (np.arange(members) * k * k).reshape(*leading, 1)  # one block of k² cells per member
    counts = np.bincount((cells + offsets).ravel(), minlength=members * k * k)
    return counts.reshape(*leading, k, k)


def class_labels(task: str, n_classes: int) -> list[float]:
    """The labels of the confusion matrix's rows and columns: binary −1, +1; multiclass 0..k−1."""
    return [-1.0, 1.0] if task == "binary" else [float(k) for k in range(n_classes)]


def evaluate(net: Any, head: Any, task: str, n_classes: int, splits: dict[str, tuple[Any, Any]], *,
             gradients: bool, confusion: bool) -> dict[str, Any]:
    """Metrics of ``net`` (a Network or a Stack) on ``splits`` {"train": (x, y), "test": (x, y)}.

    Returns host arrays: ``<split>_<metric>`` per :func:`split_metrics`, ``weight_norms`` (…, layers)
    ‖W_l‖, ``grad_norms`` (…, layers) ‖∂L/∂W_l‖ of the mean data loss on the whole training set (when
    ``gradients``), and ``confusion`` {split: (…, k, k)} (when ``confusion`` and classifying).
    """
    xp = net.xp
    values: dict[str, Any] = {"confusion": {} if confusion and task != "regression" else None}
    with np.errstate(all="ignore"):
        for split in ("test", "train"):  # train last: its forward pass stays in ws for the backward pass
            x, y = splits[split]
            if x.shape[-1] == 0:
                continue
            values[f"{split}_rows"] = x.shape[-1]
            ws = net.workspace(x.shape[-1])
            out = net.forward(x, ws)
            for name, value in split_metrics(xp, task, head, ws.z[-1], out, y).items():
                values[f"{split}_{name}"] = value
            if values["confusion"] is not None:
                values["confusion"][split] = confusion_counts(xp, task, n_classes, ws.z[-1], y)
        if gradients:
            net.backward(splits["train"][0], splits["train"][1], ws)
            values["grad_norms"] = _layer_norms(xp, net.grad, net.weight_spans)
        values["weight_norms"] = _layer_norms(xp, net.params, net.weight_spans)
    return values


def _layer_norms(xp: Any, flat: Any, spans: np.ndarray) -> np.ndarray:
    """‖W_l‖ (Frobenius, weights only, not the bias row) per layer, as the last axis, of flat parameters
    (…, P) whose layers' weights lie at ``spans`` (network.weight_spans): one square and one segmented sum
    for every layer at once, where a loop over the layers' blocks took five calls each."""
    sums = xp.add.reduceat(flat * flat, xp.asarray(spans), axis=-1, dtype=np.float64)
    return to_host(xp.sqrt(sums[..., ::2]))


def make_report(values: dict[str, Any], member: Any, *, epoch: int, learning_rate: float, penalty: float,
                task: str, n_classes: int, status: str = "ok", message: str = "") -> EpochReport:
    """The :class:`EpochReport` of one member (``()`` for a lone network, an index for a stack)."""
    metrics: dict[str, Optional[float]] = {}
    for split in SPLITS:
        if f"{split}_loss" not in values:
            metrics[f"{split}_loss"] = None
            continue
        metrics[f"{split}_loss"] = finite_or_none(values[f"{split}_loss"][member])
        if task == "regression":
            ss_res, ss_tot = float(values[f"{split}_ss_res"][member]), float(values[f"{split}_ss_tot"][member])
            rows = values[f"{split}_rows"]
            metrics[f"{split}_rmse"] = finite_or_none(np.sqrt(ss_res / rows))
            metrics[f"{split}_r2"] = finite_or_none(1 - ss_res / ss_tot) if ss_tot > 0 else None
        else:
            metrics[f"{split}_accuracy"] = float(values[f"{split}_accuracy"][member])
    train_loss = metrics["train_loss"]
    report = EpochReport(
        epoch=epoch,
        total_loss=finite_or_none(train_loss + penalty) if train_loss is not None else None,
        learning_rate=learning_rate,
        grad_norms=[finite_or_none(v) for v in values["grad_norms"][member]] if "grad_norms" in values else [],
        weight_norms=[finite_or_none(v) for v in values["weight_norms"][member]],
        status=status,
        message=message,
        **metrics,
    )
    if values["confusion"] is not None:
        labels = class_labels(task, n_classes)
        empty = [[0] * len(labels) for _ in labels]  # a split without points (no test set)
        report.confusion = {"classes": labels, **{split: values["confusion"][split][member].tolist()
                                                  if split in values["confusion"] else empty for split in SPLITS}}
    return report

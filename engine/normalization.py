"""Batch and layer normalization of a hidden layer's pre-activation, exactly as ``torch.nn.BatchNorm1d`` and
``torch.nn.LayerNorm`` (affine, eps 1e-5; batch norm's running estimates with momentum 0.1).

A normalized hidden layer is Linear → Norm → activation: with p = W̃ᵀ[a; 1] (the product, ``pre``),
x̂ = (p − μ) / √(σ² + ε) and z = γ·x̂ + β, then a = f(z). Batch norm takes μ, σ² (biased) per neuron over the
batch's rows in training mode and updates running estimates r_μ ← (1 − m)·r_μ + m·μ, r_σ² ← (1 − m)·r_σ² +
m·σ²·n/(n − 1) (unbiased); in evaluation mode it uses r_μ, r_σ². Layer norm takes μ, σ² per row over the
layer's neurons, in both modes.

The functions work on (width, rows) arrays of one network and on (K, width, rows) arrays of a stack alike:
they reduce over axis −1 (rows) or −2 (neurons) and γ, β, r_μ, r_σ² are (…, width, 1) columns, so the member
axis passes through unchanged (no per-member loop).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from .registry import lookup

EPS = 1e-5  # torch's default eps of BatchNorm1d and LayerNorm
MOMENTUM = 0.1  # torch's default momentum of BatchNorm1d's running estimates


@dataclass(frozen=True)
class Normalization:
    """What a normalization is: its name, label, the axis it takes statistics over (−1 rows: batch norm,
    −2 neurons: layer norm) and whether it keeps running estimates."""

    name: str
    label: str
    axis: int
    running: bool

    def __repr__(self) -> str:
        return f"Normalization({self.name!r})"


NORMALIZATIONS: dict[str, Optional[Normalization]] = {
    "none": None,
    "batch": Normalization("batch", "Batch norm", -1, True),
    "layer": Normalization("layer", "Layer norm", -2, False),
}
LABELS = {"none": "None", "batch": "Batch norm", "layer": "Layer norm"}


def get_normalization(name: str) -> Optional[Normalization]:
    return lookup(NORMALIZATIONS, "normalization", name)


@dataclass
class NormViews:
    """One normalized layer's arrays: γ, β and their gradients, as (…, width, 1) views of the flat parameter
    and gradient vectors, and (batch norm) the running mean and variance, views of the flat ``stats``."""

    norm: Normalization
    gamma: Any
    beta: Any
    grad_gamma: Any
    grad_beta: Any
    mean: Any = None
    var: Any = None
    running: Any = None  # r_μ and r_σ² together, (…, 2, width, 1): one update for both


def uses_batch(norm: Normalization, train: bool) -> bool:
    """Whether the statistics come from the rows at hand (batch norm training, layer norm always)."""
    return train or not norm.running


class RowScratch:
    """What batch norm needs for ``rows`` samples, made once per workspace: a column of ones and one of 1/n
    (row sums and means are one small matrix product each: NumPy's ``mean`` costs several times more on these
    tiny arrays), and the running estimates' coefficients (m, m·n/(n − 1)) as a (2, 1, 1) column."""

    def __init__(self, xp: Any, dtype: Any, rows: int):
        self.ones = xp.ones((rows, 1), dtype=dtype)
        self.means = xp.full((rows, 1), 1 / rows, dtype=dtype)
        unbiased = rows / (rows - 1) if rows > 1 else float("nan")
        self.coef = xp.asarray([[[MOMENTUM]], [[MOMENTUM * unbiased]]], dtype=dtype)
        self.rows = rows


def forward(xp: Any, views: NormViews, pre: Any, z: Any, inv: Any, train: bool, moments: Any = None,
            rows: Any = None, logged: bool = False) -> None:
    """z = γ·x̂ + β from the product ``pre``, which is overwritten with x̂; ``inv`` receives 1/√(σ² + ε).
    Batch norm in training mode (``rows``: the :class:`RowScratch` of the pass's rows) takes μ, σ² into
    ``moments`` (:func:`moment_buffers`, or a :class:`MomentLog` step's when ``logged``: the log updates the
    running estimates later) and updates its running estimates; in evaluation mode it uses them (:func:`fold`
    does the same in the weights, more cheaply)."""
    norm = views.norm
    if not norm.running:
        _layer_forward(xp, pre, z, inv, norm.axis)
    elif train:
        pair, mean, var = moments
        product = xp.dot if pre.ndim == 2 else xp.matmul  # dot: half matmul's cost on one network's arrays
        product(pre, rows.means, out=mean)
        xp.subtract(pre, mean, out=pre)
        xp.multiply(pre, pre, out=z)  # z as scratch: it is written last
        product(z, rows.means, out=var)
        xp.add(var, EPS, out=inv)
        xp.sqrt(inv, out=inv)
        xp.divide(1, inv, out=inv)
        if not logged:
            xp.multiply(pair, rows.coef, out=pair)  # m·μ and m·σ²·n/(n − 1), then r ← (1 − m)·r + those
            xp.multiply(views.running, 1 - MOMENTUM, out=views.running)
            xp.add(views.running, pair, out=views.running)
    else:
        eval_xhat(xp, views, pre, inv)  # x̂ already
    if uses_batch(norm, train):
        xp.multiply(pre, inv, out=pre)
    xp.multiply(pre, views.gamma, out=z)
    xp.add(z, views.beta, out=z)


def _layer_forward(xp: Any, pre: Any, z: Any, inv: Any, axis: int) -> None:
    """x̂ (in ``pre``) and 1/√(σ² + ε) (in ``inv``) over ``axis``, the statistics of the rows at hand."""
    mean = pre.mean(axis=axis, keepdims=True)
    xp.subtract(pre, mean, out=pre)
    xp.multiply(pre, pre, out=z)
    var = z.mean(axis=axis, keepdims=True)
    xp.add(var, EPS, out=inv)
    xp.sqrt(inv, out=inv)
    xp.divide(1, inv, out=inv)


def eval_xhat(xp: Any, views: NormViews, pre: Any, inv: Any) -> None:
    """Batch norm in evaluation mode: ``pre`` becomes x̂ = (p − r_μ)/√(r_σ² + ε), ``inv`` 1/√(r_σ² + ε)."""
    xp.add(views.var, EPS, out=inv)
    xp.sqrt(inv, out=inv)
    xp.divide(1, inv, out=inv)
    xp.subtract(pre, views.mean, out=pre)
    xp.multiply(pre, inv, out=pre)


def fold(xp: Any, views: NormViews, block_t: Any, out: Any) -> None:
    """Batch norm in evaluation mode is an affine map of the product, so it folds into the layer's weights:
    ``out`` = W̃ᵀ with each neuron's row scaled by s = γ/√(r_σ² + ε) and its bias b turned into s·(b − r_μ) + β.
    One product with ``out`` then gives z directly (a grid pass costs what it costs without normalization)."""
    scale = views.gamma / xp.sqrt(views.var + EPS)
    xp.multiply(block_t, scale, out=out)
    out[..., -1:] += views.beta - scale * views.mean


def backward(xp: Any, views: NormViews, delta: Any, xhat: Any, inv: Any, scratch: Any, train: bool,
             rows: Optional[RowScratch] = None) -> None:
    """Given ``delta`` = dL/dz, fill dL/dγ = Σ δ·x̂ and dL/dβ = Σ δ (over rows) and turn ``delta`` in place into
    dL/dp, the gradient at the product (the mode must be the forward pass's). With batch statistics
    dL/dp = (1/√(σ² + ε))·(g − mean(g) − x̂·mean(g·x̂)) over the statistics' axis, g = γ·dL/dz (for batch
    norm mean(g) = γ·dL/dβ/n and mean(g·x̂) = γ·dL/dγ/n: no further sums); with running estimates,
    dL/dp = g/√(r_σ² + ε)."""
    norm = views.norm
    xp.multiply(delta, xhat, out=scratch)
    if rows is not None:
        product = xp.dot if delta.ndim == 2 else xp.matmul
        product(scratch, rows.ones, out=views.grad_gamma)
        product(delta, rows.ones, out=views.grad_beta)
    else:
        views.grad_gamma[...] = scratch.sum(axis=-1, keepdims=True)
        views.grad_beta[...] = delta.sum(axis=-1, keepdims=True)
    if not uses_batch(norm, train):
        xp.multiply(delta, views.gamma * inv, out=delta)
    elif norm.running:
        n = delta.shape[-1]
        xp.multiply(xhat, views.grad_gamma / n, out=scratch)
        xp.add(scratch, views.grad_beta / n, out=scratch)
        xp.subtract(delta, scratch, out=delta)
        xp.multiply(delta, views.gamma * inv, out=delta)
    else:
        axis = norm.axis
        xp.multiply(delta, views.gamma, out=delta)
        xp.multiply(delta, xhat, out=scratch)
        spread = scratch.mean(axis=axis, keepdims=True)
        shift = delta.mean(axis=axis, keepdims=True)
        xp.multiply(xhat, spread, out=scratch)
        xp.subtract(delta, scratch, out=delta)
        xp.subtract(delta, shift, out=delta)
        xp.multiply(delta, inv, out=delta)


def moment_buffers(xp: Any, dtype: Any, width: int, leading: tuple[int, ...] = ()) -> tuple[Any, Any, Any]:
    """A batch-normed layer's scratch for the batch's μ and σ²: (both as one (…, 2, width, 1) array, μ, σ²)."""
    pair = xp.zeros((*leading, 2, width, 1), dtype=dtype)
    return pair, pair[..., 0, :, :], pair[..., 1, :, :]


def first_moments(moments: Any, members: int) -> Any:
    """The first ``members`` members' part of stacked :func:`moment_buffers` (None stays None)."""
    return None if moments is None else tuple(b[:members] for b in moments)


def stat_shape(norm: Normalization, width: int, rows: int, leading: tuple[int, ...] = ()) -> tuple[int, ...]:
    """The shape of 1/√(σ² + ε) for ``rows`` samples: one per neuron (batch) or one per row (layer)."""
    return (*leading, width, 1) if norm.axis == -1 else (*leading, 1, rows)


class Layout:
    """Where the normalized layers' γ, β sit in the flat parameter vector (after every layer block, so the
    blocks' offsets do not move) and their running estimates in the flat ``stats`` vector: per normalized
    hidden layer, γ (width) then β (width); per batch-normalized layer, r_μ (width) then r_σ² (width)."""

    def __init__(self, norms: list[Optional[Normalization]], widths: list[int], start: int):
        self.norms = list(norms)
        self.params: dict[int, int] = {}  # hidden layer → offset of its γ in the parameters
        self.stats: dict[int, int] = {}  # hidden layer → offset of its r_μ in the stats
        offset, stat = start, 0
        for layer, (norm, width) in enumerate(zip(norms, widths)):
            if norm is not None:
                self.params[layer] = offset
                offset += 2 * width
                if norm.running:
                    self.stats[layer] = stat
                    stat += 2 * width
        self.widths, self.size, self.stats_size = list(widths), offset, stat

    def __bool__(self) -> bool:
        return bool(self.params)

    def views(self, params: Any, grad: Any, stats: Any) -> list[Optional[NormViews]]:
        """Per hidden layer, its :class:`NormViews` (None when not normalized) of flat ``params``, ``grad``
        and ``stats``, (P,) or (K, P): γ and the others become (…, width, 1)."""
        result: list[Optional[NormViews]] = []
        for layer, (norm, width) in enumerate(zip(self.norms, self.widths)):
            if norm is None:
                result.append(None)
                continue
            at = self.params[layer]
            views = NormViews(norm, _column(params, at, width), _column(params, at + width, width),
                              _column(grad, at, width), _column(grad, at + width, width))
            if norm.running:
                s = self.stats[layer]
                views.mean, views.var = _column(stats, s, width), _column(stats, s + width, width)
                pair = stats[..., s:s + 2 * width]
                views.running = pair.reshape(*pair.shape[:-1], 2, width, 1)
            result.append(views)
        return result

    def initial_stats(self, xp: Any, dtype: Any) -> Any:
        """Fresh running estimates: r_μ = 0, r_σ² = 1 (torch's)."""
        stats = xp.zeros(self.stats_size, dtype=dtype)
        for layer, s in self.stats.items():
            stats[s + self.widths[layer]:s + 2 * self.widths[layer]] = 1
        return stats


def _column(flat: Any, start: int, width: int) -> Any:
    """``flat[…, start:start + width]`` as a (…, width, 1) view."""
    return flat[..., start:start + width][..., None]


class MomentLog:
    """The batch statistics of an epoch's training steps, kept so that the running estimates are updated once
    at its end (:meth:`flush`) rather than at every step: per step, every batch-normed layer's μ and σ² in the
    layout of the flat ``stats`` (its r_μ and r_σ² places), and the step's row count. The update replays the
    steps in order with torch's arithmetic, r ← (1 − m)·r + (m·μ, m·σ²·n/(n − 1)), elementwise over the whole
    vector, so the estimates are bit for bit those of updating at every step, for ~3 NumPy calls a step
    instead of 3 a batch-normed layer. ``leading`` is a stack's member axis."""

    def __init__(self, xp: Any, dtype: Any, layout: "Layout", leading: tuple[int, ...] = ()):
        self.xp, self.dtype, self.layout, self.leading = xp, dtype, layout, leading
        self.buffer: Any = None  # (capacity, *leading, S)
        self.views: list[list[Any]] = []  # per buffer row: per hidden layer, moment_buffers-like views or None
        self.rows: list[int] = []  # the row count of each logged step, in order
        self._coef: dict[int, Any] = {}

    def step(self, rows: int) -> list[Any]:
        """Views for the next step's μ and σ² (per hidden layer: (pair, μ, σ²), or None), ``rows`` its rows."""
        if self.buffer is None or len(self.rows) == len(self.buffer):
            self._grow()
        self.rows.append(rows)
        return self.views[len(self.rows) - 1]

    def _grow(self) -> None:
        xp, layout = self.xp, self.layout
        old = self.buffer
        capacity = 32 if old is None else 2 * len(old)
        self.buffer = xp.zeros((capacity, *self.leading, layout.stats_size), dtype=self.dtype)
        if old is not None:
            self.buffer[:len(old)] = old
        self.views = []
        for row in self.buffer:
            layers: list[Any] = []
            for layer, width in enumerate(layout.widths):
                start = layout.stats.get(layer)
                if start is None:
                    layers.append(None)
                    continue
                pair = row[..., start:start + 2 * width].reshape(*self.leading, 2, width, 1)
                layers.append((pair, pair[..., 0, :, :], pair[..., 1, :, :]))
            self.views.append(layers)

    def coefficients(self, rows: int) -> Any:
        """(m for every r_μ place, m·n/(n − 1) for every r_σ² place) in the stats' layout, for ``rows`` rows."""
        coef = self._coef.get(rows)
        if coef is None:
            host = np.zeros(self.layout.stats_size)
            for layer, start in self.layout.stats.items():
                width = self.layout.widths[layer]
                host[start:start + width] = MOMENTUM
                host[start + width:start + 2 * width] = MOMENTUM * (rows / (rows - 1) if rows > 1 else np.nan)
            coef = self._coef[rows] = self.xp.asarray(host, dtype=self.dtype)
        return coef

    def flush(self, stats: Any) -> None:
        """Update the running estimates ``stats`` with every logged step, in order, and empty the log."""
        xp = self.xp
        for index, rows in enumerate(self.rows):
            logged = self.buffer[index]
            xp.multiply(logged, self.coefficients(rows), out=logged)
            xp.multiply(stats, 1 - MOMENTUM, out=stats)
            xp.add(stats, logged, out=stats)
        self.rows = []

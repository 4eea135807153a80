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


def uses_batch(norm: Normalization, train: bool) -> bool:
    """Whether the statistics come from the rows at hand (batch norm training, layer norm always)."""
    return train or not norm.running


def forward(xp: Any, views: NormViews, pre: Any, z: Any, inv: Any, train: bool) -> None:
    """z = γ·x̂ + β from the product ``pre``, which is overwritten with x̂; ``inv`` receives 1/√(σ² + ε).
    Batch norm in training mode updates its running estimates (``train``)."""
    norm = views.norm
    if uses_batch(norm, train):
        axis = norm.axis
        mean = pre.mean(axis=axis, keepdims=True)
        xp.subtract(pre, mean, out=pre)
        xp.multiply(pre, pre, out=z)  # z as scratch: it is written last
        var = z.mean(axis=axis, keepdims=True)
        xp.sqrt(var + EPS, out=inv)
        xp.divide(1, inv, out=inv)
        if norm.running:
            rows = pre.shape[-1]
            views.mean *= 1 - MOMENTUM
            views.mean += MOMENTUM * mean
            views.var *= 1 - MOMENTUM
            views.var += (MOMENTUM * rows / (rows - 1)) * var
    else:
        xp.subtract(pre, views.mean, out=pre)
        xp.sqrt(views.var + EPS, out=inv)
        xp.divide(1, inv, out=inv)
    xp.multiply(pre, inv, out=pre)
    xp.multiply(pre, views.gamma, out=z)
    xp.add(z, views.beta, out=z)


def backward(xp: Any, views: NormViews, delta: Any, xhat: Any, inv: Any, scratch: Any, train: bool) -> None:
    """Given ``delta`` = dL/dz, fill dL/dγ and dL/dβ and turn ``delta`` in place into dL/dp, the gradient
    at the product (the mode must be the forward pass's). With batch statistics
    dL/dp = (1/√(σ² + ε))·(g − mean(g) − x̂·mean(g·x̂)) over the statistics' axis, g = γ·dL/dz; with running
    estimates, dL/dp = g/√(r_σ² + ε)."""
    norm = views.norm
    xp.multiply(delta, xhat, out=scratch)
    views.grad_gamma[...] = scratch.sum(axis=-1, keepdims=True)
    views.grad_beta[...] = delta.sum(axis=-1, keepdims=True)
    xp.multiply(delta, views.gamma, out=delta)
    if uses_batch(norm, train):
        axis = norm.axis
        xp.multiply(delta, xhat, out=scratch)
        spread = scratch.mean(axis=axis, keepdims=True)
        shift = delta.mean(axis=axis, keepdims=True)
        xp.multiply(xhat, spread, out=scratch)
        xp.subtract(delta, scratch, out=delta)
        xp.subtract(delta, shift, out=delta)
    xp.multiply(delta, inv, out=delta)


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

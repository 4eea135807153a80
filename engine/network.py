"""A fully connected network on one flat parameter vector, with preallocated buffers.

Layout: layer l's weights and bias live together in one block W̃_l = [[W_lᵀ], [b_l]] of shape
(fan_in + 1, fan_out), a view into the flat vector ``params``. Activations are stored feature-major,
(width + 1, rows), with a last row of ones, so one matrix product applies weights and bias:
z_l = W̃_lᵀ [a_{l−1}; 1], and every elementwise operation runs over contiguous memory (a row-major
[a, 1] buffer would make each activation write strided, three times slower on a 100×100 grid).
The gradient ``grad`` has the same layout as ``params``, so an optimiser or a regulariser is a few vector
operations on the whole network, and dL/dW̃_l = [a_{l−1}; 1] δ_lᵀ gives weight and bias gradients at once.

Weights are exchanged in PyTorch's layout (W: fan_out × fan_in, b: fan_out) by ``get_layers`` and
``set_layer``.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, NamedTuple, Optional

import numpy as np

from .activations import Activation
from .backend import to_host
from .losses import Head
from . import normalization
from .normalization import Layout, MomentLog, Normalization, RowScratch, moment_buffers, stat_shape


class Workspace:
    """Buffers for one number of rows (columns here), all (width, rows): z and [a; 1] for a forward pass
    (``a`` for hidden layers only, its last row fixed at 1); deltas, scratch and dropout masks for a backward
    pass or dropout, made on first use. A grid's workspace only ever sees forward passes, and it is the
    largest a trainer keeps (C2 at density 100: 10,100 rows), so it holds 4.4 MB rather than 10.1 MB (its
    hidden z has a spare row a layer, below).

    The hidden layers' z, [a; 1] and scratch are row blocks of one buffer each (``hidden_z``, ``hidden_a``,
    ``hidden_scratch``, in the same layout), so f′ of every hidden layer is one elementwise call over the
    whole buffer when the layers share an activation: a step of a small network is a few dozen NumPy calls
    on arrays of a few numbers, and tanh′ = 1 − a² was two calls a layer. (The rows of ones get a meaningless
    f′, which nothing reads.)"""

    def __init__(self, xp: Any, dtype: Any, widths: list[int], rows: int,
                 norms: Optional[list[Optional[Normalization]]] = None):
        self.rows, self._xp, self._dtype, self._widths = rows, xp, dtype, list(widths)
        norms = norms or [None] * (len(widths) - 1)
        # normalized layers: the product p, which becomes x̂, and 1/√(σ² + ε) (engine/normalization.py)
        self.pre = [None if n is None else xp.zeros((w, rows), dtype=dtype) for n, w in zip(norms, widths)]
        self.inv = [None if n is None else xp.zeros(stat_shape(n, w, rows), dtype=dtype)
                    for n, w in zip(norms, widths)]
        self.moments = [moment_buffers(xp, dtype, w) if n is not None and n.running else None
                        for n, w in zip(norms, widths)]  # batch norm's μ and σ² of the batch
        self.row_scratch = RowScratch(xp, dtype, rows) if any(norms) else None
        self.train = False  # the mode of the last forward pass (batch statistics or running estimates)
        self._starts = np.cumsum([0] + [w + 1 for w in widths[:-1]]).tolist()  # layer l's rows in hidden_*
        self.hidden_z = xp.zeros((self._starts[-1], rows), dtype=dtype)
        self.hidden_a = xp.ones((self._starts[-1], rows), dtype=dtype)
        self.z = self._blocks(self.hidden_z) + [xp.zeros((widths[-1], rows), dtype=dtype)]
        self.a = self._blocks(self.hidden_a, ones_row=True)
        self.hidden = self._blocks(self.hidden_a)  # a without its row of ones (views made once: steps are tiny)
        self.out = xp.zeros((widths[-1], rows), dtype=dtype)
        self.forward_plan: Optional[tuple[int, list]] = None  # (the network's binding it was made for, plan)
        self.backward_plan: Optional[tuple[int, list]] = None

    def _blocks(self, buffer: Any, ones_row: bool = False) -> list[Any]:
        return [buffer[start:start + width + ones_row] for start, width in zip(self._starts, self._widths[:-1])]

    def __repr__(self) -> str:
        return f"Workspace({self.rows} rows, widths={self._widths})"

    @cached_property
    def delta(self) -> list[Any]:
        return [self._xp.zeros((w, self.rows), dtype=self._dtype) for w in self._widths]

    @cached_property
    def hidden_scratch(self) -> Any:
        return self._xp.zeros((self._starts[-1], self.rows), dtype=self._dtype)

    @cached_property
    def scratch(self) -> list[Any]:
        """Per hidden layer, f′(z_l) in a backward pass (or while dropout masks a)."""
        return self._blocks(self.hidden_scratch)

    @cached_property
    def masks(self) -> list[Any]:
        return [self._xp.ones((w, self.rows), dtype=self._dtype) for w in self._widths[:-1]]


class ForwardLayer(NamedTuple):
    block_t: Any  # W̃_lᵀ
    z: Any
    activation: Optional[Activation]  # f_l; None for the output layer
    hidden: Any  # a_l without its row of ones (None for the output layer)
    above: Any  # [a_l; 1], the next layer's input (None for the output layer)
    norm: Any  # the layer's normalization.NormViews; None when not normalized (and for the output layer)


class BackwardLayer(NamedTuple):
    index: int  # l, from the last layer down to 1
    below_a: Any  # [a_{l−1}; 1]
    grad_block: Any  # dL/dW̃_l
    weights: Any  # W_l without its bias row
    delta_t: Any  # δ_lᵀ
    below: Any  # δ_{l−1}
    local: Any  # f′(z_{l−1})
    activation: Activation  # f_{l−1}
    z: Any  # z_{l−1}
    hidden: Any  # a_{l−1} without its row of ones
    norm: Any  # layer l−1's normalization.NormViews, or None


def weight_mask(xp: Any, sizes: list[int], dtype=np.float32, size: Optional[int] = None) -> Any:
    """1 on every weight, 0 on every bias (and on γ, β of normalized layers, which follow the blocks up to
    ``size``), in the flat layout: penalties apply to weights only."""
    parts = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        block = np.ones((fan_in + 1, fan_out), dtype=dtype)
        block[-1] = 0  # the bias row
        parts.append(block.ravel())
    mask = np.concatenate(parts)
    if size is not None:
        mask = np.concatenate([mask, np.zeros(size - len(mask), dtype=dtype)])
    return xp.asarray(mask)


def weight_spans(sizes: list[int]) -> np.ndarray:
    """Where each layer's weights start and end in the flat layout, [start₀, end₀, start₁, end₁, …]: a
    layer's block is its (fan_in × fan_out) weights followed by its bias row, so with these as ``reduceat``
    indices every even result sums one layer's weights (the odd ones its biases)."""
    spans, start = [], 0
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        spans += [start, start + fan_in * fan_out]
        start += (fan_in + 1) * fan_out
    return np.array(spans, dtype=np.intp)


class Network:
    """Fully connected layers ``sizes[0] → … → sizes[-1]`` with hidden ``activations`` and an output ``head``;
    ``norms`` (one per hidden layer, None for none) normalizes hidden layers between product and activation.

    The normalized layers' γ and β follow the layer blocks in ``params`` (:class:`~nnplay.engine.normalization.
    Layout`), so the optimiser updates them with the rest; batch norm's running estimates live in ``stats``."""

    def __init__(self, xp: Any, sizes: list[int], activations: list[Activation], head: Head, dtype=np.float32,
                 norms: Optional[list[Optional[Normalization]]] = None):
        if len(activations) != len(sizes) - 2:
            raise ValueError("one activation per hidden layer")
        norms = list(norms) if norms is not None else [None] * len(activations)
        if len(norms) != len(activations):
            raise ValueError("one normalization (or None) per hidden layer")
        self.xp, self.sizes, self.activations, self.head, self.dtype = xp, list(sizes), activations, head, dtype
        self.norms = norms
        # one f′ call for every hidden layer in a backward pass when they share f (Workspace.hidden_scratch)
        self._shared_activation = activations[0] if activations and all(
            f is activations[0] for f in activations) else None
        shapes = [(fan_in + 1, fan_out) for fan_in, fan_out in zip(sizes[:-1], sizes[1:])]
        self.offsets = np.cumsum([0] + [r * c for r, c in shapes]).tolist()
        self.shapes = shapes
        self.layout = Layout(norms, sizes[1:-1], self.offsets[-1])
        # the bias of a batch-normalized layer is cancelled by the batch mean in training mode: its gradient is
        # exactly 0 (summed in floats it is rounding noise, which Adam would blow up into steps of size η)
        self._batch_normed = [layer for layer, norm in enumerate(norms) if norm is not None and norm.running]
        self.normed_biases = xp.asarray(np.concatenate(  # where those biases lie in the flat vector
            [np.arange(self.offsets[layer + 1] - sizes[layer + 1], self.offsets[layer + 1])
             for layer in self._batch_normed] + [np.zeros(0, dtype=np.intp)]))
        # evaluation mode folds batch norm into a copy of W̃ᵀ (normalization.fold): one per batch-normed layer
        self._folded = {layer: xp.zeros((sizes[layer + 1], sizes[layer] + 1), dtype=dtype)
                        for layer in self._batch_normed}
        # while set (a trainer's epoch), training passes log their batch statistics here instead of updating
        # the running estimates; whoever sets it flushes it into ``stats`` (normalization.MomentLog)
        self.moment_log: Optional[MomentLog] = None
        self.size = self.layout.size  # parameters in all: the layer blocks, then γ and β of normalized layers
        self._binding = 0  # counts bind() calls: a workspace's plans hold views of the parameters of one
        self.grad = xp.zeros(self.size, dtype=dtype)
        self.grad_blocks = self._views(self.grad, shapes)
        self.bind(xp.zeros(self.size, dtype=dtype), self.layout.initial_stats(xp, dtype))
        self.weight_mask = weight_mask(xp, sizes, dtype, self.size)
        self.weight_spans = weight_spans(sizes)
        self._workspaces: dict[int, Workspace] = {}

    def bind(self, params: Any, stats: Any = None) -> None:
        """Use ``params`` (a flat vector of this network's size, e.g. a row of a stack of networks) as the
        parameters from now on, and ``stats`` (when given) as the running estimates; the layer blocks become
        views of them. The values are not copied."""
        if params.shape != (self.size,):
            raise ValueError(f"params: expected shape ({self.size},), got {params.shape}")
        if stats is not None:
            if stats.shape != (self.layout.stats_size,):
                raise ValueError(f"stats: expected shape ({self.layout.stats_size},), got {stats.shape}")
            self.stats = stats
        self.params = params
        self.norm_views = self.layout.views(params, self.grad, self.stats)
        self._binding += 1  # the workspaces' plans of the old views are stale
        self.blocks = self._views(params, self.shapes)
        # views made once, not at every step: with batches of one a step is ~20 tiny NumPy calls, and each
        # view made in it (W̃ᵀ, W without its bias row) adds to their per-call overhead
        self._blocks_t = [block.T for block in self.blocks]
        self._weights = [block[:-1] for block in self.blocks]

    def _views(self, flat, shapes):
        return [flat[a:b].reshape(shape) for (a, b), shape in zip(zip(self.offsets, self.offsets[1:]), shapes)]

    def __repr__(self) -> str:
        acts = ",".join(a.name for a in self.activations)
        return f"Network({'→'.join(map(str, self.sizes))}, hidden=[{acts}], head={self.head.name}/{self.head.task})"

    @property
    def n_layers(self) -> int:
        return len(self.blocks)

    # ---- weights in PyTorch's layout -----------------------------------------------------------------
    def get_layers(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """[(W (fan_out, fan_in), b (fan_out,)), ...] as host float64 copies."""
        return [(to_host(block[:-1]).T.astype(np.float64), to_host(block[-1]).astype(np.float64)) for block in self.blocks]

    def set_layer(self, index: int, weight: Any, bias: Any) -> None:
        block = self.blocks[index]
        fan_in, fan_out = block.shape[0] - 1, block.shape[1]
        weight, bias = np.asarray(weight, dtype=np.float64), np.asarray(bias, dtype=np.float64)
        if weight.shape != (fan_out, fan_in) or bias.shape != (fan_out,):
            raise ValueError(
                f"layer {index}: expected W of shape ({fan_out}, {fan_in}) and b of shape ({fan_out},), "
                f"got {weight.shape} and {bias.shape}"
            )
        block[:-1] = self.xp.asarray(weight.T, dtype=self.dtype)
        block[-1] = self.xp.asarray(bias, dtype=self.dtype)

    # ---- buffers ---------------------------------------------------------------------------------------
    def workspace(self, rows: int) -> Workspace:
        """The buffers for ``rows`` samples, made once and reused."""
        ws = self._workspaces.get(rows)
        if ws is None:
            ws = Workspace(self.xp, self.dtype, self.sizes[1:], rows, self.norms)
            if len(self._workspaces) > 8:  # keep a few sizes (batch, last batch, data, grid) and no more
                self._workspaces.clear()
            self._workspaces[rows] = ws
        return ws

    # ---- forward and backward --------------------------------------------------------------------------
    def _forward_plan(self, ws: Workspace) -> list[ForwardLayer]:
        """Every array a forward pass over ``ws`` touches, per layer, looked up once for the current
        parameters: with batches of one, the Python around ~20 tiny NumPy calls (indexing four lists a
        layer, making the views δᵀ) was about 5% of a step."""
        if ws.forward_plan is None or ws.forward_plan[0] != self._binding:
            hidden_layers = len(self.activations)
            plan = [ForwardLayer(block_t, ws.z[layer], *((self.activations[layer], ws.hidden[layer], ws.a[layer],
                                                          self.norm_views[layer])
                                                         if layer < hidden_layers else (None, None, None, None)))
                    for layer, block_t in enumerate(self._blocks_t)]
            ws.forward_plan = (self._binding, plan)
        return ws.forward_plan[1]

    def _backward_plan(self, ws: Workspace) -> list[BackwardLayer]:
        """As :meth:`_forward_plan`, for a backward pass: the layers from the last down to the second."""
        if ws.backward_plan is None or ws.backward_plan[0] != self._binding:
            plan = [BackwardLayer(layer, ws.a[layer - 1], self.grad_blocks[layer], self._weights[layer],
                                  ws.delta[layer].T, ws.delta[layer - 1], ws.scratch[layer - 1],
                                  self.activations[layer - 1], ws.z[layer - 1], ws.hidden[layer - 1],
                                  self.norm_views[layer - 1])
                    for layer in range(self.n_layers - 1, 0, -1)]
            ws.backward_plan = (self._binding, plan)
        return ws.backward_plan[1]

    def forward(self, x: Any, ws: Workspace, dropout: bool = False, train: bool = False) -> Any:
        """Output o (n_out, rows) for inputs ``x`` (fan_in + 1, rows; last row ones). Activations stay in ``ws``.

        z_l = W̃_lᵀ [a_{l−1}; 1] (normalized: z_l = γ·x̂ + β of that product);  a_l = f_l(z_l) (⊙ the dropout
        mask when ``dropout``);  o = head(z_L). ``train`` is training mode: batch norm uses the batch's
        statistics and updates its running estimates; otherwise it uses the running estimates.
        """
        xp, a = self.xp, x
        dot = xp.dot
        ws.train = train
        log = self.moment_log if train else None
        moments = ws.moments if log is None else log.step(ws.rows)
        for layer, (block_t, z, activation, hidden, above, views) in enumerate(self._forward_plan(ws)):
            if views is None:
                dot(block_t, a, out=z)
            elif views.norm.running and not train:  # batch norm, evaluation mode: an affine map, folded
                folded = self._folded[layer]
                normalization.fold(xp, views, block_t, folded)
                dot(folded, a, out=z)
            else:
                dot(block_t, a, out=ws.pre[layer])
                normalization.forward(xp, views, ws.pre[layer], z, ws.inv[layer], train, moments[layer],
                                      ws.row_scratch, log is not None)
            if activation is not None:
                activation.fn(xp, z, hidden)
                if dropout:  # f'(z) before the mask scales a: tanh' = 1 − a² must see the unmasked a
                    activation.grad(xp, z, hidden, ws.scratch[layer])
                    xp.multiply(hidden, ws.masks[layer], out=hidden)
                a = above
        return self.head.output(xp, ws.z[-1], ws.out)

    def backward(self, x: Any, y: Any, ws: Workspace, dropout: bool = False) -> Any:
        """Fill ``grad`` with d(mean data loss)/dθ after ``forward(x, ws)``, in that pass's mode; ``y`` is
        (n_out, rows).

        δ_L = dL/dz_L;  dL/dW̃_l = [a_{l−1}; 1] δ_lᵀ;  δ_{l−1} = (W_l δ_l) ⊙ f′(z_{l−1}) (⊙ mask), then through
        layer l−1's normalization, if any (engine/normalization.py), which also gives dL/dγ, dL/dβ.
        """
        xp = self.xp
        dot, multiply = xp.dot, xp.multiply
        plan = self._backward_plan(ws)
        delta = self.head.grad(xp, ws.z[-1], ws.out, y, 1.0 / ws.rows, ws.delta[-1])
        # f′ of every hidden layer (with dropout, forward already stored it), in one call when they share f
        shared = not dropout and self._shared_activation is not None
        if shared:
            self._shared_activation.grad(xp, ws.hidden_z, ws.hidden_a, ws.hidden_scratch)
        for layer, below_a, grad_block, weights, delta_t, below, local, activation, z, hidden, views in plan:
            dot(below_a, delta_t, out=grad_block)
            dot(weights, delta, out=below)
            if not dropout and not shared:
                activation.grad(xp, z, hidden, local)
            multiply(below, local, out=below)
            if dropout:
                multiply(below, ws.masks[layer - 1], out=below)
            if views is not None:  # f′ is used up: its buffer is the scratch
                self._norm_backward(views, layer - 1, x, ws, below, local)
            delta = below
        dot(x, ws.delta[0].T, out=self.grad_blocks[0])
        if ws.train and self._batch_normed:
            self.grad[self.normed_biases] = 0
        return self.grad

    def _norm_backward(self, views: Any, layer: int, x: Any, ws: Workspace, delta: Any, scratch: Any) -> None:
        """Hidden layer ``layer``'s normalization step of a backward pass (``delta``: dL/dz in, dL/dp out).
        A folded forward pass (batch norm, evaluation mode) left no x̂: it is made here from the product."""
        pre, inv = ws.pre[layer], ws.inv[layer]
        if views.norm.running and not ws.train:
            self.xp.dot(self._blocks_t[layer], x if layer == 0 else ws.a[layer - 1], out=pre)
            normalization.eval_xhat(self.xp, views, pre, inv)
        rows = ws.row_scratch if views.norm.running else None
        normalization.backward(self.xp, views, delta, pre, inv, scratch, ws.train, rows)

    def hidden_outputs(self, ws: Workspace) -> list[Any]:
        """Each hidden layer's activations (width, rows) from the last ``forward`` on ``ws``."""
        return [a[:-1] for a in ws.a]

    def copy(self, dtype=None) -> "Network":
        """An independent network with the same shape and parameters (optionally in another dtype)."""
        twin = Network(self.xp, self.sizes, self.activations, self.head, dtype or self.dtype, self.norms)
        twin.params[...] = self.params.astype(twin.dtype)
        twin.stats[...] = self.stats.astype(twin.dtype)
        return twin

    # ---- normalization ---------------------------------------------------------------------------------
    def reset_norms(self) -> None:
        """γ = 1, β = 0 and fresh running estimates (r_μ = 0, r_σ² = 1), as torch initialises them."""
        for views in self.norm_views:
            if views is not None:
                views.gamma[...] = 1
                views.beta[...] = 0
        self.stats[...] = self.layout.initial_stats(self.xp, self.dtype)

    def get_norms(self) -> list[Optional[dict[str, Any]]]:
        """Per hidden layer, None or {"kind", "gamma", "beta"} (and batch norm's "running_mean",
        "running_var"), host float64 lists."""
        result: list[Optional[dict[str, Any]]] = []
        for views in self.norm_views:
            if views is None:
                result.append(None)
                continue
            entry = {"kind": views.norm.name, "gamma": _host(views.gamma), "beta": _host(views.beta)}
            if views.norm.running:
                entry.update(running_mean=_host(views.mean), running_var=_host(views.var))
            result.append(entry)
        return result

    def set_norm(self, layer: int, values: dict[str, Any]) -> None:
        """Set hidden layer ``layer``'s γ, β (and running estimates, for batch norm) from ``values`` as
        :meth:`get_norms` gives them; raises ValueError on a wrong layer, key or shape."""
        views = self.norm_views[layer]
        if views is None:
            raise ValueError(f"layer {layer} is not normalized")
        names = {"gamma": views.gamma, "beta": views.beta}
        if views.norm.running:
            names.update(running_mean=views.mean, running_var=views.var)
        width = views.gamma.shape[0]
        for name, target in names.items():
            if values.get(name) is None:
                raise ValueError(f"layer {layer}: {views.norm.name} normalization needs {', '.join(names)}")
            value = np.asarray(values[name], dtype=np.float64)
            if value.shape != (width,):
                raise ValueError(f"layer {layer}: {name} must have {width} values, got shape {value.shape}")
            target[:, 0] = self.xp.asarray(value, dtype=self.dtype)


def _host(column: Any) -> list:
    return to_host(column[:, 0]).astype(np.float64).tolist()

"""K networks of one shape as one computation: :class:`~nnplay.engine.network.Network`'s equations with a leading
member axis.

Parameters are a (K, P) array whose row k is member k's flat vector (the layout of engine/network.py), so
layer l's blocks are (K, fan_in + 1, fan_out) views and every product is one batched ``matmul`` over the
members. Activations are (K, width, rows) (hidden ones with a row of ones appended, as in Network). Inputs
are (K, fan_in + 1, rows), or (fan_in + 1, rows) shared by every member (a grid), which ``matmul``
broadcasts. Activations and output heads are the same functions as for one network: they are elementwise or
reduce over the output axis −2 (engine/losses.py), so the member axis passes through them unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from .activations import Activation
from . import normalization
from .losses import Head
from .network import weight_spans
from .normalization import (
    Layout, MomentLog, Normalization, RowScratch, first_moments, moment_buffers, stat_shape,
)

WORKSPACE_ROWS = 16  # row counts kept: batch, last batch, data, grid, …


@dataclass
class StackWorkspace:
    """:class:`~nnplay.engine.network.Workspace`'s buffers with a leading member axis, (K, width, rows), plus
    contiguous δᵀ (K, rows, width) per layer (no masks: a stack's dropout masks are passed in)."""

    rows: int
    z: list[Any]
    a: list[Any]
    delta: list[Any]
    scratch: list[Any]
    out: Any
    delta_t: list[Any]
    pre: list[Any]  # per hidden layer: normalized, the product p (then x̂), (K, width, rows); else None
    inv: list[Any]  # per hidden layer: normalized, 1/√(σ² + ε); else None
    moments: list[Any]  # per hidden layer: batch norm, normalization.moment_buffers (K members); else None
    row_scratch: Any  # normalization.RowScratch for these rows (None without normalization)
    train: bool = False  # the mode of the last forward pass


class WorkspacePool:
    """A group's stacked buffers, shared by its stacks: per number of rows, one set of buffers for the most
    members asked for so far; K members get views of its first K (the member axis leads, so the views stay
    contiguous). Stepping a subset of a group (sessions whose epochs are due at other instants) then costs
    no memory of its own: with buffers per (members, rows), every subset size made its own (about 0.25 MB
    per member for C2's 250 rows), and a worker of the 30-minute soak (benchmarks/soak.py) grew ~10 MB as
    students touching their controls stepped out of phase in subsets of new sizes."""

    def __init__(self, xp: Any, dtype: Any, widths: list[int], norms: Optional[list[Optional[Normalization]]] = None):
        self.xp, self.dtype, self.widths = xp, dtype, list(widths)
        self.norms = list(norms) if norms is not None else [None] * (len(widths) - 1)
        self._bases: dict[int, StackWorkspace] = {}  # rows → buffers for the most members so far
        self._views: dict[tuple[int, int], StackWorkspace] = {}  # (members, rows) → views of the base

    def __repr__(self) -> str:
        return f"WorkspacePool({ {rows: ws.out.shape[0] for rows, ws in self._bases.items()} })"

    def get(self, members: int, rows: int) -> StackWorkspace:
        """Buffers (members, width, rows), made once per row count and reused."""
        ws = self._views.get((members, rows))
        if ws is None:
            base = self._bases.get(rows)
            if base is None or base.out.shape[0] < members:
                if len(self._bases) >= WORKSPACE_ROWS and base is None:
                    self._bases.clear()
                    self._views.clear()
                base = self._bases[rows] = self._allocate(members, rows)
                self._views = {key: view for key, view in self._views.items() if key[1] != rows}
            ws = self._views[(members, rows)] = _first(base, members)
        return ws

    def _allocate(self, members: int, rows: int) -> StackWorkspace:
        xp, dtype, k, widths = self.xp, self.dtype, members, self.widths
        return StackWorkspace(
            rows=rows,
            z=[xp.zeros((k, w, rows), dtype=dtype) for w in widths],
            a=[xp.ones((k, w + 1, rows), dtype=dtype) for w in widths[:-1]],  # the last row stays 1
            delta=[xp.zeros((k, w, rows), dtype=dtype) for w in widths],
            scratch=[xp.zeros((k, w, rows), dtype=dtype) for w in widths],
            out=xp.zeros((k, widths[-1], rows), dtype=dtype),
            delta_t=[xp.zeros((k, rows, w), dtype=dtype) for w in widths],
            pre=[None if n is None else xp.zeros((k, w, rows), dtype=dtype) for n, w in zip(self.norms, widths)],
            inv=[None if n is None else xp.zeros(stat_shape(n, w, rows, (k,)), dtype=dtype)
                 for n, w in zip(self.norms, widths)],
            moments=[moment_buffers(xp, dtype, w, (k,)) if n is not None and n.running else None
                     for n, w in zip(self.norms, widths)],
            row_scratch=RowScratch(xp, dtype, rows) if any(self.norms) else None,
        )


def _first(ws: StackWorkspace, members: int) -> StackWorkspace:
    """Views of the first ``members`` members of every buffer of ``ws``."""
    return StackWorkspace(rows=ws.rows, z=[b[:members] for b in ws.z], a=[b[:members] for b in ws.a],
                          delta=[b[:members] for b in ws.delta], scratch=[b[:members] for b in ws.scratch],
                          out=ws.out[:members], delta_t=[b[:members] for b in ws.delta_t],
                          pre=[None if b is None else b[:members] for b in ws.pre],
                          inv=[None if b is None else b[:members] for b in ws.inv],
                          moments=[first_moments(b, members) for b in ws.moments], row_scratch=ws.row_scratch)


class Stack:
    """Forward and backward passes of K networks ``sizes[0] → … → sizes[-1]`` stacked in ``params`` (K, P).

    ``workspaces`` is a :class:`WorkspacePool` the caller may share between the stacks of one group.
    ``norms`` (one per hidden layer, None for none) normalizes hidden layers as Network does, with γ, β in
    ``params`` (Network's layout) and batch norm's running estimates in ``stats`` (K, S).
    """

    def __init__(self, xp: Any, sizes: list[int], activations: list[Activation], head: Head, params: Any,
                 workspaces: Optional[WorkspacePool] = None, norms: Optional[list[Optional[Normalization]]] = None,
                 stats: Any = None):
        self.xp, self.sizes, self.activations, self.head = xp, list(sizes), activations, head
        self.params = params
        self.grad = xp.zeros_like(params)
        shapes = [(fan_in + 1, fan_out) for fan_in, fan_out in zip(sizes[:-1], sizes[1:])]
        offsets = np.cumsum([0] + [r * c for r, c in shapes]).tolist()
        norms = list(norms) if norms is not None else [None] * len(activations)
        layout = Layout(norms, sizes[1:-1], offsets[-1])
        if stats is None:
            stats = xp.zeros((params.shape[0], layout.stats_size), dtype=params.dtype)
        self.stats = stats
        self.layout = layout
        self.moment_log: Optional[MomentLog] = None  # as Network.moment_log
        self.norm_views = layout.views(params, self.grad, stats)
        self.normed_biases = xp.asarray(np.concatenate(  # the biases of batch-normed layers in the flat vector
            [np.arange(offsets[layer + 1] - sizes[layer + 1], offsets[layer + 1])
             for layer, norm in enumerate(norms) if norm is not None and norm.running] + [np.zeros(0, dtype=np.intp)]))
        self.weight_spans = weight_spans(sizes)
        members = params.shape[0]
        self.blocks = [params[:, a:b].reshape(members, *shape) for a, b, shape in zip(offsets, offsets[1:], shapes)]
        self.grad_blocks = [self.grad[:, a:b].reshape(members, *shape)
                            for a, b, shape in zip(offsets, offsets[1:], shapes)]
        self._workspaces = WorkspacePool(xp, params.dtype, sizes[1:], norms) if workspaces is None else workspaces
        # NumPy's batched matmul hands a transposed (K, m, n) view to BLAS 3–5× slower than a contiguous
        # one, so W̃ᵀ is copied once per forward pass into these (K, fan_out, fan_in + 1) buffers.
        self._transposed = [xp.empty((members, c, r), dtype=params.dtype) for r, c in shapes]

    def __repr__(self) -> str:
        return f"Stack({self.params.shape[0]} × {'→'.join(map(str, self.sizes))}, head={self.head.name})"

    @property
    def members(self) -> int:
        return self.params.shape[0]

    def workspace(self, rows: int) -> StackWorkspace:
        """The (K, width, rows) buffers for ``rows`` samples, made once and reused."""
        return self._workspaces.get(self.members, rows)

    def forward(self, x: Any, ws: StackWorkspace, masks: Optional[list[Any]] = None, train: bool = False) -> Any:
        """Outputs (K, n_out, rows). As Network.forward, per member: z_l = W̃_lᵀ [a_{l−1}; 1] (normalized:
        γ·x̂ + β of that product, in training mode when ``train``); a_l = f_l(z_l) (⊙ its dropout mask
        (K, width, rows) when ``masks`` are given); o = head(z_L)."""
        xp, a = self.xp, x
        hidden_layers = len(self.activations)
        ws.train = train
        log = self.moment_log if train else None
        moments = ws.moments if log is None else log.step(ws.rows)
        for layer, (block, block_t) in enumerate(zip(self.blocks, self._transposed)):
            views = self.norm_views[layer] if layer < hidden_layers else None
            folded = views is not None and views.norm.running and not train  # as Network.forward
            z = ws.z[layer] if views is None or folded else ws.pre[layer]
            xp.copyto(block_t, block.transpose(0, 2, 1))
            if folded:
                normalization.fold(xp, views, block_t, block_t)
            if a.ndim == 2:  # inputs shared by every member (a grid): one (K·fan_out, fan_in + 1) product
                k, fan_out, fan_in = block_t.shape
                xp.matmul(block_t.reshape(k * fan_out, fan_in), a, out=z.reshape(k * fan_out, -1))
            else:
                xp.matmul(block_t, a, out=z)
            if views is not None and not folded:
                z = ws.z[layer]
                normalization.forward(xp, views, ws.pre[layer], z, ws.inv[layer], train, moments[layer],
                                      ws.row_scratch, log is not None)
            if layer < hidden_layers:
                a = ws.a[layer]
                hidden = a[:, :-1]
                activation = self.activations[layer]
                activation.fn(xp, z, hidden)
                if masks is not None:  # f'(z) before the mask scales a, as in Network.forward
                    activation.grad(xp, z, hidden, ws.scratch[layer])
                    xp.multiply(hidden, masks[layer], out=hidden)
        return self.head.output(xp, ws.z[-1], ws.out)

    def backward(self, x: Any, y: Any, ws: StackWorkspace, masks: Optional[list[Any]] = None) -> Any:
        """Fill ``grad`` (K, P) with each member's d(mean data loss)/dθ after ``forward``; ``y`` (K, n_out, rows).

        δ_L = dL/dz_L;  dL/dW̃_l = [a_{l−1}; 1] δ_lᵀ;  δ_{l−1} = (W_l δ_l) ⊙ f′(z_{l−1}) (⊙ mask).
        """
        xp = self.xp
        matmul, multiply = xp.matmul, xp.multiply
        last = len(self.blocks) - 1
        delta = self.head.grad(xp, ws.z[last], ws.out, y, 1.0 / ws.rows, ws.delta[last])
        for layer in range(last, 0, -1):
            below_a = ws.a[layer - 1]
            delta_t = ws.delta_t[layer]
            xp.copyto(delta_t, delta.transpose(0, 2, 1))
            matmul(below_a, delta_t, out=self.grad_blocks[layer])
            below = ws.delta[layer - 1]
            matmul(self.blocks[layer][:, :-1], delta, out=below)
            local = ws.scratch[layer - 1]
            if masks is None:  # with dropout, forward already stored f'(z) here
                self.activations[layer - 1].grad(xp, ws.z[layer - 1], below_a[:, :-1], local)
            multiply(below, local, out=below)
            if masks is not None:
                multiply(below, masks[layer - 1], out=below)
            views = self.norm_views[layer - 1]
            if views is not None:  # f′ is used up: its buffer is the scratch
                self._norm_backward(views, layer - 1, x, ws, below, local)
            delta = below
        xp.copyto(ws.delta_t[0], delta.transpose(0, 2, 1))
        matmul(x, ws.delta_t[0], out=self.grad_blocks[0])
        if ws.train and len(self.normed_biases):  # as Network.backward: a batch-normed layer's bias gets 0
            self.grad[:, self.normed_biases] = 0
        return self.grad

    def _norm_backward(self, views: Any, layer: int, x: Any, ws: StackWorkspace, delta: Any, scratch: Any) -> None:
        """As Network._norm_backward: a folded pass's x̂ is made here from the product."""
        xp, pre, inv = self.xp, ws.pre[layer], ws.inv[layer]
        if views.norm.running and not ws.train:
            xp.matmul(self.blocks[layer].transpose(0, 2, 1), x if layer == 0 else ws.a[layer - 1], out=pre)
            normalization.eval_xhat(xp, views, pre, inv)
        rows = ws.row_scratch if views.norm.running else None
        normalization.backward(xp, views, delta, pre, inv, scratch, ws.train, rows)

    def hidden_outputs(self, ws: StackWorkspace) -> list[Any]:
        """Each hidden layer's activations (K, width, rows) from the last ``forward`` on ``ws``."""
        return [a[:, :-1] for a in ws.a]

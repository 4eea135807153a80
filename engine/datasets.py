"""The one registry of nnplay's datasets.

Every dataset the engine, server and page know about is a :class:`DatasetSpec` in :data:`DATASETS`.
The 2-D generators follow TensorFlow Playground's ``dataset.ts`` (see ``reference/playground.md``,
section "Generators") and add two multiclass sets, ``blobs`` and ``spiral_multi``; ``poly_demo``
holds the eight points of the lectures' polynomial-regression demo.

A generator is called as ``generate(rng, n_samples, noise, n_classes)`` and returns
``(points, labels)``: ``points`` float64 of shape ``(n, 2)`` and ``labels`` float64 of shape ``(n,)``.
``noise`` is the playground's fraction ``nu = percent / 100`` (0 to 0.5); ``n_classes`` is read by the
multiclass sets only. Binary labels are ``+1 / -1``, multiclass labels ``0 .. k-1`` (as floats) and
regression labels are real numbers. ``U(a, b)`` below is a uniform draw from ``rng``.

All generators are vectorised (no per-sample Python loop) and draw only from the
``numpy.random.Generator`` they are given, so the same seed always gives the same data.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .features import GRID_EXTENT

Task = Literal["binary", "multiclass", "regression"]
Generator = Callable[[np.random.Generator, int, float, int], tuple[np.ndarray, np.ndarray]]

POLY_DEMO_POINTS = ((10, 6), (15, 9), (20, 11), (25, 12), (29, 13), (40, 11), (50, 10), (60, 9))
_POLY_LOW, _POLY_HIGH = 10.0, 60.0  # the lecture's x range, spread over the whole grid [-6, 6]
_POLY_CENTRE, _POLY_SCALE = (_POLY_LOW + _POLY_HIGH) / 2, 2 * GRID_EXTENT / (_POLY_HIGH - _POLY_LOW)


@dataclass(frozen=True)
class DatasetSpec:
    name: str  # the user-facing key
    task: Task | None  # None only for "custom": its task comes from the config's problem and labels
    dims: int  # 2 for the plane; 1 for poly_demo (its x2 column is all zeros)
    default_samples: int
    label: str  # short human title for the UI
    description: str  # one sentence for the API/UI
    generate: Generator | None


# ----------------------------------------------------------------------------------------- helpers
def _normals(rng: np.random.Generator, count: int) -> np.ndarray:
    """``count`` standard normals by Marsaglia's polar method, with vectorised rejection sampling.

    Draw pairs ``u, v = U(-1, 1)``, keep those with ``0 < s = u² + v² < 1`` and return
    ``u · sqrt(-2 ln s / s)`` (one value per accepted pair, as the playground does).
    """
    out = np.empty(0)
    while out.size < count:
        pairs = int((count - out.size) * 1.3) + 8  # acceptance rate is pi/4 ~ 0.785
        u, v = rng.uniform(-1.0, 1.0, size=(2, pairs))
        s = u * u + v * v
        keep = (s > 0.0) & (s < 1.0)
        u, s = u[keep], s[keep]
        out = np.concatenate([out, u * np.sqrt(-2.0 * np.log(s) / s)])
    return out[:count]


def _even_counts(n: int, k: int) -> np.ndarray:
    """Split ``n`` into ``k`` counts as evenly as possible (the first ``n % k`` get one more)."""
    if k < 2:
        raise ValueError(f"a multiclass dataset needs n_classes >= 2, got {k}")
    return np.full(k, n // k) + (np.arange(k) < n % k)


def _class_labels(counts: np.ndarray) -> np.ndarray:
    """Labels ``0 .. k-1`` as float64, class ``j`` repeated ``counts[j]`` times."""
    return np.repeat(np.arange(len(counts), dtype=np.float64), counts)


def _spiral_arms(rng: np.random.Generator, counts: np.ndarray, deltas, noise: float) -> np.ndarray:
    """Points of spiral arms; arm ``j`` has ``m = counts[j]`` points and phase ``deltas[j]``.

    For ``i = 0 .. m-1``: ``r = 5 i / m``, ``t = 1.75 · 2π · i / m + δ``,
    ``x = r sin t + U(-1, 1) ν``, ``y = r cos t + U(-1, 1) ν``.
    """
    counts = np.asarray(counts)
    n = int(counts.sum())
    arm = np.repeat(np.arange(len(counts)), counts)
    i = np.arange(n) - np.repeat(np.cumsum(counts) - counts, counts)  # index inside its arm
    frac = i / np.maximum(counts[arm], 1)
    r = 5.0 * frac
    t = 1.75 * 2.0 * np.pi * frac + np.asarray(deltas, dtype=np.float64)[arm]
    points = np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
    return points + rng.uniform(-1.0, 1.0, size=(n, 2)) * noise


def _plane_sample(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Points ``p = U(-6, 6)²`` and their noisy copies ``q = p + U(-6, 6)² ν``."""
    p = rng.uniform(-6.0, 6.0, size=(n, 2))
    return p, p + rng.uniform(-6.0, 6.0, size=(n, 2)) * noise


# -------------------------------------------------------------------------------------- generators
def circle(rng: np.random.Generator, n: int, noise: float, n_classes: int = 2):
    """Circle: first ``n // 2`` points ``r = U(0, 2.5)``, the rest ``r = U(3.5, 5)``; ``θ = U(0, 2π)``.

    ``p = (r sin θ, r cos θ)``, noise ``n = U(-5, 5)² ν``; label ``+1`` if ``|p + n| < 2.5`` else ``-1``.
    The point stored is ``p`` (without the noise).
    """
    inner = n // 2
    r = np.concatenate([rng.uniform(0.0, 2.5, inner), rng.uniform(3.5, 5.0, n - inner)])
    theta = rng.uniform(0.0, 2.0 * np.pi, n)
    p = np.stack([r * np.sin(theta), r * np.cos(theta)], axis=1)
    q = p + rng.uniform(-5.0, 5.0, size=(n, 2)) * noise
    return p, np.where(np.hypot(q[:, 0], q[:, 1]) < 2.5, 1.0, -1.0)


def xor(rng: np.random.Generator, n: int, noise: float, n_classes: int = 2):
    """Exclusive or: ``x, y = U(-5, 5)``, each pushed 0.3 away from 0 (``+0.3`` if ``> 0`` else ``-0.3``).

    Noise ``n = U(-5, 5)² ν``; label ``+1`` if ``(x + nx)(y + ny) >= 0`` else ``-1``; stored ``(x, y)``.
    """
    p = rng.uniform(-5.0, 5.0, size=(n, 2))
    p += np.where(p > 0.0, 0.3, -0.3)
    q = p + rng.uniform(-5.0, 5.0, size=(n, 2)) * noise
    return p, np.where(q[:, 0] * q[:, 1] >= 0.0, 1.0, -1.0)


def gauss(rng: np.random.Generator, n: int, noise: float, n_classes: int = 2):
    """Two Gaussians of variance ``0.5 + 7ν`` per axis (Marsaglia polar normals).

    The first ``n // 2`` points lie around ``(2, 2)`` with label ``+1``, the rest around ``(-2, -2)``
    with label ``-1``.
    """
    pos = n // 2
    centres = np.repeat([[2.0, 2.0], [-2.0, -2.0]], [pos, n - pos], axis=0)
    points = centres + math.sqrt(0.5 + 7.0 * noise) * _normals(rng, 2 * n).reshape(n, 2)
    return points, np.repeat([1.0, -1.0], [pos, n - pos])


def spiral(rng: np.random.Generator, n: int, noise: float, n_classes: int = 2):
    """Two spiral arms, ``m = n // 2`` points in the first (``δ = 0``, label ``+1``) and ``n - m`` in the
    second (``δ = π``, label ``-1``); arm points: ``r = 5 i / m``, ``t = 1.75 · 2π · i / m + δ``,
    ``(r sin t + U(-1, 1) ν, r cos t + U(-1, 1) ν)``, ``m`` being that arm's count.
    """
    counts = np.array([n // 2, n - n // 2])
    points = _spiral_arms(rng, counts, np.array([0.0, np.pi]), noise)
    return points, np.repeat([1.0, -1.0], counts)


def blobs(rng: np.random.Generator, n: int, noise: float, n_classes: int = 3):
    """``k`` Gaussian blobs of variance ``0.5 + 7ν`` per axis (Marsaglia polar normals).

    Blob ``j`` (label ``j``) is centred at ``3.5 (cos a_j, sin a_j)`` with ``a_j = π/2 + 2πj/k``, so
    class 0 sits at the top ``(0, 3.5)`` and the others follow counter-clockwise. ``n`` is split as
    evenly as possible (the first ``n % k`` classes get one point more).
    """
    counts = _even_counts(n, n_classes)
    angles = np.pi / 2.0 + 2.0 * np.pi * np.arange(n_classes) / n_classes
    centres = np.repeat(3.5 * np.stack([np.cos(angles), np.sin(angles)], axis=1), counts, axis=0)
    points = centres + math.sqrt(0.5 + 7.0 * noise) * _normals(rng, 2 * n).reshape(n, 2)
    return points, _class_labels(counts)


def spiral_multi(rng: np.random.Generator, n: int, noise: float, n_classes: int = 3):
    """``k`` spiral arms; arm ``j`` (label ``j``) has phase ``δ = 2πj/k`` and the spiral's rule
    ``r = 5 i / m``, ``t = 1.75 · 2π · i / m + δ`` with ``U(-1, 1) ν`` noise per coordinate;
    ``n`` is split as evenly as possible over the arms (``m`` = that arm's count).
    """
    counts = _even_counts(n, n_classes)
    points = _spiral_arms(rng, counts, 2.0 * np.pi * np.arange(n_classes) / n_classes, noise)
    return points, _class_labels(counts)


def plane(rng: np.random.Generator, n: int, noise: float, n_classes: int = 2):
    """Plane: ``p = U(-6, 6)²``, ``q = p + U(-6, 6)² ν``, label ``(q_x + q_y) / 10``; stored ``p``."""
    p, q = _plane_sample(rng, n, noise)
    return p, (q[:, 0] + q[:, 1]) / 10.0


_GAUSS_CENTRES = np.array([[-4.0, 2.5], [0.0, 2.5], [4.0, 2.5], [-4.0, -2.5], [0.0, -2.5], [4.0, -2.5]])
_GAUSS_SIGNS = np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0])


def multi_gauss(rng: np.random.Generator, n: int, noise: float, n_classes: int = 2):
    """Six bumps: sampling as ``plane`` (``q = p + noise``), centres ``c`` with signs ``±1`` at
    ``(-4, 2.5, +)  (0, 2.5, -)  (4, 2.5, +)  (-4, -2.5, -)  (0, -2.5, +)  (4, -2.5, -)``.

    For each centre ``v = sign · clamp(1 - |q - c| / 2, 0, 1)``; the label starts at 0 and is replaced
    by ``v`` whenever ``|v| > |label|`` (so it is the first ``v`` of largest magnitude); stored ``p``.
    """
    p, q = _plane_sample(rng, n, noise)
    dist = np.linalg.norm(q[:, None, :] - _GAUSS_CENTRES[None, :, :], axis=2)  # (n, 6)
    v = _GAUSS_SIGNS * np.clip(1.0 - dist / 2.0, 0.0, 1.0)
    best = np.argmax(np.abs(v), axis=1)  # first maximum, as the strict ">" replacement keeps
    return p, v[np.arange(n), best] + 0.0  # "+ 0.0" turns -0.0 into 0.0


def poly_x_to_network(x):
    """Lecture x units ``[10, 60]`` to network units ``[-6, 6]``: ``(x - 35) · 12 / 50``."""
    return (np.asarray(x, dtype=np.float64) - _POLY_CENTRE) * _POLY_SCALE


def poly_x_from_network(x):
    """Network units ``[-6, 6]`` back to lecture units ``[10, 60]``: ``x · 50 / 12 + 35``."""
    return np.asarray(x, dtype=np.float64) / _POLY_SCALE + _POLY_CENTRE


def poly_demo(rng: np.random.Generator, n: int, noise: float, n_classes: int = 2):
    """The eight lecture points ``(x, y)``; returns ``(poly_x_to_network(x), 0)`` and ``y`` unchanged.

    ``n_samples`` and ``noise`` are ignored and nothing is drawn from ``rng``.
    """
    xy = np.array(POLY_DEMO_POINTS, dtype=np.float64)
    points = np.stack([poly_x_to_network(xy[:, 0]), np.zeros(len(xy))], axis=1)
    return points, xy[:, 1].copy()


# ---------------------------------------------------------------------------------------- registry
def _spec(name, task, label, description, generate, dims=2, default_samples=None) -> DatasetSpec:
    if default_samples is None:
        default_samples = 1200 if task == "regression" else 500
    return DatasetSpec(name, task, dims, default_samples, label, description, generate)


DATASETS: dict[str, DatasetSpec] = {
    s.name: s
    for s in (
        _spec("circle", "binary", "Circle", "A disc of one class inside a ring of the other.", circle),
        _spec("xor", "binary", "Exclusive or", "Four quadrants; the class is the sign of x1·x2.", xor),
        _spec("gauss", "binary", "Gaussian", "Two Gaussian clusters around (2, 2) and (-2, -2).", gauss),
        _spec("spiral", "binary", "Spiral", "Two interleaved spiral arms, one per class.", spiral),
        _spec("blobs", "multiclass", "Blobs (k classes)", "k Gaussian clusters on a circle.", blobs),
        _spec("spiral_multi", "multiclass", "Spiral (k classes)",
              "k interleaved spiral arms, one per class.", spiral_multi),
        _spec("plane", "regression", "Plane", "A tilted plane: the target is (x1 + x2) / 10.", plane),
        _spec("multi_gauss", "regression", "Multi Gaussian",
              "Six cone-shaped bumps of height +1 or -1 on a flat floor.", multi_gauss),
        _spec("poly_demo", "regression", "Polynomial demo",
              "The lectures' eight points for polynomial regression and over-fitting.", poly_demo,
              dims=1, default_samples=len(POLY_DEMO_POINTS)),
        _spec("custom", None, "Custom", "Points and labels supplied by the user.", None, default_samples=0),
    )
}


def get_dataset(name: str) -> DatasetSpec:
    """The spec registered under ``name``; ``ValueError`` listing the allowed names otherwise."""
    try:
        return DATASETS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown dataset {name!r}; allowed: {', '.join(DATASETS)}") from None


def train_count(n: int, train_ratio: float) -> int:
    """How many of ``n`` points train: ``floor(n · train_ratio)``, kept in [1, n − 1] when n ≥ 2."""
    n_train = math.floor(n * train_ratio + 1e-9)  # 1e-9 absorbs float error such as 0.29 · 100
    return min(max(n_train, 1), n - 1) if n >= 2 else n_train


def split_train_test(points, labels, train_ratio: float, rng: np.random.Generator):
    """The playground's split: shuffle all indices (``rng.permutation``, a vectorised Fisher-Yates),
    the first ``floor(N · train_ratio)`` are train, the rest test.

    For ``N >= 2`` the train count is clamped into ``[1, N - 1]`` so neither part is empty.
    Returns ``x_train, y_train, x_test, y_test``.
    """
    points, labels = np.asarray(points), np.asarray(labels)
    if len(points) != len(labels):
        raise ValueError(f"points and labels differ in length: {len(points)} != {len(labels)}")
    if not 0.0 <= train_ratio <= 1.0:
        raise ValueError(f"train_ratio must lie in [0, 1], got {train_ratio}")
    n = len(points)
    n_train = train_count(n, train_ratio)
    order = rng.permutation(n)
    train, test = order[:n_train], order[n_train:]
    return points[train], labels[train], points[test], labels[test]

"""Tests for engine/datasets.py: the registry, every generator's formula, and the train/test split."""

import math

import numpy as np
import pytest

from nnplay.engine import Trainer
from nnplay.engine.datasets import (
    DATASETS,
    POLY_DEMO_POINTS,
    DatasetSpec,
    get_dataset,
    poly_x_from_network,
    poly_x_to_network,
    split_train_test,
)

GENERATED = [name for name, spec in DATASETS.items() if spec.generate is not None]
RANDOM = [name for name in GENERATED if name != "poly_demo"]
MULTICLASS = [name for name, spec in DATASETS.items() if spec.task == "multiclass"]
MULTI_GAUSS_CENTRES = [(-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1)]


def gen(name, n=200, noise=0.0, k=3, seed=0):
    return DATASETS[name].generate(np.random.default_rng(seed), n, noise, k)


class ScriptedRng:
    """Stand-in for a Generator: each ``uniform(low, high, size)`` call must ask for the next prepared
    ``(low, high, values)`` and gets those values, so a test knows every draw and checks its range."""

    def __init__(self, *draws):
        self.draws = list(draws)

    def uniform(self, low, high, size=None):
        want_low, want_high, values = self.draws.pop(0)
        assert (low, high) == (want_low, want_high)
        out = np.array(values, dtype=np.float64)  # a fresh array, as a Generator gives
        assert out.shape == (size if isinstance(size, tuple) else (size,))
        assert ((out >= low) & (out <= high)).all()
        return out


def scripted(*ranges, n, seed=0):
    """Prepared draws for :class:`ScriptedRng`: ``(low, high, shape)`` per call, drawn uniformly."""
    rng = np.random.default_rng(seed)
    return [(low, high, rng.uniform(low, high, shape)) for low, high, shape in ranges]


# ---------------------------------------------------------------------------------------- registry
def test_registry_order_and_specs():
    assert list(DATASETS) == [
        "circle", "xor", "gauss", "spiral", "blobs", "spiral_multi",
        "plane", "multi_gauss", "poly_demo", "custom",
    ]
    for name, spec in DATASETS.items():
        assert isinstance(spec, DatasetSpec) and spec.name == name
        assert spec.label and spec.description
    tasks = {name: spec.task for name, spec in DATASETS.items()}
    assert tasks == {
        "circle": "binary", "xor": "binary", "gauss": "binary", "spiral": "binary",
        "blobs": "multiclass", "spiral_multi": "multiclass",
        "plane": "regression", "multi_gauss": "regression", "poly_demo": "regression", "custom": None,
    }
    samples = {name: spec.default_samples for name, spec in DATASETS.items()}
    assert samples == {
        "circle": 500, "xor": 500, "gauss": 500, "spiral": 500, "blobs": 500, "spiral_multi": 500,
        "plane": 1200, "multi_gauss": 1200, "poly_demo": 8, "custom": 0,
    }
    assert {name: spec.dims for name, spec in DATASETS.items() if spec.dims != 2} == {"poly_demo": 1}
    assert DATASETS["custom"].generate is None
    assert DATASETS["spiral_multi"].label == "Spiral (k classes)"


@pytest.mark.parametrize("name", GENERATED)
def test_each_spec_describes_what_its_generator_gives(name):
    """What the API, the page and a run take from a spec: a run of the dataset gets ``default_samples``
    points, labels of the spec's ``task`` and points of its ``dims`` (1-D data keep x2 at 0)."""
    spec = DATASETS[name]
    points, labels = gen(name, n=spec.default_samples, noise=0.3, k=4)
    assert len(points) == len(labels) == spec.default_samples
    assert (points[:, 1] == 0).all() == (spec.dims == 1)
    if spec.task == "binary":
        assert set(np.unique(labels)) == {-1.0, 1.0}
    elif spec.task == "multiclass":
        np.testing.assert_array_equal(np.unique(labels), np.arange(4.0))
    else:  # a real-valued target
        assert spec.task == "regression" and np.unique(labels).size > 2
    problem = "regression" if spec.task == "regression" else "classification"
    features = ["x1"] if spec.dims == 1 else ["x1", "x2"]
    run = Trainer({"problem": problem, "dataset": name, "n_classes": 4, "features": features, "seed": 0})
    assert run.task == spec.task and run.data.n_train + run.data.n_test == spec.default_samples


def test_get_dataset():
    assert get_dataset("spiral") is DATASETS["spiral"]
    with pytest.raises(ValueError) as err:
        get_dataset("moons")
    message = str(err.value)
    assert "'moons'" in message
    assert message.endswith("allowed: " + ", ".join(DATASETS))


# ------------------------------------------------------------------------------- every generator
@pytest.mark.parametrize("name", GENERATED)
@pytest.mark.parametrize("n", [0, 1, 7, 200])
@pytest.mark.parametrize("noise", [0.0, 0.5])
def test_shapes_and_dtypes(name, n, noise):
    points, labels = gen(name, n=n, noise=noise)
    expected = len(POLY_DEMO_POINTS) if name == "poly_demo" else n
    assert points.shape == (expected, 2) and points.dtype == np.float64
    assert labels.shape == (expected,) and labels.dtype == np.float64
    assert np.isfinite(points).all() and np.isfinite(labels).all()


@pytest.mark.parametrize("name", GENERATED)
def test_same_seed_same_data(name):
    a_points, a_labels = gen(name, noise=0.25, seed=42)
    b_points, b_labels = gen(name, noise=0.25, seed=42)
    np.testing.assert_array_equal(a_points, b_points)
    np.testing.assert_array_equal(a_labels, b_labels)


@pytest.mark.parametrize("name", RANDOM)
def test_other_seed_other_data(name):
    a_points, _ = gen(name, noise=0.25, seed=1)
    b_points, _ = gen(name, noise=0.25, seed=2)
    assert not np.allclose(a_points, b_points)


# --------------------------------------------------------------------------------------------- circle
@pytest.mark.parametrize("n", [400, 401])
def test_circle_radius_rule_at_zero_noise(n):
    points, labels = gen("circle", n=n)
    r = np.hypot(points[:, 0], points[:, 1])
    inner = n // 2
    assert (r[:inner] >= 0).all() and (r[:inner] < 2.5).all()
    assert (r[inner:] >= 3.5).all() and (r[inner:] <= 5).all()
    np.testing.assert_array_equal(labels, np.where(r < 2.5, 1.0, -1.0))
    assert (labels == 1).sum() == inner and (labels == -1).sum() == n - inner


@pytest.mark.parametrize("noise", [0.05, 0.5])
def test_circle_labels_the_noisy_point_and_stores_the_clean_one(noise):
    n = 2000
    draws = scripted((0.0, 2.5, n // 2), (3.5, 5.0, n - n // 2), (0.0, 2 * np.pi, n), (-5.0, 5.0, (n, 2)), n=n)
    points, labels = DATASETS["circle"].generate(ScriptedRng(*draws), n, noise, 2)
    (_, _, inner), (_, _, outer), (_, _, theta), (_, _, shift) = draws
    r = np.concatenate([inner, outer])
    clean = np.stack([r * np.sin(theta), r * np.cos(theta)], axis=1)
    np.testing.assert_allclose(points, clean, atol=1e-12)  # noise only moves the label test
    noisy = clean + shift * noise  # U(-5, 5)·ν per coordinate
    np.testing.assert_array_equal(labels, np.where(np.hypot(noisy[:, 0], noisy[:, 1]) < 2.5, 1.0, -1.0))
    flipped = (labels != np.where(r < 2.5, 1.0, -1.0)).mean()
    # the share of labels noise flips (from 400,000 points; within 4 standard errors for 2,000)
    assert flipped == pytest.approx({0.05: 0.0124, 0.5: 0.248}[noise], abs={0.05: 0.01, 0.5: 0.04}[noise])


# ------------------------------------------------------------------------------------------------ xor
def test_xor_gap_and_sign_rule_at_zero_noise():
    points, labels = gen("xor", n=2000)
    assert (np.abs(points) >= 0.3).all() and (np.abs(points) <= 5.3).all()
    np.testing.assert_array_equal(labels, np.where(points[:, 0] * points[:, 1] >= 0, 1.0, -1.0))


@pytest.mark.parametrize("noise", [0.25, 0.5])
def test_xor_labels_the_noisy_point_and_stores_the_clean_one(noise):
    n = 2000
    draws = scripted((-5.0, 5.0, (n, 2)), (-5.0, 5.0, (n, 2)), n=n)
    points, labels = DATASETS["xor"].generate(ScriptedRng(*draws), n, noise, 2)
    (_, _, drawn), (_, _, shift) = draws
    clean = drawn + np.where(drawn > 0, 0.3, -0.3)
    np.testing.assert_array_equal(points, clean)
    noisy = clean + shift * noise  # U(-5, 5)·ν per coordinate
    np.testing.assert_array_equal(labels, np.where(noisy[:, 0] * noisy[:, 1] >= 0, 1.0, -1.0))
    flipped = (labels != np.where(clean[:, 0] * clean[:, 1] >= 0, 1.0, -1.0)).mean()
    # the share of labels noise flips (from 400,000 points; within 4 standard errors for 2,000)
    assert flipped == pytest.approx({0.25: 0.070, 0.5: 0.175}[noise], abs={0.25: 0.023, 0.5: 0.034}[noise])


# ---------------------------------------------------------------------------------------------- gauss
@pytest.mark.parametrize("noise", [0.0, 0.2, 0.5])
def test_gauss_means_and_variance(noise):
    n = 40_000
    points, labels = gen("gauss", n=n, noise=noise, seed=3)
    np.testing.assert_array_equal(labels, np.repeat([1.0, -1.0], n // 2))
    variance = 0.5 + 7 * noise
    for sign in (1.0, -1.0):
        group = points[labels == sign]
        np.testing.assert_allclose(group.mean(axis=0), [2 * sign, 2 * sign], atol=0.06)
        np.testing.assert_allclose(group.var(axis=0), [variance, variance], rtol=0.05)


def test_gauss_normals_look_normal():
    points, labels = gen("gauss", n=40_000, seed=9)
    z = ((points - 2 * labels[:, None]) / math.sqrt(0.5)).ravel()
    assert abs(np.mean(np.abs(z) < 1) - 0.6827) < 0.01
    assert abs(np.mean(np.abs(z) < 2) - 0.9545) < 0.006
    assert abs(np.mean(z**3)) < 0.05  # symmetric


# --------------------------------------------------------------------------------------------- spiral
def test_spiral_radius_and_point_reflection_at_zero_noise():
    n = 300
    m = n // 2
    points, labels = gen("spiral", n=n)
    first, second = points[:m], points[m:]
    np.testing.assert_array_equal(labels, np.repeat([1.0, -1.0], m))
    np.testing.assert_allclose(np.hypot(first[:, 0], first[:, 1]), 5 * np.arange(m) / m, atol=1e-12)
    np.testing.assert_allclose(second, -first, atol=1e-12)
    t = 1.75 * 2 * np.pi * np.arange(m) / m
    np.testing.assert_allclose(first, np.stack([np.sin(t), np.cos(t)], 1) * (5 * np.arange(m) / m)[:, None])


def test_spiral_odd_count_and_noise_bound():
    _, labels = gen("spiral", n=301)
    assert (labels == 1).sum() == 150 and (labels == -1).sum() == 151
    clean, _ = gen("spiral", n=300, noise=0.0)
    noisy, _ = gen("spiral", n=300, noise=0.3)
    offset = np.abs(noisy - clean)
    assert offset.max() <= 0.3 and offset.max() > 0.25


# ---------------------------------------------------------------------------------------- multiclass
@pytest.mark.parametrize("name", MULTICLASS)
@pytest.mark.parametrize("k", [3, 4, 5, 6])
@pytest.mark.parametrize("n", [500, 503])
def test_multiclass_k_classes_near_equal(name, k, n):
    _, labels = gen(name, n=n, k=k, noise=0.2)
    values, counts = np.unique(labels, return_counts=True)
    np.testing.assert_array_equal(values, np.arange(k, dtype=np.float64))
    assert counts.sum() == n and counts.max() - counts.min() <= 1


@pytest.mark.parametrize("name", MULTICLASS)
def test_multiclass_needs_two_classes(name):
    with pytest.raises(ValueError, match="n_classes"):
        gen(name, k=1)


@pytest.mark.parametrize("k", [3, 4, 5, 6])
def test_blobs_centres_and_variance(k):
    points, labels = gen("blobs", n=6000 * k, k=k, noise=0.1, seed=4)
    for j in range(k):
        angle = np.pi / 2 + 2 * np.pi * j / k
        group = points[labels == j]
        centre = 3.5 * np.array([np.cos(angle), np.sin(angle)])
        np.testing.assert_allclose(group.mean(axis=0), centre, atol=0.06)
        np.testing.assert_allclose(group.var(axis=0), [1.2, 1.2], rtol=0.08)


@pytest.mark.parametrize("k", [3, 4, 5, 6])
def test_spiral_multi_arms_are_rotations(k):
    m = 60
    points, labels = gen("spiral_multi", n=m * k, k=k)
    arm0 = points[:m]
    np.testing.assert_allclose(np.hypot(arm0[:, 0], arm0[:, 1]), 5 * np.arange(m) / m, atol=1e-12)
    for j in range(1, k):
        a = -2 * np.pi * j / k  # (r sin(t + d), r cos(t + d)) is (r sin t, r cos t) turned by -d
        rotation = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        np.testing.assert_allclose(points[labels == j], arm0 @ rotation.T, atol=1e-12)


def test_spiral_multi_with_two_arms_is_spiral():
    spiral_points, spiral_labels = gen("spiral", n=300, noise=0.4, seed=8)
    multi_points, multi_labels = gen("spiral_multi", n=300, noise=0.4, k=2, seed=8)
    np.testing.assert_allclose(multi_points, spiral_points, atol=1e-12)
    np.testing.assert_array_equal(multi_labels, (1 - spiral_labels) / 2)  # +1 -> 0, -1 -> 1


# ----------------------------------------------------------------------------------------- regression
def test_plane_formula_at_zero_noise_and_noise_bound():
    points, labels = gen("plane", n=1200)
    assert (np.abs(points) <= 6).all()
    np.testing.assert_allclose(labels, (points[:, 0] + points[:, 1]) / 10, atol=1e-15)
    noisy_points, noisy_labels = gen("plane", n=1200, noise=0.5)
    np.testing.assert_array_equal(noisy_points, points)
    offset = np.abs(noisy_labels - labels)
    assert offset.max() <= 1.2 * 0.5 and offset.max() > 0.3


def reference_multi_gauss(q):
    """The playground's loop, written out point by point."""
    out = []
    for x, y in q:
        label = 0.0
        for cx, cy, sign in MULTI_GAUSS_CENTRES:
            v = sign * min(max(1 - math.hypot(x - cx, y - cy) / 2, 0.0), 1.0)
            if abs(v) > abs(label):
                label = v
        out.append(label)
    return np.array(out)


def test_multi_gauss_matches_the_loop_at_zero_noise():
    points, labels = gen("multi_gauss", n=3000, seed=6)
    assert (np.abs(labels) <= 1).all() and (np.abs(points) <= 6).all()
    np.testing.assert_allclose(labels, reference_multi_gauss(points), atol=1e-12)
    assert (labels > 0.5).any() and (labels < -0.5).any() and (labels == 0).any()


def test_multi_gauss_labels_the_noisy_point():
    (_, _, p), (_, _, shift) = draws = scripted((-6.0, 6.0, (500, 2)), (-6.0, 6.0, (500, 2)), n=500, seed=7)
    noise = 0.3
    points, labels = DATASETS["multi_gauss"].generate(ScriptedRng(*draws), 500, noise, 2)
    np.testing.assert_array_equal(points, p)  # the stored point is p, without noise
    np.testing.assert_allclose(labels, reference_multi_gauss(p + shift * noise), atol=1e-12)
    assert not np.allclose(labels, reference_multi_gauss(p))


def test_multi_gauss_at_centres_and_far_away():
    centres = np.array([[cx, cy] for cx, cy, _ in MULTI_GAUSS_CENTRES] + [[0.0, 0.0], [6.0, 6.0]])
    rng = ScriptedRng((-6.0, 6.0, centres), (-6.0, 6.0, np.zeros_like(centres)))
    points, labels = DATASETS["multi_gauss"].generate(rng, len(centres), 0.0, 2)
    np.testing.assert_array_equal(points, centres)
    np.testing.assert_array_equal(labels, [s for _, _, s in MULTI_GAUSS_CENTRES] + [0.0, 0.0])
    assert not np.signbit(labels[-2:]).any()  # plain 0.0, not -0.0


def test_poly_demo_points_and_units():
    points, labels = gen("poly_demo", n=1000, noise=0.5)
    xs = np.array([x for x, _ in POLY_DEMO_POINTS], dtype=float)
    np.testing.assert_array_equal(labels, [y for _, y in POLY_DEMO_POINTS])
    np.testing.assert_array_equal(points[:, 1], np.zeros(8))
    np.testing.assert_allclose(points[:, 0], (xs - 35) * 12 / 50)
    assert points[0, 0] == pytest.approx(-6) and points[-1, 0] == pytest.approx(6)
    np.testing.assert_allclose(poly_x_from_network(points[:, 0]), xs)
    assert poly_x_to_network(35) == 0 and poly_x_from_network(-6) == pytest.approx(10)
    grid = np.linspace(-6, 6, 13)
    np.testing.assert_allclose(poly_x_to_network(poly_x_from_network(grid)), grid)


# -------------------------------------------------------------------------------------------- split
SPLIT_CASES = [(500, 0.5), (500, 0.1), (1200, 0.9), (101, 0.3), (100, 0.29), (7, 0.7)]
CLAMP_CASES = [(10, 0.0, 1), (10, 0.05, 1), (10, 1.0, 9), (2, 0.9, 1), (1, 0.5, 0)]


@pytest.mark.parametrize(("n", "ratio"), SPLIT_CASES)
def test_split_sizes_and_permutation(n, ratio):
    points = np.stack([np.arange(n, dtype=float), -np.arange(n, dtype=float)], axis=1)
    labels = np.arange(n, dtype=float) * 10
    x_train, y_train, x_test, y_test = split_train_test(points, labels, ratio, np.random.default_rng(0))
    n_train = math.floor(round(n * ratio, 9))
    assert len(x_train) == len(y_train) == n_train
    assert len(x_test) == len(y_test) == n - n_train
    everything = np.concatenate([x_train, x_test])
    np.testing.assert_array_equal(np.sort(everything[:, 0]), np.arange(n))  # nothing lost or repeated
    np.testing.assert_array_equal(np.concatenate([y_train, y_test]), everything[:, 0] * 10)  # pairs kept
    assert not np.array_equal(everything[:, 0], np.arange(n))  # shuffled


def test_split_is_deterministic_and_seed_dependent():
    points, labels = gen("circle", n=100)
    a = split_train_test(points, labels, 0.5, np.random.default_rng(1))
    b = split_train_test(points, labels, 0.5, np.random.default_rng(1))
    c = split_train_test(points, labels, 0.5, np.random.default_rng(2))
    for left, right in zip(a, b):
        np.testing.assert_array_equal(left, right)
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize(("n", "ratio", "n_train"), CLAMP_CASES)
def test_split_never_leaves_a_side_empty(n, ratio, n_train):
    points, labels = np.zeros((n, 2)), np.zeros(n)
    x_train, _, x_test, _ = split_train_test(points, labels, ratio, np.random.default_rng(0))
    assert len(x_train) == n_train and len(x_test) == n - n_train


def test_split_rejects_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="train_ratio"):
        split_train_test(np.zeros((4, 2)), np.zeros(4), 1.5, rng)
    with pytest.raises(ValueError, match="length"):
        split_train_test(np.zeros((4, 2)), np.zeros(3), 0.5, rng)

"""Standardized inputs (``standardize: true``): every place inputs enter the network sees the features through
the training set's mean and population standard deviation, as scikit-learn's StandardScaler (computed by
hand here: scikit-learn is not a dependency)."""

import numpy as np
import pytest

from nnplay.engine import Comparison, DataSplit, Trainer, TrainerGroup
from nnplay.engine.features import feature_matrix
from nnplay.engine.probes import backprop_trace, grid_inputs, grid_points, thumbnail_points
from engine_helpers import flat

FEATURES = ["x1", "x2", "x1_sq", "x1_x2", "sin_x2"]
CFG = {"dataset": "spiral", "features": FEATURES, "hidden": [4], "n_samples": 80, "seed": 4, "standardize": True}


def by_hand(train_points, points, features=FEATURES):
    """StandardScaler().fit(train).transform(points), written out: population std, constant columns scale 1."""
    train = feature_matrix(np, train_points, features, np.float64, ones_column=False)
    mean, std = train.mean(axis=0), np.sqrt(((train - train.mean(axis=0)) ** 2).mean(axis=0))
    std[std == 0] = 1.0
    return (feature_matrix(np, points, features, np.float64, ones_column=False) - mean) / std


def test_training_and_test_inputs_use_the_training_statistics():
    run = Trainer(CFG, dtype=np.float64)
    d = run.data
    train, test = np.asarray(run.x_train), np.asarray(run.x_test)
    np.testing.assert_allclose(train[:-1].T, by_hand(d.x_train, d.x_train), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(test[:-1].T, by_hand(d.x_train, d.x_test), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(train[:-1].mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(train[:-1].std(axis=1), 1, rtol=1e-12)
    assert np.all(train[-1] == 1) and np.all(test[-1] == 1)  # the bias row stays ones
    assert np.abs(test[:-1].mean(axis=1)).max() > 1e-3  # the test set is not standardized by its own mean


def test_off_by_default_and_the_raw_features_otherwise():
    run = Trainer({**CFG, "standardize": False}, dtype=np.float64)
    expected = feature_matrix(np, run.data.x_train, FEATURES, np.float64, ones_column=False)
    np.testing.assert_array_equal(np.asarray(run.x_train)[:-1].T, expected)


def test_a_constant_feature_is_centred_with_scale_one():
    rows = [[x, 0.5, 1.0 if x > 0 else -1.0] for x in np.linspace(-3, 3, 10)]
    data = DataSplit.from_rows(rows, [[1.0, 2.5, 1.0]])
    run = Trainer({"dataset": "circle", "features": ["x1", "x2"], "hidden": [2], "standardize": True}, data=data,
                  dtype=np.float64)
    np.testing.assert_array_equal(np.asarray(run.x_train)[1], 0.0)  # x2 − 0.5, not 0/0
    assert np.asarray(run.x_test)[1, 0] == pytest.approx(2.0)  # (2.5 − 0.5) / 1


def test_grid_thumbnails_and_trace_see_the_same_map():
    run = Trainer(CFG, dtype=np.float64)
    points = np.concatenate([grid_points(12), thumbnail_points(4)])
    np.testing.assert_allclose(np.asarray(grid_inputs(run, 12, 4))[:-1].T, by_hand(run.data.x_train, points),
                               rtol=1e-12, atol=1e-12)
    trace = backprop_trace(run, [1.5, -2.0], label=1.0)
    expected = by_hand(run.data.x_train, np.array([[1.5, -2.0]]))[0]
    np.testing.assert_allclose(list(trace["features"].values()), expected, rtol=1e-12)
    plain = Trainer({**CFG, "standardize": False}, weights=run.get_weights(), dtype=np.float64)
    assert plain.predict([[1.5, -2.0]])["output"][0, 0] != pytest.approx(run.predict([[1.5, -2.0]])["output"][0, 0])


def test_new_data_brings_new_statistics_to_the_grid():
    run = Trainer(CFG, dtype=np.float64)
    before = np.asarray(grid_inputs(run, 10, 3)).copy()
    run.regenerate(seed=99)
    after = np.asarray(grid_inputs(run, 10, 3))
    fresh = Trainer({**CFG, "seed": 99}, dtype=np.float64)
    assert np.abs(after - before).max() > 1e-3
    np.testing.assert_allclose(after[:-1].T, by_hand(fresh.data.x_train, np.concatenate(
        [grid_points(10), thumbnail_points(3)])), rtol=1e-12, atol=1e-12)


def test_a_group_of_standardized_and_plain_runs_equals_lone_runs():
    """Members with different data (so different statistics), standardized or not, share one stack; their
    training and their grids equal the lone runs'."""
    configs = [{**CFG, "seed": 1}, {**CFG, "seed": 2}, {**CFG, "seed": 1, "standardize": False},
               {**CFG, "seed": 1, "learning_rate": 0.1}]
    group = TrainerGroup(configs)
    assert len(group.members) == 4
    lone = [Trainer(c) for c in configs]
    group.train(20)
    for twin in lone:
        twin.train(20)
    for member, twin, grid in zip(group.members, lone, group.grids(density=16, thumb=4)):
        np.testing.assert_allclose(flat(member.get_weights()), flat(twin.get_weights()), rtol=1e-5, atol=1e-6)
        own = twin.grid(density=16, thumb=4)
        np.testing.assert_allclose(grid.values, own.values, rtol=1e-5, atol=1e-5)
        for ours, theirs in zip(grid.neurons, own.neurons):
            np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


def test_a_comparison_of_standardized_and_raw_inputs_shares_data_and_start():
    """Standardize on and off as two variants: the same points and initial weights, one stack, and each variant
    trains and draws its grid as a lone run on those points."""
    base = {**CFG, "standardize": False, "learning_rate": 0.1}
    comparison = Comparison(base, [{}, {"standardize": True}])
    raw, standardized = comparison.trainers
    start = [t.get_weights() for t in comparison.trainers]
    assert flat(start[0]) == pytest.approx(flat(start[1]))
    comparison.train(15)
    assert raw.group is standardized.group is not None
    grids = raw.group.grids(density=12, thumb=3)
    for trainer, weights, grid in zip(comparison.trainers, start, grids):
        lone = Trainer(trainer.config, data=raw.data, weights=weights)
        lone.train(15)
        np.testing.assert_allclose(flat(trainer.get_weights()), flat(lone.get_weights()), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(grid.values, lone.grid(density=12, thumb=3).values, rtol=1e-5, atol=1e-5)
    assert np.abs(grids[0].values - grids[1].values).max() > 1e-3


@pytest.mark.gpu
def test_standardized_gelu_training_on_the_gpu_matches_the_cpu():
    from nnplay.engine import gpu_available

    if not gpu_available():
        pytest.skip("needs CuPy and a CUDA device")
    cfg = {**CFG, "activation": "gelu", "hidden": [6, 4], "optimizer": "adam", "learning_rate": 0.01}
    cpu = Trainer({**cfg, "device": "cpu"}, dtype=np.float64)
    gpu = Trainer({**cfg, "device": "gpu"}, dtype=np.float64)
    cpu.train(5)
    gpu.train(5)
    np.testing.assert_allclose(flat(gpu.get_weights()), flat(cpu.get_weights()), rtol=0, atol=1e-9)
    np.testing.assert_allclose(gpu.grid(density=20).values, cpu.grid(density=20).values, atol=1e-6)

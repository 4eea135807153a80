"""Weights in PyTorch's layout, prediction, the evaluation grid and thumbnails, and the backprop trace, on
hand-set networks whose every value is computed here."""

import tracemalloc

import numpy as np
import pytest

from nnplay.engine import Trainer
from nnplay.engine.datasets import poly_x_from_network

BINARY = {"dataset": "circle", "seed": 1}


# --------------------------------------------------------------------------------------------- weights
def test_weights_are_in_pytorch_layout():
    trainer = Trainer({**BINARY, "features": ["x1", "x2", "x1_sq"], "hidden": [4, 2]})
    shapes = [(np.asarray(layer["W"]).shape, np.asarray(layer["b"]).shape) for layer in trainer.get_weights()]
    assert shapes == [((4, 3), (4,)), ((2, 4), (2,)), ((1, 2), (1,))]


def test_set_weights_get_weights_round_trip():
    trainer = Trainer({**BINARY, "hidden": [3]})
    rng = np.random.default_rng(0)
    # multiples of 2^-10 are exact in float32, so the round trip is exact
    weights = [{"W": (np.round(rng.normal(size=(3, 2)) * 1024) / 1024).tolist(), "b": [0.25, -0.5, 0.125]},
               {"W": [[1.5, -2.0, 0.75]], "b": [-0.375]}]
    trainer.set_weights(weights)
    assert trainer.get_weights() == weights
    # and through the constructor
    assert Trainer({**BINARY, "hidden": [3]}, weights=weights).get_weights() == weights


def test_set_weights_rejects_wrong_shapes_and_values():
    trainer = Trainer({**BINARY, "hidden": [3]})
    good = trainer.get_weights()
    with pytest.raises(ValueError, match="expected 2 layers"):
        trainer.set_weights(good[:1])
    with pytest.raises(ValueError, match=r"\(3, 2\)"):
        trainer.set_weights([{"W": np.zeros((2, 3)).tolist(), "b": [0, 0, 0]}, good[1]])  # transposed
    with pytest.raises(ValueError, match="NaN"):
        trainer.set_weights([{"W": [[np.nan, 0], [0, 0], [0, 0]], "b": [0, 0, 0]}, good[1]])
    assert trainer.get_weights() == good


def test_set_weight_sets_one_weight_or_bias():
    trainer = Trainer({**BINARY, "hidden": [3]})
    before = trainer.get_weights()
    trainer.set_weight(0, 2, 1, 0.625)  # W[layer 0][to 2, from 1]
    trainer.set_weight(1, 0, None, -1.25)  # b[layer 1][0]
    after = trainer.get_weights()
    assert after[0]["W"][2][1] == 0.625 and after[1]["b"][0] == -1.25
    before[0]["W"][2][1], before[1]["b"][0] = 0.625, -1.25
    assert after == before  # nothing else changed
    for args, field in [((2, 0, 0, 1.0), "layer"), ((0, 3, 0, 1.0), "to"), ((0, 0, 2, 1.0), "from"),
                        ((0, 0, 0, float("inf")), "value")]:
        with pytest.raises(ValueError, match=field):
            trainer.set_weight(*args)


def test_layout_semantics_by_prediction():
    """W[to][from]: the output equals the forward pass o = tanh(W2 tanh(W1 x + b1) + b2) computed here."""
    W1, b1 = np.array([[0.5, -0.25], [1.0, 0.75], [-0.5, 0.125]]), np.array([0.1, -0.2, 0.3])
    W2, b2 = np.array([[0.8, -0.6, 0.4]]), np.array([0.05])
    trainer = Trainer({**BINARY, "hidden": [3], "activation": "tanh"}, dtype=np.float64,
                      weights=[{"W": W1.tolist(), "b": b1.tolist()}, {"W": W2.tolist(), "b": b2.tolist()}])
    x = np.array([[1.0, 2.0], [-3.0, 0.5], [0.0, -1.0]])
    logits = np.tanh(x @ W1.T + b1) @ W2.T + b2
    pred = trainer.predict(x)
    np.testing.assert_allclose(pred["logits"], logits, rtol=1e-12)
    np.testing.assert_allclose(pred["output"], np.tanh(logits), rtol=1e-12)
    np.testing.assert_array_equal(pred["label"], np.where(logits[:, 0] > 0, 1.0, -1.0))


# ------------------------------------------------------------------------------------------------ grid
def _single_neuron(w, b=0.0, **extra):
    """No hidden layer, features x1, x2, binary square loss: output tanh(w·x + b)."""
    return Trainer({**BINARY, "hidden": [], **extra}, weights=[{"W": [list(w)], "b": [b]}], dtype=np.float64)


@pytest.mark.parametrize("density", [10, 37, 100])
def test_grid_top_row_is_x2_plus_6_and_left_column_x1_minus_6(density):
    axis = np.linspace(-6, 6, density)
    up = _single_neuron([0.0, 1.0]).grid(density=density)  # output tanh(x2)
    assert up.values.shape == (density, density)
    np.testing.assert_allclose(up.values, np.tanh(axis[::-1])[:, None] * np.ones((1, density)), rtol=1e-6)
    assert up.values[0, 0] == pytest.approx(np.tanh(6), rel=1e-6)  # top row: x2 = +6
    right = _single_neuron([1.0, 0.0]).grid(density=density)  # output tanh(x1)
    np.testing.assert_allclose(right.values, np.ones((density, 1)) * np.tanh(axis)[None, :], rtol=1e-6)
    assert right.values[0, 0] == pytest.approx(np.tanh(-6), rel=1e-6)  # left column: x1 = −6


def test_grid_default_and_limits():
    trainer = Trainer({**BINARY, "hidden": [4, 2]})
    grid = trainer.grid()
    assert (grid.density, grid.thumb) == (100, 10)
    assert grid.values.shape == (100, 100)
    assert grid.extent == (-6.0, 6.0)
    for density in (9, 201):
        with pytest.raises(ValueError, match="density"):
            trainer.grid(density=density)


def test_a_grid_keeps_only_forward_buffers():
    """A trainer keeps a grid's buffers between frames, and they are its largest (10,100 rows at the default
    density): z, [a; 1] and the output per row, none of a backward pass's deltas, scratch or masks."""
    hidden = [8] * 6
    trainer = Trainer({**BINARY, "hidden": hidden})
    trainer.grid()  # the grid's inputs and code paths once; then the buffers of a new density
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        grid = trainer.grid(density=99)
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    rows = 99 * 99 + 10 * 10
    forward = 4 * rows * (sum(hidden) + 1 + sum(w + 1 for w in hidden) + 1)  # z per layer, [a; 1], out (float32)
    assert forward <= kept < forward * 1.25 and grid.values.shape == (99, 99)


def test_grid_binary_display_values():
    """Binary values are in [−1, 1]: tanh output (square), 2σ − 1 (cross-entropy), clipped score (hinge)."""
    w = [0.3, -0.2]
    axis = np.linspace(-6, 6, 20)
    x1, x2 = np.meshgrid(axis, axis[::-1])
    z = w[0] * x1 + w[1] * x2 + 0.1
    expected = {"square": np.tanh(z), "cross_entropy": 2 / (1 + np.exp(-z)) - 1, "hinge": np.clip(z, -1, 1)}
    for loss, values in expected.items():
        grid = _single_neuron(w, 0.1, loss=loss).grid(density=20)
        np.testing.assert_allclose(grid.values, values, rtol=1e-5, atol=1e-6)
        assert grid.probabilities is None and grid.classes is None


@pytest.mark.parametrize("hidden,thumb", [([4, 2], 10), ([3], 7), ([], 10)])
def test_thumbnails_per_hidden_neuron(hidden, thumb):
    grid = Trainer({**BINARY, "hidden": hidden}).grid(density=20, thumb=thumb)
    assert [n.shape for n in grid.neurons] == [(w, thumb, thumb) for w in hidden]


def test_thumbnails_show_each_neurons_output():
    """A linear hidden layer copying x1 and x2: neuron 0's thumbnail increases left to right and is constant
    down each column; neuron 1's is largest on the top row; both stay within [−6, 6] and are symmetric."""
    weights = [{"W": [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], "b": [0.0, 0.0, 0.5]}, {"W": [[1.0, 1.0, 1.0]], "b": [0.0]}]
    trainer = Trainer({**BINARY, "hidden": [3], "activation": "linear"}, weights=weights, dtype=np.float64)
    first, second, third = trainer.grid(density=10, thumb=8).neurons[0]
    assert np.all(np.diff(first, axis=1) > 0) and np.all(np.diff(first, axis=0) == 0)
    assert np.all(np.diff(second, axis=0) < 0) and np.all(np.diff(second, axis=1) == 0)
    assert np.abs(first).max() <= 6 and np.abs(second).max() <= 6
    np.testing.assert_allclose(first, -first[:, ::-1], atol=1e-12)
    np.testing.assert_allclose(second, -second[::-1, :], atol=1e-12)
    np.testing.assert_allclose(second, first.T[::-1, :], atol=1e-12)  # the same sample points on both axes
    np.testing.assert_allclose(third, first + second + 0.5, atol=1e-12)


def test_thumbnails_of_a_deeper_layer_follow_the_first():
    weights = [{"W": [[1.0, 0.0], [0.0, 1.0]], "b": [0.0, 0.0]}, {"W": [[0.5, -0.5]], "b": [0.1]},
               {"W": [[1.0]], "b": [0.0]}]
    trainer = Trainer({**BINARY, "hidden": [2, 1], "activation": ["linear", "tanh"]}, weights=weights,
                      dtype=np.float64)
    layer0, layer1 = trainer.grid(density=10, thumb=6).neurons
    np.testing.assert_allclose(layer1[0], np.tanh(0.5 * layer0[0] - 0.5 * layer0[1] + 0.1), atol=1e-12)


@pytest.mark.parametrize("loss", ["cross_entropy", "square", "hinge"])
def test_multiclass_grid_probabilities(loss):
    trainer = Trainer({"dataset": "blobs", "n_classes": 4, "hidden": [5], "loss": loss, "seed": 2})
    trainer.train(3)
    grid = trainer.grid(density=30, thumb=5)
    assert grid.probabilities.shape == (4, 30, 30) and grid.classes.shape == (30, 30)
    np.testing.assert_allclose(grid.probabilities.sum(axis=0), 1.0, atol=1e-5)
    assert grid.probabilities.min() >= 0
    np.testing.assert_array_equal(grid.classes, grid.probabilities.argmax(axis=0))
    np.testing.assert_allclose(grid.values, grid.probabilities.max(axis=0), atol=1e-6)
    # the grid's classes are the network's predictions at the grid points (row 0 at x2 = +6)
    axis = np.linspace(-6, 6, 30)
    x1, x2 = np.meshgrid(axis, axis[::-1])
    labels = trainer.predict(np.column_stack([x1.ravel(), x2.ravel()]))["label"].reshape(30, 30)
    agree = np.mean(labels == grid.classes)
    assert agree > 0.999  # (float32 ties aside)
    assert len(np.unique(grid.classes)) > 1


def test_poly_demo_grid_is_a_curve():
    cfg = {"problem": "regression", "dataset": "poly_demo", "features": ["x1", "x1_sq", "x1_pow3"], "hidden": [3],
           "seed": 1}
    trainer = Trainer(cfg)
    trainer.train(5)
    grid = trainer.grid(density=50, thumb=12)
    assert grid.values.shape == (50,)
    np.testing.assert_allclose(grid.axis, np.linspace(-6, 6, 50))
    assert [n.shape for n in grid.neurons] == [(3, 12)]
    out = trainer.predict(np.column_stack([grid.axis, np.zeros(50)]))["output"][:, 0]
    np.testing.assert_allclose(grid.values, out, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(grid.meta["axis_units"], poly_x_from_network(grid.axis))
    assert grid.meta["axis_units"][0] == pytest.approx(10) and grid.meta["axis_units"][-1] == pytest.approx(60)


# ----------------------------------------------------------------------------------------------- trace
def test_trace_single_neuron_regression():
    """The lecture's single neuron, linear, square loss: o = wx + b, L = ½(o − y)², dL/do = o − y,
    dL/dw = (o − y)·x, dL/db = o − y."""
    w, b, x, y = 0.8, -0.3, 1.5, 2.0
    trainer = Trainer({"problem": "regression", "dataset": "plane", "features": ["x1"], "hidden": [], "seed": 0},
                      weights=[{"W": [[w]], "b": [b]}])
    trace = trainer.trace([x, 0.7], label=y)
    o = w * x + b
    assert trace["point"] == [x, 0.7] and trace["label"] == y
    assert trace["features"] == {"x1": pytest.approx(x)}
    (layer,) = trace["layers"]
    assert layer["pre"] == [pytest.approx(o)] and layer["post"] == [pytest.approx(o)]
    assert layer["grad_pre"] == [pytest.approx(o - y)]
    assert layer["grad_W"] == [[pytest.approx((o - y) * x)]]
    assert layer["grad_b"] == [pytest.approx(o - y)]
    assert trace["output"] == [pytest.approx(o)] and trace["loss"] == pytest.approx(0.5 * (o - y) ** 2)


def test_trace_lecture_sigmoid_neuron():
    """L = ½(y − σ(wx + b))²: a sigmoid unit feeding a linear output of weight 1 and bias 0.
    ∂L/∂u = u − y, ∂L/∂z = ∂L/∂u·σ'(z), ∂L/∂w = ∂L/∂z·x."""
    w, b, x, y = 0.6, 0.2, -1.25, 0.3
    trainer = Trainer({"problem": "regression", "dataset": "plane", "features": ["x1"], "hidden": [1],
                       "activation": "sigmoid", "seed": 0},
                      weights=[{"W": [[w]], "b": [b]}, {"W": [[1.0]], "b": [0.0]}])
    trace = trainer.trace([x, 0.0], label=y)
    z = w * x + b
    u = 1 / (1 + np.exp(-z))
    dz = (u - y) * u * (1 - u)
    hidden, out = trace["layers"]
    assert hidden["pre"] == [pytest.approx(z)] and hidden["post"] == [pytest.approx(u)]
    assert hidden["grad_pre"] == [pytest.approx(dz)]
    assert hidden["grad_W"] == [[pytest.approx(dz * x)]] and hidden["grad_b"] == [pytest.approx(dz)]
    assert out["grad_pre"] == [pytest.approx(u - y)] and out["grad_W"] == [[pytest.approx((u - y) * u)]]
    assert trace["loss"] == pytest.approx(0.5 * (y - u) ** 2)


def test_trace_two_layer_network_by_hand():
    W1, b1 = np.array([[0.5, -0.25], [1.0, 0.75]]), np.array([0.1, -0.2])
    W2, b2 = np.array([[0.8, -0.6]]), np.array([0.05])
    point, y = np.array([0.7, -1.1]), -1.0
    trainer = Trainer({**BINARY, "hidden": [2], "activation": "tanh", "loss": "square"},
                      weights=[{"W": W1.tolist(), "b": b1.tolist()}, {"W": W2.tolist(), "b": b2.tolist()}])
    trace = trainer.trace(point, label=y)
    z1 = W1 @ point + b1
    a1 = np.tanh(z1)
    z2 = W2 @ a1 + b2
    o = np.tanh(z2)
    d2 = (o - y) * (1 - o**2)
    d1 = (W2.T @ d2) * (1 - a1**2)
    hidden, out = trace["layers"]
    rel = 1e-6  # the trainer stores float32 weights; the trace itself runs in float64
    np.testing.assert_allclose(hidden["pre"], z1, rtol=rel)
    np.testing.assert_allclose(hidden["post"], a1, rtol=rel)
    np.testing.assert_allclose(hidden["grad_pre"], d1, rtol=rel)
    np.testing.assert_allclose(hidden["grad_W"], np.outer(d1, point), rtol=rel)  # (fan_out, fan_in)
    np.testing.assert_allclose(hidden["grad_b"], d1, rtol=rel)
    np.testing.assert_allclose(out["pre"], z2, rtol=rel)
    np.testing.assert_allclose(out["post"], o, rtol=rel)
    np.testing.assert_allclose(out["grad_pre"], d2, rtol=rel)
    np.testing.assert_allclose(out["grad_W"], np.outer(d2, a1), rtol=rel)
    np.testing.assert_allclose(trace["output"], o, rtol=rel)
    assert trace["loss"] == pytest.approx(0.5 * (o[0] - y) ** 2, rel=rel)


def test_trace_label_defaults_to_the_nearest_training_point():
    trainer = Trainer({**BINARY, "hidden": [2]})
    i = 3
    point = trainer.data.x_train[i] + 1e-3
    assert trainer.trace(point)["label"] == trainer.data.y_train[i]


def test_trace_multiclass_output_layer():
    trainer = Trainer({"dataset": "blobs", "n_classes": 3, "hidden": [2], "loss": "cross_entropy", "seed": 0},
                      dtype=np.float64)
    trace = trainer.trace([0.5, 1.0], label=2)
    out = trace["layers"][-1]
    p = np.exp(out["pre"]) / np.exp(out["pre"]).sum()
    np.testing.assert_allclose(out["post"], p, rtol=1e-12)
    np.testing.assert_allclose(out["grad_pre"], p - np.eye(3)[2], rtol=1e-12, atol=1e-15)
    assert trace["loss"] == pytest.approx(-np.log(p[2]))

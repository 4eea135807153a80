"""Backprop against central differences: every activation, every loss for every task, every regulariser.

Two independent routes:

* ``Trainer.gradient_check()`` (the engine's own check, float64 central differences over 64 points);
* :func:`engine_helpers.training_gradient`: the gradient a full-batch SGD step (lr 1, float64) actually
  applies, read through get_weights, against central differences of ``report().total_loss``. This covers
  the training path itself (including where run_epoch adds the penalty), and it checks every parameter
  with a mixed tolerance |a − n| ≤ 1e-6·max(|a|, |n|) + 1e-8 (the float64 rounding noise of a central
  difference with h = 1e-6 is about ε_mach·|F|/h ≈ 1e-10; the measured margin is over 100×).
"""

import dataclasses
import math

import numpy as np
import pytest

from nnplay.engine import ACTIVATIONS, LOSSES, REGULARIZERS, DataSplit, Trainer
from engine_helpers import TASK_DATA, flat, training_gradient, weight_mask

SMALL = {"hidden": [3, 2], "n_samples": 100, "seed": 0}
LOSS_TASKS = [(loss, task) for loss, heads in LOSSES.items() for task in heads]
DATASETS_FOR = {"binary": ["circle", "xor"], "multiclass": ["blobs"], "regression": ["plane"]}
CASES = [(act, loss, task, ds) for act in ACTIVATIONS for loss, task in LOSS_TASKS for ds in DATASETS_FOR[task]]
PENALTIES = [name for name in REGULARIZERS if name != "none"]

# float64 central differences with ε = 1e-6 carry an absolute rounding error of about ε_mach·|F|/ε ≈ 1e-10.
FD_NOISE = 1e-9


def config(act="tanh", loss="square", task="binary", dataset=None, **extra):
    base = dict(TASK_DATA[task])
    if dataset:
        base["dataset"] = dataset
    return {**base, **SMALL, "activation": act, "loss": loss, **extra}


def assert_gradient_check(result, tol=1e-5):
    """max_relative_error < tol; where it is not, the worst entry must be a gradient so small that its
    relative error is float64 rounding noise (the engine floors the denominator at 1e-8, below that noise:
    see test_gradient_check_does_not_flag_a_correct_zero_gradient). Every parameter is in any case checked
    with a proper tolerance by the training_gradient tests below."""
    assert result["checked"] == result["total_params"]
    if result["max_relative_error"] < tol:
        return
    worst = result["worst"]
    assert abs(worst["analytic"] - worst["numeric"]) < FD_NOISE, result


def assert_close_gradients(analytic, numeric, rtol=1e-6, atol=1e-8):
    excess = np.abs(analytic - numeric) - (rtol * np.maximum(np.abs(analytic), np.abs(numeric)) + atol)
    worst = int(np.argmax(excess))
    assert excess.max() <= 0, f"param {worst}: analytic {analytic[worst]!r} numeric {numeric[worst]!r}"
    assert np.abs(analytic).max() > 1e-3  # a gradient that actually moves something


# ---------------------------------------------------------------------------------- engine's own check
@pytest.mark.parametrize("act,loss,task,dataset", CASES)
def test_gradient_check_every_activation_and_loss(act, loss, task, dataset):
    trainer = Trainer(config(act, loss, task, dataset))
    assert_gradient_check(trainer.gradient_check())


@pytest.mark.parametrize("task", TASK_DATA)
@pytest.mark.parametrize("penalty", PENALTIES)
def test_gradient_check_every_regulariser(penalty, task):
    loss = "cross_entropy" if task != "regression" else "huber"
    trainer = Trainer(config("tanh", loss, task, regularization=penalty, reg_rate=0.1, l1_ratio=0.3))
    assert_gradient_check(trainer.gradient_check())


@pytest.fixture
def wrong_tanh_derivative(monkeypatch):
    """The registry's tanh for the length of a test: the same value, a derivative off by 1%."""
    right = ACTIVATIONS["tanh"]

    def wrong(xp, z, a, out):
        right.grad(xp, z, a, out)
        out *= 1.01
        return out

    monkeypatch.setitem(ACTIVATIONS, "tanh", dataclasses.replace(right, grad=wrong))


def test_both_checks_detect_a_wrong_derivative(wrong_tanh_derivative):
    """The checks can fail: a tanh derivative off by 1% is caught by both routes."""
    cfg = config("tanh", "square", "binary")
    result = Trainer(cfg).gradient_check()
    assert result["max_relative_error"] > 1e-3
    analytic, numeric = training_gradient(cfg)
    with pytest.raises(AssertionError):
        assert_close_gradients(analytic, numeric)


def test_gradient_check_does_not_flag_a_correct_zero_gradient():
    """A linear model with square loss is exactly quadratic, so central differences are exact up to float64
    rounding (≈ 1e-11 here). The data are chosen so that dL/dw1 = mean((o − y)·x1) is exactly 0:
    residuals (0.75, 0.375, 1) at x1 = (1, 2, −1.5). A correct gradient must not be reported as a
    relative error of 1e-3; the engine divides by max(|a|, |n|, 1e-8), and 1e-8 is below the rounding
    noise of a central difference (ε_mach·|F|/ε ≈ 1e-10 at ε = 1e-6)."""
    x1 = [1.0, 2.0, -1.5]
    residual = [0.75, 0.375, 1.0]
    bias = 0.5
    train = [[x, 0.0, bias - r] for x, r in zip(x1, residual, strict=True)]
    data = DataSplit.from_rows(train, [[0.0, 0.0, 0.0]])
    cfg = {"problem": "regression", "dataset": "plane", "hidden": [], "seed": 0}
    weights = [{"W": [[0.0, 0.0]], "b": [bias]}]
    # the gradient is right: dL/dw1 = 0, dL/dw2 = 0 (x2 = 0), dL/db = mean residual (o − y = r)
    analytic, numeric = training_gradient(cfg, data=data, weights=weights)
    np.testing.assert_allclose(analytic, [0.0, 0.0, np.mean(residual)], rtol=0, atol=1e-15)
    np.testing.assert_allclose(numeric, analytic, rtol=0, atol=1e-9)
    result = Trainer(cfg, data=data, weights=weights, dtype=np.float64).gradient_check()
    assert result["max_relative_error"] < 1e-5, result


# ------------------------------------------------------------------------ the gradient training applies
@pytest.mark.parametrize("act", list(ACTIVATIONS))
@pytest.mark.parametrize("loss,task", LOSS_TASKS)
def test_training_gradient_every_activation_and_loss(act, loss, task):
    analytic, numeric = training_gradient(config(act, loss, task))
    assert_close_gradients(analytic, numeric)


@pytest.mark.parametrize("activations", [["relu", "tanh", "sigmoid"], ["tanh", "tanh", "linear"],
                                         ["sigmoid", "relu", "relu"]])
def test_training_gradient_with_an_activation_per_layer(activations):
    """Layers that share f get f′ in one call over all of them (network.Workspace); layers that differ
    each their own: both must give backprop's gradient, here for every parameter of three hidden layers."""
    analytic, numeric = training_gradient(config(activations, hidden=[3, 2, 2]))
    assert_close_gradients(analytic, numeric)


@pytest.mark.parametrize("task", TASK_DATA)
@pytest.mark.parametrize("penalty", PENALTIES)
def test_training_gradient_every_regulariser(penalty, task):
    cfg = config("tanh", "square", task, regularization=penalty, reg_rate=0.1, l1_ratio=0.3)
    analytic, numeric = training_gradient(cfg)
    assert_close_gradients(analytic, numeric)


@pytest.mark.parametrize("penalty", PENALTIES)
def test_penalty_gradient_is_added_to_weights_only(penalty):
    """g(reg) − g(no reg) = reg_rate·R'(W) on weights and exactly 0 on biases (as torch's weight_decay,
    but never on biases)."""
    rate, l1_ratio = 0.25, 0.3
    plain = config("tanh", "square", "binary")
    trainer = Trainer(plain, dtype=np.float64)  # the same initial weights training_gradient starts from
    start = trainer.get_weights()
    theta, mask = flat(start), weight_mask(start)
    regularised = {**plain, "regularization": penalty, "reg_rate": rate, "l1_ratio": l1_ratio}
    with_reg, _ = training_gradient(regularised, h=1e-3)
    without, _ = training_gradient(plain, h=1e-3)
    r_grad = {"l1": np.sign(theta), "l2": theta,
              "elastic": l1_ratio * np.sign(theta) + (1 - l1_ratio) * theta}[penalty]
    np.testing.assert_allclose(with_reg - without, rate * r_grad * mask, rtol=1e-9, atol=1e-12)
    assert np.all((with_reg - without)[mask == 0] == 0)


@pytest.mark.parametrize("penalty", PENALTIES)
def test_reported_losses_separate_data_loss_and_penalty(penalty):
    """train/test losses are the data loss alone; total_loss = train_loss + reg_rate·R(W), weights only."""
    rate, l1_ratio = 0.2, 0.3
    base = config("tanh", "square", "binary")
    trainer = Trainer({**base, "regularization": penalty, "reg_rate": rate, "l1_ratio": l1_ratio}, dtype=np.float64)
    twin = Trainer(base, dtype=np.float64)
    report, plain = trainer.report(), twin.report()
    assert report.train_loss == pytest.approx(plain.train_loss, rel=1e-12)
    assert report.test_loss == pytest.approx(plain.test_loss, rel=1e-12)
    w = flat(trainer.get_weights())[weight_mask(trainer.get_weights()) == 1]
    r = {"l1": np.abs(w).sum(), "l2": 0.5 * (w * w).sum(),
         "elastic": l1_ratio * np.abs(w).sum() + (1 - l1_ratio) * 0.5 * (w * w).sum()}[penalty]
    assert report.total_loss == pytest.approx(report.train_loss + rate * r, rel=1e-12)
    assert plain.total_loss == pytest.approx(plain.train_loss, rel=1e-12)


# ------------------------------------------------------------------------------------------- dropout
def _reference_activation(name, z):
    """f(z) and f'(z) written out independently of the engine."""
    sig = 1 / (1 + np.exp(-z))
    cdf = 0.5 * math.erfc(-z / math.sqrt(2))
    return {
        "relu": (max(z, 0.0), float(z > 0)),
        "tanh": (np.tanh(z), 1 - np.tanh(z) ** 2),
        "sigmoid": (sig, sig * (1 - sig)),
        "linear": (z, 1.0),
        "leaky_relu": (z if z > 0 else 0.01 * z, 1.0 if z > 0 else 0.01),
        "elu": (z if z > 0 else np.expm1(z), 1.0 if z > 0 else np.exp(z)),
        "softplus": (np.log1p(np.exp(z)), sig),
        "swish": (z * sig, sig + z * sig * (1 - sig)),
        "sine": (np.sin(z), np.cos(z)),
        "gelu": (z * cdf, cdf + z * np.exp(-z * z / 2) / np.sqrt(2 * np.pi)),
        "mish": (z * np.tanh(np.log1p(np.exp(z))), np.tanh(np.log1p(np.exp(z)))
                 + z * sig * (1 - np.tanh(np.log1p(np.exp(z))) ** 2)),
    }[name]


@pytest.mark.parametrize("bias", [0.2, -0.9], ids=["z>0", "z<0"])
@pytest.mark.parametrize("act", list(ACTIVATIONS))
def test_dropout_backprop_through_a_kept_unit(act, bias):
    """Inverted dropout, one hidden unit, one training point, batch 1: each epoch is one SGD step whose unit
    is either dropped (mask 0) or kept and scaled by 1/(1 − p) = 2. The step must equal the hand-computed
    step for one of the two masks, with the derivative f'(z) of the unit's pre-activation z (not of the
    scaled output), and both masks must occur. The unit's pre-activation is 0.88 or −0.22 (ELU's derivative
    reads its output only for z < 0)."""
    x, y, lr = np.array([0.8, -0.4]), 1.0, 0.1
    data = DataSplit.from_rows([[x[0], x[1], y]], [[0.1, 0.2, -1.0]])
    cfg = {"dataset": "circle", "hidden": [1], "activation": act, "dropout": 0.5, "batch_size": 1,
           "learning_rate": lr, "seed": 5}
    w0 = [{"W": [[0.7, -0.3]], "b": [bias]}, {"W": [[0.9]], "b": [-0.1]}]  # z = 0.68 + bias
    trainer = Trainer(cfg, data=data, weights=w0, dtype=np.float64)

    def expected(weights, mask):
        (w1, b1), (w2, b2) = [(np.array(layer["W"]), np.array(layer["b"])) for layer in weights]
        z1 = float(w1[0] @ x + b1[0])
        f, df = _reference_activation(act, z1)
        a = mask * f
        o = np.tanh(w2[0, 0] * a + b2[0])
        dz2 = (o - y) * (1 - o * o)  # square loss on the tanh output
        dz1 = w2[0, 0] * dz2 * mask * df
        return [{"W": w1 - lr * dz1 * x[None, :], "b": b1 - lr * dz1},
                {"W": w2 - lr * dz2 * a, "b": b2 - lr * dz2}]

    seen = set()
    for _ in range(12):
        before = trainer.get_weights()
        trainer.train(1)
        after = flat(trainer.get_weights())
        candidates = {m: flat([{"W": layer["W"].tolist(), "b": layer["b"].tolist()} for layer in expected(before, m)])
                      for m in (0.0, 2.0)}
        errors = {m: np.abs(after - c).max() for m, c in candidates.items()}
        mask = min(errors, key=errors.get)
        assert errors[mask] < 1e-12, f"step matches neither mask: {errors}"
        if np.abs(candidates[0.0] - candidates[2.0]).max() > 1e-9:  # (a dead ReLU gives the same step)
            seen.add(mask)
    if not (act == "relu" and bias < 0):
        assert seen == {0.0, 2.0}

"""Whole training against PyTorch: same initial weights, same data in the same order, mini-batches of 10 with a
last partial batch, the same loss, a weight-only penalty added to the weight gradients, the same optimiser.
After 3 epochs the weights must agree (engine float32: 1e-4; engine float64: 1e-9). Normalized hidden layers
are Linear → BatchNorm1d / LayerNorm → activation in torch, whose γ, β (and running estimates) must agree too."""

import numpy as np
import pytest

from nnplay.engine import Trainer
from nnplay.engine.features import feature_matrix

pytestmark = pytest.mark.torch

# n_train = floor(45 · 0.5) = 22: batches of 10, 10 and 2
BASE = {"n_samples": 45, "train_ratio": 0.5, "batch_size": 10, "shuffle": False, "seed": 11}
CASES = {
    # the oracle: binary, square loss on the tanh output, L2, SGD and Adam
    "binary-sgd-l2": {"dataset": "circle", "features": ["x1", "x2"], "hidden": [4, 2], "activation": "tanh",
                      "loss": "square", "regularization": "l2", "reg_rate": 0.01, "optimizer": "sgd",
                      "learning_rate": 0.03},
    "binary-adam-l2": {"dataset": "circle", "features": ["x1", "x2"], "hidden": [4, 2], "activation": "tanh",
                       "loss": "square", "regularization": "l2", "reg_rate": 0.01, "optimizer": "adam",
                       "learning_rate": 0.01},
    # further tasks, losses, penalties and optimisers
    "multiclass-nesterov-l1": {"dataset": "blobs", "n_classes": 3, "features": ["x1", "x2", "x1_x2", "sin_x1"],
                               "hidden": [5], "activation": "relu", "loss": "cross_entropy", "regularization": "l1",
                               "reg_rate": 0.003, "optimizer": "nesterov", "learning_rate": 0.05},
    "regression-adamw-elastic": {"problem": "regression", "dataset": "plane", "features": ["x1", "x2", "x1_sq"],
                                 "hidden": [3, 3], "activation": ["elu", "swish"], "loss": "huber",
                                 "regularization": "elastic", "reg_rate": 0.01, "l1_ratio": 0.3,
                                 "optimizer": "adamw", "learning_rate": 0.02},
    "binary-rmsprop-ce": {"dataset": "xor", "features": ["x1", "x2"], "hidden": [4], "activation": "sigmoid",
                          "loss": "cross_entropy", "optimizer": "rmsprop", "learning_rate": 0.01},
    # GELU (exact erf form) and Mish, per layer and mixed, under SGD and Adam
    "binary-sgd-gelu-mish": {"dataset": "spiral", "features": ["x1", "x2", "sin_x1"], "hidden": [5, 4],
                             "activation": ["gelu", "mish"], "loss": "square", "optimizer": "sgd",
                             "learning_rate": 0.05},
    "multiclass-adam-gelu": {"dataset": "blobs", "n_classes": 3, "features": ["x1", "x2"], "hidden": [6, 3],
                             "activation": "gelu", "loss": "cross_entropy", "regularization": "l2",
                             "reg_rate": 0.003, "optimizer": "adam", "learning_rate": 0.02},
    # standardized inputs: torch trains on the features standardized by hand (training-set mean, population std)
    "binary-sgd-standardized": {"dataset": "spiral", "features": ["x1", "x2", "x1_sq", "x1_x2"], "hidden": [4, 2],
                                "activation": "tanh", "loss": "square", "optimizer": "sgd", "learning_rate": 0.03,
                                "standardize": True},
    "multiclass-adam-standardized": {"dataset": "blobs", "n_classes": 3, "features": ["x1", "x2", "x2_sq"],
                                     "hidden": [5], "activation": "gelu", "loss": "cross_entropy",
                                     "optimizer": "adam", "learning_rate": 0.01, "standardize": True},
    "regression-adam-mish": {"problem": "regression", "dataset": "plane", "features": ["x1", "x2"], "hidden": [4],
                             "activation": "mish", "loss": "huber", "optimizer": "adam", "learning_rate": 0.02},
    # normalization: batch norm under SGD and Adam (with a penalty, which stays on the weights), layer norm,
    # both in one network, and AdamW's decoupled decay (which, as torch's, reaches γ and β too)
    "batchnorm-sgd-l2": {"dataset": "circle", "features": ["x1", "x2"], "hidden": [4, 3], "activation": "tanh",
                         "normalization": "batch", "loss": "square", "regularization": "l2", "reg_rate": 0.01,
                         "optimizer": "sgd", "learning_rate": 0.1},
    "batchnorm-adam": {"dataset": "spiral", "features": ["x1", "x2", "sin_x1"], "hidden": [5, 4],
                       "activation": "relu", "normalization": "batch", "loss": "cross_entropy",
                       "optimizer": "adam", "learning_rate": 0.02},
    "layernorm-momentum": {"dataset": "blobs", "n_classes": 3, "features": ["x1", "x2"], "hidden": [5, 3],
                           "activation": "sigmoid", "normalization": "layer", "loss": "cross_entropy",
                           "optimizer": "momentum", "learning_rate": 0.05},
    "mixed-norms-adamw": {"problem": "regression", "dataset": "plane", "features": ["x1", "x2"], "hidden": [4, 3, 3],
                          "activation": "tanh", "normalization": ["batch", "none", "layer"], "loss": "huber",
                          "optimizer": "adamw", "learning_rate": 0.02},
}


def activation_fns(torch):
    F = torch.nn.functional
    return {"tanh": torch.tanh, "relu": F.relu, "sigmoid": torch.sigmoid, "elu": F.elu, "swish": F.silu,
            "gelu": F.gelu, "mish": F.mish}


def torch_inputs(cfg, train_points, points):
    """The features of ``points``; with ``standardize``, StandardScaler by hand: (x − mean) / population std of
    the training points' features."""
    features = feature_matrix(np, points, cfg["features"], np.float64, ones_column=False)
    if not cfg.get("standardize"):
        return features
    train = feature_matrix(np, train_points, cfg["features"], np.float64, ones_column=False)
    return (features - train.mean(axis=0)) / np.sqrt(((train - train.mean(axis=0)) ** 2).mean(axis=0))


def torch_logits(torch, cfg, weights, inputs):
    """The network's last pre-activation for ``inputs`` under ``weights`` (PyTorch layout), in torch."""
    F, fns = torch.nn.functional, activation_fns(torch)
    acts = cfg["activation"] if isinstance(cfg["activation"], list) else [cfg["activation"]] * len(cfg["hidden"])
    h = torch.tensor(inputs)
    for i, layer in enumerate(weights):
        h = F.linear(h, torch.tensor(np.asarray(layer["W"])), torch.tensor(np.asarray(layer["b"])))
        if i < len(weights) - 1:
            h = fns[acts[i]](h)
    return h.numpy()


def torch_norm(torch, kind, width):
    """torch's module for one of our normalizations (None for "none"), in float64."""
    if kind == "batch":
        return torch.nn.BatchNorm1d(width).double()
    if kind == "layer":
        return torch.nn.LayerNorm(width).double()
    return None


def torch_run(torch, trainer, cfg, epochs):
    F = torch.nn.functional
    data = trainer.data
    x = torch.tensor(torch_inputs(cfg, data.x_train, data.x_train))
    labels = torch.tensor(data.y_train)
    layers = []
    for layer in trainer.get_weights():
        W = torch.tensor(layer["W"], dtype=torch.float64)
        lin = torch.nn.Linear(W.shape[1], W.shape[0]).double()
        with torch.no_grad():
            lin.weight.copy_(W)  # PyTorch layout: W is (fan_out, fan_in)
            lin.bias.copy_(torch.tensor(layer["b"], dtype=torch.float64))
        layers.append(lin)
    acts = cfg["activation"] if isinstance(cfg["activation"], list) else [cfg["activation"]] * len(cfg["hidden"])
    kinds = trainer.config.normalizations
    norms = [torch_norm(torch, kind, width) for kind, width in zip(kinds, cfg["hidden"])]
    for lin, kind in zip(layers, kinds):
        if kind == "batch":  # the batch mean cancels this bias: its gradient is 0, in torch rounding noise
            lin.bias.register_hook(torch.zeros_like)  # (which Adam would turn into steps of size lr)
    fns = activation_fns(torch)
    params = [p for module in layers + [n for n in norms if n is not None] for p in module.parameters()]
    optim = {
        "sgd": lambda: torch.optim.SGD(params, lr=cfg["learning_rate"]),
        "momentum": lambda: torch.optim.SGD(params, lr=cfg["learning_rate"], momentum=0.9),
        "nesterov": lambda: torch.optim.SGD(params, lr=cfg["learning_rate"], momentum=0.9, nesterov=True),
        "rmsprop": lambda: torch.optim.RMSprop(params, lr=cfg["learning_rate"]),
        "adam": lambda: torch.optim.Adam(params, lr=cfg["learning_rate"]),
        "adamw": lambda: torch.optim.AdamW(params, lr=cfg["learning_rate"]),
    }[cfg["optimizer"]]()
    reg, rate, l1_ratio = cfg.get("regularization", "none"), cfg.get("reg_rate", 0.0), cfg.get("l1_ratio", 0.5)
    task = trainer.task

    def loss_fn(logits, y):
        if task == "binary" and cfg["loss"] == "square":
            return (0.5 * (torch.tanh(logits[:, 0]) - y) ** 2).mean()
        if task == "binary":
            return F.binary_cross_entropy_with_logits(logits[:, 0], (y + 1) / 2)
        if task == "multiclass":
            return F.cross_entropy(logits, y.long())
        return F.huber_loss(logits[:, 0], y, delta=1.0)

    n = len(labels)
    for _ in range(epochs):
        for start in range(0, n, cfg["batch_size"]):  # the last partial batch is a step of its own
            xb, yb = x[start:start + cfg["batch_size"]], labels[start:start + cfg["batch_size"]]
            h = xb
            for i, lin in enumerate(layers):
                h = lin(h)
                if i < len(layers) - 1:
                    h = fns[acts[i]](h if norms[i] is None else norms[i](h))
            optim.zero_grad()
            loss_fn(h, yb).backward()
            with torch.no_grad():  # reg_rate·R'(W) on weights only, never biases
                for lin in layers:
                    W = lin.weight
                    if reg == "l2":
                        W.grad += rate * W
                    elif reg == "l1":
                        W.grad += rate * torch.sign(W)
                    elif reg == "elastic":
                        W.grad += rate * (l1_ratio * torch.sign(W) + (1 - l1_ratio) * W)
            optim.step()
    result = [{"W": lin.weight.detach().numpy(), "b": lin.bias.detach().numpy()} for lin in layers]
    for entry, norm in zip(result, norms):
        if norm is not None:
            entry["norm"] = {"gamma": norm.weight.detach().numpy(), "beta": norm.bias.detach().numpy()}
            if isinstance(norm, torch.nn.BatchNorm1d):
                entry["norm"].update(running_mean=norm.running_mean.numpy(), running_var=norm.running_var.numpy())

    def model(points, train):
        """torch's output (logits) for host ``points`` in training or evaluation mode."""
        h = torch.tensor(torch_inputs(cfg, data.x_train, points))
        with torch.no_grad():
            for i, lin in enumerate(layers):
                h = lin(h)
                if i < len(layers) - 1:
                    if norms[i] is not None:
                        norms[i].train(train)
                        h = norms[i](h)
                    h = fns[acts[i]](h)
        return h.numpy()

    return result, model


@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-4), (np.float64, 1e-9)], ids=["float32", "float64"])
@pytest.mark.parametrize("case", list(CASES))
def test_three_epochs_match_torch(case, dtype, tol):
    torch = pytest.importorskip("torch")
    cfg = {**BASE, **CASES[case]}
    trainer = Trainer(cfg, dtype=dtype)
    assert trainer.data.n_train == 22  # batches of 10, 10 and 2
    expected, _ = torch_run(torch, trainer, cfg, epochs=3)
    reports = trainer.train(3)
    assert [r.status for r in reports] == ["ok"] * 3
    assert trainer.optimizer.t == 3 * 3
    actual = trainer.get_weights()
    moved = 0.0
    for layer, (got, want) in enumerate(zip(actual, expected, strict=True)):
        np.testing.assert_allclose(np.asarray(got["W"]), want["W"], rtol=0, atol=tol, err_msg=f"{case} W{layer}")
        np.testing.assert_allclose(np.asarray(got["b"]), want["b"], rtol=0, atol=tol, err_msg=f"{case} b{layer}")
        assert ("norm" in got) == ("norm" in want)
        for name, value in want.get("norm", {}).items():  # γ, β, and batch norm's running estimates
            # a variance is quadratic in the weights: its error is ≈ 2·(their relative error)·its size
            rtol = 2 * tol if name == "running_var" else 0
            np.testing.assert_allclose(got["norm"][name], value, rtol=rtol, atol=tol, err_msg=f"{case} {name}{layer}")
    start = Trainer(cfg, dtype=dtype).get_weights()
    moved = max(np.abs(np.asarray(a["W"]) - np.asarray(s["W"])).max()
                for a, s in zip(actual, start, strict=True))
    assert moved > 100 * tol  # training changed the weights far more than the tolerance


@pytest.mark.parametrize("case", [c for c in CASES if "gelu" in c or "mish" in c or "standardized" in c])
def test_outputs_after_training_match_torch(case):
    """After 3 epochs the engine's logits on the test set (inputs standardized by the training statistics where
    asked) equal torch's forward pass with torch's own trained weights."""
    torch = pytest.importorskip("torch")
    cfg = {**BASE, **CASES[case]}
    trainer = Trainer(cfg, dtype=np.float64)
    expected_weights, _ = torch_run(torch, trainer, cfg, epochs=3)
    trainer.train(3)
    d = trainer.data
    expected = torch_logits(torch, cfg, expected_weights, torch_inputs(cfg, d.x_train, d.x_test))
    np.testing.assert_allclose(trainer.predict(d.x_test)["logits"], expected, rtol=0, atol=1e-9)


NORM_CASES = ["batchnorm-sgd-l2", "batchnorm-adam", "layernorm-momentum", "mixed-norms-adamw"]


@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-4), (np.float64, 1e-9)], ids=["float32", "float64"])
@pytest.mark.parametrize("case", NORM_CASES)
def test_normalized_outputs_match_torch_in_both_modes(case, dtype, tol):
    """After 3 epochs, the outputs on the test set in evaluation mode (batch norm: running estimates) and on
    the training set in training mode (its own batch statistics) are torch's."""
    torch = pytest.importorskip("torch")
    cfg = {**BASE, **CASES[case]}
    trainer = Trainer(cfg, dtype=dtype)
    _, model = torch_run(torch, trainer, cfg, epochs=3)
    trainer.train(3)
    net = trainer.network
    np.testing.assert_allclose(trainer.predict(trainer.data.x_test)["logits"], model(trainer.data.x_test, False),
                               rtol=0, atol=10 * tol)
    ws = net.workspace(trainer.n_train)
    net.forward(trainer.x_train, ws, train=True)
    np.testing.assert_allclose(ws.z[-1].T, model(trainer.data.x_train, True), rtol=0, atol=10 * tol)
    if "batch" in trainer.config.normalizations:  # the two modes differ: the test is not vacuous
        assert np.abs(model(trainer.data.x_train, True) - model(trainer.data.x_train, False)).max() > 1e-3

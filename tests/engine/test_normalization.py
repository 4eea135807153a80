"""Batch and layer normalization in the engine: the batch-of-one refusal, stacked groups equal to lone runs,
the gradient check of γ and β, weights that travel with γ, β and running estimates, and the trace.
(Equality with torch.nn.BatchNorm1d / LayerNorm is tests/engine/test_torch_oracle.py's.)"""

import numpy as np
import pytest
from pydantic import ValidationError

from nnplay.engine import Trainer, TrainerGroup

BASE = {"dataset": "spiral", "hidden": [5, 4], "n_samples": 80, "batch_size": 10, "optimizer": "adam",
        "learning_rate": 0.01, "normalization": ["batch", "layer"]}


def test_a_batch_of_one_is_refused_naming_batch_size():
    with pytest.raises(ValidationError, match="batch_size: 1 leaves a mini-batch of one row"):
        Trainer({**BASE, "batch_size": 1})
    # 40 training rows in batches of 3: the last batch has one row
    with pytest.raises(ValidationError, match="batch_size: 3 leaves a mini-batch of one row"):
        Trainer({**BASE, "batch_size": 3})
    run = Trainer({**BASE, "normalization": "layer", "batch_size": 1})  # layer norm needs no batch
    assert run.step_epoch().status == "ok"
    run = Trainer(BASE)
    with pytest.raises(ValueError, match="batch_size: 1 leaves"):
        run.update(batch_size=1)
    assert run.config.batch_size == 10


def test_normalization_list_needs_one_name_per_hidden_layer():
    with pytest.raises(ValidationError, match=r"normalization: a list needs one name per hidden layer \(2\), got 1"):
        Trainer({**BASE, "normalization": ["batch"]})
    with pytest.raises(ValidationError, match="normalization"):
        Trainer({**BASE, "normalization": "group"})


def test_running_estimates_move_in_training_and_serve_evaluation():
    run = Trainer({**BASE, "normalization": "batch"})
    fresh = run.get_weights()[0]["norm"]
    assert fresh["gamma"] == [1.0] * 5 and fresh["beta"] == [0.0] * 5  # torch's initial γ, β
    assert fresh["running_mean"] == [0.0] * 5 and fresh["running_var"] == [1.0] * 5
    before = run.predict(run.data.x_test)["output"]
    run.run_epoch()
    after = run.get_weights()[0]["norm"]
    assert after["running_mean"] != fresh["running_mean"] and after["running_var"] != fresh["running_var"]
    # evaluation reads the running estimates: putting the fresh ones back changes the prediction
    outputs = run.predict(run.data.x_test)["output"]
    run.network.set_norm(0, {**after, "running_mean": fresh["running_mean"], "running_var": fresh["running_var"]})
    assert np.abs(run.predict(run.data.x_test)["output"] - outputs).max() > 1e-3
    assert np.abs(outputs - before).max() > 0


@pytest.mark.parametrize("extra", [{}, {"dropout": 0.2, "shuffle": True}, {"normalization": ["layer", "none"]},
                                   {"normalization": "batch", "optimizer": "sgd", "regularization": "l2",
                                    "reg_rate": 0.01}])
def test_a_group_with_normalization_equals_lone_runs(extra):
    configs = [{**BASE, **extra, "seed": seed, "learning_rate": 0.01 * (seed + 1)} for seed in range(3)]
    lone = [Trainer(c) for c in configs]
    for run in lone:
        run.train(3)
    group = TrainerGroup(configs)
    group.train(2)
    group.step_epoch(group.members[1:], gradients=True)  # a subset of the members steps on its own
    group.step_epoch(group.members[:1], gradients=True)
    for alone, member in zip(lone, group.members):
        np.testing.assert_array_equal(member.network.params, alone.network.params)
        np.testing.assert_array_equal(member.network.stats, alone.network.stats)
        ours, theirs = member.history[-1], alone.history[-1]
        assert (ours.train_loss, ours.test_loss, ours.grad_norms) == (theirs.train_loss, theirs.test_loss,
                                                                      theirs.grad_norms)
        assert ours.total_loss == pytest.approx(theirs.total_loss, rel=1e-6)  # penalties summed in other orders
    for grid, alone in zip(group.grids(), lone):
        np.testing.assert_allclose(grid.values, alone.grid().values, rtol=0, atol=1e-6)


def test_groups_do_not_mix_normalizations():
    with pytest.raises(ValueError, match="normalizations differ"):
        TrainerGroup([BASE, {**BASE, "normalization": "none"}])


@pytest.mark.parametrize("normalization", ["batch", "layer", ["layer", "batch"]])
def test_gradient_check_covers_gamma_and_beta(normalization):
    run = Trainer({**BASE, "normalization": normalization, "regularization": "l2", "reg_rate": 0.01})
    run.train(3)
    result = run.gradient_check()
    assert result["total_params"] == run.network.params.size == (3 * 5 + 6 * 4 + 5 * 1) + 2 * (5 + 4)
    assert result["checked"] == result["total_params"]
    worst = result["worst"]  # below 1e-5, or the worst is a zero gradient (a batch-normed layer's bias) whose
    # relative error is float64 rounding noise of the central difference
    assert result["max_relative_error"] < 1e-5 or abs(worst["analytic"] - worst["numeric"]) < 1e-8, result


def test_gradient_check_names_a_wrong_gamma_gradient(monkeypatch):
    """The check sees γ's gradient: one made wrong is the worst parameter, named as γ of its layer."""
    from nnplay.engine import normalization

    backward = normalization.backward

    def wrong(xp, views, *args):
        backward(xp, views, *args)
        views.grad_gamma *= 1.5

    monkeypatch.setattr(normalization, "backward", wrong)
    result = Trainer({**BASE, "normalization": ["none", "batch"], "seed": 2}).gradient_check()
    assert result["max_relative_error"] > 0.1
    assert result["worst"]["layer"] == 1 and result["worst"]["parameter"] == "gamma"


def test_weights_carry_gamma_beta_and_running_estimates():
    run = Trainer({**BASE, "normalization": ["batch", "layer"]})
    run.train(4)
    weights = run.get_weights()
    assert set(weights[0]["norm"]) == {"kind", "gamma", "beta", "running_mean", "running_var"}
    assert set(weights[1]["norm"]) == {"kind", "gamma", "beta"} and "norm" not in weights[2]
    copy = Trainer({**BASE, "seed": 99}, weights=weights)
    np.testing.assert_array_equal(copy.predict(run.data.x_test)["output"], run.predict(run.data.x_test)["output"])
    np.testing.assert_array_equal(copy.network.stats, run.network.stats)
    bare = Trainer({**BASE, "seed": 99}, weights=[{"W": w["W"], "b": w["b"]} for w in weights])
    assert np.abs(bare.predict(run.data.x_test)["output"] - run.predict(run.data.x_test)["output"]).max() > 1e-4


def test_set_weights_rejects_a_norm_entry_that_does_not_fit():
    run = Trainer(BASE)
    weights = run.get_weights()
    with pytest.raises(ValueError, match="layer 1 has normalization 'layer', got a norm entry 'batch'"):
        run.set_weights([weights[0], {**weights[1], "norm": weights[0]["norm"]}, weights[2]])
    with pytest.raises(ValueError, match="layer 0 running_var must be >= 0"):
        run.set_weights([{**weights[0], "norm": {**weights[0]["norm"], "running_var": [-1.0] * 5}}, *weights[1:]])
    with pytest.raises(ValueError, match="layer 0: gamma must have 5 values"):
        run.set_weights([{**weights[0], "norm": {**weights[0]["norm"], "gamma": [1.0]}}, *weights[1:]])


def test_trace_shows_the_normalization_step():
    run = Trainer({**BASE, "normalization": ["batch", "none"], "activation": "tanh"})
    run.train(2)
    trace = run.trace([0.5, -1.0])
    first, second = trace["layers"][0], trace["layers"][1]
    assert "norm" not in second
    norm = first["norm"]
    assert norm["kind"] == "batch"
    weights = run.get_weights()[0]["norm"]
    pre = np.asarray(first["pre"])
    normalized = (pre - weights["running_mean"]) / np.sqrt(np.asarray(weights["running_var"]) + 1e-5)
    np.testing.assert_allclose(norm["normalized"], normalized, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(norm["out"], np.asarray(weights["gamma"]) * normalized + weights["beta"],
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(first["post"], np.tanh(norm["out"]), rtol=1e-6, atol=1e-7)
    # grad_pre is dL/d(product): through γ/√(r_σ² + ε) from dL/d(out)
    scale = np.asarray(weights["gamma"]) / np.sqrt(np.asarray(weights["running_var"]) + 1e-5)
    np.testing.assert_allclose(first["grad_pre"], np.asarray(norm["grad_out"]) * scale, rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(norm["grad_gamma"], np.asarray(norm["grad_out"]) * norm["normalized"],
                               rtol=1e-5, atol=1e-9)


def test_evaluation_mode_gradients_are_those_of_the_evaluation_loss():
    """The report's gradient norms backpropagate an evaluation-mode pass (batch norm folded into the weights):
    its gradient of every parameter, γ and β included, is the central difference of that pass's loss."""
    run = Trainer({**BASE, "normalization": ["batch", "layer"], "seed": 4})
    run.train(3)
    net = run.network.copy(np.float64)
    x, y = run.x_train.astype(np.float64), run.y_train.astype(np.float64)
    ws = net.workspace(x.shape[1])

    def loss() -> float:
        return float(run.head.value(np, ws.z[-1], net.forward(x, ws), y).mean())

    loss()
    analytic = net.backward(x, y, ws).copy()
    numeric = np.empty_like(analytic)
    for i in range(net.params.size):
        keep = net.params[i]
        net.params[i] = keep + 1e-6
        plus = loss()
        net.params[i] = keep - 1e-6
        numeric[i] = (plus - loss()) / 2e-6
        net.params[i] = keep
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8)
    blocks = net.offsets[-1]
    assert np.abs(analytic[blocks:]).max() > 1e-3  # γ and β have gradients of their own

"""Lesson presets, side-by-side comparisons and the confusion matrix: each shows what it promises."""

from __future__ import annotations

import numpy as np
import pytest

from nnplay.engine import Trainer
from nnplay.engine.compare import Comparison
from nnplay.engine.presets import PRESETS, get_preset


def _train(name: str, epochs: int | None = None) -> Trainer:
    preset = PRESETS[name]
    trainer = Trainer(preset.config)
    trainer.train(epochs or preset.epochs)
    return trainer


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_builds_and_trains(name):
    preset = PRESETS[name]
    assert preset.title and len(preset.note) > 80
    if preset.variants:
        comparison = Comparison(preset.config, preset.variants, preset.labels)
        histories = comparison.train(5)
        assert len(histories) == len(preset.variants)
        assert all(h for h in histories)
    else:
        reports = Trainer(preset.config).train(5)
        assert reports, name


def test_unknown_preset_lists_the_names():
    with pytest.raises(ValueError, match="allowed: linear_gauss, xor_hidden"):
        get_preset("nope")


def test_overfitting_preset_overfits_and_each_fix_ends_with_a_lower_test_loss():
    overfit = _train("overfit")
    best = min(r.test_loss for r in overfit.history)
    final = overfit.history[-1].test_loss
    assert overfit.history[-1].train_loss < 0.01
    assert final > 2 * best  # the test loss climbs back up: over-fitting
    for fix in ("overfit_l2", "overfit_dropout"):
        assert _train(fix).history[-1].test_loss < 0.8 * final, fix
    stopped = _train("overfit_early_stopping")
    assert stopped.status == "early_stopped"
    assert stopped.report().test_loss == pytest.approx(best, rel=1e-5)  # the best weights are back


def test_too_high_learning_rate_diverges_visibly_and_a_lower_rate_recovers():
    """The note: the loss grows about sevenfold every epoch for some forty epochs, then overflows; at 0.1 the
    run carries on from the last good weights and the loss falls every epoch."""
    trainer = Trainer(PRESETS["lr_too_high"].config)
    reports = trainer.train(PRESETS["lr_too_high"].epochs)
    assert trainer.status == "diverged" and 30 <= len(reports) <= PRESETS["lr_too_high"].epochs
    growth = [b.train_loss / a.train_loss for a, b in zip(reports[:-2], reports[1:-1])]
    assert all(5 < g < 9 for g in growth[1:]), growth
    assert np.isfinite(trainer.network.params).all()
    stopped_at = trainer.epoch
    trainer.update(learning_rate=0.1)
    losses = [r.train_loss for r in trainer.train(20)]
    assert trainer.epoch == stopped_at + 20 and all(b < a for a, b in zip(losses, losses[1:]))


def test_xor_without_a_hidden_layer_stays_a_line():
    trainer = Trainer({**PRESETS["xor_hidden"].config, "hidden": []})
    trainer.train(PRESETS["xor_hidden"].epochs)
    report = trainer.report()
    assert report.test_loss > 0.5 and 0.55 < report.test_accuracy < 0.75
    assert _train("xor_hidden").report().test_loss < 0.1


def test_an_invented_feature_lets_one_neuron_solve_the_spiral():
    """The note: one neuron with the written feature passes 95% test accuracy within 100 epochs; with only x1
    and x2 the same neuron stays near 60%."""
    preset = PRESETS["spiral_invented"]
    assert preset.config["hidden"] == [] and preset.epochs == 100
    assert _train("spiral_invented").report().test_accuracy > 0.95
    plain = Trainer({**preset.config, "features": ["x1", "x2"]})
    plain.train(preset.epochs)
    assert 0.5 < plain.report().test_accuracy < 0.7


def test_zero_initialisation_keeps_hidden_neurons_identical():
    trainer = _train("zeros_symmetry")
    for layer in trainer.get_weights()[:-1]:
        rows = np.asarray(layer["W"])
        assert np.allclose(rows, rows[0])


def test_l1_preset_drives_unneeded_feature_weights_to_zero():
    trainer = _train("l1_sparsity")
    first = np.abs(np.asarray(trainer.get_weights()[0]["W"])).sum(axis=0)
    used = dict(zip(trainer.config.features, first))
    assert used["x1_sq"] > 0.05 and used["x2_sq"] > 0.05
    for name in ("x1", "x2", "x1_x2", "sin_x1", "sin_x2"):
        assert used[name] < 2e-3, name


def test_vanishing_gradient_preset_shows_shrinking_gradient_norms():
    trainer = _train("vanishing_sigmoid", epochs=20)
    norms = trainer.history[-1].grad_norms
    assert norms[0] < 1e-3 * norms[-1]


def test_batch_norm_preset_trains_where_the_plain_deep_sigmoid_net_stalls():
    """The note: without normalization the test loss stays at about 0.5, where it began; with batch norm it
    falls below 0.05 within 100 epochs and nearly every point is right. Both start from the same weights."""
    preset = PRESETS["batch_norm"]
    comparison = Comparison(preset.config, preset.variants, preset.labels)
    plain, normalized = comparison.trainers
    assert [t.config.normalization for t in comparison.trainers] == ["none", "batch"]
    np.testing.assert_array_equal(plain.network.params[:plain.network.offsets[-1]],
                                  normalized.network.params[:plain.network.offsets[-1]])
    start = plain.report().test_loss
    plain_history, normalized_history = comparison.train(preset.epochs)
    assert len(normalized_history) == preset.epochs
    assert abs(plain_history[-1].test_loss - 0.5) < 0.03 and abs(plain_history[-1].test_loss - start) < 0.03
    assert normalized_history[-1].test_loss < 0.05 and normalized_history[-1].test_accuracy > 0.97


def test_comparison_shares_data_and_initial_weights():
    comparison = Comparison({"dataset": "spiral", "hidden": [6], "seed": 11},
                            [{"optimizer": "sgd"}, {"optimizer": "adam"}, {"hidden": [3]}])
    first, second, third = comparison.trainers
    assert np.array_equal(first.network.params, second.network.params)
    assert np.array_equal(first.data.x_train, third.data.x_train)
    assert third.network.sizes != first.network.sizes
    comparison.train(3)
    assert not np.array_equal(first.network.params, second.network.params)
    seed = comparison.regenerate()
    assert all(t.data_seed == seed for t in comparison.trainers)
    assert np.array_equal(first.data.x_train, second.data.x_train)
    comparison.reset(5)
    assert np.array_equal(first.network.params, second.network.params) and first.epoch == 0


def test_comparison_rejects_a_wrong_number_of_variants():
    with pytest.raises(ValueError, match="2 to 4"):
        Comparison({"dataset": "xor"}, [{"optimizer": "adam"}])


def test_confusion_matrix_counts_every_point_once():
    trainer = Trainer({"dataset": "blobs", "n_classes": 4, "hidden": [6], "loss": "cross_entropy", "seed": 1})
    trainer.train(30)
    result = trainer.confusion("test")
    matrix = np.asarray(result["matrix"])
    assert matrix.shape == (4, 4) and matrix.sum() == trainer.data.n_test
    assert np.trace(matrix) / matrix.sum() == pytest.approx(trainer.report().test_accuracy)
    binary = Trainer({"dataset": "circle", "seed": 2})
    binary.train(10)
    counts = np.asarray(binary.confusion("train")["matrix"])
    assert binary.confusion("train")["classes"] == [-1.0, 1.0]
    assert counts.sum(axis=1).tolist() == [int((binary.data.y_train < 0).sum()), int((binary.data.y_train > 0).sum())]
    with pytest.raises(ValueError, match="classification"):
        Trainer({"problem": "regression", "dataset": "plane"}).confusion()


def test_comparison_variants_may_not_change_the_data():
    from nnplay.engine.compare import DATA_FIELDS

    for field in DATA_FIELDS:
        with pytest.raises(ValueError, match=rf"^{field}: variants share the data"):
            Comparison({"dataset": "xor"}, [{}, {field: None}])

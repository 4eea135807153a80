"""TrainerGroup: K runs as one stacked computation end exactly where K lone Trainers end.

Every registry entry (activation, loss per task, regulariser, optimiser, schedule), dropout, shuffling and
early stopping is trained both ways for 100 epochs; members differ in seed, data, learning rate, regulariser
and its rate, and the group's weights and reported losses must match the lone runs' within float32 rounding.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from nnplay.engine import ACTIVATIONS, OPTIMIZERS, REGULARIZERS, SCHEDULES, Trainer, TrainerGroup, group_configs, signature
from nnplay.engine.losses import LOSSES
from engine_helpers import TASK_DATA, flat

SMALL = {"hidden": [4, 3], "n_samples": 60, "batch_size": 8, "learning_rate": 0.05}
EPOCHS = 100
RTOL, ATOL = 1e-5, 1e-6


def members(base: dict, variations: list[dict]) -> list[dict]:
    """One config per variation, each with its own seed (so its own data and initial weights)."""
    return [{**SMALL, **base, "seed": 11 + i, **v} for i, v in enumerate(variations)]


def assert_same_runs(configs: list[dict], epochs: int = EPOCHS) -> tuple[TrainerGroup, list[Trainer]]:
    """Train ``configs`` as a group and as lone Trainers; weights and every report must agree."""
    group = TrainerGroup(configs)
    lone = [Trainer(c) for c in configs]
    grouped_reports = group.train(epochs)
    lone_reports = [t.train(epochs) for t in lone]
    for index, (member, twin) in enumerate(zip(group.members, lone)):
        assert member.epoch == twin.epoch and member.status == twin.status, index
        np.testing.assert_allclose(flat(member.get_weights()), flat(twin.get_weights()), rtol=RTOL, atol=ATOL)
        ours, theirs = grouped_reports[index], lone_reports[index]
        assert len(ours) == len(theirs), index
        for a, b in zip(ours, theirs):
            for name in ("train_loss", "test_loss", "total_loss", "train_accuracy", "test_r2", "learning_rate"):
                x, y = getattr(a, name), getattr(b, name)
                assert (x is None) == (y is None), (index, name)
                if x is not None:
                    assert x == pytest.approx(y, rel=RTOL, abs=ATOL), (index, a.epoch, name)
            np.testing.assert_allclose(a.grad_norms, b.grad_norms, rtol=1e-4, atol=ATOL)
            assert a.status == b.status and a.message == b.message
    return group, lone


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_every_activation_matches_lone_runs(activation):
    assert_same_runs(members({"activation": activation, "dataset": "xor"},
                             [{}, {"learning_rate": 0.02}, {"learning_rate": 0.08}]), epochs=60)


@pytest.mark.parametrize("task,loss", [(task, loss) for loss, heads in LOSSES.items() for task in heads])
def test_every_loss_matches_lone_runs(task, loss):
    assert_same_runs(members({**TASK_DATA[task], "loss": loss}, [{}, {"learning_rate": 0.01}, {"noise": 20}]),
                     epochs=60)


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_every_optimizer_matches_lone_runs_with_different_hyper_parameters(optimizer):
    rate = 0.01 if optimizer in ("adam", "adamw", "rmsprop", "adagrad") else 0.05
    assert_same_runs(members({"dataset": "spiral", "optimizer": optimizer, "learning_rate": rate}, [
        {}, {"momentum": 0.5, "beta1": 0.8, "beta2": 0.99, "alpha": 0.9, "eps": 1e-6},
        {"weight_decay": 0.01, "learning_rate": rate / 2}]))


def test_every_regularizer_and_schedule_mixed_in_one_group():
    """Members may differ in regulariser, rate, l1 ratio and schedule: one stack applies each its own."""
    regularizers, schedules = sorted(REGULARIZERS), sorted(SCHEDULES)
    variations = [{"regularization": regularizers[i % len(regularizers)], "reg_rate": 0.003 * (i + 1),
                   "l1_ratio": 0.3, "lr_schedule": schedules[i % len(schedules)], "lr_step_size": 20,
                   "lr_gamma": 0.9, "lr_t_max": 50} for i in range(max(len(regularizers), len(schedules)) + 1)]
    group, _ = assert_same_runs(members({"dataset": "circle"}, variations))
    assert len({m.config.regularization for m in group.members}) == len(regularizers)


def test_dropout_and_shuffle_draw_each_members_own_stream():
    group, lone = assert_same_runs(members({"dataset": "spiral", "hidden": [6, 6]}, [
        {"dropout": 0.3, "shuffle": True}, {"dropout": 0.0, "shuffle": True}, {"dropout": 0.5},
        {"shuffle": False}]))
    # the streams matter: the same member without dropout ends elsewhere
    plain = Trainer({**group.members[0].config.model_dump(), "dropout": 0.0})
    plain.train(EPOCHS)
    assert not np.allclose(flat(plain.get_weights()), flat(group.members[0].get_weights()))


def test_a_diverging_member_is_frozen_as_a_lone_run_while_the_others_go_on():
    configs = members({"problem": "regression", "dataset": "plane", "activation": "relu"},
                      [{}, {"learning_rate": 50.0}, {"learning_rate": 0.01}])
    group, lone = assert_same_runs(configs, epochs=30)
    assert [m.status for m in group.members] == ["ok", "diverged", "ok"]
    assert group.members[0].epoch == 30 and group.members[2].epoch == 30
    assert group.members[1].epoch == lone[1].epoch < 30
    assert np.isfinite(flat(group.members[1].get_weights())).all()


def test_early_stopping_restores_each_members_best_weights():
    group, _ = assert_same_runs(members({"dataset": "xor", "noise": 50, "hidden": [8, 8], "n_samples": 40},
                                        [{"early_stopping": 3, "learning_rate": 0.3}, {"early_stopping": 5},
                                         {}]), epochs=150)
    assert group.members[0].status == "early_stopped"
    assert group.members[2].status == "ok" and group.members[2].epoch == 150


def test_members_with_explicit_data_and_weights():
    rng = np.random.default_rng(0)
    from nnplay.engine import DataSplit

    def split(shift):
        points = rng.uniform(-5, 5, (40, 2))
        labels = np.where(points[:, 0] + shift > 0, 1.0, -1.0)
        return DataSplit(points[:30], labels[:30], points[30:], labels[30:])

    configs = [{"hidden": [3], "seed": 1}, {"hidden": [3], "seed": 2, "learning_rate": 0.1}]
    data = [split(0.0), split(1.0)]
    weights = [None, [{"W": [[0.1, -0.2], [0.3, 0.1], [0.0, 0.5]], "b": [0, 0, 0]}, {"W": [[1, 1, -1]], "b": [0]}]]
    group = TrainerGroup(configs, data=data, weights=weights)
    lone = [Trainer(c, data=d, weights=w) for c, d, w in zip(configs, data, weights)]
    group.train(50)
    for member, twin in zip(group.members, lone):
        twin.train(50)
        np.testing.assert_allclose(flat(member.get_weights()), flat(twin.get_weights()), rtol=RTOL, atol=ATOL)


# ------------------------------------------------------------------------------------------- membership
BASE = {"dataset": "spiral", "hidden": [5, 4], "n_samples": 80, "batch_size": 10, "optimizer": "adam",
        "learning_rate": 0.01}


def test_stepping_some_members_leaves_the_others_untouched():
    group = TrainerGroup([{**BASE, "seed": s} for s in range(4)])
    group.step_epoch()
    before = [flat(m.get_weights()) for m in group.members]
    steps = [m.optimizer.t for m in group.members]
    chosen = [group.members[2], group.members[0]]
    reports = group.step_epoch(chosen)
    assert [r.epoch for r in reports] == [2, 2]
    assert [m.epoch for m in group.members] == [2, 1, 2, 1]
    np.testing.assert_array_equal(flat(group.members[1].get_weights()), before[1])
    np.testing.assert_array_equal(flat(group.members[3].get_weights()), before[3])
    assert group.members[1].optimizer.t == steps[1]
    # and the stepped ones moved exactly as lone runs
    lone = Trainer({**BASE, "seed": 2})
    lone.train(2)
    np.testing.assert_allclose(flat(group.members[2].get_weights()), flat(lone.get_weights()), rtol=RTOL, atol=ATOL)


def test_subsets_of_every_size_train_as_lone_runs_in_the_groups_own_buffers():
    """Sessions out of phase are stepped in subsets of any size, in any order. Each member still ends where
    its lone run ends, and the subsets use the whole group's buffers: memory does not grow with the number
    of subset sizes seen (buffers per subset size would cost a worker ~10 MB over the 30-minute soak)."""
    configs = [{**BASE, "n_samples": 400, "seed": s} for s in range(8)]
    group = TrainerGroup(configs)
    group.step_epoch(gradients=True, confusion=True)
    group.step_epoch(group.members[:1], gradients=True, confusion=True)  # every code path once
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for size in (5, 2, 7, 3, 6, 4):
            group.step_epoch(group.members[8 - size:], gradients=True, confusion=True)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # one member's buffers for 200 rows are ~40 KB; the 27 members stepped above would have kept ~1.6 MB
    assert grown < 200_000, grown
    for member, config in zip(group.members, configs):
        lone = Trainer(config)
        lone.train(member.epoch)
        np.testing.assert_allclose(flat(member.get_weights()), flat(lone.get_weights()), rtol=RTOL, atol=ATOL)


def test_joining_and_leaving_keep_a_runs_whole_state():
    """A student joins a class after 20 lone epochs, trains 20 in it, leaves and trains 20 more alone:
    the run ends where 60 lone epochs end (weights, Adam's moments and step count carried along)."""
    reference = Trainer({**BASE, "seed": 9})
    reference.train(60)
    group = TrainerGroup([{**BASE, "seed": s} for s in range(3)])
    student = Trainer({**BASE, "seed": 9})
    student.train(20)
    group.add(student)
    assert student.group is group and len(group) == 4
    group.train(20)
    group.remove(student)
    assert student.group is None and len(group) == 3
    student.train(20)
    assert student.epoch == 60 and student.optimizer.t == reference.optimizer.t
    np.testing.assert_allclose(flat(student.get_weights()), flat(reference.get_weights()), rtol=RTOL, atol=ATOL)
    # the others were not disturbed: they still match their own lone runs
    for member in group.members:
        twin = Trainer(member.config)
        twin.train(20)
        np.testing.assert_allclose(flat(member.get_weights()), flat(twin.get_weights()), rtol=RTOL, atol=ATOL)


def test_member_methods_act_on_the_group_state():
    group = TrainerGroup([{**BASE, "seed": s} for s in range(2)])
    member = group.members[1]
    member.set_weight(0, 0, 1, 0.75)
    assert member.get_weights()[0]["W"][0][1] == 0.75
    group.step_epoch()
    lone = Trainer({**BASE, "seed": 1})
    lone.set_weight(0, 0, 1, 0.75)
    lone.step_epoch()
    np.testing.assert_allclose(flat(member.get_weights()), flat(lone.get_weights()), rtol=RTOL, atol=ATOL)
    assert member.report().train_loss == pytest.approx(lone.report().train_loss, rel=RTOL)


def test_live_updates_reset_and_regenerate_inside_a_group():
    group = TrainerGroup([{**BASE, "seed": s} for s in range(3)])
    lone = [Trainer({**BASE, "seed": s}) for s in range(3)]
    for runs in (group.members, lone):
        runs[0].update(learning_rate=0.003, beta1=0.8)
        runs[1].reset(seed=77)
        runs[2].regenerate(seed=5)
    group.train(15)
    for member, twin in zip(group.members, lone):
        twin.train(15)
        assert member.group is group
        np.testing.assert_allclose(flat(member.get_weights()), flat(twin.get_weights()), rtol=RTOL, atol=ATOL)


def test_a_member_whose_update_changes_its_signature_leaves_the_group():
    group = TrainerGroup([{**BASE, "seed": s} for s in range(3)])
    group.train(5)
    leaver = group.members[1]
    leaver.update(optimizer="sgd")
    assert leaver.group is None and len(group) == 2 and leaver not in group.members
    weights = flat(leaver.get_weights())
    group.train(5)  # the group no longer moves it
    np.testing.assert_array_equal(flat(leaver.get_weights()), weights)
    assert leaver.step_epoch().status == "ok" and leaver.epoch == 6


# ------------------------------------------------------------------------------------- the member protocol
def test_a_member_trains_in_views_of_the_stacks_and_leaves_with_copies():
    run = Trainer({**BASE, "seed": 3, "normalization": "batch"})
    run.train(2)
    before = {name: array.copy() for name, array in run.arrays().items()}
    # Adam's two moment buffers; batch norm's running estimates and their copy from the epoch's start
    assert set(before) == {"params", "snapshot", "m", "v", "stats", "stats_snapshot"}
    group = TrainerGroup.of([run])
    stacks = {"params": group.params, "snapshot": group.snapshot, **group.state, "stats": group.stats,
              "stats_snapshot": group.stats_snapshot}
    for name, array in run.arrays().items():
        assert np.shares_memory(array, stacks[name]), name
        np.testing.assert_array_equal(array, before[name])
    group.params[0, 0] = 0.5  # the group's stack is the member's parameters
    assert run.get_weights()[0]["W"][0][0] == 0.5
    group.remove(run)
    for name, array in run.arrays().items():
        assert not np.shares_memory(array, stacks[name]), name
        np.testing.assert_array_equal(array, stacks[name][0])
    group.params[0, 0] = -0.5  # no longer
    assert run.get_weights()[0]["W"][0][0] == 0.5


def test_draw_epoch_is_the_lone_epochs_draw():
    config = {**BASE, "hidden": [6, 4], "n_samples": 400, "shuffle": True, "dropout": 0.25, "seed": 1}
    drawn, trained = Trainer(config), Trainer(config)
    order, masks = drawn.draw_epoch()
    np.testing.assert_array_equal(np.sort(order), np.arange(200))
    assert [m.shape for m in masks] == [(6, 200), (4, 200)]
    for mask in masks:  # inverted dropout: kept with probability 0.75, scaled by 1/0.75
        assert set(np.unique(mask)) == {0.0, np.float32(1 / np.float32(0.75))}
        assert (mask > 0).mean() == pytest.approx(0.75, abs=0.06)
    trained.step_epoch()  # a lone epoch draws exactly this much from the same stream
    (order_2, masks_2), (trained_order, trained_masks) = drawn.draw_epoch(), trained.draw_epoch()
    np.testing.assert_array_equal(order_2, trained_order)
    for ours, theirs in zip(masks_2, trained_masks):
        np.testing.assert_array_equal(ours, theirs)
    assert Trainer({**BASE, "seed": 1}).draw_epoch() == (None, None)  # no shuffling, no dropout: no draws


def test_an_epoch_counted_and_settled_from_outside_diverges_like_a_lone_one():
    """What a group does for a member whose epoch blows up: the epoch started, its parameters snapshot,
    non-finite parameters, the epoch counted with its steps, then settled: the starting weights come back."""
    run = Trainer({**BASE, "seed": 3})
    run.train(2)
    start, steps = run.get_weights(), run.optimizer.t
    run.start_epoch()
    arrays = run.arrays()
    arrays["snapshot"][...] = arrays["params"]
    arrays["params"][...] = np.inf
    run.count_epoch(8)
    assert run.epoch == 3 and run.optimizer.t == steps + 8
    report = run.settle(run.report(), finite=False)
    assert report.status == run.status == "diverged" and report.epoch == 3
    assert run.message.startswith("training diverged at epoch 3") and "restored to epoch 2" in run.message
    assert run.epoch == 2 and len(run.history) == 2 and run.get_weights() == start
    assert run.optimizer.t == 0  # Adam starts afresh from the restored weights
    run.start_epoch()  # the next epoch goes on from there
    assert run.status == "ok" and run.message == ""
    run.count_epoch(8)
    ok = run.settle(run.report())  # finite parameters: kept in the history
    assert ok.status == "ok" and run.history[-1] is ok and ok.epoch == 3


# ------------------------------------------------------------------------------------------- signatures
def test_signature_groups_what_can_share_a_stack():
    configs = [{**BASE, "seed": 1}, {**BASE, "seed": 2, "learning_rate": 0.5, "reg_rate": 0.1, "dropout": 0.2},
               {**BASE, "hidden": [5, 5]}, {**BASE, "optimizer": "sgd"}, {**BASE, "batch_size": 20},
               {**BASE, "noise": 30, "regularization": "l1"}, {**BASE, "n_samples": 100}]
    assert group_configs(configs) == [[0, 1, 5], [2], [3], [4], [6]]
    # a batch larger than the training set is a full batch either way
    assert signature({**BASE, "batch_size": 500}) == signature({**BASE, "batch_size": 5000})


def test_runs_that_cannot_share_a_stack_are_refused_with_the_fields_named():
    with pytest.raises(ValueError, match="hidden, optimizer differ"):
        TrainerGroup([BASE, {**BASE, "hidden": [5, 6], "optimizer": "sgd"}])
    group = TrainerGroup([BASE])
    with pytest.raises(ValueError, match="batch differ"):
        group.add(Trainer({**BASE, "batch_size": 3}))
    with pytest.raises(ValueError, match="not a member"):
        group.step_epoch([Trainer(BASE)])


# ------------------------------------------------------------------------------------------- evaluation
@pytest.mark.parametrize("task", sorted(TASK_DATA))
def test_grids_of_the_whole_group_equal_each_members_own_grid(task):
    group = TrainerGroup([{**TASK_DATA[task], **SMALL, "seed": s} for s in range(3)])
    group.train(5)
    for member, grid in zip(group.members, group.grids(density=24, thumb=6)):
        own = member.grid(density=24, thumb=6)
        np.testing.assert_allclose(grid.values, own.values, rtol=1e-5, atol=1e-6)
        for ours, theirs in zip(grid.neurons, own.neurons):
            np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
        if task == "multiclass":
            np.testing.assert_array_equal(grid.classes, own.classes)


def test_grids_of_one_dimensional_data_and_a_subset():
    configs = [{"problem": "regression", "dataset": "poly_demo", "features": ["x1", "x1_sq", "x1_pow3"],
                "hidden": [], "seed": s} for s in range(3)]
    group = TrainerGroup(configs)
    group.train(3)
    subset = [group.members[2]]
    (grid,) = group.grids(subset, density=30, thumb=5)
    own = subset[0].grid(density=30, thumb=5)
    np.testing.assert_allclose(grid.values, own.values, rtol=1e-5, atol=1e-6)
    assert grid.meta["axis_units"] == own.meta["axis_units"]


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_confusion_comes_with_the_report_and_equals_the_separate_count(task):
    group = TrainerGroup([{**TASK_DATA[task], **SMALL, "seed": s, "noise": 30} for s in range(2)])
    reports = group.step_epoch(confusion=True)
    for member, report in zip(group.members, reports):
        for split in ("train", "test"):
            expected = member.confusion(split)
            assert report.confusion[split] == expected["matrix"]
            assert report.confusion["classes"] == expected["classes"]
        assert "confusion" not in report.model_dump()
    lone_report = group.members[0].report(confusion=True)
    assert lone_report.confusion == reports[0].confusion


def test_regression_reports_carry_no_confusion():
    (report,) = TrainerGroup([{**TASK_DATA["regression"], **SMALL}]).step_epoch(confusion=True)
    assert report.confusion is None and report.train_r2 is not None


def test_a_comparison_steps_the_variants_that_share_a_signature_as_one_group():
    from nnplay.engine import Comparison

    comparison = Comparison({**BASE, "seed": 4, "optimizer": "sgd", "learning_rate": 0.1},
                            [{}, {"learning_rate": 0.01}, {"reg_rate": 0.01, "regularization": "l2"},
                             {"optimizer": "adam"}])
    start = [t.get_weights() for t in comparison.trainers]
    reports = comparison.train(20)
    sgd, slow, l2, adam = comparison.trainers
    assert sgd.group is slow.group is l2.group and len(sgd.group) == 3 and adam.group is None
    for trainer, weights, history in zip(comparison.trainers, start, reports):
        lone = Trainer(trainer.config, data=sgd.data, weights=weights)
        assert [r.train_loss for r in lone.train(20)] == pytest.approx([r.train_loss for r in history], rel=RTOL)
    slow.update(optimizer="momentum")  # a live change that leaves the group: the comparison regroups
    comparison.step_epoch()
    assert slow.group is None and len(sgd.group) == 2 and slow.epoch == 21


@pytest.mark.gpu
def test_a_group_on_the_gpu_matches_the_cpu_group():
    from nnplay.engine import gpu_available

    if not gpu_available():
        pytest.skip("needs CuPy and a CUDA device")
    configs = members({"dataset": "spiral", "optimizer": "adam", "learning_rate": 0.01},
                      [{"dropout": 0.2, "shuffle": True}, {"regularization": "l2", "reg_rate": 0.01}, {}])
    cpu = TrainerGroup([{**c, "device": "cpu"} for c in configs])
    gpu = TrainerGroup([{**c, "device": "gpu"} for c in configs])
    assert gpu.xp is not np
    cpu_reports, gpu_reports = cpu.train(20), gpu.train(20)
    for ours, theirs in zip(gpu_reports, cpu_reports):
        assert [r.train_loss for r in ours] == pytest.approx([r.train_loss for r in theirs], rel=1e-4, abs=1e-6)
    for g, c in zip(gpu.members, cpu.members):
        np.testing.assert_allclose(flat(g.get_weights()), flat(c.get_weights()), rtol=0, atol=1e-4)
    for g, c in zip(gpu.grids(density=20), cpu.grids(density=20)):
        assert isinstance(g.values, np.ndarray)
        np.testing.assert_allclose(g.values, c.values, atol=1e-4)

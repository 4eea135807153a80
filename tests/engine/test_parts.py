"""Long engine work as resumable parts (what a live worker slices between rounds): an epoch in parts and a
gradient check in parts give exactly what the whole ones give, however often they are paused."""

import numpy as np
import pytest

from nnplay.engine import Trainer
from nnplay.engine.probes import finish, gradient_check_parts

PLAYGROUND_7 = ["x1", "x2", "x1_sq", "x2_sq", "x1_x2", "sin_x1", "sin_x2"]
# Every random draw and optional step of an epoch: shuffled order, dropout masks, a penalty, Adam's buffers,
# and a last partial batch (75 training points in batches of 7).
BUSY = {"dataset": "spiral", "features": PLAYGROUND_7, "hidden": [8, 6], "n_samples": 150, "batch_size": 7,
        "shuffle": True, "dropout": 0.2, "regularization": "l2", "reg_rate": 0.01, "optimizer": "adam",
        "learning_rate": 0.01, "seed": 3}


def always() -> bool:
    return True


def test_an_epoch_in_parts_yields_between_mini_batches_and_ends_where_a_whole_epoch_does():
    whole, parted = Trainer(BUSY), Trainer(BUSY)
    for epoch in range(3):
        whole.step_epoch()
        parted.start_epoch()
        pauses = sum(1 for _ in parted.epoch_parts(always))
        assert pauses == -(-parted.n_train // BUSY["batch_size"]) - 1  # after every mini-batch but the last
        assert parted.epoch == epoch + 1
        parted.settle(parted.report())
        assert np.array_equal(parted.network.params, whole.network.params)  # bit for bit
        assert np.array_equal(parted.optimizer.m, whole.optimizer.m) and parted.optimizer.t == whole.optimizer.t
    assert parted.history[-1] == whole.history[-1]


def test_an_epoch_that_is_never_paused_is_one_part():
    trainer = Trainer(BUSY)
    assert list(trainer.epoch_parts()) == [] and trainer.epoch == 1


@pytest.mark.parametrize("max_params", [40, 1000])  # a sample of the parameters, and all of them
def test_a_gradient_check_in_parts_returns_exactly_the_whole_checks_result(max_params):
    trainer = Trainer(BUSY)
    whole = trainer.gradient_check(max_params=max_params)
    parts = gradient_check_parts(trainer, max_params=max_params, pause=always)
    pauses = 0
    while True:
        try:
            next(parts)
        except StopIteration as done:
            result = done.value
            break
        pauses += 1
        trainer.step_epoch()  # the run may train meanwhile: the check is of the weights it started with
    assert result == whole
    assert pauses == result["checked"] - 1  # after every parameter but the last
    assert finish(gradient_check_parts(Trainer(BUSY), max_params=max_params)) == whole

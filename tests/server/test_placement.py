"""The placement estimate (server/live/placement.py): what a lesson costs a worker, given who else trains there."""

from nnplay.engine.presets import PRESETS
from nnplay.server.live.placement import least_loaded, lesson_cost, worker_load

C2 = {"dataset": "spiral", "features": ["x1", "x2", "x1_sq", "x2_sq", "x1_x2", "sin_x1", "sin_x2"],
      "hidden": [8] * 6, "seed": 1}


def lesson(name):
    preset = PRESETS[name]
    return lesson_cost(preset.config, preset.variants)


def test_students_on_one_lesson_cost_a_worker_a_third_of_one_alone_each():
    """C2 students in a worker train as one stacked group. Measured in a worker's live clock (frames
    included) on this machine: one alone 1.75 ms an epoch, two about twice that, each after the second
    0.63 ms. Their seeds differ, which does not matter to the stack."""
    def students(count):
        return worker_load([network for seed in range(count) for network in lesson_cost({**C2, "seed": seed})])
    one, two = students(1), students(2)
    assert two == 2 * one
    for count in (3, 8, 16):
        assert 0 < students(count) - students(count - 1) < one / 2
    # a lesson of another shape does not stack with them: it costs what it costs alone
    spiral_depth = lesson("spiral_depth")
    assert worker_load([*lesson_cost(C2) * 8, *spiral_depth]) == students(8) + worker_load(spiral_depth)


def test_a_comparison_counts_every_variant_and_the_batch_of_one_is_the_dearest():
    """``batch_size`` steps a network in batches of one (250 optimiser steps an epoch) beside two others:
    the most expensive lesson, as measured in a live clock (6.9 ms an epoch against 4.4 for
    ``optimizer_race``'s four networks, 1.75 for C2 and 0.37 for ``linear_gauss``)."""
    batch_size, race, linear = lesson("batch_size"), lesson("optimizer_race"), lesson("linear_gauss")
    assert len(batch_size) == 3 and len(race) == 4
    assert worker_load(batch_size) > worker_load(race) > worker_load(lesson_cost(C2)) > worker_load(linear)


def test_a_student_joins_the_worker_where_their_lesson_already_trains():
    """A worker with four C2 students and one with lighter lessons: a fifth C2 student costs the first only a
    member of its group, so it goes there although that worker is the busier one."""
    c2_worker = [network for seed in range(4) for network in lesson_cost({**C2, "seed": seed})]
    other = [*lesson("spiral_depth"), *lesson("spiral_sin"), *lesson("xor_hidden"), *lesson("zeros_symmetry")]
    assert worker_load(other) < worker_load(c2_worker)
    placed = {"a": c2_worker, "b": other}
    assert least_loaded("b", placed, lesson_cost(C2)) == "a"
    # an expensive lesson of its own goes to the less loaded worker, and stays put where it is the less loaded
    assert least_loaded("a", placed, lesson("optimizer_race")) == "b"
    assert least_loaded("b", placed, lesson("optimizer_race")) == "b"


def test_an_invalid_config_has_no_estimate():
    assert lesson_cost({**C2, "hidden": [0]}) is None
    assert lesson_cost(C2, [{"optimizer": "nope"}]) is None


def test_normalized_layers_cost_more():
    """Batch norm adds ~18 µs a layer to each step (C2's six layers: a step of ~24 µs becomes ~130 µs)."""
    plain, normalized = lesson_cost(C2), lesson_cost({**C2, "normalization": "batch"})
    assert worker_load(normalized) > 2 * worker_load(plain)
    assert worker_load(lesson("batch_norm")) > worker_load(lesson_cost(PRESETS["batch_norm"].config))

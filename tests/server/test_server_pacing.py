"""The session's clocks: epoch pacing, the frame token bucket, the measured rate, and the one-slot mailbox."""

from __future__ import annotations

import numpy as np
import pytest

from nnplay.server.live.pacing import CATCH_UP, HISTORY_ROWS, Mailbox, Pace, finite


def test_epochs_are_due_at_the_speed_and_catch_up_at_most_a_quarter_second():
    pace = Pace()
    pace.start(10.0)
    assert pace.epoch_due(10.0)
    pace.epoch_done(10.0, speed=20)
    assert not pace.epoch_due(10.04) and pace.epoch_due(10.05)
    pace.epoch_done(13.0, speed=20)  # three seconds late: only CATCH_UP of them is made up
    assert pace.next_epoch_at == pytest.approx(13.0 - CATCH_UP)


def test_sessions_at_one_speed_fall_onto_a_common_clock_whenever_they_started():
    early, late = Pace(), Pace()
    early.start(100.0)
    late.start(100.0073)  # started 7.3 ms later, out of phase at 60 epochs/s
    early.epoch_done(100.0, speed=60)
    late.epoch_done(100.0073, speed=60)
    assert early.next_epoch_at == late.next_epoch_at  # due at the same instant: one stacked step for both
    assert abs(late.next_epoch_at - (100.0073 + 1 / 60)) <= 0.5 / 60  # moved by at most half a period
    for _ in range(600):  # ten seconds: still 60 epochs/s, still in step
        now = early.next_epoch_at
        early.epoch_done(now, speed=60)
        late.epoch_done(now, speed=60)
    assert early.next_epoch_at == late.next_epoch_at
    assert early.next_epoch_at - 100.0 == pytest.approx(601 / 60, abs=0.5 / 60)


def test_frames_follow_every_epoch_up_to_fps_and_never_exceed_it():
    pace = Pace()
    pace.start(0.0)
    slow = [pace.frame_due(t, fps=30) for t in np.arange(1, 31) * 0.05]  # 20 epochs/s: a frame each
    assert all(slow)
    pace.start(0.0)
    fast = sum(pace.frame_due(t, fps=30) for t in np.arange(1, 1001) * 0.001)  # 1000 epochs/s for 1 s
    assert 29 <= fast <= 32
    pace.start(0.0)
    jittery = [pace.frame_due(t, fps=30) for t in np.cumsum(np.tile([0.030, 0.036], 15))]  # speed = fps ± 10%
    assert all(jittery)


def test_the_rate_is_measured_over_the_last_second():
    pace = Pace()
    for i in range(3000):
        pace.sample(i * 0.001, i)  # 1000 epochs/s
    assert pace.epochs_per_second() == pytest.approx(1000, rel=0.01)
    for i in range(1, 41):
        pace.sample(3.0 + i * 0.05, 3000 + i)  # then 20 epochs/s for two seconds
    assert pace.epochs_per_second() == pytest.approx(20, rel=0.1)


def test_the_mailbox_keeps_the_newest_frame_and_carries_history_over():
    box = Mailbox()
    for epoch in (1, 2, 3):
        box.add_row(epoch, 0.5, None)
    box.put(lambda rows: rows.tobytes(), 3)
    box.add_row(4, 0.4, 0.3)
    box.put(lambda rows: rows.tobytes(), 4)  # replaces the unsent frame: rows 1-4
    rows = np.frombuffer(box.take(), dtype=np.float32).reshape(-1, 3)
    assert rows[:, 0].tolist() == [1, 2, 3, 4] and np.isnan(rows[0, 2]) and box.replaced == 1
    assert box.take() is None
    box.add_row(5, 0.3, 0.2)
    box.put(lambda rows: rows.tobytes(), 5)  # only what the client has not received
    assert np.frombuffer(box.take(), dtype=np.float32).reshape(-1, 3)[:, 0].tolist() == [5]
    box.restart()
    box.put(lambda rows: rows.tobytes(), 0)
    assert box.take() == b""


def test_history_is_bounded():
    box = Mailbox()
    for epoch in range(HISTORY_ROWS + 10):
        box.add_row(epoch + 1, 0.1, 0.1)
    box.put(lambda rows: rows.tobytes(), HISTORY_ROWS + 10)
    assert len(box.take()) == HISTORY_ROWS * 12


def test_finite_makes_nested_values_strict_json():
    assert finite({"a": [1.0, float("nan"), {"b": float("inf")}], "c": "x"}) == {"a": [1.0, None, {"b": None}],
                                                                                 "c": "x"}

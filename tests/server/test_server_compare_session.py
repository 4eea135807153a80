"""Compare mode of a live session: 2–4 variants trained in one session, a frame per variant."""

from __future__ import annotations

import numpy as np
from server_helpers import SMALL, live, send, wait_for

from nnplay.engine.compare import Comparison

VARIANTS = [{"optimizer": "sgd"}, {"optimizer": "adam", "learning_rate": 0.01}]


def _frames_by_variant(ws, count: int, epoch_at_least: int, seen: list = ()) -> dict[int, tuple]:
    """The newest frame of each variant, once every variant has one of ``epoch_at_least`` or later
    (``seen``: messages already read, e.g. while waiting for a state)."""
    latest: dict[int, tuple] = {}
    for kind, payload in seen:
        if kind == "frame":
            latest[payload[0]["variant"]] = payload
    while len(latest) < count or min(f[0]["epoch"] for f in latest.values()) < epoch_at_least:
        header, arrays = wait_for(ws, "frame")
        latest[header["variant"]] = (header, arrays)
    return latest


def test_compare_session_sends_a_frame_per_variant_and_steps_them_together(client):
    with live(client) as (ws, _):
        send(ws, type="configure", id="c", config=SMALL, variants=VARIANTS, labels=["SGD", "Adam"])
        state = wait_for(ws, "state", lambda s: s["id"] == "c")
        assert [v["label"] for v in state["variants"]] == ["SGD", "Adam"]
        assert [v["overrides"] for v in state["variants"]] == VARIANTS
        first = _frames_by_variant(ws, 2, 0)
        assert {h["label"] for h, _ in first.values()} == {"SGD", "Adam"} and first[0][0]["variants"] == 2
        send(ws, type="step", id="s", n=5)
        seen: list = []
        wait_for(ws, "state", lambda s: s["id"] == "s", seen=seen)
        frames = _frames_by_variant(ws, 2, 5, seen)
        engine = Comparison(SMALL, VARIANTS)
        histories = engine.train(5)
        for index in (0, 1):
            header, arrays = frames[index]
            assert header["epoch"] == 5
            assert header["train_loss"] == histories[index][-1].train_loss  # same data, same weights, same run
        assert not np.array_equal(frames[0][1]["weights"], frames[1][1]["weights"])


def test_compare_commands_take_a_variant_and_errors_leave_the_session_going(client):
    with live(client) as (ws, _):
        send(ws, type="configure", id="c", config=SMALL, variants=VARIANTS)
        wait_for(ws, "state", lambda s: s["id"] == "c")
        send(ws, type="set_weight", id="w", layer=0, to=0, bias=True, value=2.5, variant=1)
        seen: list = []
        wait_for(ws, "state", lambda s: s["id"] == "w", seen=seen)
        frames = _frames_by_variant(ws, 2, 0, seen)
        while frames[1][1]["weights"][6] != np.float32(2.5):  # layer 0 of SMALL: W (3×2) then b (3)
            frames = _frames_by_variant(ws, 2, 0)
        assert frames[0][1]["weights"][6] != np.float32(2.5)
        send(ws, type="inspect", id="t", point=[1.0, 1.0], variant=3)
        error = wait_for(ws, "error", lambda e: e["id"] == "t")
        assert error["field"] == "variant" and "0 to 1" in error["message"]
        send(ws, type="configure", id="d", config=SMALL, variants=[{"noise": 10}, {}])
        error = wait_for(ws, "error", lambda e: e["id"] == "d")
        assert error["field"] == "noise" and "share the data" in error["message"]
        send(ws, type="set", id="lr", values={"learning_rate": 0.1})
        state = wait_for(ws, "state", lambda s: s["id"] == "lr")
        assert state["variants"] is not None and len(state["variants"]) == 2  # still the comparison


def test_frames_carry_the_confusion_matrix(client):
    with live(client) as (ws, greeting):
        header, _ = greeting["frame"]
        confusion = header["confusion"]
        assert confusion["classes"] == [-1.0, 1.0]
        state = greeting["state"]
        assert np.asarray(confusion["train"]).sum() == state["n_train"]
        assert np.asarray(confusion["test"]).sum() == state["n_test"]
        send(ws, type="configure", id="r", config={"problem": "regression", "dataset": "plane", "seed": 1})
        header, _ = wait_for(ws, "frame")
        assert header["confusion"] is None

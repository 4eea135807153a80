"""The live session over TestClient: the greeting, every client message type, bad input and limits."""

from __future__ import annotations

import json
import time
from importlib.metadata import version

import numpy as np
import pytest
from server_helpers import C2, SMALL, drain_until_state, live, parse, receive, send, wait_for

from nnplay.engine import Trainer

DIVERGING = {"problem": "regression", "dataset": "plane", "hidden": [4], "learning_rate": 10, "seed": 1}


# ---- connecting ---------------------------------------------------------------------------------------------------
def test_connecting_sends_hello_data_state_and_a_frame(client):
    with live(client) as (ws, greeting):
        assert list(greeting) == ["hello", "data", "state", "frame"]
        hello, state = greeting["hello"], greeting["state"]
        assert hello["protocol"] == 1 and hello["version"] == version("nnplay") and hello["limits"]["max_neurons"] == 32
        assert state["playing"] is False and state["epoch"] == 0 and state["config"]["dataset"] == "circle"
        assert state["sizes"] == [2, 4, 2, 1]
        defaults = client.get("/api/options").json()["view"]
        assert state["speed"] == defaults["speed"] == 60  # TensorFlow Playground's pace: an epoch per animation frame
        view = {k: state["view"][k] for k in ("fps", "density", "thumb")}
        assert view == {k: defaults[k] for k in view}
        header, arrays = greeting["frame"]
        assert header["epoch"] == 0 and arrays["output"].shape == (100, 100)
        data_header, data = greeting["data"]
        assert data["train"].shape == (state["n_train"], 3) and data_header["task"] == "binary"
        assert client.get("/api/health").json()["sessions"] == 1
    time.sleep(0.05)
    assert client.get("/api/health").json()["sessions"] == 0


def test_configure_rebuilds_and_answers_data_state_frame(client):
    with live(client) as (ws, _):
        send(ws, type="configure", id=1, config=SMALL)
        seen = []
        state = wait_for(ws, "state", lambda s: s["id"] == 1, seen=seen)
        assert [kind for kind, _ in seen] == ["data"]
        assert state["seed"] == 7 and state["sizes"] == [2, 3, 1] and state["n_train"] == 50
        header, _ = wait_for(ws, "frame")
        assert header["epoch"] == 0
        np.testing.assert_allclose(seen[0][1][1]["train"], np.asarray(Trainer(SMALL).data.rows("train"), np.float32))


def test_configure_with_weights_and_play(client):
    weights = [{"W": [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]], "b": [0, 0, 0]}, {"W": [[1, 1, 1]], "b": [0.5]}]
    with live(client) as (ws, _):
        send(ws, type="configure", id="w", config=SMALL, weights=weights, play=True)
        state = wait_for(ws, "state", lambda s: s["id"] == "w")
        assert state["playing"] is True
        header, _ = wait_for(ws, "frame", lambda f: f[0]["epoch"] >= 1)
        assert header["playing"] is True


def test_configure_can_restore_weights_and_the_epoch_count(client):
    config = {**SMALL, "lr_schedule": "step", "lr_step_size": 10}
    engine = Trainer(config)
    engine.train(12)
    with live(client) as (ws, _):
        send(ws, type="configure", id="r", config=config, weights=engine.get_weights(), epoch=12)
        assert wait_for(ws, "state", lambda s: s["id"] == "r")["epoch"] == 12
        send(ws, type="step", id="s")
        seen = []
        state = wait_for(ws, "state", lambda s: s["id"] == "s", seen=seen)
        header = [p[0] for kind, p in seen if kind == "frame"][-1]
        assert state["epoch"] == 13 and header["learning_rate"] == engine.learning_rate(12)


def test_a_bad_configure_changes_nothing(client):
    with live(client) as (ws, greeting):
        send(ws, type="configure", id=2, config={"hidden": [4] * 20})
        error = wait_for(ws, "error")
        assert error["id"] == 2 and error["field"] == "hidden" and "hidden" in error["message"]
        send(ws, type="step", id=3)
        state = wait_for(ws, "state", lambda s: s["id"] == 3)
        assert state["config"] == greeting["state"]["config"] and state["epoch"] == 1


# ---- play, pause, step ---------------------------------------------------------------------------------------
def test_play_sends_frames_with_rising_epochs_and_pause_stops_them(client):
    with live(client) as (ws, _):
        send(ws, type="configure", config=SMALL)
        send(ws, type="view", speed="max", fps=60)
        send(ws, type="play", id="p")
        assert wait_for(ws, "state", lambda s: s["id"] == "p")["playing"] is True
        epochs = [wait_for(ws, "frame")[0]["epoch"] for _ in range(5)]
        assert epochs == sorted(epochs) and epochs[-1] > epochs[0]
        started = time.perf_counter()
        send(ws, type="pause", id="q")
        state, _ = drain_until_state(ws, "q")
        assert time.perf_counter() - started < 0.5  # the real-server test holds it to 100 ms
        assert state["playing"] is False
        send(ws, type="gradcheck", id="after")  # anything after the pause: no frame beyond the paused epoch
        seen = []
        wait_for(ws, "gradcheck", seen=seen)
        assert all(payload[0]["epoch"] <= state["epoch"] for kind, payload in seen if kind == "frame")


def test_pause_does_not_wait_for_a_long_epoch(client):
    huge = {"dataset": "spiral", "hidden": [32] * 10, "n_samples": 5000, "train_ratio": 0.9, "batch_size": 1,
            "seed": 1}  # the largest network in the smallest batches: an epoch takes about 0.3 s
    with live(client) as (ws, _):
        send(ws, type="configure", config=huge, play=True)
        wait_for(ws, "state", lambda s: s["playing"])
        time.sleep(0.1)  # inside the first epoch
        started = time.perf_counter()
        send(ws, type="pause", id="now")
        state = wait_for(ws, "state", lambda s: s["id"] == "now", timeout=20)
        assert time.perf_counter() - started < 0.25 and state["playing"] is False
        seen = []
        late = wait_for(ws, "state", lambda s: s["id"] is None, timeout=20, seen=seen)  # once that epoch is done
        assert late["epoch"] == state["epoch"] + 1 and late["playing"] is False
        last_frame = [p[0] for kind, p in seen if kind == "frame"][-1]
        assert last_frame["epoch"] == late["epoch"] and last_frame["playing"] is False


def test_speed_paces_the_epochs(client):
    with live(client) as (ws, _):
        send(ws, type="configure", config=SMALL)
        send(ws, type="set", values={"speed": 20})
        send(ws, type="play", id="p")
        wait_for(ws, "state", lambda s: s["id"] == "p")
        first = wait_for(ws, "frame")[0]
        started = time.perf_counter()
        time.sleep(0.5)
        send(ws, type="pause", id="q")
        state, _ = drain_until_state(ws, "q")
        rate = (state["epoch"] - first["epoch"]) / (time.perf_counter() - started)
        assert 10 <= rate <= 30


def test_step_trains_exactly_n_epochs_like_the_engine(client):
    with live(client) as (ws, _):
        send(ws, type="configure", config=SMALL)
        send(ws, type="step", n=25, id="s")
        seen = []
        state = wait_for(ws, "state", lambda s: s["id"] == "s", seen=seen)
        assert state["epoch"] == 25 and state["playing"] is False
        header, arrays = [p for kind, p in seen if kind == "frame"][-1]
        engine = Trainer(SMALL)
        reports = engine.train(25)
        assert header["epoch"] == 25 and header["train_loss"] == pytest.approx(reports[-1].train_loss, rel=1e-6)
        weights = np.concatenate([np.concatenate([np.ravel(w["W"]), w["b"]]) for w in engine.get_weights()])
        np.testing.assert_allclose(arrays["weights"], weights.astype(np.float32), rtol=1e-6)
        history = np.concatenate([p[1]["history"] for kind, p in seen if kind == "frame" and p[0]["epoch"] > 0])
        assert history[:, 0].tolist() == list(range(1, 26))  # every epoch once, none lost to replaced frames
        np.testing.assert_allclose(history[:, 1], [r.train_loss for r in reports], rtol=1e-6)


def test_divergence_stops_playing_with_a_message(client):
    with live(client) as (ws, _):
        send(ws, type="configure", config=DIVERGING)
        send(ws, type="view", speed="max")
        send(ws, type="play")
        state = wait_for(ws, "state", lambda s: s["status"] == "diverged", timeout=20)
        assert state["playing"] is False and "diverged" in state["message"]


# ---- reset, regenerate, set, set_weight -------------------------------------------------------------------------
def test_reset_gives_new_weights_from_the_seed_and_clears_the_epoch(client):
    with live(client) as (ws, _):
        send(ws, type="configure", config=SMALL)
        send(ws, type="step", n=5, id=1)
        wait_for(ws, "state", lambda s: s["id"] == 1)
        send(ws, type="reset", seed=11, id=2)
        state = wait_for(ws, "state", lambda s: s["id"] == 2)
        assert state["epoch"] == 0 and state["init_seed"] == 11 and state["data_seed"] == 7
        _, arrays = wait_for(ws, "frame")
        engine = Trainer(SMALL)
        engine.reset(11)
        expected = np.concatenate([np.concatenate([np.ravel(w["W"]), w["b"]]) for w in engine.get_weights()])
        np.testing.assert_allclose(arrays["weights"], expected.astype(np.float32))


def test_regenerate_sends_new_data_and_keeps_the_weights(client):
    with live(client) as (ws, greeting):
        send(ws, type="regenerate", seed=99, id=3)
        seen = []
        state = wait_for(ws, "state", lambda s: s["id"] == 3, seen=seen)
        assert state["data_seed"] == 99 and state["init_seed"] == greeting["state"]["init_seed"]
        data = [p for kind, p in seen if kind == "data"][0][1]
        assert not np.array_equal(data["train"], greeting["data"][1]["train"])


def test_set_changes_live_fields_and_speed(client):
    with live(client) as (ws, _):
        send(ws, type="set", id=4, values={"learning_rate": 0.1, "optimizer": "adam", "speed": "max"})
        state = wait_for(ws, "state", lambda s: s["id"] == 4)
        assert state["config"]["learning_rate"] == 0.1 and state["config"]["optimizer"] == "adam"
        assert state["speed"] == "max"


@pytest.mark.parametrize("values, field, allowed", [
    ({"hidden": [3]}, "hidden", "learning_rate"),
    ({"learning_rate": -1}, "learning_rate", "> 0"),
    ({"optimizer": "sgdd"}, "optimizer", "adam"),
    ({"speed": 0}, "speed", "max"),
    ({"speed": 5000}, "speed", "1000"),
])
def test_set_refuses_what_cannot_change_live_and_bad_values(client, values, field, allowed):
    with live(client) as (ws, greeting):
        send(ws, type="set", id=5, values=values)
        error = wait_for(ws, "error")
        assert error["id"] == 5 and error["field"] == field and allowed in error["allowed"]
        assert field in error["message"] and allowed in error["message"]
        send(ws, type="pause", id=6)
        state = wait_for(ws, "state", lambda s: s["id"] == 6)
        assert state["config"] == greeting["state"]["config"] and state["speed"] == greeting["state"]["speed"]


def test_set_weight_changes_one_weight_and_one_bias(client):
    with live(client) as (ws, _):
        send(ws, type="configure", config=SMALL)
        send(ws, type="set_weight", id=7, layer=0, to=1, from_=0, value=-0.5)
        wait_for(ws, "state", lambda s: s["id"] == 7)
        _, arrays = wait_for(ws, "frame", lambda f: f[1]["weights"][2] == -0.5)  # W[0] is 3×2: row 1, column 0
        send(ws, type="set_weight", id=8, layer=1, to=0, bias=True, value=2.0)
        wait_for(ws, "state", lambda s: s["id"] == 8)
        _, arrays = wait_for(ws, "frame")
        assert arrays["weights"][-1] == 2.0 and arrays["weights"][2] == -0.5


@pytest.mark.parametrize("message, field", [
    ({"layer": 5, "to": 0, "from": 0, "value": 1}, "layer"),
    ({"layer": 0, "to": 9, "from": 0, "value": 1}, "to"),
    ({"layer": 0, "to": 0, "from": 9, "value": 1}, "from"),
    ({"layer": 0, "to": 0, "value": 1}, "from"),
    ({"layer": 0, "to": 0, "from": 0, "bias": True, "value": 1}, "from"),
    ({"layer": 0, "to": 0, "from": 0, "value": "x"}, "value"),
])
def test_bad_set_weight_is_an_error(client, message, field):
    with live(client) as (ws, _):
        send(ws, type="set_weight", id=9, **message)
        error = wait_for(ws, "error")
        assert error["id"] == 9 and error["field"] == field


# ---- inspect, gradcheck, view ---------------------------------------------------------------------------------
def test_inspect_answers_with_the_engines_trace(client):
    with live(client) as (ws, _):
        send(ws, type="configure", config=SMALL)
        send(ws, type="inspect", id=10, point=[1.0, -2.0], label=1)
        trace = wait_for(ws, "trace")
        expected = Trainer(SMALL).trace([1.0, -2.0], 1)
        assert trace["id"] == 10 and trace["loss"] == pytest.approx(expected["loss"])
        assert len(trace["layers"]) == 2 and trace["features"] == pytest.approx(expected["features"])


def test_inspect_refuses_a_label_that_is_not_a_class(client):
    with live(client) as (ws, _):
        send(ws, type="configure", config={"dataset": "blobs", "hidden": [2], "seed": 1})
        send(ws, type="inspect", id="bad", point=[0, 0], label=7)
        error = wait_for(ws, "error")
        assert error["id"] == "bad" and error["field"] == "label" and "0 to 2" in error["allowed"]
        send(ws, type="inspect", id="ok", point=[0, 0])
        assert wait_for(ws, "trace")["id"] == "ok"


def test_gradcheck_answers_with_the_relative_errors(client):
    with live(client) as (ws, _):
        send(ws, type="configure", config=SMALL)
        send(ws, type="gradcheck", id=11, max_params=20)
        result = wait_for(ws, "gradcheck")
        assert result["id"] == 11 and result["checked"] == 13 and result["max_relative_error"] < 1e-4


def test_view_changes_the_grid_thumbnails_and_extras(client):
    with live(client) as (ws, _):
        send(ws, type="view", id=12, density=30, thumb=4, extras=["neurons"], fps=10)
        state = wait_for(ws, "state", lambda s: s["id"] == 12)
        assert state["view"] == {"density": 30, "thumb": 4, "fps": 10, "extras": ["neurons"]}
        header, arrays = wait_for(ws, "frame")
        assert header["density"] == 30 and arrays["output"].shape == (30, 30)
        assert arrays["neurons"].shape == (6, 4, 4) and set(arrays) == {"output", "neurons"}


@pytest.mark.parametrize("message, field", [
    ({"density": 5}, "density"), ({"density": 500}, "density"), ({"thumb": 100}, "thumb"), ({"fps": 0}, "fps"),
    ({"speed": -1}, "speed"), ({"extras": ["nope"]}, "extras"),
])
def test_bad_view_is_an_error(client, message, field):
    with live(client) as (ws, _):
        send(ws, type="view", **message)
        assert wait_for(ws, "error")["field"] == field


# ---- bad messages: an error, and the session goes on ----------------------------------------------------------
@pytest.mark.parametrize("raw, needle", [
    ("{not json", "malformed JSON"),
    ('{"type": "set", "values": {"learning_rate": NaN}}', "finite"),
    ('{"type": "set_weight", "layer": 0, "to": 0, "from": 0, "value": Infinity}', "finite"),
    ('["play"]', "object"),
    ('{"type": "explode"}', "unknown message type"),
    ('{"id": 3}', "unknown message type"),
    ('{"type": "step", "n": 0}', "n"),
    ('{"type": "play", "extra": 1}', "extra"),
])
def test_bad_messages_are_answered_with_error_and_the_session_goes_on(client, raw, needle):
    with live(client) as (ws, greeting):
        ws.send_text(raw)
        error = wait_for(ws, "error")
        assert needle in error["message"]
        send(ws, type="step", id="after")
        state = wait_for(ws, "state", lambda s: s["id"] == "after")
        assert state["epoch"] == 1 and state["config"] == greeting["state"]["config"]


def test_binary_and_oversized_messages_are_errors(client_for):
    with client_for(max_message_bytes=1000) as c, live(c) as (ws, _):
        ws.send_bytes(b"\x00\x01")
        assert "binary" in wait_for(ws, "error")["message"]
        send(ws, type="configure", config={"dataset": "custom", "custom_points": [[0, 0, 1]] * 200})
        error = wait_for(ws, "error")
        assert "too large" in error["message"] and "1000" in error["allowed"]
        send(ws, type="pause", id="ok")
        assert wait_for(ws, "state", lambda s: s["id"] == "ok")["playing"] is False


def test_an_error_keeps_playing_sessions_playing(client):
    with live(client) as (ws, _):
        send(ws, type="configure", config=SMALL, play=True)
        ws.send_text("garbage")
        wait_for(ws, "error")
        before = wait_for(ws, "frame")[0]["epoch"]
        after = wait_for(ws, "frame", lambda f: f[0]["epoch"] > before)[0]
        assert after["playing"] is True


# ---- limits: origin, sessions, idle ---------------------------------------------------------------------------
def refusal(client, **kwargs):
    with client.websocket_connect("/ws", **kwargs) as ws:
        kind, message = parse(receive(ws))
        assert kind == "close"
        return message


def test_another_origin_is_refused_with_1008(client):
    message = refusal(client, headers={"origin": "http://evil.example"})
    assert message["code"] == 1008 and "origin" in message["reason"]


def test_a_host_header_naming_the_origin_does_not_let_it_in(client):
    message = refusal(client, headers={"origin": "http://rebind.example", "host": "rebind.example"})
    assert message["code"] == 1008 and "NNPLAY_ALLOWED_ORIGINS" in message["reason"]


def test_the_same_origin_and_allowed_origins_connect(client_for):
    with client_for(allowed_origins=["https://slides.example"]) as c:
        with live(c, headers={"origin": "http://testserver"}) as (_, greeting):
            assert "hello" in greeting
        with live(c, headers={"origin": "https://slides.example"}) as (_, greeting):
            assert "hello" in greeting
        assert refusal(c, headers={"origin": "https://other.example"})["code"] == 1008


def test_sessions_over_the_limit_are_refused_with_1013(client_for):
    with client_for(max_sessions=1) as c, live(c) as _:
        message = refusal(c)
        assert message["code"] == 1013 and "too many sessions" in message["reason"]


def test_idle_paused_sessions_are_closed(client_for):
    with client_for(idle_timeout=0.3) as c, live(c) as (ws, _):
        message = wait_for(ws, "close", timeout=5)
        assert message["code"] == 1000 and message["reason"] == "idle timeout"


def test_a_playing_session_whose_client_talks_is_not_idle(client_for):
    with client_for(idle_timeout=1.0) as c, live(c) as (ws, _):
        send(ws, type="play")
        for i in range(8):  # two seconds in all, a message every quarter of one
            time.sleep(0.25)
            send(ws, type="view", fps=20, id=i)
        assert wait_for(ws, "state", lambda s: s["id"] == 7)["playing"] is True


def test_a_session_left_playing_is_paused_then_closed(client_for):
    with client_for(idle_timeout=0.3) as c, live(c) as (ws, _):
        send(ws, type="play", id="go")
        seen = []
        paused = wait_for(ws, "state", lambda s: s["id"] is None, timeout=5, seen=seen)
        assert paused["playing"] is False and paused["epoch"] > 0
        assert any(kind == "frame" and p[0]["playing"] for kind, p in seen)  # it trained until then
        after = []
        message = wait_for(ws, "close", timeout=5, seen=after)
        assert message["code"] == 1000 and message["reason"] == "idle timeout"
        assert all(p[0]["epoch"] <= paused["epoch"] for kind, p in after if kind == "frame")


def test_disconnecting_frees_the_session(client):
    with live(client) as (ws, _):
        send(ws, type="view", speed="max")
        send(ws, type="play")
        wait_for(ws, "frame", lambda f: f[0]["epoch"] > 2)
        assert client.get("/api/health").json()["sessions"] == 1
    deadline = time.monotonic() + 5
    while client.get("/api/health").json()["sessions"] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert client.get("/api/health").json()["sessions"] == 0


def test_a_c2_session_frame_is_under_20_kb(client):
    with live(client) as (ws, _):
        send(ws, type="configure", config=C2)
        send(ws, type="step", n=3, id="c2")
        seen = []
        wait_for(ws, "state", lambda s: s["id"] == "c2", seen=seen)
        frames = [p for kind, p in seen if kind == "frame"]
        assert frames
        size = len(json.dumps(frames[-1][0]))  # the header is part of it; check the whole message below
        assert size < 2000
    with live(client) as (ws, _):
        send(ws, type="configure", config=C2)
        raw = None
        while raw is None:
            message = receive(ws)
            if message.get("bytes") and parse(message)[0] == "frame":
                raw = message["bytes"]
        assert len(raw) <= 20_000

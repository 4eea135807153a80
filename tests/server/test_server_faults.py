"""A worker survives any one session: bounded numbers on the socket, and a session whose work raises in its
engine worker ends alone while the others on that worker train on (server/live/faults.py)."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from server_helpers import C1, SMALL, live, make_settings, parse, receive, send, wait_for, worker_thread
from server_helpers import TestClient

from nnplay.engine import SCHEDULES, Config, Trainer
from nnplay.server.live import wire
from nnplay.server.live.clock import LiveClock
from nnplay.server.live.messages import MAX_EPOCH, socket_schemas
from nnplay.server.live.run import LiveRun, Mode, Plan
from nnplay.server.main import create_app

HUGE = 10**400  # the epoch that used to end a worker: it overflowed when the clock put it in a history row
CONFIGURE = {"config": SMALL, "weights": None, "epoch": None, "variants": None, "labels": None, "play": False}


def epoch_after(ws, epoch: int, timeout: float = 10.0) -> int:
    """The epoch of the first frame past ``epoch`` (training goes on), skipping what came before."""
    header, _ = wait_for(ws, "frame", lambda f: f[0]["epoch"] > epoch, timeout=timeout)
    return header["epoch"]


# ---- the socket: every number is bounded ---------------------------------------------------------------------
def test_a_huge_epoch_is_an_error_and_a_bystander_on_the_worker_trains_on(client_for):
    with client_for(engine_processes=1) as c:
        workers = c.app.state.nnplay.workers
        pid = workers.workers[0].pid
        with live(c) as (bystander, _), live(c) as (attacker, _):
            send(bystander, type="play", id="go")
            reached = epoch_after(bystander, 0)
            attacker.send_text('{"type": "configure", "id": "x", "play": true, "config": {}, "epoch": %d}' % HUGE)
            error = wait_for(attacker, "error", lambda m: m["id"] == "x")
            assert error["field"] == "epoch" and error["allowed"] == f"an integer ≥ 0 and ≤ {MAX_EPOCH}"
            assert "401 digits" in error["message"]
            for _ in range(3):  # the attacker's session stays open, and the worker goes on training its neighbour
                send(attacker, type="step", id="after")
                assert wait_for(attacker, "state", lambda s: s["id"] == "after")["epoch"] > 0
                reached = epoch_after(bystander, reached + 20)
        assert workers.restarts == 0 and workers.workers[0].pid == pid


@pytest.mark.parametrize("text, field", [
    ('{"type": "inspect", "point": [1e400, 0]}', "point"),
    ('{"type": "set_weight", "layer": 0, "to": 99999999999, "bias": true, "value": 1}', "to"),
    ('{"type": "step", "n": 1, "id": %d}' % 2**60, "id"),
    ('{"type": "configure", "config": {"learning_rate": 1e999}}', "config"),
    ('{"type": "set", "values": {"lr_step_size": -%d}}' % HUGE, "values"),
    ('{"type": "gradcheck", "variant": 4}', "variant"),
], ids=["point", "index", "id", "config", "values", "variant"])
def test_numbers_beyond_the_protocols_bounds_are_errors_naming_the_field(client, text, field):
    with live(client) as (ws, _):
        ws.send_text(text)
        error = wait_for(ws, "error")
        assert error["field"] == field and error["allowed"]
        send(ws, type="step", n=2, id="ok")
        assert wait_for(ws, "state", lambda s: s["id"] == "ok")["epoch"] == 2


# ---- the worker: one session's failure is its own ---------------------------------------------------------------
def test_a_session_whose_epochs_raise_is_ended_alone_and_its_neighbours_train_on():
    """The worker's own guard, without the socket's bounds: a run that raises in the clock (here the huge epoch,
    standing for any bug) is reported as failed and forgotten; the sessions stacked with it train on."""
    with worker_thread() as (server_end, thread):
        server_end.send([wire.Call(1, "bad", "configure", {**CONFIGURE, "epoch": HUGE}),
                         wire.Call(2, "a", "configure", CONFIGURE), wire.Call(3, "b", "configure", CONFIGURE)])
        assert [type(server_end.recv()) for _ in range(3)] == [wire.Done] * 3
        server_end.send([wire.PlanChange(sid, Plan(1, Mode.PLAYING, "max")) for sid in ("bad", "a", "b")])
        failed, epochs, deadline = [], {}, time.monotonic() + 3
        while time.monotonic() < deadline:
            if not server_end.poll(0.1):
                continue
            message = server_end.recv()
            if isinstance(message, wire.SessionFailed):
                failed.append(message)
            elif isinstance(message, wire.News):
                epochs.update((entry.session, entry.epoch) for entry in message.entries)
                server_end.send([wire.Credit(entry.session) for entry in message.entries])
        assert [f.session for f in failed] == ["bad"] and failed[0].why.startswith("OverflowError: ")
        assert set(epochs) == {"a", "b"} and min(epochs.values()) > 100 and thread.is_alive()
        server_end.send([wire.Call(4, "bad", "state", {}), wire.Call(5, "a", "state", {})])
        forgotten, kept = server_end.recv(), server_end.recv()
        assert isinstance(forgotten, wire.Refused) and "configure first" in forgotten.problems[0]["message"]
        assert isinstance(kept, wire.Done) and kept.value["facts"]["epoch"] >= epochs["a"]


class Poisoned(Trainer):
    """A trainer whose learning rate raises from its third epoch: a bug inside a stacked step."""

    def learning_rate(self, epoch=None) -> float:
        if self.epoch >= 3:
            raise RuntimeError("poisoned")
        return super().learning_rate(epoch)


def test_a_stacked_step_that_raises_fails_only_its_culprit_and_the_others_stay_stacked():
    clock = LiveClock(slice_seconds=0.2)
    runs = [LiveRun([kind({**SMALL, "seed": seed})]) for seed, kind in enumerate((Trainer, Poisoned, Trainer))]
    for run in runs:
        run.plan = Plan(1, Mode.PLAYING, "max")
        clock.runs.add(run)
    clock.tick()
    first, poisoned, last = runs
    assert list(clock.failed) == [poisoned] and "RuntimeError: poisoned" in clock.failed[poisoned]
    assert poisoned not in clock.runs and poisoned.trainer.group is None
    reached = first.trainer.epoch
    clock.tick()
    assert first.trainer.epoch == last.trainer.epoch > reached > 3
    assert first.trainer.group is last.trainer.group is not None and len(first.trainer.group) == 2


class Unstackable(Trainer):
    """A trainer that raises only in a stacked step (which counts its epoch with ``count_epoch``)."""

    def count_epoch(self, steps: int) -> None:
        raise RuntimeError("not in a group")


def test_runs_whose_stacked_step_fails_though_none_fails_alone_train_unstacked_from_then_on(caplog):
    clock = LiveClock(slice_seconds=0.2)
    runs = [LiveRun([Unstackable({**SMALL, "seed": seed})]) for seed in (1, 2)]
    for run in runs:
        run.plan = Plan(1, Mode.PLAYING, "max")
        clock.runs.add(run)
    with caplog.at_level(logging.WARNING, logger="nnplay.workers"):
        clock.tick()
        reached = min(run.trainer.epoch for run in runs)
        clock.tick()
    assert not clock.failed and clock.runs == set(runs)  # no culprit: nobody's session ends
    assert min(run.trainer.epoch for run in runs) > reached > 10 and all(run.trainer.group is None for run in runs)
    assert len(caplog.records) == 1 and "unstacked" in caplog.records[0].getMessage()  # once, not every round


def test_the_server_closes_a_failed_session_with_1011_and_logs_one_line(client, monkeypatch, caplog):
    """An engine bug (a schedule that raises at epoch 30) met by one session while another, in the same stacked
    step, plays beside it: that session is closed with 1011 and a reason naming the error's type; the other
    trains on; the log has one ERROR line for it, no traceback."""
    schedule = SCHEDULES["exponential"]
    broken = lambda lr, epoch, **params: schedule.fn(lr, epoch, **params) if epoch < 30 else 1 / 0
    monkeypatch.setitem(SCHEDULES, "exponential", replace(schedule, fn=broken))
    caplog.set_level(logging.INFO, logger="nnplay")
    with live(client) as (bystander, _), live(client) as (victim, _):
        send(bystander, type="configure", config={**C1, "lr_schedule": "step"}, play=True, id="b")
        send(victim, type="configure", config={**C1, "lr_schedule": "exponential"}, play=True, id="v")
        reached = epoch_after(bystander, 0)
        closed = wait_for(victim, "close", timeout=10)
        assert closed["code"] == 1011 and "ZeroDivisionError" in closed["reason"] and "reconnect" in closed["reason"]
        epoch_after(bystander, reached + 50)
    lines = [r for r in caplog.records if r.name == "nnplay.workers"]
    assert [r.levelname for r in lines] == ["ERROR"] and "ZeroDivisionError" in lines[0].getMessage()
    assert lines[0].exc_info is None and "\n" not in lines[0].getMessage()
    assert client.app.state.nnplay.workers.restarts == 0


# ---- a property: whatever one client sends, its neighbours train on ------------------------------------------------
SMALL_LIMITS = {"max_layers": 2, "max_neurons": 4, "max_samples": 600}  # the greeting's network fits
CLIENT_TYPES = ["Configure", "Pause", "Play", "Regenerate", "Reset", "Set", "SetWeight", "Inspect", "GradCheck",
                "Step", "View"]


def inline(node: Any, components: dict) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            return inline(components[node["$ref"].rsplit("/", 1)[1]], components)
        return {key: inline(value, components) for key, value in node.items()}
    if isinstance(node, list):
        return [inline(value, components) for value in node]
    return node


SCHEMAS = socket_schemas()
VALID = st.one_of(*(from_schema(inline(SCHEMAS[name], SCHEMAS)) for name in CLIENT_TYPES)).map(json.dumps)
NUMBERS = st.sampled_from([str(HUGE), f"-{HUGE}", "1e400", "-1e400", str(2**64), "1" * 5000, "1e308", "-0.0",
                           str(MAX_EPOCH + 1)])


@st.composite
def with_a_huge_number(draw) -> str:
    """A schema-valid message with one of its values (or a new field) replaced by an extreme number."""
    message = json.loads(draw(VALID))
    key = draw(st.sampled_from(sorted(set(message) - {"type"}) + ["epoch", "n", "seed", "layer", "point"]))
    message[key] = "@NUMBER@"
    return json.dumps(message).replace('"@NUMBER@"', draw(NUMBERS))


# configures of networks the engine accepts (within SMALL_LIMITS), to play with whatever else a message sets
CONFIGURES = st.fixed_dictionaries({"type": st.just("configure"), "config": from_schema(Config.model_json_schema()),
                                    "play": st.booleans()},
                                   optional={"epoch": st.integers(0, MAX_EPOCH)}).map(json.dumps)
DEEP = st.integers(30, 3000).map(lambda depth: '{"type": "configure", "config": ' + "[" * depth + "]" * depth + "}")
MESSAGES = st.one_of(VALID, CONFIGURES, with_a_huge_number(), DEEP)


@pytest.fixture(scope="module")
def crowd():
    """A server with one worker process: a bystander playing at full speed, and an attacker's socket."""
    with TestClient(create_app(make_settings(engine_processes=1, **SMALL_LIMITS))) as c:
        with live(c) as (bystander, _), live(c) as (attacker, _):
            send(bystander, type="play", id="go")
            yield c, bystander, attacker


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_no_message_from_one_client_stops_its_neighbours_training_or_the_worker(crowd):
    client, bystander, attacker = crowd
    workers = client.app.state.nnplay.workers
    pid = workers.workers[0].pid
    reached = [epoch_after(bystander, 0)]

    @hypothesis_settings(max_examples=100, deadline=None, derandomize=True, database=None,
                         suppress_health_check=list(HealthCheck))
    @given(text=MESSAGES)
    def one_message(text: str) -> None:
        attacker.send_text(text)
        send(attacker, type="step", n=3, id="sync")  # trains whatever the message left, answered once it is done
        while True:
            kind, payload = parse(receive(attacker, 20))
            assert kind != "close", f"the attacker's session was closed: {payload}"
            if kind == "state" and payload["id"] == "sync" or kind == "error" and payload["id"] == "sync":
                break
        reached[0] = epoch_after(bystander, reached[0], timeout=20)

    one_message()
    assert workers.restarts == 0 and workers.workers[0].pid == pid

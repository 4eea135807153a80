"""Engine workers: the live clock's rounds, a worker's frame credit, and worker processes seen as one server."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
from server_helpers import SMALL, live, parse, receive, send, wait_for, worker_thread

from nnplay.engine import Trainer
from nnplay.server.live import wire
from nnplay.server.live.clock import MAX_WAIT, WINDOW, FrameGovernor, LiveClock, fair_share
from nnplay.server.live.frames import decode
from nnplay.server.live.run import LiveRun, Mode, Plan


def clock_with(*plans: Plan) -> tuple[LiveClock, list[LiveRun]]:
    clock = LiveClock(slice_seconds=0.5)
    runs = []
    for plan in plans:
        run = LiveRun([Trainer(SMALL)])
        run.plan = plan
        clock.runs.add(run)
        runs.append(run)
    return clock, runs


def test_every_round_gives_each_run_that_wants_one_an_epoch():
    clock, (fast, also_fast, stepping, paused) = clock_with(
        Plan(1, Mode.PLAYING, "max"), Plan(1, Mode.PLAYING, "max"), Plan(1, Mode.STEPPING, steps=3), Plan(1))
    news = clock.tick()
    assert fast.trainer.epoch == also_fast.trainer.epoch > 3  # at full speed, side by side
    assert stepping.trainer.epoch == 3 and stepping.finished == (1, "stepped")
    assert paused.trainer.epoch == 0 and news == {fast, also_fast, stepping}
    header, _ = decode(stepping.take_frames()[-1])  # the step's last epoch is framed, as paused
    assert header["epoch"] == 3 and header["playing"] is False
    clock.tick()
    assert stepping.trainer.epoch == 3  # a finished plan trains no more


def test_a_live_run_keeps_one_report_per_trainer_and_its_loss_curve_as_rows():
    """A session's memory does not grow with its epochs, and little is kept per epoch: its trainer keeps
    its latest report only, while the next frame still carries the loss of every epoch since the last."""
    clock, (run,) = clock_with(Plan(1, Mode.STEPPING, steps=40))
    clock.tick()
    assert run.trainer.epoch == 40 and [r.epoch for r in run.trainer.history] == [40]
    frames = run.take_frames()
    _, arrays = decode(frames[-1])
    assert arrays["history"][:, 0].tolist() == list(range(1, 41))
    assert arrays["history"][-1, 1] == np.float32(run.trainer.history[-1].train_loss)


def test_a_cheap_run_is_not_held_back_by_an_expensive_one_and_each_gets_the_same_time():
    cheap, costly = Plan(1, Mode.PLAYING, "max"), Plan(1, Mode.PLAYING, "max")
    clock, (small, big) = clock_with(cheap, costly)
    big.replace([Trainer({**SMALL, "hidden": [32, 32], "n_samples": 1000, "batch_size": 1})], None)
    clock.tick()
    assert small.trainer.epoch > 5 * big.trainer.epoch > 0  # not in lockstep: equal epochs would be unfair
    assert abs(small.used - big.used) < WINDOW  # the same CPU time, within what one round can add


def test_runs_that_train_in_one_stacked_step_are_admitted_to_a_round_together():
    runs = [LiveRun([Trainer(SMALL)]) for _ in range(4)]
    for run, used, lesson in zip(runs, (0.0, 0.02, 0.02, 0.02), "AABB"):
        run.used, run.lesson = used, lesson
    admitted = fair_share(runs, stack_of=lambda run: run.lesson)
    assert admitted == runs[:2]  # the second A costs its step little; the Bs, as far ahead, wait their turn
    assert fair_share(runs) == runs[:1]  # each its own step: only the least served one


def test_a_run_held_back_by_its_share_trains_once_it_has_waited_max_wait():
    served, ahead = LiveRun([Trainer(SMALL)]), LiveRun([Trainer(SMALL)])
    served.used, ahead.used = 0.0, 0.04  # ahead by more than a round's quantum: it waits ...
    assert fair_share([served, ahead], now=10.0) == [served]
    served.used = 0.001
    assert fair_share([served, ahead], now=10.0 + MAX_WAIT / 2) == [served]
    assert fair_share([served, ahead], now=10.0 + MAX_WAIT) == [served, ahead]  # ... but not for longer
    assert fair_share([served, ahead], now=10.0 + MAX_WAIT * 1.1) == [served]  # and the wait starts again


def test_runs_of_one_signature_train_as_one_group_and_move_when_they_change():
    clock = LiveClock(slice_seconds=0.5)
    runs = [LiveRun([Trainer({**SMALL, "seed": seed})]) for seed in (1, 2, 3)]
    runs.append(LiveRun([Trainer({**SMALL, "hidden": [5], "seed": 4})]))
    for run in runs:
        run.plan = Plan(1, Mode.STEPPING, steps=3)
        clock.runs.add(run)
    clock.tick()
    a, b, c, other = (run.trainer for run in runs)
    assert a.group is b.group is c.group and len(a.group) == 3 and other.group is None  # no peer: alone
    lone = Trainer({**SMALL, "seed": 2})
    lone.train(3)
    np.testing.assert_array_equal(b.network.params, lone.network.params)  # as if it trained alone

    for trainer in (b, c):
        trainer.update(optimizer="adam")  # a new signature: they leave the group by themselves ...
    for run in runs[:2]:
        run.plan = Plan(2, Mode.STEPPING, steps=1)
    clock.tick()
    assert b.group is not None and b.group.signature.optimizer == "adam"  # ... and b joins c's at once
    assert a.group is None  # its last peer left
    assert (a.epoch, b.epoch, c.epoch) == (4, 4, 3)  # paces differ: only the due members stepped
    clock.runs.discard(runs[2])  # c's session closes
    clock.stacks.release([c])
    runs[1].plan = Plan(3, Mode.STEPPING, steps=1)
    clock.tick()
    assert b.group is None and not clock.stacks.groups  # a group of one is dissolved


def test_an_overloaded_worker_lowers_every_runs_frame_rate_alike_then_restores_it():
    governor = FrameGovernor()
    now = 0.0
    for _ in range(50):  # seven seconds late
        now += governor.PERIOD * 1.5
        governor.update(True, now)
    assert governor.fps(30) == governor.fps(60) == governor.FLOOR  # every run at the floor, none starved
    assert governor.fps(1) == 1  # never more than asked for
    governor.update(False, now + governor.PERIOD / 2)
    assert governor.fps(30) == governor.FLOOR  # one change per period
    for _ in range(50):
        now += governor.PERIOD * 1.5
        governor.update(False, now)
    assert governor.fps(30) == 30


CONFIGURE = {"config": SMALL, "weights": None, "epoch": None, "variants": None, "labels": None, "play": False}


def test_a_worker_sends_a_sessions_next_frames_only_once_the_last_ones_went_out():
    with worker_thread() as (server_end, _):
        server_end.send([wire.Call(1, "s", "configure", CONFIGURE)])
        reply = server_end.recv()
        assert isinstance(reply, wire.Done) and reply.call_id == 1 and reply.value["facts"]["epoch"] == 0
        server_end.send([wire.PlanChange("s", Plan(1, Mode.PLAYING, "max"))])
        news = server_end.recv()
        assert isinstance(news, wire.News) and news.entries[0].session == "s" and len(news.entries[0].frames) == 1
        first_epoch = news.entries[0].epoch
        assert not server_end.poll(0.3)  # training goes on, but its frames wait for the credit
        server_end.send([wire.Credit("s")])
        assert server_end.poll(5)
        news = server_end.recv()
        assert isinstance(news, wire.News) and decode(news.entries[0].frames[0])[0]["epoch"] > first_epoch


def test_credits_that_come_back_together_are_answered_with_one_message():
    with worker_thread() as (server_end, _):
        server_end.send([wire.Call(1, "s", "configure", CONFIGURE), wire.Call(2, "t", "configure", CONFIGURE),
                         wire.PlanChange("s", Plan(1, Mode.PLAYING, "max")),
                         wire.PlanChange("t", Plan(1, Mode.PLAYING, "max"))])
        seen: set[str] = set()
        while seen != {"s", "t"}:  # each session's first frames, then nothing until their credit is back
            message = server_end.recv()
            if isinstance(message, wire.News):
                seen.update(entry.session for entry in message.entries)
        time.sleep(0.3)
        while server_end.poll(0):
            server_end.recv()
        server_end.send([wire.Credit("s"), wire.Credit("t")])
        assert server_end.poll(5)
        news = server_end.recv()
        assert isinstance(news, wire.News) and sorted(entry.session for entry in news.entries) == ["s", "t"]


def test_a_refused_command_names_the_problem_and_a_failing_one_ends_only_its_session():
    with worker_thread() as (server_end, _):
        server_end.send([wire.Call(1, "s", "state", {}), wire.Call(2, "t", "configure", CONFIGURE),
                         wire.Call(3, "t", "no_such_op", {})])
        refused, built, failed = (server_end.recv() for _ in range(3))
        assert isinstance(refused, wire.Refused) and refused.call_id == 1
        assert "send configure first" in refused.problems[0]["message"]
        assert isinstance(built, wire.Done) and built.call_id == 2
        assert isinstance(failed, wire.Failed) and failed.call_id == 3 and "no_such_op" in failed.why
        server_end.send([wire.Call(4, "t", "state", {})])
        after = server_end.recv()
        assert isinstance(after, wire.Done) and after.value["facts"]["epoch"] == 0  # the worker goes on


def test_sessions_spread_over_worker_processes_and_count_as_one_server(client_for):
    with client_for(engine_processes=2, max_sessions=3) as c:
        with live(c) as (a, _), live(c) as (b, _), live(c) as (d, _):
            assert c.get("/api/health").json()["sessions"] == 3
            with c.websocket_connect("/ws") as refused:
                kind, message = parse(receive(refused))
                assert kind == "close" and message["code"] == 1013
            for ws in (a, b, d):
                send(ws, type="step", n=4, id="s")
            assert [wait_for(ws, "state", lambda s: s["id"] == "s")["epoch"] for ws in (a, b, d)] == [4, 4, 4]
            workers = c.app.state.nnplay.workers.workers
            assert sorted(len(w.sessions) for w in workers) == [1, 2]
            assert len({w.pid for w in workers} | {os.getpid()}) == 3  # two processes besides the server


EXPENSIVE = {"dataset": "circle", "hidden": [8, 8], "n_samples": 500, "batch_size": 1, "seed": 1}
TINY = {"dataset": "xor", "hidden": [], "n_samples": 20, "seed": 3}


def test_a_configure_moves_the_session_to_the_least_loaded_worker(client_for):
    """Sessions are placed by count when they connect; when one configures, it moves away from a worker that
    an expensive lesson keeps busy, with its view, and trains there. A configure refused in the worker it
    would move to leaves it where it was, its old network training on and its frames flowing."""
    with client_for(engine_processes=2) as c:
        workers = c.app.state.nnplay.workers.workers
        where = lambda greeting: [i for i, w in enumerate(workers) if greeting["hello"]["session"] in w.sessions]
        with live(c) as (a, hello_a), live(c) as (b, hello_b), live(c) as (d, hello_d):
            assert (where(hello_a), where(hello_b), where(hello_d)) == ([0], [1], [0])
            send(d, type="configure", config=EXPENSIVE, id="heavy")  # batch 1: 250 steps an epoch
            wait_for(d, "state", lambda s: s["id"] == "heavy")
            assert where(hello_d) == [0]  # the other worker is no less busy than this one without it
            send(a, type="view", density=20, id="view")
            wait_for(a, "state", lambda s: s["id"] == "view")
            send(a, type="configure", config=SMALL, id="small")
            state = wait_for(a, "state", lambda s: s["id"] == "small")
            assert where(hello_a) == [1] and state["view"]["density"] == 20
            send(a, type="step", n=3, id="step")
            _, arrays = wait_for(a, "frame", lambda f: f[0]["epoch"] == 3)
            assert arrays["output"].shape == (20, 20)

            with live(c) as (e, hello_e):
                assert where(hello_e) == [1]  # placed in worker 0 by count, moved by its first configure
                send(d, type="configure", config=TINY, id="light")  # now worker 1 is the busier
                wait_for(d, "state", lambda s: s["id"] == "light")
                send(e, type="play", id="play")
                wait_for(e, "frame", lambda f: f[0]["epoch"] > 2)
                send(e, type="configure", config=TINY, weights=[{"W": [[1.0]], "b": [0.0]}], id="bad")
                assert wait_for(e, "error", lambda m: m["id"] == "bad")["field"] == "weights"
                assert where(hello_e) == [1]
                header, _ = wait_for(e, "frame")
                later, _ = wait_for(e, "frame", lambda f: f[0]["epoch"] > header["epoch"] + 5)
                assert later["playing"] and later["sizes"] == hello_e["state"]["sizes"]


def test_a_worker_that_dies_is_reported_to_its_sessions_and_replaced(client_for):
    with client_for(engine_processes=1) as c:
        workers = c.app.state.nnplay.workers
        with live(c) as (ws, _):
            os.kill(workers.workers[0].pid, signal.SIGKILL)
            message = wait_for(ws, "close", timeout=10)
            assert message["code"] == 1011 and "engine worker" in message["reason"]
        assert workers.restarts == 1
        with live(c) as (ws, greeting):  # the replacement serves new sessions
            assert greeting["state"]["epoch"] == 0
            send(ws, type="step", id="again")
            assert wait_for(ws, "state", lambda s: s["id"] == "again", timeout=20)["epoch"] == 1

"""Heavy sessions pay for their own work: a gradient check and an epoch of a huge network are done in parts
between the worker's rounds, so the other sessions on the worker go on training meanwhile, and a session's
own commands are still answered in order."""

from __future__ import annotations


import numpy as np
from server_helpers import SMALL, worker_thread

from nnplay.engine import Trainer
from nnplay.server.live import wire
from nnplay.server.live.channel import ThreadChannel
from nnplay.server.live.clock import LiveClock
from nnplay.server.live.pacing import finite
from nnplay.server.live.run import LiveRun, Mode, Plan
from nnplay.server.live.slices import Job

# Big enough that an epoch (batches of one) and a check of every parameter take many parts of a round.
BIG = {"dataset": "spiral", "hidden": [32, 32, 32], "n_samples": 600, "batch_size": 1, "seed": 5}
HUGE = {**BIG, "n_samples": 4000}  # an epoch of 2,000 steps: about ten times the PART of a round
CHECK = {"variant": 0, "max_params": 5000}


def configure(config: dict) -> dict:
    return {"config": config, "weights": None, "epoch": None, "variants": None, "labels": None, "play": False}


def until_reply(server_end: ThreadChannel, call_id: int, credit: str) -> tuple[wire.Reply, list[int], list]:
    """Messages until the reply to ``call_id``: that reply, the epochs of the news for ``credit`` meanwhile
    (each answered with a credit, as the server does once the frames have gone) and the other replies."""
    epochs, replies = [], []
    while True:
        assert server_end.poll(30)
        message = server_end.recv()
        if isinstance(message, wire.News):
            epochs += [entry.epoch for entry in message.entries if entry.session == credit]
            server_end.send([wire.Credit(credit)])
        elif message.call_id == call_id:
            return message, epochs, replies
        else:
            replies.append(message)


def test_other_sessions_train_and_are_answered_while_a_gradient_check_goes_on():
    with worker_thread() as (server_end, _):
        server_end.send([wire.Call(1, "a", "configure", configure(BIG)), wire.Call(2, "b", "configure",
                                                                                configure(SMALL))])
        assert [server_end.recv().call_id for _ in range(2)] == [1, 2]
        server_end.send([wire.PlanChange("b", Plan(1, Mode.PLAYING, "max")), wire.Call(3, "a", "gradcheck", CHECK)])
        server_end.send([wire.Call(4, "b", "state", {})])
        reply, epochs, others = until_reply(server_end, 3, credit="b")
        assert [o.call_id for o in others] == [4]  # b's command did not wait for a's check ...
        assert len(epochs) >= 3 and epochs == sorted(epochs) and epochs[-1] > epochs[0]  # ... nor did its epochs
        assert isinstance(reply, wire.Done)
        assert reply.value["result"] == finite(Trainer(BIG).gradient_check(max_params=5000))  # the whole check's


def test_a_sessions_commands_are_answered_in_order_after_its_gradient_check():
    with worker_thread() as (server_end, _):
        server_end.send([wire.Call(1, "a", "configure", configure(BIG))])
        assert server_end.recv().call_id == 1
        server_end.send([wire.Call(2, "a", "gradcheck", CHECK), wire.Call(3, "a", "reset", {"seed": 9}),
                         wire.Call(4, "a", "state", {})])
        replies = [server_end.recv() for _ in range(3)]
        assert [r.call_id for r in replies] == [2, 3, 4] and all(isinstance(r, wire.Done) for r in replies)
        assert replies[0].value["result"] == finite(Trainer(BIG).gradient_check(max_params=5000))  # before reset
        assert replies[2].value["facts"]["init_seed"] == 9


def test_a_session_that_closes_during_its_gradient_check_is_answered_and_the_worker_goes_on():
    with worker_thread() as (server_end, _):
        server_end.send([wire.Call(1, "a", "configure", configure(BIG)), wire.Call(2, "a", "gradcheck", CHECK),
                         wire.Call(3, "a", "state", {}), wire.CloseSession("a")])
        assert server_end.recv().call_id == 1
        refused = [server_end.recv() for _ in range(2)]  # (the server forgets those calls)
        assert [(type(r), r.call_id) for r in refused] == [(wire.Refused, 2), (wire.Refused, 3)]
        server_end.send([wire.Call(4, "b", "configure", configure(SMALL))])
        assert isinstance(server_end.recv(), wire.Done)


def test_an_epoch_of_a_huge_network_spans_rounds_while_a_cheap_run_keeps_training_and_ends_bit_identical():
    clock = LiveClock(slice_seconds=1e-9)  # a tick is one round
    big, small = LiveRun([Trainer(HUGE)]), LiveRun([Trainer(SMALL)])
    big.plan, small.plan = Plan(1, Mode.STEPPING, steps=1), Plan(1, Mode.PLAYING, "max")
    clock.runs.update((big, small))
    rounds = 0
    while big.finished is None:
        clock.tick()
        rounds += 1
        assert rounds < 10_000
    # the huge epoch spanned rounds, and the cheap run trained in nearly every one of them (at speed "max" it is
    # not due in a round shorter than its pace, such as the huge epoch's last, short part, or on a busy machine)
    assert rounds > 3 and small.trainer.epoch >= 0.9 * rounds
    whole = Trainer(HUGE)
    whole.step_epoch()
    assert big.trainer.epoch == 1 and np.array_equal(big.trainer.network.params, whole.network.params)
    assert big.trainer.history[-1].train_loss == whole.history[-1].train_loss


def test_huge_networks_of_one_signature_step_alone_in_parts_while_cheap_ones_still_stack():
    """A stacked step cannot be cut short: two sessions on the same huge network would hold a round for both
    their epochs. Runs whose epoch costs more than a round's part step alone; cheap peers stack as before."""
    clock = LiveClock(slice_seconds=1e-9)
    huge = [LiveRun([Trainer({**HUGE, "seed": seed})]) for seed in (1, 2)]
    cheap = [LiveRun([Trainer({**SMALL, "seed": seed})]) for seed in (1, 2)]
    for run in (*huge, *cheap):
        run.plan = Plan(1, Mode.PLAYING, "max")
        clock.runs.add(run)
    mid_epoch = [0, 0]  # rounds after which each huge run was in the middle of an epoch
    while min(run.trainer.epoch for run in huge) < 2:
        clock.tick()
        assert all(run.trainer.group is None for run in huge)
        mid_epoch = [seen + run.busy for seen, run in zip(mid_epoch, huge)]
    assert min(mid_epoch) >= 4  # their epochs were spread over rounds
    cheap_group = cheap[0].trainer.group
    assert cheap_group is not None and cheap_group is cheap[1].trainer.group


def test_a_command_of_a_session_ahead_of_its_share_waits_while_a_session_behind_it_trains():
    """Commands are their session's work too (a frame at the largest density costs tens of ms): a session that
    has had more than its share gets its next command done only once the others have had theirs."""
    clock = LiveClock(slice_seconds=0.01)
    ahead, behind = LiveRun([Trainer(SMALL)]), LiveRun([Trainer({**SMALL, "seed": 8})])
    behind.plan = Plan(1, Mode.PLAYING, "max")
    clock.runs.update((ahead, behind))
    ahead.used = 0.02  # more than QUANTUM ahead: it waits, for MAX_WAIT at most
    ahead.job = Job("the command", lambda pause: iter(()))
    clock.tick(lambda: True)  # one round
    assert ahead.busy and not clock.done and behind.trainer.epoch == 1
    while not clock.done:
        clock.tick(lambda: True)
    assert [job.call for job in clock.done] == ["the command"] and behind.trainer.epoch > 1
    assert ahead.used > 0.02  # the command was charged to its session

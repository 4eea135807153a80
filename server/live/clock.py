"""The live clock of an engine worker: every live run of the worker stepped a round at a time.

The worker runs a *tick* whenever an epoch is due somewhere, and a tick runs *rounds*: each round takes one
epoch of every run that wants one (and is within its share of the engine), all together (:class:`Stacks`),
then copies out the frames that are due and encodes them. A tick ends after ``slice_seconds``, when nothing
is due, or when a message from the server is waiting (a ``pause`` is taken up within one round); the
server hears of all the tick's frames in one message.

* Paced runs are due on a common clock: each run's next epoch falls on a multiple of 1/speed
  (:meth:`~nnplay.server.live.pacing.Pace.epoch_done`), whenever the session started, and an epoch due within
  ``HORIZON`` of now is taken in this tick, so sessions at the same speed are due together and are
  stepped together.
* Fair under overload: each run is charged the CPU time spent on it, and a round takes only the due runs
  that have not had more than their share (:func:`fair_share`), so a cheap lesson keeps its pace beside an
  expensive one, and when all want more than there is, each gets the same time. Runs that share a stacked
  step are admitted together, and no run waits more than ``MAX_WAIT``, so none starves.
* Long work is preempted: an epoch of a lone trainer (a huge network) and a command's job (a gradient check,
  any command: server/live/slices.py) take at most ``PART`` seconds of a round and go on in the next rounds
  the run is admitted to, so a heavy session pays for its work with its own share and its neighbours keep
  their pace.
* The :class:`FrameGovernor` lowers every run's frame rate alike when the worker falls behind, so that
  epochs are kept where possible, and restores it when the worker keeps up again.

Why one clock with stacked rounds, with measurements: docs/decisions.md, "One live clock per worker".
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from functools import partial
from typing import Any, Callable, Hashable, Iterator, Optional

from nnplay.engine import EpochReport, Trainer, TrainerGroup, signature
from nnplay.engine.group import Signature

from ..options import MAX_FPS
from . import faults
from .run import Delivery, LiveRun
from .slices import Job, Slices

log = logging.getLogger("nnplay.workers")

HORIZON = 0.008  # seconds: an epoch due this soon is stepped now, with the others (half a frame at 60/s)
LATE = 0.05  # seconds behind its pace that make a run late: the worker is overloaded
QUANTUM = 0.005  # seconds of engine time a run may be ahead of the least served due run and still train
WINDOW = 0.05  # seconds of engine time a run may fall behind the most served one (see fair_share)
MAX_WAIT = 0.05  # seconds a due run may be held back by fair_share before it trains regardless
PART = 0.005  # seconds of engine time a run's long work (a lone epoch, a command's job) takes in a round at most


class FrameGovernor:
    """Past capacity, frames give way to epochs, for every run alike.

    A frame (a pass over the grid and the encoding) costs more than a stacked epoch of a small network, and
    while epochs are slower than the client's fps every epoch is framed, so an overloaded worker would spend
    most of its time on frames and fall further behind. When more than a quarter of the paced runs are over
    ``LATE`` seconds behind (:meth:`LiveClock._govern`), every run's fps is scaled down by ``DOWN`` (at most
    every ``PERIOD`` seconds, to no less than ``FLOOR`` frames/s); otherwise it grows back by ``UP``.
    """

    DOWN, UP, PERIOD, FLOOR = 0.8, 1.25, 0.1, 2.0

    def __init__(self) -> None:
        self.share = 1.0
        self._changed = 0.0

    def __repr__(self) -> str:
        return f"FrameGovernor(share={self.share:.2f})"

    def update(self, late: bool, now: float) -> None:
        if now - self._changed < self.PERIOD:
            return
        self._changed = now
        lowest = self.FLOOR / MAX_FPS  # below this every run is at the floor anyway
        self.share = max(self.share * self.DOWN, lowest) if late else min(self.share * self.UP, 1.0)

    def fps(self, requested: float) -> float:
        """The frame rate a run gets now for the ``requested`` one."""
        return min(requested, max(requested * self.share, self.FLOOR))


class Stacks:
    """The worker's :class:`~nnplay.engine.TrainerGroup` per signature. Trainers whose signature another live trainer
    of the worker shares train in that signature's group (sessions running the same lesson are one stacked
    computation); a trainer with no peer steps alone, which is faster than a group of one (C2: about 1.5x).
    A live change of optimiser or batch size moves a trainer to its new signature's group at its next epoch.
    Members with different paces are stepped with ``step_epoch(members=...)``: only those whose epoch is due.

    A trainer whose epoch costs more than ``PART`` steps alone, its epoch in parts of ``PART`` (a stacked
    step cannot be cut short, and stacking gains little where the arithmetic outweighs the per-call overhead),
    and so does a new trainer until its first epoch has shown what it costs."""

    def __init__(self) -> None:
        self.groups: dict[Signature, TrainerGroup] = {}
        self._known: dict[Trainer, tuple[Any, Signature]] = {}  # trainer → (the config it had, its signature)
        self._peers: dict[Signature, set[Trainer]] = {}
        self.unstacked: set[Signature] = set()  # signatures whose stacked step failed though each member's did not
        self._epochs: dict[Trainer, Slices] = {}  # lone trainers' epochs in progress
        self._spent: dict[Trainer, float] = {}  # CPU seconds of those epochs so far
        self._alone: set[Trainer] = set()  # trainers that step alone (see above); not in their peer sets

    def __repr__(self) -> str:
        return f"Stacks({sorted(len(g) for g in self.groups.values())})"

    def step(self, trainers: list[Trainer], framed: list[Callable[[], bool]]
             ) -> tuple[list[EpochReport | Exception | None], list[float]]:
        """One epoch of each trainer; those whose epoch a frame follows (``framed``, asked when the epoch
        ends) also get gradient norms and confusion matrices from their report's pass. A trainer that steps
        alone trains for at most ``PART`` seconds: its epoch may go on in the next call (its report is None
        until it is done). Returns the reports in the order given (the exception instead, for a trainer whose
        epoch raised: see :meth:`_apart`) and each trainer's share of the CPU time (a stacked step's time split
        evenly among its members). CPU time of the process, so that BLAS threads count too; a worker process
        does nothing else meanwhile."""
        # One stacked step per group: a frame-due member asks the whole step for gradient norms and confusion
        # matrices (a backward pass over the training set, cheap when stacked), which costs less than a second
        # stacked step for the others plus the copies of stepping two subsets (classroom.py, K = 24 C2).
        batches: dict[int, tuple[Optional[TrainerGroup], list[Trainer], list[Callable[[], bool]]]] = {}
        for trainer, full in zip(trainers, framed):
            group = None if trainer in self._epochs else self._group_of(trainer)  # an epoch ends where it began
            batch = batches.setdefault(id(group or trainer), (group, [], []))
            batch[1].append(trainer)
            batch[2].append(full)
        reports: dict[int, EpochReport | Exception | None] = {}
        costs: dict[int, float] = {}
        for group, chosen, fulls in batches.values():
            started, full = time.process_time(), False
            try:
                if group is None:
                    reports[id(chosen[0])] = self._step_alone(chosen[0], fulls[0])
                else:
                    full = any([ask() for ask in fulls])  # (every run's frame_due is asked: it takes the token)
                    reports.update(zip(map(id, chosen), group.step_epoch(chosen, gradients=full, confusion=full)))
            except Exception as exc:  # noqa: BLE001 - one session's failure: its run ends, the others train on
                reports.update(self._apart(group, chosen, full, exc))
            share = (time.process_time() - started) / len(chosen)
            costs.update((id(trainer), share) for trainer in chosen)
            for trainer in chosen:
                self._weigh(trainer, share, reports[id(trainer)])
        return [reports[id(t)] for t in trainers], [costs[id(t)] for t in trainers]

    def _step_alone(self, trainer: Trainer, framed: Callable[[], bool]) -> Optional[EpochReport]:
        """``trainer.step_epoch`` in parts of at most ``PART`` seconds: the report once the epoch is done."""
        epoch = self._epochs.get(trainer)
        if epoch is None:
            trainer.start_epoch()
            epoch = self._epochs[trainer] = Slices(trainer.epoch_parts)
        if not epoch.advance(PART):
            return None
        del self._epochs[trainer]
        full = framed()
        return trainer.settle(trainer.report(full, full))

    def _weigh(self, trainer: Trainer, cost: float, report: EpochReport | Exception | None) -> None:
        """Add ``cost`` to the trainer's epoch; a finished epoch's whole cost says whether it steps alone."""
        spent = self._spent.pop(trainer, 0.0) + cost
        if report is None:  # the epoch goes on
            self._spent[trainer] = spent
            return
        if isinstance(report, Exception):  # its run fails and is released
            return
        alone, peers = spent > PART, self._peers[self._signature(trainer)]
        if alone and trainer not in self._alone:
            self._alone.add(trainer)
            peers.discard(trainer)
        elif not alone and trainer in self._alone:
            self._alone.discard(trainer)
            peers.add(trainer)

    def _apart(self, group: Optional[TrainerGroup], chosen: list[Trainer], full: bool,
               exc: Exception) -> dict[int, EpochReport | Exception]:
        """After a step of ``chosen`` raised ``exc``: each one's epoch stepped alone, out of its group, to find
        the culprits (their exception in place of a report); the others get their epoch (a member the failed
        stacked step had already counted gets a second one). A signature whose stacked step fails while no
        member's own does trains unstacked from then on, so the worker never fails that step again and again."""
        if group is None:
            return {id(chosen[0]): exc}
        results: dict[int, EpochReport | Exception] = {}
        for trainer in chosen:
            self._leave(trainer)
            try:
                results[id(trainer)] = trainer.step_epoch(gradients=full, confusion=full)
            except Exception as own:  # noqa: BLE001 - this one is a culprit
                results[id(trainer)] = own
        if not any(isinstance(result, Exception) for result in results.values()):
            self.unstacked.add(group.signature)
            log.warning("a stacked step of %d runs failed (%s) and none alone did: they train unstacked from now",
                        len(chosen), faults.describe(exc))
        return results

    def key(self, run: LiveRun) -> Hashable:
        """Which stacked step(s) ``run`` trains in: its members' signatures (a compare run may have several),
        or for those that step alone, and for a command's job, the run's own."""
        if run.job is not None:
            return run
        return tuple(trainer if trainer in self._alone or trainer in self._epochs else self._signature(trainer)
                     for trainer in run.members())

    def track(self, trainers: list[Trainer]) -> None:
        """Note every live trainer's signature (a dictionary look-up unless its config changed), so that a
        trainer's peers are known before they next train."""
        for trainer in trainers:
            self._signature(trainer)

    def release(self, trainers: list[Trainer]) -> None:
        """Forget trainers (a session closed or built a new network): out of their groups and peer sets."""
        for trainer in trainers:
            self._epochs.pop(trainer, None)
            self._spent.pop(trainer, None)
            self._alone.discard(trainer)
            known = self._known.pop(trainer, None)
            if known is not None:
                self._peers[known[1]].discard(trainer)
            self._leave(trainer)

    def _signature(self, trainer: Trainer) -> Signature:
        known = self._known.get(trainer)
        if known is not None and known[0] is trainer.config:  # ``update`` replaces the config
            return known[1]
        if known is not None:
            self._peers[known[1]].discard(trainer)
        else:
            self._alone.add(trainer)  # until its first epoch has been weighed
        key = signature(trainer)
        self._known[trainer] = (trainer.config, key)
        peers = self._peers.setdefault(key, set())
        if trainer not in self._alone:
            peers.add(trainer)
        return key

    def _group_of(self, trainer: Trainer) -> Optional[TrainerGroup]:
        """The group ``trainer`` trains in now (joining it if need be), or None to step alone."""
        key = self._signature(trainer)
        if trainer in self._alone or len(self._peers[key]) < 2 or key in self.unstacked:
            self._leave(trainer)
            return None
        group = self.groups.get(key)
        if group is not None and trainer.group is group:
            return group
        if group is None or not len(group):
            group = self.groups[key] = TrainerGroup.of([trainer])
        else:
            group.add(trainer)
        return group

    def _leave(self, trainer: Trainer) -> None:
        group = trainer.group
        if group is not None:
            group.remove(trainer)
            if not len(group) and self.groups.get(group.signature) is group:
                del self.groups[group.signature]


def fair_share(due: list[LiveRun], stack_of: Callable[[LiveRun], Hashable] = id, now: float = 0.0) -> list[LiveRun]:
    """The due runs that may train in this round: those within ``QUANTUM`` of the least engine time used
    among them. A run that needs little (a small network at its pace) is never held back, one that needs
    much takes what the others leave, and when all want more than there is, each gets the same CPU time
    (max-min fairness, as in fair queueing). No run is credited more than ``WINDOW`` of time it did not use,
    so one that was idle or cheap cannot then hold the others back for long.

    Runs with one ``stack_of`` key train in one stacked step, so they are admitted together when any of
    them is: a member adds little to a step that runs anyway, whereas holding a few back (their frames made
    them a little more expensive) costs a second stacked step for them alone, which is what overloaded
    a worker (C2, 16 sessions in a worker: 16 due runs split 11 + 5 in most rounds).

    No run waits longer than ``MAX_WAIT`` (from ``now``): a lead in engine time is paid back at the pace
    of the others' cheap stacked epochs, so a session that had trained alone for a while and then paused
    and played again beside a late class waited up to 0.8 s for its first epoch (classroom.py's probe,
    K = 32 C2)."""
    if not due:
        return due
    top = max(run.used for run in due)
    for run in due:
        run.used = max(run.used, top - WINDOW)
    floor = min(run.used for run in due)
    keys = [stack_of(run) for run in due]
    admitted = {key for run, key in zip(due, keys)
                if run.used <= floor + QUANTUM or (run.due_since is not None and now - run.due_since >= MAX_WAIT)}
    for run, key in zip(due, keys):
        run.due_since = None if key in admitted else run.due_since if run.due_since is not None else now
    return [run for run, key in zip(due, keys) if key in admitted]


class LiveClock:
    """The rounds of one engine worker's live runs."""

    def __init__(self, slice_seconds: float):
        self.slice_seconds = slice_seconds
        self.runs: set[LiveRun] = set()
        self.stacks = Stacks()
        self.governor = FrameGovernor()
        self.ticks = 0
        self.failed: dict[LiveRun, str] = {}  # runs whose work raised (why), out of training: the worker ends them
        self.done: list[Job] = []  # commands' jobs finished in the rounds since the worker last answered them

    def __repr__(self) -> str:
        return f"LiveClock({len(self.runs)} runs, {self.ticks} ticks)"

    def due_in(self) -> Optional[float]:
        """Seconds until some run wants an epoch (0: now), or None while none trains."""
        now = time.perf_counter()
        return min((w for w in (run.due_in(now, HORIZON) for run in self.runs) if w is not None), default=None)

    def tick(self, interrupted: Callable[[], bool] = lambda: False) -> set[LiveRun]:
        """Rounds of epochs until nothing is due, the slice is over or ``interrupted()``; returns the runs
        that trained (their frames are in their mailboxes, a stop in ``finished``)."""
        self.ticks += 1
        start, news = time.perf_counter(), set()
        while True:
            try:
                stepped, deliveries, stops = self._round(list(self.runs))
            except Exception:  # noqa: BLE001 - raised outside any one run's step or frame: find whose it is
                stepped, deliveries, stops = self._rounds_apart(list(self.runs))
            for run, delivery in deliveries:
                if run not in self.failed:
                    with self.isolated(run):
                        delivery.deliver()
            for run, why in stops:
                if run not in self.failed:
                    run.publish_stop(why)
            news.update(stepped)
            if not stepped or time.perf_counter() - start >= self.slice_seconds or interrupted():
                self._govern()
                return news

    def _govern(self) -> None:
        """Overloaded when more than a quarter of the paced runs are late: one student's huge network,
        behind on its own share of the engine, does not cost everyone else their frames."""
        now = time.perf_counter()
        lateness = [late for late in (run.lateness(now) for run in self.runs) if late is not None]
        self.governor.update(sum(late > LATE for late in lateness) * 4 > len(lateness), now)

    @contextmanager
    def isolated(self, run: LiveRun) -> Iterator[None]:
        """The work of one run: an exception in it fails the run (:meth:`fail`), not the tick or the worker."""
        try:
            yield
        except Exception as exc:  # noqa: BLE001 - one session's failure: its run ends, the others train on
            self.fail(run, exc)

    def fail(self, run: LiveRun, exc: Exception) -> None:
        """Take ``run`` out of training for good, with why, until the worker has ended its session."""
        self.failed.setdefault(run, faults.describe(exc))
        self.runs.discard(run)
        try:
            self.stacks.release(run.trainers)
        except Exception as release:  # noqa: BLE001 - its group may be as broken as it is
            log.warning("a failed run's trainers could not leave their group: %s", faults.describe(release))

    def _rounds_apart(self, runs: list[LiveRun]) -> tuple[list[LiveRun], list[tuple[LiveRun, Delivery]],
                                                            list[tuple[LiveRun, str]]]:
        """After a round raised outside any one run's work: a round of each run alone, so that only a run whose
        own round raises fails (a run the failed round had stepped gets a second epoch)."""
        stepped: list[LiveRun] = []
        deliveries: list[tuple[LiveRun, Delivery]] = []
        stops: list[tuple[LiveRun, str]] = []
        for run in runs:
            with self.isolated(run):
                alone = self._round([run])
                stepped += alone[0]
                deliveries += alone[1]
                stops += alone[2]
        return stepped, deliveries, stops

    def _round(self, runs: list[LiveRun]) -> tuple[list[LiveRun], list[tuple[LiveRun, Delivery]],
                                                   list[tuple[LiveRun, str]]]:
        """One epoch (or part of a long one) of every run that wants one, or a part of its command's job, for
        the runs that have not had more than their share of the engine, stepped together; the frames of the
        finished epochs copied out. Each run is charged the CPU time spent on it. A run whose epoch or frame
        raises fails (:meth:`isolated`); the others go on."""
        now = time.perf_counter()
        self.stacks.track([trainer for run in runs for trainer in run.trainers])
        due = fair_share([run for run in runs if run.busy or run.wants_epoch(now, HORIZON)], self.stacks.key, now)
        training = [run for run in due if run.job is None]
        for run in due:
            if run.job is not None:
                with self.isolated(run):
                    self._work(run)
        framed: dict[LiveRun, bool] = {}

        def frame_due(run: LiveRun) -> bool:  # asked once per run and round: it takes a frame's token
            if run not in framed:
                framed[run] = run.frame_due(now, self.governor)
            return framed[run]

        members = [(run, trainer) for run in training for trainer in run.epoch_members()]
        reports, costs = self.stacks.step([t for _, t in members], [partial(frame_due, run) for run, _ in members])
        for (run, trainer), cost, report in zip(members, costs, reports):
            run.used += cost
            if isinstance(report, Exception):
                self.fail(run, report)
            else:
                run.trained(trainer, report)
        deliveries, stops = [], []
        for run in training:
            if run in self.failed:
                continue
            with self.isolated(run):
                run_reports = run.epoch_reports()
                if run_reports is None:
                    continue  # its epoch goes on in the next round
                stop = run.epoch_done(run_reports, now)
                if stop is not None:
                    stops.append((run, stop))
                if frame_due(run) or stop is not None:
                    started = time.process_time()
                    frames = run.frames(run_reports, playing=False if stop is not None else None)
                    deliveries += [(run, delivery) for delivery in frames]
                    run.used += time.process_time() - started
        return due, deliveries, stops

    def _work(self, run: LiveRun) -> None:
        """A part of the run's job, charged to it; a finished job waits in ``done`` for the worker to answer."""
        started = time.process_time()
        if run.job.advance(PART):
            self.done.append(run.job)
            run.job = None
        run.used += time.process_time() - started

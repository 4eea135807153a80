"""The worker side of one live session: a :class:`LiveRun` owns the run's trainers, pace, view and frames.

It lives in an engine worker (server/live/worker.py), which is single-threaded: the clock
(server/live/clock.py) trains it between the session's commands, never during one. The socket side
(server/live/session.py) decides the :class:`Mode` and sends a new :class:`Plan` for every change; the run
takes it up before its next epoch and reports in ``finished`` when it stopped by itself.

A frame's numbers come from one evaluation: an epoch that a frame follows is stepped with
``gradients=True, confusion=True``, so its report's forward pass over the training and test sets gives
the losses, accuracies, confusion matrices and gradient norms, and the grid is one more pass. Frames are
copied out of the trainers (:func:`~nnplay.server.live.frames.frame_parts`) and encoded into the mailbox after the
round (:meth:`Delivery.deliver`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Optional

from nnplay.engine import EpochReport, Trainer
from nnplay.engine.compare import Comparison

from ..options import DEFAULT_SPEED, view_defaults
from .frames import EXTRAS, FrameParts, encode_parts, frame_parts
from .pacing import Mailbox, Pace
from .slices import Job

# A live trainer keeps only its latest report (frames and the state use no other): the session's loss curve,
# what a reconnect needs, is kept as compact rows in its mailboxes (pacing.HISTORY_ROWS), whereas the
# engine's default of 2,000 reports of about 2 KB each was 4-5 MB per C2 session.
LIVE_REPORTS = 1


class Mode(Enum):
    """What a live session is doing; the session changes it in one place (``Session._transition``)."""

    PAUSED = "paused"
    PLAYING = "playing"  # epochs at the session's speed, frames at the client's fps
    STEPPING = "stepping"  # ``steps`` epochs at full speed, then paused


@dataclass(frozen=True)
class Plan:
    """The session's instruction to its run. A new plan (a new ``serial``) means "start over": the pace
    restarts and the step count starts from zero, even when the other fields are as before."""

    serial: int = 0
    mode: Mode = Mode.PAUSED
    speed: float | str = float(DEFAULT_SPEED)
    steps: int = 0


def default_view() -> dict[str, Any]:
    """What a new session's frames carry and how often (from ``view_defaults``; the speed is the plan's)."""
    defaults = view_defaults()
    return {"density": defaults["density"], "thumb": defaults["thumb"], "fps": float(defaults["fps"]),
            "extras": list(EXTRAS)}


def evaluate(trainer: Trainer) -> EpochReport:
    """A frame's report of the trainer's current weights: losses, metrics, gradient norms and confusion
    matrices from one forward pass over each set."""
    return trainer.report(gradients=True, confusion=True)


@dataclass
class Delivery:
    """One frame, copied out of its trainer, waiting to be encoded and put in its mailbox."""

    mailbox: Mailbox
    parts: FrameParts
    epoch: int
    history: bool
    playing: bool
    epochs_per_second: float
    variant: Optional[dict[str, Any]]

    def deliver(self) -> None:
        self.mailbox.put(lambda rows: encode_parts(
            self.parts, playing=self.playing, epochs_per_second=self.epochs_per_second,
            history=rows if self.history else None, variant=self.variant), self.epoch)


class LiveRun:
    """One session's trainers (one, or a comparison's 2–4 variants), its pace, view and mailboxes."""

    def __init__(self, trainers: list[Trainer], comparison: Optional[Comparison] = None):
        self.plan = Plan()
        self.view = default_view()
        self.pace = Pace()
        self.used = 0.0  # engine CPU seconds spent on this run (server/live/clock.py shares the engine by it)
        self.due_since: Optional[float] = None  # when fair_share first held it back, while it still waits
        self.finished: Optional[tuple[int, str]] = None  # (plan serial, why) once it stopped by itself
        self._following: Optional[Plan] = None  # the plan the pace and the step count were started for
        self._steps_done = 0
        self._stopped: Optional[Plan] = None  # as ``finished``, for the worker, before the last frame is out
        self.job: Optional[Job] = None  # a command's work in progress (server/live/slices.py); no epochs meanwhile
        self.replace(trainers, comparison)

    def __repr__(self) -> str:
        return (f"LiveRun({len(self.trainers)} trainer(s), {self.plan.mode.value}, speed={self.plan.speed}, "
                f"epoch={self.trainer.epoch})")

    @property
    def trainer(self) -> Trainer:
        """The only trainer, or the first variant of a comparison."""
        return self.trainers[0]

    def replace(self, trainers: list[Trainer], comparison: Optional[Comparison]) -> None:
        """New trainers (a ``configure``), with new mailboxes and history."""
        for trainer in trainers:
            trainer.history_limit = LIVE_REPORTS
        self.trainers, self.comparison = trainers, comparison
        self.mailboxes = [Mailbox() for _ in trainers]
        self.frozen: set[int] = set()  # compare mode: variants that diverged or stopped early wait here
        self._unfinished: Optional[list[Trainer]] = None  # the members still in the epoch in progress
        self._reports: list[Optional[EpochReport]] = []  # that epoch's reports so far, per trainer
        self.restart_history()

    def restart_history(self) -> None:
        """Forget the measured rate, the unsent frames and the history rows (new weights or a new network)."""
        self.pace.clear()
        self.framed: tuple[int, bool] = (-1, False)  # (epoch, playing) of the last frame put in the mailboxes
        for mailbox in self.mailboxes:
            mailbox.restart()

    # ---- the clock ----------------------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """Whether work of this run is in progress, a command's job or an epoch spread over several rounds
        (an epoch of a huge network): it goes on in the next round, and the session's commands wait for it."""
        return self.job is not None or self._unfinished is not None

    def due_in(self, now: float, horizon: float) -> Optional[float]:
        """Seconds until this run wants an epoch or has work to go on with (0: now), or None while it does
        not train."""
        if self.busy:
            return 0.0
        plan = self.plan
        if plan is not self._following:
            return 0.0  # a new plan: the worker must take it up
        if plan.mode is Mode.PAUSED or self._stopped is plan:
            return None
        if plan.mode is Mode.STEPPING or plan.speed == "max":
            return 0.0
        return max(self.pace.next_epoch_at - horizon - now, 0.0)

    # ---- one epoch ----------------------------------------------------------------------------------------------
    def wants_epoch(self, now: float, horizon: float) -> bool:
        """Whether an epoch is due by ``now + horizon`` (taking up a new plan first)."""
        plan = self.plan
        if plan is not self._following:
            self._following, self._steps_done = plan, 0
            self.pace.start(now)
            self.due_since = None
            if plan.mode is Mode.PLAYING:
                self.frozen = set()  # compare mode: stopped variants join in again, as a lone trainer would
        if plan.mode is Mode.PAUSED or self._stopped is plan:
            return False
        if plan.mode is Mode.STEPPING:
            return self._steps_done < plan.steps
        return plan.speed == "max" or self.pace.epoch_due(now + horizon)

    def members(self) -> list[Trainer]:
        """The trainers that take part in the next epoch (a stopped variant waits)."""
        return [t for i, t in enumerate(self.trainers) if i not in self.frozen]

    def epoch_members(self) -> list[Trainer]:
        """The trainers that train in this round: those that have not finished the epoch in progress, or
        (starting an epoch) every member."""
        if self._unfinished is None:
            self._unfinished = self.members()
            self._reports = [None] * len(self.trainers)
        return list(self._unfinished)

    def trained(self, trainer: Trainer, report: Optional[EpochReport]) -> None:
        """Note a round's work on ``trainer``: its epoch's ``report``, or None while its epoch goes on."""
        if report is not None:
            self._reports[self.trainers.index(trainer)] = report
            self._unfinished.remove(trainer)

    def epoch_reports(self) -> Optional[list[Optional[EpochReport]]]:
        """Once every member has finished the epoch: its reports per trainer (None for one that waited),
        and the epoch is over. None while it goes on."""
        if self._unfinished:
            return None
        reports, self._unfinished, self._reports = self._reports, None, []
        return reports

    def frame_due(self, now: float, governor: Any) -> bool:
        """Whether the next epoch is followed by a frame: at the client's fps (as the worker's
        :class:`~nnplay.server.live.clock.FrameGovernor` allows), and after a step's last epoch."""
        plan = self._following
        last_step = plan.mode is Mode.STEPPING and self._steps_done + 1 >= plan.steps
        return self.pace.frame_due(now, governor.fps(self.view["fps"])) or last_step

    def lateness(self, now: float) -> Optional[float]:
        """Seconds this run is behind its pace; None unless it plays at a set speed."""
        plan = self._following
        if plan is None or plan.mode is not Mode.PLAYING or plan.speed == "max" or self._stopped is plan:
            return None
        return max(now - self.pace.next_epoch_at, 0.0)

    def epoch_done(self, reports: list[Optional[EpochReport]], now: float) -> Optional[str]:
        """Record the epoch (``reports`` per trainer, None for one that waited): history rows, the pace, the
        step count. Returns why training stopped by itself ("stepped", "diverged", "early_stopped") or None."""
        plan = self._following
        for index, report in enumerate(reports):
            if report is None:
                continue
            if report.status != "diverged":
                self.mailboxes[index].add_row(report.epoch, report.train_loss, report.test_loss)
            if report.status != "ok" and self.comparison is not None:
                self.frozen.add(index)
        self.pace.sample(now, self.trainer.epoch)
        if plan.mode is Mode.PLAYING and plan.speed != "max":
            self.pace.epoch_done(now, plan.speed)
        stop = None
        if plan.mode is Mode.STEPPING:
            self._steps_done += 1
            stop = "stepped" if self._steps_done >= plan.steps else None
        if self.comparison is None and reports[0].status != "ok":
            stop = reports[0].status
        elif len(self.frozen) == len(self.trainers):  # compare mode: every variant has stopped by itself
            stop = "diverged" if any(r is not None and r.status == "diverged" for r in reports) else "early_stopped"
        if stop is not None:
            self._stopped = plan
        return stop

    def publish_stop(self, why: str) -> None:
        """Tell the session that training stopped by itself (after the last frame is in the mailbox)."""
        self.finished = (self._following.serial, why)

    # ---- frames -------------------------------------------------------------------------------------------------
    def frames(self, reports: Optional[list[Optional[EpochReport]]] = None,
               playing: Optional[bool] = None) -> list[Delivery]:
        """A frame per trainer of its current state, copied out for encoding after the round.
        ``reports`` of this epoch are reused where they carry what a frame needs; others are evaluated."""
        view, plan = self.view, self.plan
        playing = plan.mode is Mode.PLAYING if playing is None else playing
        rate = self.pace.epochs_per_second() if plan.mode is not Mode.PAUSED else 0.0
        deliveries = []
        for index, trainer in enumerate(self.trainers):
            report = reports[index] if reports else None
            fresh = report is not None and report.epoch == trainer.epoch and report.status == "ok" \
                and report.grad_norms
            report = report if fresh else evaluate(trainer)
            grid = trainer.grid(density=view["density"], thumb=view["thumb"])
            variant = None if self.comparison is None else {
                "variant": index, "variants": len(self.trainers), "label": self.comparison.labels[index]}
            deliveries.append(Delivery(self.mailboxes[index], frame_parts(trainer, report, grid, view["extras"]),
                                       trainer.epoch, "history" in view["extras"], playing, rate, variant))
        self.framed = (self.trainer.epoch, playing)
        return deliveries

    def frame_now(self, playing: Optional[bool] = None) -> None:
        """A frame of the current state in each mailbox (after a command, or when training stops)."""
        for delivery in self.frames(playing=playing):
            delivery.deliver()

    def frame_is_current(self) -> bool:
        """Whether the last frame shows the trainers as they are now (epoch, playing or not)."""
        return self.framed == (self.trainer.epoch, self.plan.mode is Mode.PLAYING)

    def take_frames(self) -> list[bytes]:
        """The frames waiting in the mailboxes, variant by variant."""
        return [frame for frame in (mailbox.take() for mailbox in self.mailboxes) if frame is not None]

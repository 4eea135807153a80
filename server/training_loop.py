"""The training half of a live session (server/session.py): the trainer loop, its bursts, and the frames.

:class:`TrainingLoop` is a mixin of :class:`nnplay.server.session.Session`; it uses the session's ``trainer``,
``mode``, ``speed``, ``view``, ``pool``, ``engine_lock``, ``mailbox`` and ``pace``. While the session plays
or steps, the loop asks the engine pool for a turn and runs a *burst* in a worker thread: the epochs due
at the session's speed (all of them at "max"), until the pool says the turn is over, plus a frame whenever
one is due at the client's fps. Frames go through the one-slot mailbox to the sender task.
"""

from __future__ import annotations

import time
from typing import Optional

import anyio
import anyio.lowlevel

from nnplay.engine import EpochReport

from .frames import encode_frame


class TrainingLoop:
    """Pacing, bursts and frames of a :class:`~nnplay.server.session.Session`."""

    # ---- pace ------------------------------------------------------------------------------------------------
    def _start_playing(self) -> None:
        self.frozen = set()  # compare mode: stopped variants join in again, as a lone trainer would
        now = time.perf_counter()
        self.pace.start(now)
        self.mode = "playing"
        self._wake.set()

    def _set_speed(self, speed: float | str) -> None:
        self.speed = speed
        self.pace.start(time.perf_counter())
        self._wake.set()

    async def _trainer_loop(self) -> None:
        while True:
            if self.mode == "paused":
                await self._after_pause()
                if self.mode == "paused":
                    await self._wait(None)
                continue
            stop = await self.pool.run(self._burst, lock=self.engine_lock)
            self.mailbox.notify()
            finished = stop == "stepped" and self.mode == "stepping"  # (not if a newer command took over)
            if finished or stop in ("diverged", "early_stopped"):  # training stopped by itself
                reply = self._step_id if self.mode == "stepping" else None
                self.mode = "paused"
                self.last_activity = time.monotonic()
                await self._send_state(reply)
            elif self.mode == "playing" and self.speed != "max":
                await self._wait(self.pace.next_epoch_at - time.perf_counter())
            else:
                await anyio.lowlevel.checkpoint()

    async def _after_pause(self) -> None:
        """After a pause: the last frame, unless the client has it (built after the pause's answer, so that a
        large grid cannot delay that), and the late ``state`` of a pause that did not wait for its epoch."""
        if self._late_pause:
            self._late_pause = False
            await self._send_state(None)
        if self.trainer is not None and self.trainer.epoch != self._last_frame_epoch:
            await self._frame_now()

    async def _wait(self, seconds: Optional[float]) -> None:
        """Sleep until woken by a command (or for ``seconds``)."""
        if seconds is not None and seconds <= 0:
            return
        with anyio.move_on_after(seconds):  # None: no time limit
            await self._wake.wait()
        self._wake = anyio.Event()

    def _burst(self) -> Optional[str]:
        """Worker thread, holding engine_lock: train the epochs due now, for at most one slice.

        Returns None to go on, or why training stopped: "paused", "stepped", "diverged", "early_stopped".
        """
        trainer, pace, start = self.trainer, self.pace, time.perf_counter()
        stop = None
        while True:
            mode, speed = self.mode, self.speed
            if mode == "paused":
                stop = "paused"
                break
            now = time.perf_counter()
            paced = mode == "playing" and speed != "max"
            if paced and not pace.epoch_due(now):
                break
            reports = self._group_epoch()
            pace.sample(now, trainer.epoch)
            if paced:
                pace.epoch_done(now, speed)
            if mode == "stepping":
                self._steps_left -= 1
                stop = "stepped" if self._steps_left <= 0 else None
            if len(reports) == 1 and reports[0].status != "ok":
                stop = reports[0].status
            elif len(self.frozen) == len(reports):  # compare mode: every variant has stopped by itself
                stop = "diverged" if any(r.status == "diverged" for r in reports) else "early_stopped"
            framed = bool(stop) or pace.frame_due(time.perf_counter(), self.view["fps"])
            if framed:
                self._put_frame(reports, playing=stop is None and self.mode == "playing")  # (paused meanwhile?)
            if stop or self.pool.turn_over(time.perf_counter() - start, framed):
                break
        return stop

    def _group_epoch(self) -> list[Optional[EpochReport]]:
        """Worker thread: one epoch of every trainer of the group (a stopped variant waits), its losses into
        that variant's history. Returns each variant's report (None for one that waited)."""
        reports: list[Optional[EpochReport]] = []
        for index, (trainer, mailbox) in enumerate(zip(self.group, self.mailboxes)):
            if index in self.frozen:
                reports.append(None)
                continue
            report = trainer.step_epoch(gradients=False)  # the frame computes them, at frame rate
            if report.status != "diverged":
                mailbox.add_row(report.epoch, report.train_loss, report.test_loss)
            if report.status != "ok" and self.comparison is not None:
                self.frozen.add(index)
            reports.append(report)
        return reports

    def _restart_history(self) -> None:
        self.pace.clear()
        self._last_frame_epoch = -1
        for mailbox in self.mailboxes:
            mailbox.restart()

    # ---- frames ------------------------------------------------------------------------------------------------
    def _put_frame(self, reports: Optional[list[Optional[EpochReport]]], playing: bool) -> None:
        """Worker thread, holding engine_lock: evaluate the grids and put a frame per variant in the mailboxes."""
        view, count = self.view, len(self.group)
        rate = self.pace.epochs_per_second() if self.mode != "paused" else 0.0
        for index, (trainer, mailbox) in enumerate(zip(self.group, self.mailboxes)):
            report = reports[index] if reports else None
            fresh = report is not None and report.epoch == trainer.epoch and report.status == "ok"
            report = report if fresh else trainer.report()
            if not report.grad_norms and "gradients" in view["extras"]:
                report = report.model_copy(update={"grad_norms": trainer.gradient_norms()})
            grid = trainer.grid(density=view["density"], thumb=view["thumb"])
            variant = None if self.comparison is None else {
                "variant": index, "variants": count, "label": self.comparison.labels[index]}
            mailbox.put(lambda history, t=trainer, r=report, g=grid, v=variant: encode_frame(
                t, r, g, extras=view["extras"], playing=playing, epochs_per_second=rate, history=history,
                variant=v), trainer.epoch)
        self._last_frame_epoch = self.trainer.epoch

    async def _frame_now(self) -> None:
        """A frame of the current state (after a command while paused)."""
        await self.pool.run(lambda: self._put_frame(None, playing=self.mode == "playing"), lock=self.engine_lock)
        self.mailbox.notify()

    async def _sender(self) -> None:
        while True:
            await self.mailbox.wait()  # every mailbox is filled in the same burst; the first one rings
            for mailbox in self.mailboxes:
                frame = mailbox.take()
                if frame is not None:
                    await self._send(data=frame)

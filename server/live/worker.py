"""An engine worker: the live sessions of one process (or, with ``engine_processes=0``, one thread).

The server (``supervisor``) talks to a worker over a channel (a ``multiprocessing`` pipe, or its in-process
twin) with the messages of ``wire``. The worker is single-threaded: a command never lands inside an epoch,
and nothing needs a lock. Between rounds of its clock (``clock``) it reads every message waiting. A
session's first ``configure`` is answered at once; its later commands (each a
:class:`~nnplay.server.live.wire.Call`) are its run's jobs (``slices``), done in the clock's rounds as its
fair share allows, in order, and answered with a reply when done. After each round it sends one
:class:`~nnplay.server.live.wire.News` with the new frames and stops of the sessions whose last frames
have gone out. An exception in one session's work ends that session only (server/live/faults.py): a command
is answered with :class:`~nnplay.server.live.wire.Failed`, and a session whose epoch, frame or report
raised is forgotten and reported with :class:`~nnplay.server.live.wire.SessionFailed`.
"""

from __future__ import annotations

from collections import deque
from functools import partial
from typing import Any, Callable, Optional

from pydantic import ValidationError

from nnplay.engine import Limits, Trainer
from nnplay.engine.compare import DATA_FIELDS, Comparison, fitting_weights
from nnplay.engine.formulas import FormulaValueError
from nnplay.engine.probes import finish, gradient_check_parts, grid_inputs

from ..problems import InvalidInput, describe
from ..trainers import build_trainer, with_device
from . import faults, wire
from .clock import LiveClock
from .frames import encode_data
from .pacing import finite
from .run import LiveRun, Mode, Plan
from .slices import Job, Parts


class WorkerSession:
    """The engine side of one session: its :class:`LiveRun` and the commands that need the engine. Each
    command returns a dict: ``facts`` (the trainer's part of a ``state``), ``frames``, ``data``, ``result``."""

    def __init__(self, limits: Limits, device: Optional[str], clock: LiveClock):
        self.limits, self.device, self.clock = limits, device, clock
        self.run: Optional[LiveRun] = None
        self.credit = True  # whether the server has sent this session's last frames
        self.waiting: deque[wire.Call] = deque()  # commands that arrived while its run was busy, in order

    @property
    def busy(self) -> bool:
        """Whether its run has work in progress (its next command waits for it)."""
        return self.run is not None and self.run.busy

    def facts(self) -> dict[str, Any]:
        """What a ``state`` says about the trainers (the session adds id, playing and speed)."""
        t, c = self.run.trainer, self.run.comparison
        variants = None if c is None else [
            {"label": label, "overrides": overrides, "status": v.status, "message": v.message, "epoch": v.epoch,
             "sizes": list(v.network.sizes)}
            for label, overrides, v in zip(c.labels, c.overrides, c.trainers)]
        return {"epoch": t.epoch, "status": t.status, "message": t.message,
                "config": (c.base if c is not None else t.config).model_dump(), "seed": t.seed,
                "data_seed": t.data_seed, "init_seed": t.init_seed, "task": t.task, "sizes": list(t.network.sizes),
                "view": dict(self.run.view), "variants": variants, "n_train": t.data.n_train, "n_test": t.data.n_test}

    def _drawn(self, frame: bool = True, **extra: Any) -> dict[str, Any]:
        """facts, and a frame of the current state (if ``frame``), for a command that changed what is drawn."""
        if frame:
            self.run.frame_now()
        return {"facts": self.facts(), "frames": self.run.take_frames(), **extra}

    def _variant(self, index: int) -> Trainer:
        trainers = self.run.trainers
        if not 0 <= index < len(trainers):
            raise InvalidInput.single("variant", index, "no such variant", f"0 to {len(trainers) - 1}")
        return trainers[index]

    # ---- commands ----------------------------------------------------------------------------------------
    def configure(self, config: dict, weights: Optional[list[dict]], epoch: Optional[int],
                  variants: Optional[list[dict]], labels: Optional[list[str]], play: bool,
                  view: Optional[dict[str, Any]] = None) -> dict[str, Any]:
        """Build the trainers and a paused run with its first frame, then put it in the old run's place (the old
        one trains on if any of this fails). ``view``: what the session's frames carried in the worker it moves
        from (the old run's, or a new run's, otherwise)."""
        if variants is None:
            comparison, trainers = None, [build_trainer(config, self.limits, self.device, weights=weights)]
        else:
            comparison = self._comparison(config, variants, labels)
            trainers = comparison.trainers
            if weights is not None:  # a restored comparison: the shared weights go to every variant that fits
                for trainer in trainers:
                    if trainer.network.sizes == trainers[0].network.sizes:
                        trainer.set_weights(fitting_weights(weights, trainer))
        for trainer in trainers:
            if epoch:  # a page restoring its session after a reconnect; the schedule goes on from here
                trainer.epoch = epoch  # (a public attribute: the epoch count the schedule and reports go on from)
        run, old = LiveRun(trainers, comparison), self.run
        run.view = {**(run.view if old is None else old.view), **(view or {})}
        run.frame_now(playing=play)
        data = encode_data(trainers[0])
        if old is not None:  # its unsent frames go too
            run.plan, run.used = Plan(old.plan.serial, Mode.PAUSED), old.used  # paused until the session says otherwise
            self.clock.runs.discard(old)
            self.clock.stacks.release(old.trainers)
        self.run = run
        self.clock.runs.add(run)
        return self._drawn(frame=False, data=data)

    def _comparison(self, config: dict, variants: list[dict], labels: Optional[list[str]]) -> Comparison:
        """The variants of a compare-mode ``configure``; they share data, so they may not change data fields."""
        for index, overrides in enumerate(variants):
            shared = sorted(set(overrides) & set(DATA_FIELDS))
            if shared:
                raise InvalidInput.single(shared[0], overrides[shared[0]], "variants share the data; set data "
                                          "fields on the base config", "training and network fields",
                                          loc=("variants", index, shared[0]))
        try:
            return Comparison(with_device(config, self.device), variants, labels, limits=self.limits)
        except ValidationError as exc:
            raise InvalidInput(describe(exc, ("config",), config_level=True)) from None

    def state(self) -> dict[str, Any]:
        return {"facts": self.facts()}

    def settle(self) -> dict[str, Any]:
        """After a pause (the plan came first): facts, and the last frame unless the client has it."""
        return self._drawn(frame=not self.run.frame_is_current())

    def reset(self, seed: Optional[int]) -> dict[str, Any]:
        (self.run.comparison or self.run.trainer).reset(seed)
        self.run.frozen = set()
        self.run.restart_history()
        return self._drawn()

    def regenerate(self, seed: Optional[int]) -> dict[str, Any]:
        (self.run.comparison or self.run.trainer).regenerate(seed)
        return self._drawn(data=encode_data(self.run.trainer))

    def update(self, changes: dict[str, Any]) -> dict[str, Any]:
        """``set``: live fields of every trainer, validated on the first (a bad value changes nothing)."""
        try:
            for trainer in self.run.trainers:
                trainer.update(**changes)
        except Exception as exc:  # pydantic ValidationError or ValueError, the config is unchanged
            raise InvalidInput(describe(exc, ("values",), config_level=True)) from None
        return self.state()

    def set_weight(self, variant: int, layer: int, to: int, source: Optional[int], value: float) -> dict[str, Any]:
        self._variant(variant).set_weight(layer, to, source, value)
        return self._drawn(frame=self.run.plan.mode is Mode.PAUSED)

    def inspect(self, variant: int, point: list[float], label: Optional[float]) -> dict[str, Any]:
        t = self._variant(variant)
        if label is not None and t.task == "multiclass" and label not in range(t.config.n_classes):
            raise InvalidInput.single("label", label, "not a class of this data",
                                      f"0 to {t.config.n_classes - 1}, or leave it out")
        return {"result": finite(t.trace(point, label))}

    def gradcheck(self, variant: int, max_params: int) -> Resumable:
        """Resumable: 5,000 parameters of the largest network take about a second, done a part at a time."""
        trainer = self._variant(variant)

        def parts(pause: Callable[[], bool]) -> Parts:
            return {"result": finite((yield from gradient_check_parts(trainer, max_params=max_params, pause=pause)))}

        return parts

    def view(self, changes: dict[str, Any]) -> dict[str, Any]:
        """A new density or thumbnail size is checked first: a written feature may be infinite at a grid point
        of this density only (1/x1 at x1 = 0), which is an error naming it, not a failed session."""
        density, thumb = changes.get("density", self.run.view["density"]), changes.get("thumb", self.run.view["thumb"])
        try:
            for trainer in self.run.trainers:
                grid_inputs(trainer, density, thumb)
        except FormulaValueError as exc:
            raise InvalidInput.single("density", density, str(exc).removeprefix("features: "),
                                      "a density at which every feature is finite") from None
        self.run.view = {**self.run.view, **changes}
        return self._drawn(frame=bool(changes) and self.run.plan.mode is Mode.PAUSED)


Resumable = Callable[[Callable[[], bool]], Parts]  # a command's long work: its parts, given when to pause
OPS: dict[str, Callable[..., dict[str, Any] | Resumable]] = {op.__name__: op for op in (
    WorkerSession.configure, WorkerSession.state, WorkerSession.settle, WorkerSession.reset,
    WorkerSession.regenerate, WorkerSession.update, WorkerSession.set_weight, WorkerSession.inspect,
    WorkerSession.gradcheck, WorkerSession.view)}


class EngineWorker:
    """The loop of one worker: messages from the server between rounds of the live clock."""

    def __init__(self, channel: Any, limits: dict, device: Optional[str], slice_seconds: float):
        self.channel = channel
        self.limits, self.device = Limits(**limits), device
        self.clock = LiveClock(slice_seconds)
        self.sessions: dict[str, WorkerSession] = {}

    def serve(self) -> None:
        """Until :class:`~nnplay.server.live.wire.Stop` (or the server's end of the channel closes)."""
        self.channel.send(wire.Ready())
        try:
            while True:
                wait = self.clock.due_in()
                if wait is None or wait > 0:
                    if self.channel.poll(wait) and not self._handle_messages():
                        return
                    continue
                news = self.clock.tick(lambda: self.channel.poll(0))
                self._report(news)
                self._answer_jobs()
                if not self._handle_messages():
                    return
        except EOFError:
            return

    def _handle_messages(self) -> bool:
        """Every message waiting (the server sends lists of them); False once told to stop. Sessions whose
        credit came back with frames waiting are reported together, in one message."""
        credited: set[LiveRun] = set()
        while self.channel.poll(0):
            for message in self.channel.recv():
                if not self._handle(message, credited):
                    return False
        if credited:
            self._report(credited)
        return True

    def _handle(self, message: wire.ToWorker, credited: set[LiveRun]) -> bool:
        """Apply one message; False for :class:`~nnplay.server.live.wire.Stop`. A message for a session that
        has closed meanwhile is dropped."""
        match message:
            case wire.Call():
                self._take(message)
            case wire.PlanChange(sid, plan):
                session = self.sessions.get(sid)
                if session is not None and session.run is not None:
                    session.run.plan = plan
            case wire.Credit(sid):
                session = self.sessions.get(sid)
                if session is not None:
                    session.credit = True
                    if session.run is not None and any(m.has_frame for m in session.run.mailboxes):
                        credited.add(session.run)
            case wire.CloseSession(sid):
                session = self.sessions.pop(sid, None)
                if session is not None and session.run is not None:
                    self.clock.runs.discard(session.run)
                    self.clock.stacks.release(session.run.trainers)
                    self._unanswered(session, "the session closed")
            case wire.Ping(serial):
                self.channel.send(wire.Pong(serial))
            case wire.Stop():
                return False
        return True

    def _take(self, call: wire.Call) -> None:
        """A command from the server. A session's first ``configure`` is done at once; any later command is
        its run's job, done in the clock's rounds as the session's fair share allows and charged to it, then
        answered (:meth:`_answer_jobs`). A command that arrives while its session's run is busy (a job, an
        epoch spread over rounds) waits: a session's commands are answered in order."""
        session = self.sessions.setdefault(call.session, WorkerSession(self.limits, self.device, self.clock))
        if session.waiting or session.busy:
            session.waiting.append(call)
        else:
            self._start(session, call)

    def _start(self, session: WorkerSession, call: wire.Call) -> None:
        """Answer the command now (no run yet: nothing to charge it to) or make it the run's job."""
        if session.run is None:
            self.channel.send(self._reply(call, lambda: finish(self._command(session, call, lambda: False))))
        else:
            session.run.job = Job(call, partial(self._command, session, call))

    def _answer_jobs(self) -> None:
        """Answer the jobs the clock finished, then start the commands that waited for their sessions' work."""
        for job in self.clock.done:
            self.channel.send(self._reply(job.call, job.value))
        self.clock.done.clear()
        for session in self.sessions.values():
            while session.waiting and not session.busy:
                self._start(session, session.waiting.popleft())

    @staticmethod
    def _command(session: WorkerSession, call: wire.Call, pause: Callable[[], bool]) -> Parts:
        """A command as resumable work: its reply's value, after the parts of a resumable one."""
        if session.run is None and call.op != "configure":
            raise InvalidInput.single(None, None, "no network yet: send configure first", "configure")
        value = OPS[call.op](session, **call.kwargs)
        if callable(value):
            value = yield from value(pause)
        return value

    def _reply(self, call: wire.Call, run: Callable[[], dict[str, Any]]) -> wire.Reply:
        """``run()``'s value as the reply to ``call``, or its error as a refusal or a failure."""
        try:
            return wire.Done(call.call_id, run())
        except InvalidInput as exc:
            return wire.Refused(call.call_id, exc.problems)
        except (ValueError, ArithmeticError) as exc:  # the engine refused something the models let through
            return wire.Refused(call.call_id, describe(exc))
        except Exception as exc:  # noqa: BLE001 - reported to the session, which ends; the worker goes on
            return wire.Failed(call.call_id, faults.describe(exc))

    def _report(self, runs: set[LiveRun]) -> None:
        """One message with the frames and stops of ``runs``, for the sessions whose last frames have gone; then
        the sessions whose run failed are ended."""
        entries = []
        for sid, session in self.sessions.items():
            run = session.run
            if run not in runs or run in self.clock.failed:
                continue
            with self.clock.isolated(run):
                entries += self._news_of(sid, session)
        if entries:
            self.channel.send(wire.News(entries))
        self._end_failed()

    def _news_of(self, sid: str, session: WorkerSession) -> list[wire.NewsEntry]:
        run = session.run
        stopped = None
        if run.finished is not None:  # (the session ignores a stop of a plan it has replaced since)
            stopped = wire.Stopped(*run.finished, session.facts())
            run.finished = None
        if session.credit or stopped:  # the frames before a stop go with it, credit or not
            frames = run.take_frames()
            if frames or stopped:
                session.credit = False
                return [wire.NewsEntry(sid, frames, run.trainer.epoch, stopped)]
        return []

    def _end_failed(self) -> None:
        """Forget the sessions whose run failed on the clock, and tell the server (which closes them)."""
        if not self.clock.failed:
            return
        for sid, session in list(self.sessions.items()):
            why = self.clock.failed.get(session.run) if session.run is not None else None
            if why is not None:
                del self.sessions[sid]
                self._unanswered(session, why)
                self.channel.send(wire.SessionFailed(sid, why))
        self.clock.failed.clear()

    def _unanswered(self, session: WorkerSession, why: str) -> None:
        """Answer the commands of a session that ends with its job or commands still waiting, so the server
        forgets the calls: refused, since nobody waits for them any more and the end itself was reported (as
        a close, or as :class:`~nnplay.server.live.wire.SessionFailed`), not a failure of each."""
        calls = ([session.run.job.call] if session.run.job is not None else []) + [*session.waiting]
        for call in calls:
            self.channel.send(wire.Refused(call.call_id, InvalidInput.single(None, None, why, None).problems))
        session.waiting.clear()


def main(channel: Any, limits: dict, device: Optional[str], slice_seconds: float) -> None:
    """Entry point of a worker process (``multiprocessing``, spawn) or thread. However it ends, its channel
    closes, so the server hears of it (and replaces a worker that died of an error)."""
    try:
        EngineWorker(channel, limits, device, slice_seconds).serve()
    finally:
        channel.close()

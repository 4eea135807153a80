"""One live training session: the socket side of one WebSocket connection (docs/protocol.md).

A :class:`Session` speaks the protocol; its :class:`~server.live_run.LiveRun` holds the trainers and is
trained by the app's :class:`~server.scheduler.LiveScheduler`. The session's mode (paused, playing,
stepping) is a :class:`~server.live_run.Mode` that changes in one method, :meth:`Session._transition`,
which also hands the run its new :class:`~server.live_run.Plan`. Four tasks run in one anyio task group,
so when one ends (the client leaves, the idle timer fires) the others are cancelled and the session is freed:

* the **receiver** reads and validates client messages: bad input is answered with ``error`` at once and
  changes nothing; a ``pause`` stops training right away; every valid command is queued;
* the **commands** task applies the queued commands in order, answering each with ``state`` (or
  ``trace``, ``gradcheck``); engine work (building, reset, inspect, a frame while paused) runs in the
  engine pool (server/pool.py) holding the run's lock;
* the **sender**, woken by the scheduler after a tick with news, sends the newest frame of each mailbox
  (a newer frame replaces an unsent one, so a slow client never makes a backlog), and the ``state`` when
  training stopped by itself (a step done, divergence, early stopping);
* the **idle watch** pauses a session nobody talks to, and closes it after another quiet timeout.

``pause`` sets the plan, which the scheduler reads before every epoch, so it takes effect within one
epoch; its answer waits for that epoch at most ``PAUSE_GRACE``.
"""

from __future__ import annotations

import json
import secrets
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Optional

import anyio
import anyio.abc
from pydantic import ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect

from engine import LIVE_FIELDS, Config, Trainer, __version__
from engine.compare import DATA_FIELDS, Comparison

from . import messages as msg
from .errors import InvalidInput, describe, problem
from .frames import encode_data
from .live_run import LiveRun, Mode, Plan
from .options import DEFAULT_SPEED, server_limits
from .pacing import finite
from .pool import EnginePool
from .results import build_trainer, with_device
from .scheduler import LiveScheduler
from .settings import Settings

CLOSED_ERRORS = (WebSocketDisconnect, OSError, RuntimeError)  # what sending on a closed socket raises
COMMAND_QUEUE = 64  # commands read but not yet applied; beyond that the receiver stops reading
PAUSE_GRACE = 0.05  # seconds a pause waits for the running epoch before answering anyway
LOCK_POLL = 0.001  # seconds between tries for the run's lock from the event loop (it is held for one epoch)
SETTABLE = ["speed", *(name for name in Config.model_fields if name in LIVE_FIELDS)]  # what `set` may change


class Session:
    """The state and tasks of one connection. ``await Session(...).run()`` after the socket is accepted."""

    def __init__(self, websocket: WebSocket, settings: Settings, pool: EnginePool, scheduler: LiveScheduler):
        self.id = secrets.token_hex(6)
        self.ws, self.settings, self.pool, self.scheduler = websocket, settings, pool, scheduler
        self.limits = settings.limits()
        self.run: Optional[LiveRun] = None  # built by the first configure, on connect
        self.mode = Mode.PAUSED
        self.speed: float | str = float(DEFAULT_SPEED)
        self.last_activity = time.monotonic()
        self._step_id: Any = None  # the id the state that ends a step answers
        self._send_lock = anyio.Lock()
        self._news = anyio.Event()
        self._task_group: Optional[anyio.abc.TaskGroup] = None

    def __repr__(self) -> str:
        epoch = self.run.trainer.epoch if self.run else None
        return f"Session({self.id}, mode={self.mode.value}, speed={self.speed}, epoch={epoch})"

    # ---- the task group ------------------------------------------------------------------------------------
    async def serve(self) -> None:
        """Serve the connection until the client leaves or the session times out."""
        try:
            async with anyio.create_task_group() as tg:
                self._task_group = tg
                tg.start_soon(self._sender)
                tg.start_soon(self._idle_watch)
                tg.start_soon(self._commands)
        finally:
            if self.run is not None:
                self.scheduler.remove(self.run)

    def _end(self) -> None:
        if self._task_group is not None:
            self._task_group.cancel_scope.cancel()

    async def _send_text(self, payload: dict) -> None:
        await self._send(text=json.dumps(payload, separators=(",", ":"), allow_nan=False))

    async def _send(self, text: Optional[str] = None, data: Optional[bytes] = None) -> None:
        try:
            async with self._send_lock:
                if text is not None:
                    await self.ws.send_text(text)
                else:
                    await self.ws.send_bytes(data)
        except CLOSED_ERRORS:
            self._end()

    # ---- the mode: every change in one place -------------------------------------------------------------------
    def _transition(self, to: Mode, steps: int = 0, reply_to: Any = None) -> None:
        """Enter ``to`` and give the run the matching plan (at the session's speed; ``steps`` epochs for
        STEPPING, whose ``state`` answers ``reply_to``). Entering PLAYING again restarts the pace (a new
        speed); a new STEPPING counts from zero. Every mode may follow every mode."""
        if to is Mode.STEPPING and steps < 1:
            raise ValueError(f"steps: a step trains at least one epoch, got {steps}")
        self.mode = to
        self._step_id = reply_to if to is Mode.STEPPING else None
        self.run.plan = Plan(to, self.speed, steps)
        self.scheduler.wake()

    def _set_speed(self, speed: float | str) -> None:
        self.speed = speed
        if self.mode is Mode.PLAYING:
            self._transition(Mode.PLAYING)

    @asynccontextmanager
    async def _holding(self, grace: Optional[float] = None) -> AsyncIterator[bool]:
        """Hold the run's lock (the epoch in flight ends first) without blocking the event loop. With
        ``grace``, give up after that many seconds: yields whether the lock is held."""
        lock, deadline = self.run.lock, None if grace is None else time.monotonic() + grace
        while not lock.acquire(blocking=False):
            if deadline is not None and time.monotonic() > deadline:
                yield False
                return
            await anyio.sleep(LOCK_POLL)
        try:
            yield True
        finally:
            lock.release()

    async def _in_engine(self, fn: Any) -> Any:
        """Run ``fn()`` in the engine pool holding the run's lock."""
        lock = self.run.lock

        def locked() -> Any:
            with lock:
                return fn()

        return await self.pool.run(locked)

    # ---- receiver and commands ---------------------------------------------------------------------------------
    async def _commands(self) -> None:
        """Greet, start the receiver, then apply the commands it queues, one at a time, in order."""
        await self._send_text(msg.Hello(version=__version__, session=self.id, limits={
            **self.limits.model_dump(), **server_limits(self.settings)}).model_dump())
        try:
            await self._configure(msg.Configure(type="configure", config={}))
        except InvalidInput as exc:  # e.g. NNPLAY_DEVICE=gpu on a machine without one
            await self._send_error(exc)
            await self.ws.close(1011, exc.problems[0]["message"][:120])
            return self._end()
        queue_in, queue_out = anyio.create_memory_object_stream(COMMAND_QUEUE)
        self._task_group.start_soon(self._receiver, queue_in)
        async with queue_out:
            async for command in queue_out:
                try:
                    await self._apply(command)
                except InvalidInput as exc:
                    await self._send_error(exc)

    async def _receiver(self, queue: anyio.abc.ObjectSendStream) -> None:
        """Read and validate messages. Bad ones are answered at once; good ones are queued for ``_commands``,
        except that a ``pause`` stops training right here, so it never waits behind a slow command."""
        async with queue:
            while True:
                try:
                    message = await self.ws.receive()
                except CLOSED_ERRORS:
                    break
                if message["type"] == "websocket.disconnect":
                    break
                self.last_activity = time.monotonic()
                try:
                    command = self._parse(message)
                except InvalidInput as exc:
                    await self._send_error(exc)
                    continue
                if command.type == "pause" and self.run is not None:
                    self._transition(Mode.PAUSED)
                await queue.send(command)
        self._end()

    def _parse(self, message: dict) -> Any:
        text = message.get("text")
        if text is None:
            raise InvalidInput.single(None, None, "binary messages are not accepted; send JSON text",
                                      "JSON text messages")
        limit = self.settings.max_message_bytes
        if len(text) > limit or (len(text) * 4 > limit and len(text.encode()) > limit):
            raise InvalidInput.single(None, None, f"message too large ({len(text.encode())} bytes)",
                                      f"at most {limit} bytes")
        return msg.parse_client_message(text)

    async def _apply(self, command: Any) -> None:
        try:
            await getattr(self, f"_{command.type}")(command)
        except (ValueError, ArithmeticError) as exc:  # the engine refused something the models let through
            error = InvalidInput(describe(exc))
            error.message_id = command.id
            raise error from None
        except InvalidInput as exc:
            exc.message_id = command.id
            raise

    async def _send_error(self, exc: InvalidInput) -> None:
        first = exc.problems[0] if exc.problems else problem(None, None, "invalid input")
        await self._send_text(msg.Error(id=exc.message_id, message=first["message"], field=first["field"],
                                        value=first["value"], allowed=first["allowed"]).model_dump())

    def _state(self, reply_to: Any) -> dict:
        t, c = self.run.trainer, self.run.comparison
        variants = None if c is None else [
            {"label": label, "overrides": overrides, "status": v.status, "message": v.message, "epoch": v.epoch,
             "sizes": list(v.network.sizes)}
            for label, overrides, v in zip(c.labels, c.overrides, c.trainers)]
        config = (c.base if c is not None else t.config).model_dump()
        return msg.State(
            id=reply_to, playing=self.mode is Mode.PLAYING, epoch=t.epoch, status=t.status, message=t.message,
            config=config, seed=t.seed, data_seed=t.data_seed, init_seed=t.init_seed, task=t.task,
            sizes=list(t.network.sizes), speed=self.speed, view=dict(self.run.view), variants=variants,
            n_train=t.data.n_train, n_test=t.data.n_test).model_dump()

    async def _send_state(self, reply_to: Any = None) -> None:
        async with self._holding():  # not in the middle of an epoch
            state = self._state(reply_to)
        await self._send_text(state)

    def _variant(self, index: int) -> Trainer:
        trainers = self.run.trainers
        if not 0 <= index < len(trainers):
            raise InvalidInput.single("variant", index, "no such variant", f"0 to {len(trainers) - 1}")
        return trainers[index]

    # ---- commands (one method per message type) -----------------------------------------------------------
    async def _configure(self, m: msg.Configure) -> None:
        weights = [w.model_dump() for w in m.weights] if m.weights is not None else None

        def build() -> tuple[Optional[Comparison], list[Trainer], bytes]:
            if m.variants is None:
                trainers, comparison = [build_trainer(m.config, self.limits, self.settings.device, weights=weights)], None
            else:
                comparison = self._build_comparison(m)
                trainers = comparison.trainers
                if weights is not None:  # a restored comparison: the shared weights go to every variant that fits
                    for trainer in trainers:
                        if trainer.network.sizes == trainers[0].network.sizes:
                            trainer.set_weights(weights)
            for trainer in trainers:
                if m.epoch:  # a page restoring its session after a reconnect; the schedule goes on from here
                    trainer.epoch = m.epoch  # (the engine has no setter; its epoch count is a plain attribute)
            return comparison, trainers, encode_data(trainers[0])

        comparison, trainers, data = await self.pool.run(build)  # the old network trains on until this is valid
        if self.run is None:
            self.run = LiveRun(trainers, comparison)
            self.scheduler.add(self.run, self._notify)
        else:
            async with self._holding():
                self.run.replace(trainers, comparison)  # the unsent frames of the old network go too
        self._transition(Mode.PAUSED)
        await self._send(data=data)
        await self.pool.run(self.run.frame_now, m.play)  # not sent yet: data, state, frame, in this order
        if m.play:
            self._transition(Mode.PLAYING)
        await self._send_state(m.id)
        self._notify()

    def _build_comparison(self, m: msg.Configure) -> Comparison:
        """Engine worker: the variants of a compare-mode ``configure``; they share data, so they may not
        change the data fields."""
        for index, overrides in enumerate(m.variants):
            shared = sorted(set(overrides) & set(DATA_FIELDS))
            if shared:
                raise InvalidInput.single(shared[0], overrides[shared[0]], "variants share the data; set data "
                                          "fields on the base config", "training and network fields",
                                          loc=("variants", index, shared[0]))
        try:
            return Comparison(with_device(m.config, self.settings.device), m.variants, m.labels, limits=self.limits)
        except ValidationError as exc:
            raise InvalidInput(describe(exc, ("config",), config_level=True)) from None

    async def _play(self, m: msg.Play) -> None:
        self._transition(Mode.PLAYING)
        await self._send_state(m.id)

    async def _pause(self, m: msg.Pause) -> None:
        """Training stops after the epoch that is running. Usually that is well under a millisecond; an epoch
        of a huge network in tiny batches can take longer than PAUSE_GRACE, and then the answer does not wait:
        it says paused at the last finished epoch, and a second ``state`` follows when the epoch is done."""
        self._transition(Mode.PAUSED)
        async with self._holding(PAUSE_GRACE) as held:
            state = self._state(m.id)  # without the lock: attribute reads of the last finished epoch
        await self._send_text(state)
        if not held:
            async with self._holding():
                pass  # the epoch in flight is done: its frame, then the state that says so
            await self._frame_if_new()
            await self._send_frames()
            await self._send_state(None)
        else:
            await self._frame_if_new()

    async def _frame_if_new(self) -> None:
        """After training stopped: the last frame, unless the client has it (built after the ``state``,
        so that a large grid cannot delay that)."""
        if self.run.trainer.epoch != self.run.framed_epoch:
            await self._frame_now()

    async def _step(self, m: msg.Step) -> None:
        self._transition(Mode.STEPPING, m.n, m.id)  # the sender answers with state when the n epochs are done

    async def _reset(self, m: msg.Reset) -> None:
        run = self.run

        def reset() -> None:
            (run.comparison or run.trainer).reset(m.seed)
            run.frozen = set()
            run.restart_history()

        await self._in_engine(reset)
        if self.mode is Mode.STEPPING:
            self._transition(Mode.PAUSED)
        await self._send_state(m.id)
        await self._frame_now()

    async def _regenerate(self, m: msg.Regenerate) -> None:
        run = self.run

        def regenerate() -> bytes:
            try:
                (run.comparison or run.trainer).regenerate(m.seed)
            except ValueError as exc:
                raise InvalidInput(describe(exc)) from None
            return encode_data(run.trainer)

        await self._send(data=await self._in_engine(regenerate))
        await self._send_state(m.id)
        await self._frame_now()

    async def _set(self, m: msg.Set) -> None:
        unknown = [name for name in m.values if name not in SETTABLE]
        if unknown:
            raise InvalidInput.single(unknown[0], m.values[unknown[0]], "cannot be set live",
                                      ", ".join(SETTABLE), loc=("values", unknown[0]))
        changes = {k: v for k, v in m.values.items() if k != "speed"}
        speed = None
        if "speed" in m.values:
            try:
                speed = msg.check_speed(m.values["speed"])
            except ValueError:
                raise InvalidInput.single("speed", m.values["speed"], "bad speed", msg.SPEED_ALLOWED,
                                          loc=("values", "speed")) from None
        if changes:
            async with self._holding():  # a quick validation, done in place between two epochs
                try:
                    for trainer in self.run.trainers:  # validated on the first: the others take the same fields
                        trainer.update(**changes)
                except Exception as exc:  # pydantic ValidationError or ValueError, the config is unchanged
                    raise InvalidInput(describe(exc, ("values",), config_level=True)) from None
        if speed is not None:
            self._set_speed(speed)
        await self._send_state(m.id)

    async def _set_weight(self, m: msg.SetWeight) -> None:
        async with self._holding():
            try:
                self._variant(m.variant).set_weight(m.layer, m.to, None if m.bias else m.source, m.value)
            except ValueError as exc:
                raise InvalidInput(describe(exc)) from None
        await self._send_state(m.id)
        if self.mode is Mode.PAUSED:
            await self._frame_now()

    async def _inspect(self, m: msg.Inspect) -> None:
        t = self._variant(m.variant)
        if m.label is not None and t.task == "multiclass" and m.label not in range(t.config.n_classes):
            raise InvalidInput.single("label", m.label, "not a class of this data",
                                      f"0 to {t.config.n_classes - 1}, or leave it out")
        trace = await self._in_engine(lambda: finite(t.trace(list(m.point), m.label)))
        await self._send_text(msg.Trace(id=m.id, **trace).model_dump())

    async def _gradcheck(self, m: msg.GradCheck) -> None:
        trainer = self._variant(m.variant)
        result = await self._in_engine(lambda: finite(trainer.gradient_check(max_params=m.max_params)))
        await self._send_text(msg.GradCheckResult(id=m.id, **result).model_dump())

    async def _view(self, m: msg.View) -> None:
        lo, hi = self.limits.min_grid_density, self.limits.max_grid_density
        if m.density is not None and not lo <= m.density <= hi:
            raise InvalidInput.single("density", m.density, "grid density out of range", f"{lo} to {hi}")
        changes = {k: v for k, v in (("density", m.density), ("thumb", m.thumb), ("fps", m.fps),
                                     ("extras", m.extras)) if v is not None}
        self.run.view = {**self.run.view, **changes}
        if m.speed is not None:
            self._set_speed(m.speed)
        await self._send_state(m.id)
        if self.mode is Mode.PAUSED and changes:
            await self._frame_now()

    # ---- frames and news ------------------------------------------------------------------------------------
    async def _frame_now(self) -> None:
        """A frame of the current state (after a command while paused)."""
        await self.pool.run(self.run.frame_now)
        self._notify()

    def _notify(self) -> None:
        """Wake the sender (event loop): frames or a stop are waiting."""
        self._news.set()

    async def _sender(self) -> None:
        """Send the frames of each tick with news, then the ``state`` if training stopped by itself."""
        while True:
            await self._news.wait()
            self._news = anyio.Event()  # before taking: news that comes meanwhile wakes the next round
            await self._send_frames()
            run = self.run
            finished = run.finished
            if finished is not None and finished[0] is run.plan and self.mode is not Mode.PAUSED:
                reply = self._step_id if self.mode is Mode.STEPPING else None
                self._transition(Mode.PAUSED)
                self.last_activity = time.monotonic()  # the idle timeout counts from here
                await self._send_state(reply)

    async def _send_frames(self) -> None:
        for mailbox in self.run.mailboxes:
            frame = mailbox.take()
            if frame is not None:
                await self._send(data=frame)

    # ---- idle ------------------------------------------------------------------------------------------------
    async def _idle_watch(self) -> None:
        """No client message for ``idle_timeout`` seconds: a training session is paused (a ``state`` with
        ``id: null`` says so), and a paused one is closed."""
        timeout = self.settings.idle_timeout
        while True:
            left = self.last_activity + timeout - time.monotonic()
            if left > 0:
                await anyio.sleep(left)
                continue
            if self.run is not None and self.mode is not Mode.PAUSED:
                self._transition(Mode.PAUSED)
                self.last_activity = time.monotonic()
                await self._send_state(None)
                await self._frame_if_new()
                continue
            try:
                await self.ws.close(1000, "idle timeout")
            except CLOSED_ERRORS:
                pass
            self._end()
            return

"""One live training session: the state of one WebSocket connection (docs/protocol.md).

A :class:`Session` owns its Trainer, its pace and its view. Five tasks run in one anyio task group, so when
one ends (the client leaves, the idle timer fires) the others are cancelled and the session is freed:

* the **receiver** reads and validates client messages: bad input is answered with ``error`` at once and
  changes nothing; a ``pause`` stops training right away; every valid command is queued;
* the **commands** task applies the queued commands in order, answering each with ``state`` (or
  ``trace``, ``gradcheck``);
* the **trainer** loop (server/training_loop.py), while playing or stepping, asks the engine pool
  (server/pool.py) for a turn and runs a *burst* in a worker thread: the epochs that are due at the
  session's speed, for at most one slice, plus a frame whenever one is due at the client's fps;
* the **sender** takes the newest frame from a one-slot :class:`Mailbox` (a newer frame replaces an unsent
  one, so a slow client never makes a backlog) and writes it;
* the **idle watch** closes a paused session nobody talks to.

Only worker threads touch the Trainer, always holding ``engine_lock`` (a few quick, non-blocking changes such
as ``set`` are made on the loop holding it too). ``pause`` sets the mode, which the burst checks between
epochs, so it takes effect within one epoch; its answer waits for that epoch at most ``PAUSE_GRACE``.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any, Optional

import anyio
import anyio.abc
import anyio.lowlevel
from pydantic import ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect

from nnplay.engine import LIVE_FIELDS, Config, Trainer, __version__
from nnplay.engine.compare import DATA_FIELDS, Comparison

from . import messages as msg
from .errors import InvalidInput, describe, problem
from .frames import EXTRAS, encode_data
from .options import DEFAULT_DENSITY, DEFAULT_FPS, DEFAULT_SPEED, DEFAULT_THUMB, server_limits
from .pacing import Mailbox, Pace, finite
from .training_loop import TrainingLoop
from .pool import EnginePool
from .results import build_trainer, with_device
from .settings import Settings

CLOSED_ERRORS = (WebSocketDisconnect, OSError, RuntimeError)  # what sending on a closed socket raises
COMMAND_QUEUE = 64  # commands read but not yet applied; beyond that the receiver stops reading
PAUSE_GRACE = 0.05  # seconds a pause waits for the running epoch before answering anyway
SETTABLE = ["speed", *(name for name in Config.model_fields if name in LIVE_FIELDS)]  # what `set` may change


class Session(TrainingLoop):
    """The state and tasks of one connection. ``await Session(...).run()`` after the socket is accepted."""

    def __init__(self, websocket: WebSocket, settings: Settings, pool: EnginePool):
        self.id = secrets.token_hex(6)
        self.ws, self.settings, self.pool = websocket, settings, pool
        self.limits = settings.limits()
        self.trainer: Optional[Trainer] = None  # the first (in compare mode) or only trainer of ``group``
        self.group: list[Trainer] = []
        self.comparison: Optional[Comparison] = None  # compare mode: 2–4 variants trained side by side
        self.frozen: set[int] = set()  # compare mode: variants that diverged or stopped early wait here
        self.mode = "paused"  # "paused" | "playing" | "stepping"
        self.speed: float | str = float(DEFAULT_SPEED)
        self.view = {"density": DEFAULT_DENSITY, "thumb": DEFAULT_THUMB, "fps": float(DEFAULT_FPS),
                     "extras": list(EXTRAS)}
        self.engine_lock = anyio.Lock()
        self.mailboxes = [Mailbox()]  # one per variant; the sender wakes on the first
        self.last_activity = time.monotonic()
        self._send_lock = anyio.Lock()
        self._wake = anyio.Event()
        self._task_group: Optional[anyio.abc.TaskGroup] = None
        self._steps_left, self._step_id = 0, None
        self._late_pause = False
        self.pace = Pace()
        self._last_frame_epoch = -1

    @property
    def mailbox(self) -> Mailbox:
        return self.mailboxes[0]

    def _variant(self, index: int) -> Trainer:
        if not 0 <= index < len(self.group):
            raise InvalidInput.single("variant", index, "no such variant", f"0 to {len(self.group) - 1}")
        return self.group[index]

    def __repr__(self) -> str:
        epoch = self.trainer.epoch if self.trainer else None
        return f"Session({self.id}, mode={self.mode}, speed={self.speed}, epoch={epoch})"

    # ---- the task group ------------------------------------------------------------------------------------
    async def run(self) -> None:
        """Serve the connection until the client leaves or the session times out."""
        async with anyio.create_task_group() as tg:
            self._task_group = tg
            tg.start_soon(self._sender)
            tg.start_soon(self._trainer_loop)
            tg.start_soon(self._idle_watch)
            tg.start_soon(self._commands)

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
                if command.type == "pause":
                    self.mode = "paused"
                    self._wake.set()
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
        t, c = self.trainer, self.comparison
        variants = None if c is None else [
            {"label": label, "overrides": overrides, "status": v.status, "message": v.message, "epoch": v.epoch,
             "sizes": list(v.network.sizes)}
            for label, overrides, v in zip(c.labels, c.overrides, c.trainers)]
        config = (c.base if c is not None else t.config).model_dump()
        return msg.State(
            id=reply_to, playing=self.mode == "playing", epoch=t.epoch, status=t.status, message=t.message,
            config=config, seed=t.seed, data_seed=t.data_seed, init_seed=t.init_seed, task=t.task,
            sizes=list(t.network.sizes), speed=self.speed, view=dict(self.view), variants=variants,
            n_train=t.data.n_train, n_test=t.data.n_test).model_dump()

    async def _send_state(self, reply_to: Any = None) -> None:
        async with self.engine_lock:  # not in the middle of an epoch
            state = self._state(reply_to)
        await self._send_text(state)

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

        comparison, group, data = await self.pool.run(build)  # the old network trains on until this is valid
        self.mode = "paused"
        async with self.engine_lock:
            self.comparison, self.group, self.trainer = comparison, group, group[0]
            self.frozen = set()
            # the first mailbox stays (the sender is waiting on it); the restart drops unsent frames too
            self.mailboxes = self.mailboxes[:1] + [Mailbox() for _ in group[1:]]
            self._restart_history()
        await self._send(data=data)
        await self.pool.run(lambda: self._put_frame(None, playing=m.play), lock=self.engine_lock)
        async with self.engine_lock:
            self.mode = "playing" if m.play else "paused"
            state = self._state(m.id)
        await self._send_text(state)  # data, state, frame: in this order
        self.mailbox.notify()
        if m.play:
            self._start_playing()

    def _build_comparison(self, m: msg.Configure) -> Comparison:
        """Worker thread: the variants of a compare-mode ``configure``; they share data, so they may not
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
        self._start_playing()
        await self._send_state(m.id)

    async def _pause(self, m: msg.Pause) -> None:
        """Training stops after the epoch that is running. Usually that is well under a millisecond; an epoch
        of a huge network in tiny batches can take longer than PAUSE_GRACE, and then the answer does not wait:
        it says paused at the last finished epoch, and a second ``state`` follows when the epoch is done."""
        self.mode = "paused"
        self._wake.set()
        state = None
        with anyio.move_on_after(PAUSE_GRACE):
            async with self.engine_lock:
                state = self._state(m.id)
        if state is None:
            state, self._late_pause = self._state(m.id), True  # attribute reads only: safe beside the worker
        await self._send_text(state)

    async def _step(self, m: msg.Step) -> None:
        self.mode = "paused"
        async with self.engine_lock:  # let a running burst finish first
            self._steps_left, self._step_id = m.n, m.id
            self.mode = "stepping"
        self._wake.set()  # the trainer loop answers with state when the n epochs are done

    async def _reset(self, m: msg.Reset) -> None:
        def reset() -> None:
            (self.comparison or self.trainer).reset(m.seed)
            self.frozen = set()
            self._restart_history()

        await self.pool.run(reset, lock=self.engine_lock)
        if self.mode == "stepping":
            self.mode = "paused"
        await self._send_state(m.id)
        await self._frame_now()

    async def _regenerate(self, m: msg.Regenerate) -> None:
        def regenerate() -> bytes:
            try:
                (self.comparison or self.trainer).regenerate(m.seed)
            except ValueError as exc:
                raise InvalidInput(describe(exc)) from None
            return encode_data(self.trainer)

        data = await self.pool.run(regenerate, lock=self.engine_lock)
        await self._send(data=data)
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
            async with self.engine_lock:  # a quick validation, done in place between two epochs
                try:
                    for trainer in self.group:  # validated on the first: the others take the same fields
                        trainer.update(**changes)
                except Exception as exc:  # pydantic ValidationError or ValueError, the config is unchanged
                    raise InvalidInput(describe(exc, ("values",), config_level=True)) from None
        if speed is not None:
            self._set_speed(speed)
        await self._send_state(m.id)

    async def _set_weight(self, m: msg.SetWeight) -> None:
        async with self.engine_lock:
            try:
                self._variant(m.variant).set_weight(m.layer, m.to, None if m.bias else m.source, m.value)
            except ValueError as exc:
                raise InvalidInput(describe(exc)) from None
        await self._send_state(m.id)
        if self.mode == "paused":
            await self._frame_now()

    async def _inspect(self, m: msg.Inspect) -> None:
        t = self._variant(m.variant)
        if m.label is not None and t.task == "multiclass" and m.label not in range(t.config.n_classes):
            raise InvalidInput.single("label", m.label, "not a class of this data",
                                      f"0 to {t.config.n_classes - 1}, or leave it out")
        trace = await self.pool.run(lambda: finite(t.trace(list(m.point), m.label)), lock=self.engine_lock)
        await self._send_text(msg.Trace(id=m.id, **trace).model_dump())

    async def _gradcheck(self, m: msg.GradCheck) -> None:
        trainer = self._variant(m.variant)
        result = await self.pool.run(lambda: finite(trainer.gradient_check(max_params=m.max_params)),
                                     lock=self.engine_lock)
        await self._send_text(msg.GradCheckResult(id=m.id, **result).model_dump())

    async def _view(self, m: msg.View) -> None:
        lo, hi = self.limits.min_grid_density, self.limits.max_grid_density
        if m.density is not None and not lo <= m.density <= hi:
            raise InvalidInput.single("density", m.density, "grid density out of range", f"{lo} to {hi}")
        changes = {k: v for k, v in (("density", m.density), ("thumb", m.thumb), ("fps", m.fps),
                                     ("extras", m.extras)) if v is not None}
        self.view = {**self.view, **changes}
        if m.speed is not None:
            self._set_speed(m.speed)
        await self._send_state(m.id)
        if self.mode == "paused" and changes:
            await self._frame_now()

    # ---- idle ------------------------------------------------------------------------------------------------
    async def _idle_watch(self) -> None:
        timeout = self.settings.idle_timeout
        while True:
            left = self.last_activity + timeout - time.monotonic()
            if left > 0 or self.mode != "paused":
                await anyio.sleep(max(left, 0.05) if left > 0 else min(timeout, 1.0))
                continue
            try:
                await self.ws.close(1000, "idle timeout")
            except CLOSED_ERRORS:
                pass
            self._end()
            return


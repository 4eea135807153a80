"""One live training session: the socket side of one WebSocket connection (docs/protocol.md).

A :class:`Session` speaks the protocol; its trainers live in an engine worker (server/live/worker.py, placed
by server/live/supervisor.py), which trains them on its clock and answers the session's commands. The session's
mode (paused, playing, stepping) is a :class:`~nnplay.server.live.run.Mode` that changes in one method,
:meth:`Session._transition`, which also sends the worker the matching :class:`~nnplay.server.live.run.Plan`.
Five tasks run in one anyio task group, so when one ends (the client leaves, the idle timer fires, the
worker dies) the others are cancelled and the session is freed:

* the **receiver** reads and validates client messages: bad input is answered with ``error`` at once and
  changes nothing; a ``pause`` stops training right away; every valid command is queued. What is queued is
  bounded in bytes (``max_queued_bytes``): a message that does not fit waits, and nothing more is read from
  the socket meanwhile (TCP holds the client back). Large messages are parsed in a worker thread, so that
  the event loop serves the other sessions meanwhile;
* the **commands** task applies the queued commands in order, answering each with ``state`` (or
  ``trace``, ``gradcheck``), plus the frame the worker drew for it;
* the **sender** sends the frames the worker's ticks bring (one batch at a time: the worker sends the
  next only once this one has gone, so a slow client makes no backlog), and the ``state`` when training
  stopped by itself (a step done, divergence, early stopping);
* the **idle watch** pauses a session nobody talks to, and closes it after another quiet timeout;
* the **send watch** pauses a session whose client takes no message for ``send_timeout`` seconds (it stopped
  reading: its socket's buffers are full), and closes it with 1008 after as long again.

``pause`` reaches the worker before any later command and is taken up before its next epoch; the answer
waits for the epoch in flight at most ``PAUSE_GRACE``.

A student's session in a classroom room has a ``membership`` (server/rooms/room.py, :class:`Seat`): its first
``configure`` is the room's, the room checks every command before it is applied (locked fields, class pause),
sees every frame sent, and gives commands of its own (:meth:`Session.for_room`), applied between the client's.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import TYPE_CHECKING, Any, Optional

import anyio
import anyio.abc
import anyio.to_thread
from starlette.websockets import WebSocket, WebSocketDisconnect

from nnplay.engine import LIVE_FIELDS, Config, __version__

from ..options import DEFAULT_SPEED, server_limits
from ..problems import InvalidInput, describe, problem
from ..settings import Settings
from . import faults, wire
from . import messages as msg
from .placement import lesson_cost
from .run import Mode, Plan
from .supervisor import EngineFailure, EngineWorkers

CLOSED_ERRORS = (WebSocketDisconnect, OSError, RuntimeError)  # what sending on a closed socket raises
COMMAND_QUEUE = 64  # commands read but not yet applied; beyond that the receiver stops reading
OFF_LOOP_PARSE = 16 << 10  # characters above which a message is parsed in a thread (docs/decisions.md)
OFF_LOOP = anyio.CapacityLimiter(1)  # threads parsing and costing large messages: more only fight over the GIL
CLOSE_GRACE = 1.0  # seconds a close may wait on a client that is not reading before the session ends anyway
PAUSE_GRACE = 0.05  # seconds a pause waits for the running epoch before answering anyway
if TYPE_CHECKING:
    from ..rooms.room import Seat

SETTABLE = ["speed", *(name for name in Config.model_fields if name in LIVE_FIELDS)]  # what `set` may change


class Session:
    """The state and tasks of one connection. ``await Session(...).serve()`` after the socket is accepted."""

    def __init__(self, websocket: WebSocket, settings: Settings, workers: EngineWorkers,
                 membership: Optional["Seat"] = None):
        self.id = secrets.token_hex(6)
        self.membership = membership  # the student's seat in a classroom room, if any
        self.ws, self.settings, self.workers = websocket, settings, workers
        self.limits = settings.limits()
        self.worker = workers.place(self.id, self._on_news)
        self.mode = Mode.PAUSED
        self.speed: float | str = float(DEFAULT_SPEED)
        self.plan = Plan()
        self.facts: dict[str, Any] = {}  # the trainer's part of the last state, kept for a pause that cannot wait
        self.last_activity = time.monotonic()
        self._step_id: Any = None  # the id the state that ends a step answers
        self._inbox: list[wire.NewsEntry] = []  # news from the worker, not yet sent
        self._news = anyio.Event()
        self._worker_lost = False
        self._failed: Optional[str] = None  # why the worker ended this session (wire.SessionFailed)
        self._send_lock = anyio.Lock()
        self._sending_since: Optional[float] = None  # when the send in progress began
        self._queued_bytes = 0  # of messages read and not yet applied
        self._room = anyio.Event()  # set when a queued message has been applied
        self._task_group: Optional[anyio.abc.TaskGroup] = None
        self._applying = anyio.Lock()  # one command at a time, the client's or the room's

    def __repr__(self) -> str:
        return f"Session({self.id}, mode={self.mode.value}, speed={self.speed}, epoch={self.facts.get('epoch')})"

    # ---- the task group ------------------------------------------------------------------------------------
    async def serve(self) -> None:
        """Serve the connection until the client leaves, the session times out or its worker dies."""
        try:
            async with anyio.create_task_group() as tg:
                self._task_group = tg
                tg.start_soon(self._sender)
                tg.start_soon(self._idle_watch)
                tg.start_soon(self._send_watch)
                tg.start_soon(self._commands)
        finally:
            self._task_group = None
            if self.membership is not None:
                self.membership.left(self)
            self.workers.leave(self.worker, self.id)

    def _end(self) -> None:
        if self._task_group is not None:
            self._task_group.cancel_scope.cancel()

    async def _send_text(self, payload: dict) -> None:
        await self._send(text=json.dumps(payload, separators=(",", ":"), allow_nan=False))

    async def _send(self, text: Optional[str] = None, data: Optional[bytes] = None) -> None:
        try:
            async with self._send_lock:
                self._sending_since = time.monotonic()
                try:
                    if text is not None:
                        await self.ws.send_text(text)
                    else:
                        await self.ws.send_bytes(data)
                        if self.membership is not None:
                            self.membership.saw(data)
                finally:
                    self._sending_since = None
        except CLOSED_ERRORS:
            self._end()

    # ---- the mode: every change in one place -------------------------------------------------------------------
    def _transition(self, to: Mode, steps: int = 0, reply_to: Any = None) -> None:
        """Enter ``to`` and send the worker the matching plan (at the session's speed; ``steps`` epochs for
        STEPPING, whose ``state`` answers ``reply_to``). Entering PLAYING again restarts the pace (a new
        speed); a new STEPPING counts from zero. Every mode may follow every mode."""
        if to is Mode.STEPPING and steps < 1:
            raise ValueError(f"steps: a step trains at least one epoch, got {steps}")
        self.mode = to
        self._step_id = reply_to if to is Mode.STEPPING else None
        self.plan = Plan(self.plan.serial + 1, to, self.speed, steps)
        self.worker.send_plan(self.id, self.plan)

    def _set_speed(self, speed: float | str) -> None:
        self.speed = speed
        if self.mode is Mode.PLAYING:
            self._transition(Mode.PLAYING)

    # ---- the worker ------------------------------------------------------------------------------------------
    def _ask(self, op: str, **kwargs: Any):
        """Send a command to the worker; ``await (...).wait()`` for its answer."""
        return self.worker.call(self.id, op, **kwargs)

    async def _engine(self, op: str, **kwargs: Any) -> dict[str, Any]:
        """A command's answer; its facts are kept, its frames sent after the news already here."""
        reply = await self._ask(op, **kwargs).wait()
        return self._keep(reply)

    def _keep(self, reply: dict[str, Any]) -> dict[str, Any]:
        if "facts" in reply:
            self.facts = reply["facts"]
        return reply

    async def _answer(self, reply: dict[str, Any], reply_to: Any, playing: Optional[bool] = None) -> None:
        """The ``state`` answering a command (``playing``: what it says when not the mode's, a run that starts
        playing once this answer is out), then the frames the worker drew for it."""
        await self._send_state(reply_to, playing)
        await self._send_inbox()
        for frame in reply.get("frames", ()):
            await self._send(data=frame)

    def _on_news(self, news: Optional[wire.NewsEntry | wire.SessionFailed]) -> None:
        """Event loop, from the worker's reader: a tick's news for this session, its failure, or None when the
        worker has died."""
        if news is None:
            self._worker_lost = True
        elif isinstance(news, wire.SessionFailed):
            self._failed = news.why
        else:
            self._inbox.append(news)
        self._news.set()

    # ---- receiver and commands ---------------------------------------------------------------------------------
    async def _commands(self) -> None:
        """Greet, start the receiver, then apply the commands it queues, one at a time, in order."""
        await self._send_text(msg.Hello(version=__version__, session=self.id, limits={
            **self.limits.model_dump(), **server_limits(self.settings)}).model_dump())
        try:
            await self._configure(self.membership.start() if self.membership else msg.Configure(type="configure"))
        except InvalidInput as exc:  # e.g. NNPLAY_DEVICE=gpu on a machine without one
            await self._send_error(exc)
            return await self._close(1011, exc.problems[0]["message"][:120])
        except EngineFailure as exc:
            return await self._close(faults.FAILED_CODE, faults.close_reason(str(exc)))
        queue_in, queue_out = anyio.create_memory_object_stream(COMMAND_QUEUE)
        self._task_group.start_soon(self._receiver, queue_in)
        async with queue_out:
            async for command, size in queue_out:
                try:
                    async with self._applying:
                        if self.membership is not None:
                            self._room_check(command)
                        await self._apply(command)
                except InvalidInput as exc:
                    await self._send_error(exc)
                except EngineFailure as exc:  # a bug in the engine, or its worker died: the page reconnects
                    return await self._close(faults.FAILED_CODE, faults.close_reason(str(exc)))
                finally:
                    self._queued_bytes -= size
                    self._room.set()

    def _room_check(self, command: Any) -> None:
        try:
            self.membership.check(command)
        except InvalidInput as exc:
            exc.message_id = command.id
            raise

    def for_room(self, room_message: Optional[dict] = None, command: Any = None) -> None:
        """Send ``room_message`` (the room's ``room``), then apply ``command`` (a push's ``configure``, a
        ``pause`` ...) as if the client had sent it, without its ``id``, between the client's own commands."""
        if self._task_group is not None:
            self._task_group.start_soon(self._for_room, room_message, command)

    async def send_room(self, room_message: dict) -> None:
        """Send the room's ``room`` message now (before the session starts: the answer to a ``join``)."""
        await self._send_text(room_message)

    def close_soon(self, code: int, reason: str) -> None:
        """Close the socket with ``code`` and ``reason`` (a student who joined again from another page)."""
        if self._task_group is not None:
            self._task_group.start_soon(self._close, code, reason)

    async def _for_room(self, room_message: Optional[dict], command: Any) -> None:
        async with self._applying:
            if room_message is not None:
                await self._send_text(room_message)
            if command is None:
                return
            try:
                await self._apply(command)
            except InvalidInput as exc:
                await self._send_error(exc)
            except EngineFailure as exc:
                await self._close(faults.FAILED_CODE, faults.close_reason(str(exc)))

    async def _receiver(self, queue: anyio.abc.ObjectSendStream) -> None:
        """Read and validate messages. Bad ones are answered at once; good ones are queued for ``_commands``,
        except that a ``pause`` stops training right here, so it never waits behind a slow command (unless
        the client has filled ``max_queued_bytes``: then reading waits for room)."""
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
                    text, size = self._admit(message)
                except InvalidInput as exc:
                    await self._send_error(exc)
                    continue
                await self._room_for(size)
                self._queued_bytes += size
                try:
                    command = await self._parse(text)
                except InvalidInput as exc:
                    self._queued_bytes -= size
                    await self._send_error(exc)
                    continue
                if command.type == "pause" and self.facts:
                    self._transition(Mode.PAUSED)
                await queue.send((command, size))
        self._end()

    def _admit(self, message: dict) -> tuple[str, int]:
        """The text of a message and its size in bytes, if it is JSON text within ``max_message_bytes``."""
        text = message.get("text")
        if text is None:
            raise InvalidInput.single(None, None, "binary messages are not accepted; send JSON text",
                                      "JSON text messages")
        size = len(text) if text.isascii() else len(text.encode())
        limit = self.settings.max_message_bytes
        if size > limit:
            raise InvalidInput.single(None, None, f"message too large ({size} bytes)", f"at most {limit} bytes")
        return text, size

    async def _room_for(self, size: int) -> None:
        """Wait until ``size`` more bytes fit in ``max_queued_bytes`` beside the messages not yet applied (or
        none is left). Meanwhile nothing is read: the socket's buffers fill and TCP stops the client, so a flood
        costs neither memory nor event-loop time (docs/decisions.md)."""
        while self._queued_bytes and self._queued_bytes + size > self.settings.max_queued_bytes:
            self._room = anyio.Event()
            await self._room.wait()

    @staticmethod
    async def _parse(text: str) -> Any:
        """The client model of ``text``; a large message is parsed in a worker thread, not on the event loop."""
        if len(text) > OFF_LOOP_PARSE:
            return await anyio.to_thread.run_sync(msg.parse_client_message, text, limiter=OFF_LOOP)
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

    def _state(self, reply_to: Any, playing: Optional[bool] = None) -> dict:
        playing = self.mode is Mode.PLAYING if playing is None else playing
        return msg.State(id=reply_to, playing=playing, speed=self.speed, **self.facts).model_dump()

    async def _send_state(self, reply_to: Any = None, playing: Optional[bool] = None) -> None:
        await self._send_text(self._state(reply_to, playing))

    # ---- commands (one method per message type) -----------------------------------------------------------
    async def _configure(self, m: msg.Configure) -> None:
        """The old network trains on until the new one is built; then it is paused with its first frame.
        The new one may be built in another worker, the least loaded (server/live/placement.py)."""
        weights = [w.model_dump() for w in m.weights] if m.weights is not None else None
        cost = await anyio.to_thread.run_sync(lesson_cost, m.config, m.variants, limiter=OFF_LOOP)  # 5k points: 50 ms
        chosen = self.workers.choose(self.id, self.worker, cost)
        try:
            reply = self._keep(await chosen.call(
                self.id, "configure", config=m.config, weights=weights, epoch=m.epoch,
                variants=m.variants, labels=m.labels, play=m.play,
                view=self.facts.get("view") if chosen is not self.worker else None).wait())
        except InvalidInput:
            self.worker = self.workers.settle(self.id, self.worker, chosen, built=False)
            raise
        self.worker = self.workers.settle(self.id, self.worker, chosen, built=True)
        self._drop_inbox()  # frames of the old network
        # The new run trains only once its answer is out: a frame of its training sent before its first frame
        # would go back in epochs, which a page reads as a new run (it clears its loss chart).
        self._transition(Mode.PAUSED)
        await self._send(data=reply["data"])
        await self._answer(reply, m.id, playing=m.play)  # data, state, frame: in this order
        if m.play:
            self._transition(Mode.PLAYING)

    async def _play(self, m: msg.Play) -> None:
        self._transition(Mode.PLAYING)
        await self._send_state(m.id)

    async def _pause(self, m: msg.Pause) -> None:
        """Training stops after the epoch that is running. Usually that is well under a millisecond; an epoch
        of a huge network in tiny batches can take longer than PAUSE_GRACE, and then the answer does not wait:
        it says paused at the last finished epoch, and a frame and a second ``state`` follow when the epoch
        is done."""
        self._transition(Mode.PAUSED)
        settled = self._ask("settle")
        with anyio.move_on_after(PAUSE_GRACE):
            await settled.done.wait()
        if settled.done.is_set():
            await self._answer(self._keep(await settled.wait()), m.id)
            return
        await self._send_state(m.id)  # the last epoch the session has heard of
        reply = self._keep(await settled.wait())
        await self._send_inbox()
        for frame in reply["frames"]:
            await self._send(data=frame)
        await self._send_state(None)

    async def _step(self, m: msg.Step) -> None:
        self._transition(Mode.STEPPING, m.n, m.id)  # the sender answers with state when the n epochs are done

    async def _reset(self, m: msg.Reset) -> None:
        reply = await self._engine("reset", seed=m.seed)
        if self.mode is Mode.STEPPING:
            self._transition(Mode.PAUSED)
        await self._answer(reply, m.id)

    async def _regenerate(self, m: msg.Regenerate) -> None:
        reply = await self._engine("regenerate", seed=m.seed)
        await self._send(data=reply["data"])
        await self._answer(reply, m.id)

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
        reply = await self._engine("update", changes=changes) if changes else await self._engine("state")
        if speed is not None:
            self._set_speed(speed)
        await self._answer(reply, m.id)

    async def _set_weight(self, m: msg.SetWeight) -> None:
        reply = await self._engine("set_weight", variant=m.variant, layer=m.layer, to=m.to,
                                   source=None if m.bias else m.source, value=m.value)
        await self._answer(reply, m.id)

    async def _inspect(self, m: msg.Inspect) -> None:
        reply = await self._engine("inspect", variant=m.variant, point=list(m.point), label=m.label)
        await self._send_text(msg.Trace(id=m.id, **reply["result"]).model_dump())

    async def _gradcheck(self, m: msg.GradCheck) -> None:
        reply = await self._engine("gradcheck", variant=m.variant, max_params=m.max_params)
        await self._send_text(msg.GradCheckResult(id=m.id, **reply["result"]).model_dump())

    async def _view(self, m: msg.View) -> None:
        lo, hi = self.limits.min_grid_density, self.limits.max_grid_density
        if m.density is not None and not lo <= m.density <= hi:
            raise InvalidInput.single("density", m.density, "grid density out of range", f"{lo} to {hi}")
        changes = {k: v for k, v in (("density", m.density), ("thumb", m.thumb), ("fps", m.fps),
                                     ("extras", m.extras)) if v is not None}
        reply = await self._engine("view", changes=changes)
        if m.speed is not None:
            self._set_speed(m.speed)
        await self._answer(reply, m.id)

    # ---- frames and news ------------------------------------------------------------------------------------
    async def _send_inbox(self) -> None:
        """Send the frames of the ticks heard of, tell the worker they have gone, and answer a stop."""
        while self._inbox:
            news = self._inbox.pop(0)
            if self.facts:
                self.facts["epoch"] = news.epoch  # for a pause that cannot wait for its epoch
            for frame in news.frames:
                await self._send(data=frame)
            self.worker.credit(self.id)
            if news.stopped is not None:
                await self._stopped(news.stopped)

    def _drop_inbox(self) -> None:
        for _ in self._inbox:
            self.worker.credit(self.id)
        self._inbox.clear()

    async def _stopped(self, stopped: wire.Stopped) -> None:
        """Training stopped by itself (a step done, divergence, early stopping): paused, with a ``state``."""
        if stopped.serial != self.plan.serial or self.mode is Mode.PAUSED:
            return  # a plan replaced since
        self.facts = stopped.facts
        reply = self._step_id if self.mode is Mode.STEPPING else None
        self._transition(Mode.PAUSED)
        self.last_activity = time.monotonic()  # the idle timeout counts from here
        await self._send_state(reply)

    async def _sender(self) -> None:
        while True:
            await self._news.wait()
            self._news = anyio.Event()
            if self._worker_lost:
                why = self.worker.failure or "the engine worker stopped unexpectedly"
                await self._close(1011, f"{why}; reconnect to start again")
                return
            if self._failed is not None:
                await self._close(faults.FAILED_CODE, faults.close_reason(self._failed))
                return
            await self._send_inbox()

    async def _close(self, code: int, reason: str) -> None:
        try:
            await self.ws.close(code, reason)
        except CLOSED_ERRORS:
            pass
        self._end()

    # ---- a client that stops reading -----------------------------------------------------------------------
    async def _send_watch(self) -> None:
        """A send the client has not taken within ``send_timeout`` pauses training (a ``state`` with ``id: null``
        says so, if the client reads again); one still waiting at twice that closes the session with 1008. The
        frames already wait for the previous batch to go, so what a silent client costs is its socket's buffers
        and, until it is paused, its worker's time; its pings do not matter."""
        timeout = self.settings.send_timeout
        while True:
            await anyio.sleep(timeout / 4)
            since = self._sending_since
            waited = time.monotonic() - since if since is not None else 0.0
            if waited >= 2 * timeout:
                with anyio.move_on_after(CLOSE_GRACE):  # the close frame may wait behind the stuck send
                    await self._close(1008, f"the client took no message for {waited:.0f} s: not reading")
                return self._end()
            if waited >= timeout and self.mode is not Mode.PAUSED:
                self._transition(Mode.PAUSED)
                self._task_group.start_soon(self._settle_and_tell)

    async def _settle_and_tell(self) -> None:
        """After a pause the client did not ask for: the ``state`` (``id: null``) and frame of where it stopped."""
        try:
            reply = self._keep(await self._ask("settle").wait())
        except EngineFailure:
            return  # the worker is gone: the sender closes the session
        await self._answer(reply, None)

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
            if self.mode is Mode.PAUSED:
                return await self._close(1000, "idle timeout")
            self._transition(Mode.PAUSED)
            self.last_activity = time.monotonic()
            await self._settle_and_tell()

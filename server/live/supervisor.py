"""The engine workers of the app, seen from the event loop: start, talk to, watch and stop them.

Live sessions train in ``engine_processes`` worker processes (default: one per core), each single-threaded
and holding its sessions (server/live/worker.py); the event loop stays in the server process with the
sockets, the session limit, the REST routes and the background runs, so the server is one thing to count,
list and cancel.

* Placement: a new session goes to the worker with the fewest sessions; when it configures a network it
  may move to the worker with the least estimated load (server/live/placement.py), as nothing needs
  carrying then.
* Traffic: a :class:`WorkerHandle` is the only sender of the typed messages of server/live/wire.py (``call``,
  ``send_plan``, ``credit``, ``close_session``). They go out through a writer thread (the loop never blocks
  on a full pipe), as a list of everything posted since its last send; a reader thread per worker hands each
  message (a reply, or one tick's news for all the worker's sessions) to the loop with one
  ``call_soon_threadsafe``. Frames travel as the bytes the client receives.
* A session whose work raised in its worker (server/live/faults.py) is logged, one line, and closed with 1011
  and a reason; the worker and its other sessions go on.
* A worker that dies is reported (its sessions are closed with 1011 and a reason, so the page reconnects
  and restores itself) and replaced; at shutdown every worker is told to stop, then joined or terminated.
* ``engine_processes=0`` runs one worker in a thread of the server process over an in-process channel
  (server/live/channel.py: the same code path, no processes to start; what the unit tests use).

Why processes, with measurements: docs/decisions.md, "Live sessions in engine worker processes".
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import multiprocessing
import os
import queue
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import anyio

from ..problems import InvalidInput
from ..settings import Settings
from . import wire
from .channel import ThreadChannel
from .placement import NetworkCost, least_loaded
from .run import Plan
from .worker import main as worker_main

log = logging.getLogger("nnplay.workers")
JOIN_SECONDS = 5.0  # how long a stopping worker may take before it is terminated
START_SECONDS = 60.0  # how long the server waits for its workers to start (importing NumPy and the engine)


class EngineFailure(RuntimeError):
    """A command failed in the engine worker (a bug, or the worker died): the session ends."""


# ---- one worker ----------------------------------------------------------------------------------------------
@dataclass
class Pending:
    """A command sent to a worker; ``await wait()`` for its reply (it can be waited for more than once)."""

    op: str = ""
    done: anyio.Event = field(default_factory=anyio.Event)
    reply: Optional[wire.Reply] = None

    def settle(self, reply: wire.Reply) -> None:
        self.reply = reply
        self.done.set()

    async def wait(self) -> dict[str, Any]:
        """The command's answer; :class:`InvalidInput` for a refusal, :class:`EngineFailure` for a failure."""
        await self.done.wait()
        match self.reply:
            case wire.Done(value=value):
                return value
            case wire.Refused(problems=problems):
                raise InvalidInput(problems)
            case wire.Failed(why=why):
                raise EngineFailure(why)


class WorkerHandle:
    """One engine worker (a process, or a thread) and the two threads that carry its messages."""

    def __init__(self, index: int, settings: Settings, loop: asyncio.AbstractEventLoop,
                 deliver: Callable[["WorkerHandle", wire.FromWorker], None], lost: Callable[["WorkerHandle"], None]):
        self.index, self.loop, self._deliver, self._lost = index, loop, deliver, lost
        self.sessions: set[str] = set()
        self.calls: dict[int, Pending] = {}
        self._call_ids = itertools.count()
        self.ready = anyio.Event()
        self._outgoing: queue.SimpleQueue = queue.SimpleQueue()
        args = (settings.limits().model_dump(), settings.device, settings.slice_seconds)
        if settings.engine_processes == 0:
            self.channel, far_end = ThreadChannel.pair()
            self.worker: Any = threading.Thread(target=worker_main, args=(far_end, *args), daemon=True,
                                                name=f"nnplay-engine-{index}")
        else:
            context = multiprocessing.get_context("spawn")  # no fork of a process with threads
            self.channel, far_end = context.Pipe(duplex=True)
            self.worker = context.Process(target=worker_main, args=(far_end, *args), daemon=True,
                                          name=f"nnplay-engine-{index}")
        self.worker.start()
        if settings.engine_processes:
            far_end.close()  # the child holds its own copy: EOF here when it dies
        self.stopping = False
        threading.Thread(target=self._read, daemon=True, name=f"nnplay-engine-{index}-read").start()
        threading.Thread(target=self._write, daemon=True, name=f"nnplay-engine-{index}-write").start()

    def __repr__(self) -> str:
        return f"WorkerHandle({self.index}, pid={self.pid}, sessions={len(self.sessions)})"

    @property
    def pid(self) -> Optional[int]:
        return getattr(self.worker, "pid", None) or os.getpid()

    # ---- what the event loop sends (none of these blocks) ---------------------------------------------------
    def call(self, session: str, op: str, **kwargs: Any) -> Pending:
        """Run the command ``op`` for ``session``; ``await (...).wait()`` for its answer."""
        call_id = next(self._call_ids)
        pending = self.calls[call_id] = Pending(op)
        self._outgoing.put(wire.Call(call_id, session, op, kwargs))
        return pending

    def send_plan(self, session: str, plan: Plan) -> None:
        self._outgoing.put(wire.PlanChange(session, plan))

    def credit(self, session: str) -> None:
        """The session's last frames have gone out: the worker may send the next ones."""
        self._outgoing.put(wire.Credit(session))

    def close_session(self, session: str) -> None:
        self._outgoing.put(wire.CloseSession(session))

    def _write(self) -> None:
        """Send what the loop posted, everything waiting as one list: a frame's credit (``sent``) goes back for
        every frame a client receives, and a list per wake-up spares the worker a receive, and a report of its
        own, for each of them (32 C2 sessions: about 700 credits a second)."""
        while True:
            batch = [self._outgoing.get()]
            while True:
                try:
                    batch.append(self._outgoing.get_nowait())
                except queue.Empty:
                    break
            stop = None in batch
            batch = batch[:batch.index(None)] if stop else batch
            try:
                if batch:
                    self.channel.send(batch)
            except (OSError, ValueError):  # the worker is gone; the reader reports it
                return
            if stop:
                return

    def _read(self) -> None:
        while True:
            try:
                message = self.channel.recv()
            except (EOFError, OSError):
                message = None
            if self.stopping:
                return  # shutting down: the loop may be gone
            try:
                if message is None:
                    self.loop.call_soon_threadsafe(self._lost, self)
                    return
                self.loop.call_soon_threadsafe(self._deliver, self, message)
            except RuntimeError:  # the event loop has closed
                return

    def settle_call(self, reply: wire.Reply) -> None:
        pending = self.calls.pop(reply.call_id, None)
        if pending is not None:
            pending.settle(reply)

    def fail_calls(self, why: str) -> None:
        for call_id, pending in self.calls.items():
            pending.settle(wire.Failed(call_id, why))
        self.calls.clear()

    def stop(self) -> None:
        """Tell the worker to stop, wait for it (or terminate it), close the channel (a worker thread)."""
        self.stopping = True
        self._outgoing.put(wire.Stop())
        self.worker.join(JOIN_SECONDS)
        if self.worker.is_alive() and hasattr(self.worker, "terminate"):
            self.worker.terminate()
            self.worker.join(JOIN_SECONDS)
        self._outgoing.put(None)
        self.channel.close()


# ---- the supervisor -------------------------------------------------------------------------------------------
class EngineWorkers:
    """Every engine worker of one app. Start in the lifespan (``start``), stop at shutdown (``stop``)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.count = settings.engine_processes or 1
        self.workers: list[WorkerHandle] = []
        # session id → its news handler (event loop)
        self.listeners: dict[str, Callable[[Optional[wire.NewsEntry | wire.SessionFailed]], None]] = {}
        self.lessons: dict[str, tuple[NetworkCost, ...]] = {}  # session id → its networks' estimated costs
        # session id → its lesson before a configure in flight
        self._before_move: dict[str, Optional[tuple[NetworkCost, ...]]] = {}
        self.restarts = 0
        self._stopping = False

    def __repr__(self) -> str:
        return f"EngineWorkers({self.workers}, restarts={self.restarts})"

    async def start(self) -> None:
        """Start the workers and wait until they are ready (at most ``START_SECONDS``; sessions that come
        sooner wait for their worker)."""
        loop = asyncio.get_running_loop()
        self.workers = [WorkerHandle(i, self.settings, loop, self._deliver, self._lost) for i in range(self.count)]
        with anyio.move_on_after(START_SECONDS):
            for worker in self.workers:
                await worker.ready.wait()
        if not all(worker.ready.is_set() for worker in self.workers):
            log.warning("engine workers still starting after %.0f s; sessions wait for them", START_SECONDS)

    async def stop(self) -> None:
        self._stopping = True
        for worker in self.workers:
            await anyio.to_thread.run_sync(worker.stop)

    # ---- sessions ----------------------------------------------------------------------------------------------
    def place(self, session: str, on_news: Callable[[Optional[wire.NewsEntry | wire.SessionFailed]], None]
              ) -> WorkerHandle:
        """The worker for a new session: the one with the fewest sessions."""
        worker = min(self.workers, key=lambda w: len(w.sessions))
        worker.sessions.add(session)
        self.listeners[session] = on_news
        return worker

    def choose(self, session: str, worker: WorkerHandle, lesson: Optional[tuple[NetworkCost, ...]]) -> WorkerHandle:
        """Where ``session`` (now in ``worker``) builds ``lesson``, its networks' estimated costs (None: an
        invalid config, which stays): the worker least loaded with it, if that lowers the busier one. The
        session counts there at once, so that a class configuring together spreads out; :meth:`settle`
        says whether the network was built there."""
        self._before_move[session] = self.lessons.get(session)
        if lesson is None:
            return worker
        self.lessons[session] = lesson
        placed = {w: [network for other in w.sessions - {session} for network in self.lessons.get(other, ())]
                  for w in self.workers}
        target = least_loaded(worker, placed, lesson)
        if target is not worker:
            worker.sessions.discard(session)
            target.sessions.add(session)  # news of the old network from ``worker`` is dropped from now on
        return target

    def settle(self, session: str, worker: WorkerHandle, chosen: WorkerHandle, built: bool) -> WorkerHandle:
        """After the configure in ``chosen``: the session's worker from now on. Built: ``worker`` (if another)
        forgets the session. Refused: the session stays in ``worker``, whose network trains on, and takes
        up its frames again (those sent meanwhile were dropped); ``chosen`` forgets the empty session."""
        previous = self._before_move.pop(session, None)
        if built:
            if chosen is not worker:
                worker.close_session(session)
            return chosen
        if previous is None:
            self.lessons.pop(session, None)
        else:
            self.lessons[session] = previous
        if chosen is not worker:
            chosen.sessions.discard(session)
            chosen.close_session(session)
            worker.sessions.add(session)
            worker.credit(session)
        return worker

    def leave(self, worker: WorkerHandle, session: str) -> None:
        """The session ended: every worker that holds it (its own, and one a configure was moving it to)
        forgets it."""
        self.listeners.pop(session, None)
        self.lessons.pop(session, None)
        self._before_move.pop(session, None)
        for each in self.workers:
            if each is worker or session in each.sessions:
                each.sessions.discard(session)
                each.close_session(session)

    # ---- messages (event loop) -------------------------------------------------------------------------------
    def _deliver(self, worker: WorkerHandle, message: wire.FromWorker) -> None:
        match message:
            case wire.News(entries):
                for entry in entries:
                    listener = self.listeners.get(entry.session)
                    if listener is not None and entry.session in worker.sessions:  # not news of one moved away
                        listener(entry)
            case wire.SessionFailed(session, why):
                log.error("engine worker %d (pid %s): session %s failed and is closed: %s", worker.index, worker.pid,
                          session, why)
                listener = self.listeners.get(session)
                if listener is not None and session in worker.sessions:
                    listener(message)
            case wire.Failed(call_id, why):
                pending = worker.calls.get(call_id)
                log.error("engine worker %d (pid %s): a command (%s) failed; its session is closed: %s", worker.index,
                          worker.pid, pending.op if pending else "?", why)
                worker.settle_call(message)
            case wire.Done() | wire.Refused():
                worker.settle_call(message)
            case wire.Ready():
                worker.ready.set()

    def _lost(self, worker: WorkerHandle) -> None:
        """A worker's channel closed: expected at shutdown; otherwise a crash, reported and replaced."""
        if worker.stopping or self._stopping:
            return
        code = getattr(worker.worker, "exitcode", None)
        log.error("engine worker %d (pid %s) stopped unexpectedly (exit code %s); %d session(s) closed; "
                  "starting a new one", worker.index, worker.pid, code, len(worker.sessions))
        worker.stopping = True
        worker.fail_calls(f"the engine worker stopped unexpectedly (exit code {code})")
        for session in list(worker.sessions):
            listener = self.listeners.get(session)
            if listener is not None:
                listener(None)  # None: the worker is gone
        self.restarts += 1
        replacement = WorkerHandle(worker.index, self.settings, worker.loop, self._deliver, self._lost)
        self.workers[self.workers.index(worker)] = replacement
        threading.Thread(target=worker.stop, daemon=True).start()  # reap it

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
* Each worker has an explicit :class:`WorkerState` (starting, ready, unresponsive, stopping, dead), changed
  only by :meth:`WorkerHandle.become`; ``GET /api/health`` lists them.
* A watchdog sends each ready worker a heartbeat (``wire.Ping``) every ``worker_heartbeat`` seconds; a worker
  that has sent nothing at all for ``worker_timeout`` seconds since one went out (stopped, or hung in C code) is
  unresponsive: it is killed (SIGKILL) and handled as one that died.
* A worker that dies is logged at ERROR on ``nnplay.workers`` with its exit status or signal, its sessions
  are closed with 1011 and a reason (the page reconnects and restores itself), and it is replaced, unless
  the server is shutting down or draining: then nothing is replaced. At shutdown every worker is told to
  stop, then joined or killed. Worker processes ignore SIGINT and SIGTERM (server/live/worker_process.py), so
  Ctrl+C or a signal to the whole process group reaches only the server, which stops them itself.
* ``engine_processes=0`` runs one worker in a thread of the server process over an in-process channel
  (server/live/channel.py: the same code path, no processes to start; what the unit tests use).

Why processes, with measurements: docs/decisions.md, "Live sessions in engine worker processes".
"""

from __future__ import annotations

import asyncio
import atexit
import enum
import itertools
import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import anyio

from ..lifecycle.drain import Drain
from ..lifecycle.interrupt import on_exit_signals
from ..problems import InvalidInput
from ..settings import Settings
from . import wire
from .channel import ThreadChannel
from .placement import NetworkCost, least_loaded
from .run import Plan
from .worker import main as worker_main
from .worker_process import main as worker_process_main

log = logging.getLogger("nnplay.workers")
JOIN_SECONDS = 5.0  # how long a stopping worker may take before it is killed
START_SECONDS = 60.0  # how long the server waits for its workers to start (importing NumPy and the engine)


class EngineFailure(RuntimeError):
    """A command failed in the engine worker (a bug, or the worker died): the session ends."""


# ---- one worker ----------------------------------------------------------------------------------------------
class WorkerState(enum.Enum):
    """Where an engine worker is in its life; :meth:`WorkerHandle.become` is the only place it changes."""

    STARTING = "starting"  # its process is starting (importing NumPy and the engine)
    READY = "ready"  # it has said Ready and answers the heartbeat
    UNRESPONSIVE = "unresponsive"  # it missed the heartbeat's deadline; it is being killed and replaced
    STOPPING = "stopping"  # the server is stopping it (shutdown)
    DEAD = "dead"  # its channel closed: it exited, crashed or was killed


TRANSITIONS: dict[WorkerState, frozenset[WorkerState]] = {
    WorkerState.STARTING: frozenset({WorkerState.READY, WorkerState.UNRESPONSIVE, WorkerState.STOPPING,
                                     WorkerState.DEAD}),
    WorkerState.READY: frozenset({WorkerState.UNRESPONSIVE, WorkerState.STOPPING, WorkerState.DEAD}),
    WorkerState.UNRESPONSIVE: frozenset({WorkerState.STOPPING, WorkerState.DEAD}),
    WorkerState.STOPPING: frozenset({WorkerState.DEAD}),
    WorkerState.DEAD: frozenset(),
}
ENDING = frozenset({WorkerState.UNRESPONSIVE, WorkerState.STOPPING, WorkerState.DEAD})  # its end is known


def exit_status(code: Optional[int]) -> str:
    """A process's ``exitcode`` in words: "exit status 1", "killed by SIGKILL"."""
    if code is None:
        return "exit status unknown (still running)"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


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
        self.state = WorkerState.STARTING
        self.restarts, self.last_exit = 0, None  # of the workers this one replaced in its slot (for health)
        self.failure: Optional[str] = None  # how it ended, once it has (what its sessions are told)
        self.last_heard = self.pinged_at = time.monotonic()  # the last message from it; the unanswered heartbeat
        self._pings = itertools.count()
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
            self.worker = context.Process(target=worker_process_main, args=(far_end, *args), daemon=True,
                                          name=f"nnplay-engine-{index}")
        self.worker.start()
        if settings.engine_processes:
            far_end.close()  # the child holds its own copy: EOF here when it dies
        threading.Thread(target=self._read, daemon=True, name=f"nnplay-engine-{index}-read").start()
        threading.Thread(target=self._write, daemon=True, name=f"nnplay-engine-{index}-write").start()

    def __repr__(self) -> str:
        return f"WorkerHandle({self.index}, pid={self.pid}, {self.state.value}, sessions={len(self.sessions)})"

    def become(self, state: WorkerState) -> None:
        """Move to ``state``; a transition :data:`TRANSITIONS` does not allow is a bug (RuntimeError)."""
        if state not in TRANSITIONS[self.state]:
            raise RuntimeError(f"engine worker {self.index} cannot become {state.value}: it is {self.state.value}")
        self.state = state

    def exit_status(self) -> str:
        """How the worker ended, in words: "exit status 1", "killed by SIGKILL" (a thread: "its thread ended")."""
        if not hasattr(self.worker, "exitcode"):
            return "its thread ended"
        return exit_status(self.worker.exitcode)

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

    def heartbeat(self) -> None:
        """Ask the worker for a sign of life (it answers ``Pong`` between rounds of its clock)."""
        self.pinged_at = time.monotonic()
        self._outgoing.put(wire.Ping(next(self._pings)))

    def silent_for(self, now: float) -> float:
        """Seconds since the oldest heartbeat that nothing from the worker has followed (0: none unanswered)."""
        return 0.0 if self.last_heard >= self.pinged_at else now - self.pinged_at

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
            self.last_heard = time.monotonic()  # any message is a sign of life, not only a Pong
            if self.state in ENDING:
                return  # its end is handled already (the loop may be gone at shutdown)
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

    def kill(self) -> None:
        """SIGKILL the worker process (it ignores SIGTERM); nothing for a worker thread."""
        if hasattr(self.worker, "kill") and self.worker.is_alive():
            self.worker.kill()

    def stop(self) -> None:
        """Tell the worker to stop, wait for it (or kill it), close the channel (a worker thread). Blocks; the
        caller has moved it to STOPPING, or it has ended (``ENDING``)."""
        self._outgoing.put(wire.Stop())
        self.worker.join(JOIN_SECONDS)
        if self.worker.is_alive():
            self.kill()
            self.worker.join(JOIN_SECONDS)
        self._outgoing.put(None)
        self.channel.close()


# ---- the supervisor -------------------------------------------------------------------------------------------
class EngineWorkers:
    """Every engine worker of one app. Start in the lifespan (``start``), stop at shutdown (``stop``). No worker
    is replaced once ``drain`` has begun or a SIGINT or SIGTERM has come."""

    def __init__(self, settings: Settings, drain: Optional[Drain] = None):
        self.settings, self.drain = settings, drain
        self.count = settings.engine_processes or 1
        self.workers: list[WorkerHandle] = []
        # session id → its news handler (event loop)
        self.listeners: dict[str, Callable[[Optional[wire.NewsEntry | wire.SessionFailed]], None]] = {}
        self.lessons: dict[str, tuple[NetworkCost, ...]] = {}  # session id → its networks' estimated costs
        # session id → its lesson before a configure in flight
        self._before_move: dict[str, Optional[tuple[NetworkCost, ...]]] = {}
        self.restarts = 0
        self._stopping = False
        self._watchdog: Optional[asyncio.Task] = None
        self._restore_signals: Callable[[], None] = lambda: None

    def __repr__(self) -> str:
        return f"EngineWorkers({self.workers}, restarts={self.restarts})"

    @property
    def replacing(self) -> bool:
        """Whether a worker that dies is replaced: not once the server is stopping or draining."""
        return not self._stopping and (self.drain is None or self.drain.accepting)

    async def start(self) -> None:
        """Start the workers and the watchdog (worker processes only: a thread cannot be killed), and wait until
        they are ready (at most ``START_SECONDS``; sessions that come sooner wait for their worker)."""
        loop = asyncio.get_running_loop()
        self._restore_signals = on_exit_signals(self._shutdown_begins)
        atexit.register(self._kill_left)
        self.workers = [self._new_worker(i, loop) for i in range(self.count)]
        if self.settings.engine_processes:
            self._watchdog = loop.create_task(self._watch(), name="nnplay-engine-watchdog")
            self._watchdog.add_done_callback(self._watchdog_ended)
        with anyio.move_on_after(START_SECONDS):
            for worker in self.workers:
                await worker.ready.wait()
        if not all(worker.ready.is_set() for worker in self.workers):
            log.warning("engine workers still starting after %.0f s; sessions wait for them", START_SECONDS)

    @staticmethod
    def _watchdog_ended(task: asyncio.Task) -> None:
        """A watchdog that failed (a bug) says so at once, rather than leaving frozen workers unnoticed."""
        if not task.cancelled() and task.exception() is not None:
            log.error("the engine workers' watchdog failed; frozen workers go unnoticed", exc_info=task.exception())

    def _new_worker(self, index: int, loop: asyncio.AbstractEventLoop) -> WorkerHandle:
        return WorkerHandle(index, self.settings, loop, self._deliver, self._lost)

    def _shutdown_begins(self) -> None:
        """A SIGINT or SIGTERM came (a signal handler: it only sets a flag)."""
        self._stopping = True

    def _kill_left(self) -> None:
        """At exit, if ``stop`` never ran: kill the workers still running. (multiprocessing's own exit handler,
        which runs after this one, would send them SIGTERM, which they ignore, and then wait for them.)"""
        for worker in self.workers:
            worker.kill()

    async def stop(self) -> None:
        """Stop every worker at once (each joined, or killed after ``JOIN_SECONDS``)."""
        self._stopping = True
        self._restore_signals()
        atexit.unregister(self._kill_left)
        if self._watchdog is not None:
            self._watchdog.cancel()
        for worker in self.workers:
            if worker.state not in ENDING:
                worker.become(WorkerState.STOPPING)
        async with anyio.create_task_group() as group:
            for worker in self.workers:
                group.start_soon(anyio.to_thread.run_sync, worker.stop)

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
                if worker.state is WorkerState.STARTING:
                    worker.become(WorkerState.READY)
                worker.ready.set()
            case wire.Pong():
                pass  # the reader has noted the sign of life

    # ---- the watchdog and the ends of workers (event loop) ----------------------------------------------------
    async def _watch(self) -> None:
        """Every ``worker_heartbeat`` seconds: a heartbeat to each ready worker that has answered the last one;
        a worker silent for ``worker_timeout`` seconds since a heartbeat (or starting for ``START_SECONDS``) is
        unresponsive. Silence counts from a heartbeat sent, so a stalled event loop makes no false alarm."""
        interval, timeout = self.settings.worker_heartbeat, self.settings.worker_timeout
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            for worker in list(self.workers):
                if worker.state is WorkerState.STARTING and now - worker.pinged_at > START_SECONDS:
                    self._unresponsive(worker, f"did not start within {START_SECONDS:.0f} s")
                elif worker.state is not WorkerState.READY:
                    continue
                elif worker.silent_for(now) > timeout:
                    self._unresponsive(worker, f"did not answer for {worker.silent_for(now):.1f} s")
                elif not worker.silent_for(now):
                    worker.heartbeat()

    def _unresponsive(self, worker: WorkerHandle, why: str) -> None:
        """Kill a worker that stopped answering (SIGKILL: it may be stopped, or stuck in C code) and replace it."""
        worker.become(WorkerState.UNRESPONSIVE)
        worker.kill()
        self._end(worker, why, "the engine worker stopped answering")

    def _lost(self, worker: WorkerHandle) -> None:
        """A worker's channel closed: expected when it is stopping; otherwise a crash, reported (and replaced)."""
        if worker.state in ENDING:
            return
        worker.become(WorkerState.DEAD)
        self._end(worker, "stopped unexpectedly", "the engine worker stopped unexpectedly")

    def _end(self, worker: WorkerHandle, why: str, failure: str) -> None:
        """The sessions of a worker that ended are told (closed with 1011, so the page reconnects); it is
        replaced unless the server is stopping or draining, and reaped in a thread, which logs the end."""
        worker.failure = failure
        worker.fail_calls(failure)
        closed = len(worker.sessions)
        for session in list(worker.sessions):
            listener = self.listeners.get(session)
            if listener is not None:
                listener(None)  # None: the worker is gone
        replacement = None
        if self.replacing:
            self.restarts += 1
            replacement = self._new_worker(worker.index, worker.loop)
            replacement.restarts, replacement.last_exit = worker.restarts + 1, why  # its exit status once reaped
            self.workers[self.workers.index(worker)] = replacement
        threading.Thread(target=self._reap, args=(worker, why, closed, replacement), daemon=True,
                         name=f"nnplay-engine-{worker.index}-reap").start()

    def _reap(self, worker: WorkerHandle, why: str, closed: int, replacement: Optional[WorkerHandle]) -> None:
        """(A thread.) Join the ended worker, so its exit status is known, and log its end at ERROR."""
        worker.stop()
        ended = f"{why} ({worker.exit_status()})"
        if replacement is not None:
            replacement.last_exit = ended
        then = f"replaced by pid {replacement.pid}" if replacement else "not replaced: the server is draining/stopping"
        log.error("engine worker %d (pid %s) %s; %d session(s) closed; %s", worker.index, worker.pid, ended, closed,
                  then)

"""Draining: how an instance leaves a group of instances behind a proxy without losing work.

On SIGTERM (``systemctl stop``, a rolling restart) the instance goes from ``ready`` to ``draining``:

* new work is refused with HTTP 503 and ``Retry-After`` (a new ``/ws`` session, any POST), before any of it
  is done, so the proxy passes it on to another instance (deploy/nginx: ``proxy_next_upstream http_503``);
* what must outlive the instance is written first (``before_close``: the classroom rooms, server/rooms/keep.py);
* every open session is closed with 1012 (service restart); the page reconnects at once, through the
  proxy, to another instance, and restores its setup there;
* background runs get ``drain_grace`` seconds to finish and to be collected: the instance stays until
  every run that was training has ended and a poll has read how it ended (the sessions' close frames go
  out meanwhile); those still training at the end of the grace are cancelled;
* everything else (the page, ``GET /api/runs/{id}``, ``DELETE``) is still served, and ``/api/health``
  answers 503 with ``"status": "draining"``, so a proxy or an orchestrator stops sending users here. The
  instance keeps listening: the polls of its runs reach it through the proxy until they are answered.

Then the instance exits as the signal asked (uvicorn's own shutdown). A second SIGTERM stops waiting.
The session machinery is reached only through :class:`OpenSessions`, a registry the ``/ws`` route enters
around each session.
"""

from __future__ import annotations

import asyncio
import enum
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator, Optional

import anyio
import anyio.abc
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ..jobs.runs import RunStore

SERVICE_RESTART = 1012  # WebSocket close code: "the server is restarting; reconnect"
RETRY_AFTER = 5  # seconds, in the 503's Retry-After header
POLL = 0.1  # seconds between looks at the open sessions and running runs while draining


class Readiness(enum.Enum):
    """Whether an instance takes new work. The only transition is READY → DRAINING (:meth:`Drain.begin`)."""

    READY = "ready"
    DRAINING = "draining"


@dataclass
class OpenSession:
    """One live session as the registry sees it: a cancel scope around its run and, once closed from
    outside, the close code and reason its route sends."""

    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    code: Optional[int] = None
    reason: str = ""

    def close(self, code: int, reason: str) -> None:
        self.code, self.reason = code, reason
        self.scope.cancel()


class OpenSessions:
    """The live sessions of one app, each closable from outside (for draining)."""

    def __init__(self) -> None:
        self._open: dict[str, OpenSession] = {}

    def __len__(self) -> int:
        return len(self._open)

    @contextmanager
    def open(self, key: str) -> Iterator[OpenSession]:
        """Register a session for the duration of the ``with`` block. The session runs inside the entry's
        ``scope``, which :meth:`close_all` cancels; then the entry's ``code`` says how to close the socket."""
        entry = OpenSession()
        self._open[key] = entry
        try:
            yield entry
        finally:
            self._open.pop(key, None)

    def close_all(self, code: int, reason: str) -> None:
        for entry in list(self._open.values()):
            entry.close(code, reason)


class Drain:
    """An instance's readiness and the drain itself."""

    def __init__(self, grace: float):
        self.grace = grace
        self.readiness = Readiness.READY

    def __repr__(self) -> str:
        return f"Drain({self.readiness.value}, grace={self.grace}s)"

    @property
    def accepting(self) -> bool:
        return self.readiness is Readiness.READY

    def begin(self) -> None:
        if self.readiness is not Readiness.READY:
            raise RuntimeError(f"cannot begin draining: already {self.readiness.value} (expected ready)")
        self.readiness = Readiness.DRAINING

    async def run(self, sessions: OpenSessions, runs: RunStore,
                  before_close: Callable[[], None] = lambda: None) -> None:
        """Stop taking work, call ``before_close``, send the sessions elsewhere, give the runs ``grace`` seconds to
        end and be collected, cancel the rest."""
        self.begin()
        began = time.time()
        before_close()
        sessions.close_all(SERVICE_RESTART, "server restarting; reconnect")
        with anyio.move_on_after(self.grace):
            while len(sessions) or runs.awaiting(began):  # the sessions' close frames are out within a poll or two
                await anyio.sleep(POLL)
        for run in runs.runs.values():  # cancelled between slices, and still answered until the process exits
            if run.status == "running":
                run.error = f"cancelled: the server shut down after a drain grace of {self.grace:g} s"
                if run.progress is not None:
                    run.progress.cancelled = True
                run.scope.cancel()


class DrainGate:
    """ASGI middleware: while draining, a new session (any WebSocket) or a POST is answered 503 before the
    app sees it; the other requests pass."""

    def __init__(self, app: ASGIApp, drain: Drain):
        self.app, self.drain = app, drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        new_work = scope["type"] == "websocket" or (scope["type"] == "http" and scope["method"] == "POST")
        if self.drain.accepting or not new_work:
            return await self.app(scope, receive, send)
        refusal = JSONResponse({"detail": "this instance is draining (shutting down); try another instance"},
                               status_code=503, headers={"Retry-After": str(RETRY_AFTER)})
        if scope["type"] == "websocket" and "websocket.http.response" not in scope.get("extensions", {}):
            await send({"type": "websocket.close", "code": 1013})  # before accept: an HTTP 403 for the client
            return
        await refusal(scope, receive, send)  # for a WebSocket: the denial response extension (ASGI 2.4)


@contextmanager
def drain_on_sigterm(drain: Drain, sessions: OpenSessions, runs: RunStore, task_group: anyio.abc.TaskGroup,
                     before_close: Callable[[], None] = lambda: None) -> Iterator[None]:
    """While the ``with`` block runs (the app's lifespan), the first SIGTERM drains in ``task_group`` (calling
    ``before_close`` before it closes the sessions) and then
    raises SIGTERM again for the handler that was there before (uvicorn's, which shuts the server down); a
    second SIGTERM goes straight to that handler. Signals are the main thread's: elsewhere (a TestClient)
    this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    previous = signal.getsignal(signal.SIGTERM)
    if previous is None:  # installed outside Python: the default (terminate) is the closest
        previous = signal.SIG_DFL

    asked = anyio.Event()  # set on the loop once the first SIGTERM arrives
    received: list[int] = []

    def exit_as_asked() -> None:
        signal.signal(signal.SIGTERM, previous)
        signal.raise_signal(signal.SIGTERM)

    async def drain_when_asked() -> None:
        await asked.wait()
        await drain.run(sessions, runs, before_close)
        exit_as_asked()

    def on_sigterm(signum: int, frame: object) -> None:
        if signum in received:
            return exit_as_asked()
        received.append(signum)
        loop.call_soon_threadsafe(asked.set)  # a handler runs between two bytecodes: only hand over here

    task_group.start_soon(drain_when_asked)
    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        if signal.getsignal(signal.SIGTERM) is on_sigterm:
            signal.signal(signal.SIGTERM, previous)

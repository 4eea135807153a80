"""HTTP connections that cannot be held open for free: a deadline for each request head and body, a cap on
open connections, and the open-file limit raised to fit them.

uvicorn closes a keep-alive connection that stays quiet after a response (``timeout_keep_alive``), but
waits forever for a request head or body that never completes: a client that opens a connection and sends
nothing, or dribbles a header (slowloris) or a body (slow POST) a byte at a time, holds a socket, a file
descriptor and, for a body, a request task for as long as it likes. :class:`GuardedH11Protocol` is uvicorn's
h11 protocol with three more rules:

* a request head must be complete within ``head_timeout`` seconds of the connection opening or of the
  request's first byte;
* its body must be complete within ``body_timeout`` seconds of the head;
* a connection that would make more than ``max_connections`` open at once (HTTP and WebSocket together) is
  answered 503 and closed at once, before it is read, so that the descriptors held stay well below the
  process's open-file limit.

A late head or body closes the connection, with a 408 when part of the request had arrived and no answer
had started (silently when nothing had: a browser's idle preconnection is not an error); the request's
task, if any, sees the client leave as any disconnected request does.

:func:`raise_file_limit` lifts the process's soft open-file limit (often 1,024) to its hard limit at
start-up, where the cap and the engine workers' pipes have room.

Responses and WebSockets are not timed here: the client-gone checks and the live sessions' own timers
bound those.
"""

from __future__ import annotations

import asyncio
import resource
from enum import Enum
from typing import Optional

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


def _closing_response(status: str, text: str, *headers: str) -> bytes:
    """A whole HTTP/1.1 response that closes the connection, written before any request was parsed."""
    body = text.encode()
    head = [f"HTTP/1.1 {status}", "content-type: text/plain; charset=utf-8", "connection: close",
            f"content-length: {len(body)}", *headers]
    return "\r\n".join(head).encode() + b"\r\n\r\n" + body


TOO_LATE_RESPONSE = _closing_response("408 Request Timeout", "the request did not arrive in time")
BUSY_RESPONSE = _closing_response("503 Service Unavailable", "the server holds as many connections as it takes",
                                  "retry-after: 5")


class Phase(Enum):
    """What the server waits for from the client, each with its deadline."""

    HEAD = "head"
    BODY = "body"


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request head and body, and a connection cap (see the
    module docstring). Use :meth:`configured` to get a class with the limits set, and pass it as uvicorn's
    ``http``."""

    head_timeout: float = 10.0
    body_timeout: float = 60.0
    max_connections: int = 1000

    @classmethod
    def configured(cls, head_timeout: float, body_timeout: float, max_connections: int) -> type["GuardedH11Protocol"]:
        """A subclass with these limits (uvicorn makes one protocol object per connection from the class)."""
        limits = {"head_timeout": head_timeout, "body_timeout": body_timeout, "max_connections": max_connections}
        return type(cls.__name__, (cls,), limits)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._phase: Optional[Phase] = None
        self._deadline: Optional[asyncio.TimerHandle] = None
        self._bytes = 0  # of the request under way
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            transport.write(BUSY_RESPONSE)
            transport.close()
            return
        self._wait_for(Phase.HEAD)

    def data_received(self, data: bytes) -> None:
        if self._phase is None and self.conn.their_state is h11.IDLE:
            self._wait_for(Phase.HEAD)  # a new request on a kept-alive connection: from its first byte
        self._bytes += len(data)
        super().data_received(data)
        if self.transport.get_protocol() is not self:
            self._wait_for(None)  # the connection became a WebSocket
        elif self.conn.their_state is h11.SEND_BODY:
            self._wait_for(Phase.BODY)
        elif self.conn.their_state is not h11.IDLE:
            self._wait_for(None)  # the request is complete
            self._bytes = 0

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self._wait_for(None)
        super().connection_lost(exc)

    def _wait_for(self, phase: Optional[Phase]) -> None:
        """Start the deadline of ``phase``, unless it is already running (None: stop waiting)."""
        if phase is self._phase:
            return
        if self._deadline is not None:
            self._deadline.cancel()
        self._phase = phase
        timeout = {Phase.HEAD: self.head_timeout, Phase.BODY: self.body_timeout}.get(phase)
        self._deadline = None if timeout is None else self.loop.call_later(timeout, self._too_late)

    def _too_late(self) -> None:
        self._deadline, self._phase = None, None
        if self.transport.is_closing():
            return
        if self._bytes and self.conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            self.transport.write(TOO_LATE_RESPONSE)
        self.transport.close()


UNLIMITED_FILES = 1 << 16  # the soft limit asked for when the hard limit says "unlimited"
FILES_RESERVED = 128  # descriptors kept for what is not a connection: engine workers' pipes, logs, files served


def raise_file_limit(wanted: Optional[int] = None) -> tuple[int, int]:
    """Set the soft open-file limit to ``wanted`` (default: the hard limit; never above it). Returns the
    limits (before, after)."""
    before, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted or (hard if hard != resource.RLIM_INFINITY else UNLIMITED_FILES)
    if hard != resource.RLIM_INFINITY:
        target = min(target, hard)
    if target == before:
        return before, before
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):  # e.g. above the kernel's own ceiling: the limit stays as it was
        return before, before
    return before, target


def connections_room(open_files: int) -> int:
    """How many connections fit in ``open_files`` descriptors besides the reserved ones."""
    return max(0, open_files - FILES_RESERVED)

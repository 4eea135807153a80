"""HTTP connections that cannot be held open for free: a deadline for each request head, a cap on open
connections, and the open-file limit raised to fit them.

uvicorn closes a keep-alive connection that stays quiet after a response (``timeout_keep_alive``), but
waits forever for a request head that never completes: a client that opens a connection and sends
nothing, or dribbles a header a byte at a time (slowloris), holds a socket and a file descriptor for as
long as it likes. :class:`GuardedH11Protocol` is uvicorn's h11 protocol with two more rules:

* a request head must be complete within ``head_timeout`` seconds of the connection opening or of the
  request's first byte; otherwise the connection is closed (with a 408 when part of a head had arrived,
  silently when nothing had: a browser's idle preconnection is not an error);
* a connection that would make more than ``max_connections`` open at once (HTTP and WebSocket together) is
  answered 503 and closed at once, before it is read, so that the descriptors held stay well below the
  process's open-file limit.

:func:`raise_file_limit` lifts the process's soft open-file limit (often 1,024) to its hard limit at
start-up, where the cap and the engine workers' pipes have room.

Request bodies, responses and WebSockets are not timed here: the body limit, the client-gone checks and
the live sessions' own timers bound those.
"""

from __future__ import annotations

import asyncio
import resource
from typing import Optional

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


def _closing_response(status: str, text: str, *headers: str) -> bytes:
    """A whole HTTP/1.1 response that closes the connection, written before any request was parsed."""
    body = text.encode()
    head = [f"HTTP/1.1 {status}", "content-type: text/plain; charset=utf-8", "connection: close",
            f"content-length: {len(body)}", *headers]
    return "\r\n".join(head).encode() + b"\r\n\r\n" + body


HEAD_TIMEOUT_RESPONSE = _closing_response("408 Request Timeout", "the request head did not arrive in time")
BUSY_RESPONSE = _closing_response("503 Service Unavailable", "the server holds as many connections as it takes",
                                  "retry-after: 5")


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a request-head deadline and a connection cap (see the module docstring).
    Use :meth:`configured` to get a class with the limits set, and pass it as uvicorn's ``http``."""

    head_timeout: float = 10.0
    max_connections: int = 1000

    @classmethod
    def configured(cls, head_timeout: float, max_connections: int) -> type["GuardedH11Protocol"]:
        """A subclass with these limits (uvicorn makes one protocol object per connection from the class)."""
        return type(cls.__name__, (cls,), {"head_timeout": head_timeout, "max_connections": max_connections})

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._head_timer: Optional[asyncio.TimerHandle] = None
        self._head_bytes = 0
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            transport.write(BUSY_RESPONSE)
            transport.close()
            return
        self._start_head_timer()

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:
            self._head_bytes += len(data)
            self._start_head_timer()  # the deadline counts from the request's first byte, not from each byte
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE or self.transport.get_protocol() is not self:
            self._stop_head_timer()  # the head is complete (or the connection became a WebSocket)
            self._head_bytes = 0

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def _start_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        if self._head_bytes:
            self.transport.write(HEAD_TIMEOUT_RESPONSE)
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

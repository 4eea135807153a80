"""An in-process duplex channel with ``multiprocessing.Connection``'s ``send`` / ``recv`` / ``poll`` / ``close``:
what an engine worker running in a thread of the server process (``engine_processes=0``) talks over. Objects
are passed, not copied."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any, Optional


class _Direction:
    def __init__(self) -> None:
        self.items: deque = deque()
        self.ready = threading.Condition()
        self.closed = False


class ThreadChannel:
    """One end of an in-process duplex channel (objects are passed, not copied)."""

    def __init__(self, incoming: _Direction, outgoing: _Direction):
        self._in, self._out = incoming, outgoing

    @staticmethod
    def pair() -> tuple["ThreadChannel", "ThreadChannel"]:
        a, b = _Direction(), _Direction()
        return ThreadChannel(a, b), ThreadChannel(b, a)

    def send(self, obj: Any) -> None:
        with self._out.ready:
            if self._out.closed:
                raise BrokenPipeError("channel closed")
            self._out.items.append(obj)
            self._out.ready.notify()

    def poll(self, timeout: Optional[float] = 0.0) -> bool:
        with self._in.ready:
            return self._in.ready.wait_for(lambda: self._in.items or self._in.closed, timeout)

    def recv(self) -> Any:
        with self._in.ready:
            self._in.ready.wait_for(lambda: self._in.items or self._in.closed)
            if self._in.items:
                return self._in.items.popleft()
            raise EOFError("channel closed")

    def close(self) -> None:
        for direction in (self._in, self._out):
            with direction.ready:
                direction.closed = True
                direction.ready.notify_all()

"""Long work of one session done a slice at a time, so that it costs that session's time, not its neighbours'.

The engine offers its long work as resumable generators that yield whenever a ``pause()`` callable says so
(``Trainer.epoch_parts``, ``probes.gradient_check_parts``) and return their result. A :class:`Slices` runs
one for a given number of seconds per call; the live clock (server/live/clock.py) advances it in the
rounds where the session's fair share admits it, and charges the session for it. A :class:`Job` is a
command's work (any command of a session that has a run: a gradient check, a frame at the largest density):
its reply goes out when it is done (server/live/worker.py).

Why slices rather than another thread or process, with measurements: docs/decisions.md, "Heavy sessions
pay for their own work".
"""

from __future__ import annotations

import time
from typing import Any, Callable, Generator

Parts = Generator[Any, None, Any]


class Slices:
    """Resumable work, ``start(pause)`` (a generator that yields when ``pause()`` is true), run a slice at a
    time: :meth:`advance` returns whether it is done, and then ``result`` is what the generator returned."""

    def __init__(self, start: Callable[[Callable[[], bool]], Parts]):
        self._until = 0.0
        self._parts = start(self._paused)
        self.done = False
        self.result: Any = None

    def __repr__(self) -> str:
        return f"Slices({'done' if self.done else 'in progress'})"

    def _paused(self) -> bool:
        return time.perf_counter() >= self._until

    def advance(self, seconds: float) -> bool:
        """Work for about ``seconds`` (at least one unit of the work); True once it is done. An exception of
        the work propagates. Wall-clock seconds: the clock is asked after every unit (a mini-batch of a tiny
        network takes about 20 µs), and ``perf_counter`` costs 45 ns where ``process_time`` costs 580; on a
        busy machine a part then does less work, never more."""
        self._until = time.perf_counter() + seconds
        try:
            next(self._parts)
        except StopIteration as finished:
            self.done, self.result = True, finished.value
        return self.done


class Job:
    """A command's work for one session: ``start`` as for :class:`Slices` (most commands are one part; a
    gradient check yields between parameters). ``call`` is the command it answers. An exception of the work
    ends the job and is raised by :meth:`value`, where the worker turns it into the reply, as it does for any
    command."""

    def __init__(self, call: Any, start: Callable[[Callable[[], bool]], Parts]):
        self.call = call
        self._slices = Slices(start)
        self._error: BaseException | None = None

    def __repr__(self) -> str:
        return f"Job({self.call!r}, {self._slices!r})"

    def advance(self, seconds: float) -> bool:
        """As :meth:`Slices.advance`; an exception ends the job instead of propagating."""
        try:
            return self._slices.advance(seconds)
        except Exception as exc:  # noqa: BLE001 - the command's error, answered to its session by value()
            self._error = exc
            return True

    def value(self) -> Any:
        """What the work returned, once done; raises the work's exception if it failed."""
        if self._error is not None:
            raise self._error
        return self._slices.result

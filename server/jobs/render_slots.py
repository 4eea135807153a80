"""Running the pictures of ``POST /api/render`` and ``/api/render/gif``: a bounded number at a time, a turn of
the engine pool at a time, and only while someone waits for them.

* At most ``max_renders`` (``NNPLAY_MAX_RENDERS``) run at once; one more is answered 429 at once rather than
  queued (a render of the largest GIF trains and draws for about a minute, and holds a frame and its
  encoder while it does).
* A :class:`~nnplay.server.jobs.pictures.Film` (or a comparison's :class:`~nnplay.server.jobs.mosaic.Mosaic`)
  advances in the pool like any other engine work (``EnginePool.turn_over``
  decides how long a turn lasts); between two turns the route asks the server whether the client is still
  connected, so an abandoned render stops within one turn (one slice, one epoch or one frame).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator, Protocol

from fastapi import HTTPException, Request

from ..deps import ServerState

BUSY_STATUS = 429


class Playable(Protocol):
    def advance(self, turn_over: Callable[[float], bool]) -> bool: ...


class ClientGone(Exception):
    """The client closed the connection while its render was running."""


@contextmanager
def render_slot(state: ServerState) -> Iterator[None]:
    """Hold one of the ``max_renders`` slots, or answer 429 naming the limit and its setting."""
    limit = state.settings.max_renders
    if state.renders >= limit:
        raise HTTPException(BUSY_STATUS, f"the server is drawing {state.renders} pictures already, its limit "
                                         f"(NNPLAY_MAX_RENDERS = {limit}); try again when one has finished")
    state.renders += 1
    try:
        yield
    finally:
        state.renders -= 1


async def run_film(state: ServerState, request: Request, film: Playable) -> None:
    """Advance ``film`` in the engine pool until it is finished; :class:`ClientGone` when the client leaves."""
    while not await state.pool.run(film.advance, state.pool.turn_over):
        if await request.is_disconnected():
            raise ClientGone()

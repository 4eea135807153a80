"""What route handlers share: the app's :class:`ServerState`, reached with the ``StateDep`` dependency."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Annotated, Optional

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from nnplay.engine import Limits

from .jobs.pool import EnginePool
from .jobs.runs import RunStore
from .lifecycle.drain import Drain, OpenSessions
from .live.supervisor import EngineWorkers
from .rooms.registry import Rooms
from .settings import Settings
from .store import Store
from .sweeps.service import Sweeps


@dataclass
class ServerState:
    """One app's settings, its readiness and the objects its lifespan starts (the pool, the runs, the engine
    workers), and the live sessions."""

    settings: Settings
    limits: Limits
    drain: Drain
    gpu: bool = False
    pool: Optional[EnginePool] = None
    runs: Optional[RunStore] = None
    workers: Optional[EngineWorkers] = None
    store: Optional[Store] = None
    rooms: Optional[Rooms] = None  # the classroom rooms open on this instance (server/rooms)
    sweeps: Optional[Sweeps] = None
    sessions: OpenSessions = field(default_factory=OpenSessions)
    addresses: Counter[str] = field(default_factory=Counter)  # live sessions per client address (routes/ws.py)
    renders: int = 0  # pictures being drawn now (server/jobs/render_slots.py)


def server_state(connection: HTTPConnection) -> ServerState:
    """The state of the app serving this request or socket (set by ``create_app``)."""
    return connection.app.state.nnplay


def _request_state(request: Request) -> ServerState:
    return server_state(request)


StateDep = Annotated[ServerState, Depends(_request_state)]

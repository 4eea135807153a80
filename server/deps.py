"""What route handlers share: the app's :class:`ServerState`, reached with the ``StateDep`` dependency."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Optional

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from nnplay.engine import Limits

from .drain import Drain, OpenSessions
from .pool import EnginePool
from .runs import RunStore
from .settings import Settings


@dataclass
class ServerState:
    """One app's settings, its readiness and the objects its lifespan starts (the pool, the runs), and the
    live sessions."""

    settings: Settings
    limits: Limits
    drain: Drain
    gpu: bool = False
    pool: Optional[EnginePool] = None
    runs: Optional[RunStore] = None
    sessions: OpenSessions = field(default_factory=OpenSessions)


def server_state(connection: HTTPConnection) -> ServerState:
    """The state of the app serving this request or socket (set by ``create_app``)."""
    return connection.app.state.nnplay


def _request_state(request: Request) -> ServerState:
    return server_state(request)


StateDep = Annotated[ServerState, Depends(_request_state)]

"""``/ws``: one live training session per connection (docs/protocol.md).

Before a session starts, the Origin header is checked against the allow-list (the server's own address by
default, so another site cannot drive a user's session; clients that send no Origin, such as scripts, are not
browsers and are let in), the session count against ``max_sessions`` and the count from the client's address
(the ASGI client address: the peer, or the forwarded address where the server trusts the proxy) against
``max_sessions_per_address``. A refused socket is accepted and closed at once with 1008 (origin) or 1013 (too
many sessions) and a reason, which browsers show, rather than an HTTP 403 that they do not. While the instance
drains (server/lifecycle/drain.py), new sockets get an HTTP 503 before they reach this route and open ones are
closed with 1012 (service restart).

``/ws?room=CODE`` is a student's session in a classroom room (server/rooms/student.py): a code this instance
does not hold is refused with HTTP 404 before the upgrade (so a proxy tries the next instance); otherwise the
session starts once the student's ``join`` is accepted, seated in the room.
"""

from __future__ import annotations

from collections import Counter
from contextlib import contextmanager
from typing import Iterator, Optional

from fastapi import APIRouter, WebSocket

from ..deps import ServerState, server_state
from ..live.session import CLOSED_ERRORS, Session
from ..rooms import student as room_student
from ..rooms.room import Seat

router = APIRouter()


LOOPBACK_NAMES = {"127.0.0.1": ("localhost",), "::1": ("localhost",), "localhost": ("127.0.0.1",)}


def own_origins(server: Optional[tuple]) -> set[str]:
    """The origins of the address this connection reached (the listening socket's own, never the client's
    ``Host`` header, which a DNS-rebinding page controls): ``http``/``https`` with that host and port,
    the port left out where it is the scheme's default, and ``localhost`` for a loopback address."""
    if not server:
        return set()
    host, port = server[0], server[1]
    origins = set()
    for name in (host, *LOOPBACK_NAMES.get(host, ())):
        shown = f"[{name}]" if ":" in name else name
        for scheme, default in (("http", 80), ("https", 443)):
            origins.add(f"{scheme}://{shown}" if port == default else f"{scheme}://{shown}:{port}")
    return origins


def origin_refusal(websocket: WebSocket, allowed: list[str]) -> Optional[str]:
    """Why this origin may not connect, or None if it may: allowed are the configured origins
    (``NNPLAY_ALLOWED_ORIGINS``) and the server's own address (:func:`own_origins`)."""
    origin = websocket.headers.get("origin")
    if origin is None or "*" in allowed or origin in allowed:
        return None
    if origin.lower() in own_origins(websocket.scope.get("server")):
        return None
    return f"origin {origin} is not allowed (see NNPLAY_ALLOWED_ORIGINS)"[:123]


def refusal(websocket: WebSocket, state: ServerState) -> Optional[tuple[int, str]]:
    """The close code and reason refusing this socket, or None if it may start a session."""
    settings = state.settings
    refused = origin_refusal(websocket, settings.allowed_origins)
    if refused is not None:
        return 1008, refused
    if len(state.sessions) >= settings.max_sessions:
        return 1013, f"too many sessions ({settings.max_sessions}); try again later"
    if state.addresses[client_address(websocket)] >= settings.max_sessions_per_address:
        return 1013, (f"too many sessions from this address ({settings.max_sessions_per_address}); close one or "
                      "try again later")
    return None


def client_address(websocket: WebSocket) -> str:
    return websocket.client.host if websocket.client else ""


@contextmanager
def counted(addresses: Counter[str], address: str) -> Iterator[None]:
    """Count a session from ``address`` for the duration of the ``with`` block."""
    addresses[address] += 1
    try:
        yield
    finally:
        addresses[address] -= 1
        if not addresses[address]:
            del addresses[address]


@router.websocket("/ws")
async def live_session(websocket: WebSocket) -> None:
    state: ServerState = server_state(websocket)
    code = websocket.query_params.get("room")
    room = state.rooms.get(code) if code is not None else None
    if code is not None and room is None:
        return await room_student.deny(websocket, code)
    refused = refusal(websocket, state)
    if refused is not None:
        await websocket.accept()
        await websocket.close(*refused)
        return
    address = client_address(websocket)
    with counted(state.addresses, address):  # counted before the first await: no race
        await websocket.accept()
        seat = None
        if room is not None:
            student = await room_student.join(websocket, room, state.rooms, address)
            if student is None:
                return
            seat = Seat(room, student)
        session = Session(websocket, state.settings, state.workers, seat)
        if seat is not None:
            replaced = room.connect(seat.student, session)
            if replaced is not None:
                replaced.close_soon(room_student.REPLACED_CODE, room_student.REPLACED)
            await session.send_room(room.info(student=seat.student))
        with state.sessions.open(session.id) as entry:  # draining closes it from outside (server/lifecycle/drain.py)
            with entry.scope:
                await session.serve()
            if entry.code is not None:
                try:
                    await websocket.close(entry.code, entry.reason)
                except CLOSED_ERRORS:  # the client left meanwhile
                    pass

"""``/ws``: one live training session per connection (docs/protocol.md).

Before a session starts, the Origin header is checked against the allow-list (the server's own address by
default, so another site cannot drive a user's session; clients that send no Origin, such as scripts, are not
browsers and are let in) and the session count against ``max_sessions``. A refused socket is accepted
and closed at once with 1008 (origin) or 1013 (too many sessions) and a reason, which browsers show,
rather than an HTTP 403 that they do not. While the instance drains (server/lifecycle/drain.py), new sockets get an
HTTP 503 before they reach this route and open ones are closed with 1012 (service restart).
"""

from __future__ import annotations

from typing import Optional

from fastapi import APIRouter, WebSocket

from ..deps import ServerState, server_state
from ..live.session import CLOSED_ERRORS, Session

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


@router.websocket("/ws")
async def live_session(websocket: WebSocket) -> None:
    state: ServerState = server_state(websocket)
    settings = state.settings
    refusal = origin_refusal(websocket, settings.allowed_origins)
    if refusal is None and len(state.sessions) >= settings.max_sessions:
        code, refusal = 1013, f"too many sessions ({settings.max_sessions}); try again later"
    else:
        code = 1008
    await websocket.accept()
    if refusal is not None:
        await websocket.close(code, refusal)
        return
    session = Session(websocket, settings, state.workers)
    with state.sessions.open(session.id) as entry:  # draining closes it from outside (server/lifecycle/drain.py)
        with entry.scope:
            await session.serve()
        if entry.code is not None:
            try:
                await websocket.close(entry.code, entry.reason)
            except CLOSED_ERRORS:  # the client left meanwhile
                pass

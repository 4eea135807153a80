"""``/ws``: one live training session per connection (docs/protocol.md).

Before a session starts, the Origin header is checked against the allow-list (same origin by default, so
another site cannot drive a user's session; clients that send no Origin, such as scripts, are not
browsers and are let in) and the session count against ``max_sessions``. A refused socket is accepted
and closed at once with 1008 (origin) or 1013 (too many sessions) and a reason, which browsers show,
rather than an HTTP 403 that they do not. While the instance drains (server/drain.py), new sockets get an
HTTP 503 before they reach this route and open ones are closed with 1012 (service restart).
"""

from __future__ import annotations

from typing import Optional
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket

from ..deps import ServerState, server_state
from ..session import CLOSED_ERRORS, Session

router = APIRouter()


def origin_refusal(websocket: WebSocket, allowed: list[str]) -> Optional[str]:
    """Why this origin may not connect, or None if it may."""
    origin = websocket.headers.get("origin")
    if origin is None or "*" in allowed or origin in allowed:
        return None
    parts = urlsplit(origin)
    host = websocket.headers.get("host", "")
    if parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower():
        return None
    return f"origin {origin} is not allowed (same origin only; see NNPLAY_ALLOWED_ORIGINS)"[:123]


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
    session = Session(websocket, settings, state.pool)
    with state.sessions.open(session.id) as entry:  # draining closes it from outside (server/drain.py)
        with entry.scope:
            await session.run()
        if entry.code is not None:
            try:
                await websocket.close(entry.code, entry.reason)
            except CLOSED_ERRORS:  # the client left meanwhile
                pass

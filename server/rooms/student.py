"""A student's way into a room on ``/ws?room=CODE`` (docs/protocol.md, "Student socket"): the ``join`` message,
its checks (join rate, nickname, room full), and the close codes that refuse it."""

from __future__ import annotations

import json
from typing import Optional

import anyio
from fastapi.responses import JSONResponse
from starlette.websockets import WebSocket

from ..live.session import CLOSED_ERRORS
from ..problems import InvalidInput, problem
from ..live import messages as live_messages
from . import codes
from .messages import Join, parse
from .registry import Rooms
from .room import Room, RoomFull, Student

GONE_CODE = 4404
REPLACED_CODE = 4409
REPLACED = "joined from another page"


def no_room(code: str) -> str:
    normal = codes.normalize(code)
    shown = codes.shown(normal) if normal else code[:20]
    return f"no room {shown} (it ended or expired)"


async def deny(websocket: WebSocket, code: str) -> None:
    """Refuse the upgrade of a socket for a room this instance does not hold: HTTP 404, so that a proxy tries
    the next instance (close 4404 where the server cannot answer an upgrade with a response)."""
    try:
        await websocket.send_denial_response(JSONResponse({"detail": no_room(code)}, status_code=404))
    except RuntimeError:
        await websocket.accept()
        await websocket.close(GONE_CODE, no_room(code)[:120])


async def join(websocket: WebSocket, room: Room, rooms: Rooms, address: str) -> Optional[Student]:
    """Read messages until a valid ``join`` (a bad one is answered with ``error``); the student it seats, or
    None when the socket was closed instead (the client left, the room ended, was full, the address is over
    the join rate, or no join came within ``idle_timeout``)."""
    settings = rooms.settings
    while True:
        message = None
        with anyio.move_on_after(settings.idle_timeout):  # a socket that never joins holds no place for ever
            try:
                message = await websocket.receive()
            except CLOSED_ERRORS:
                return None
        if message is None:
            return await _close(websocket, 1000, "idle timeout")
        if message["type"] == "websocket.disconnect":
            return None
        if room.ended:
            return await _close(websocket, GONE_CODE, no_room(room.code))
        if not rooms.attempt(address):
            return await _close(websocket, 1013, f"too many join attempts from this address "
                                                 f"({settings.room_join_rate} a minute); wait a minute")
        try:
            text = message.get("text")
            if text is None or len(text) > settings.max_message_bytes:
                raise InvalidInput.single(None, None, "expected a join message", '{"type": "join", "nickname": ...}')
            request = parse(text, {"join": Join})
            student = room.seat(request.nickname, request.student)
            rooms.kept(room)  # a new student is in the store before their first frame
            return student
        except InvalidInput as exc:
            await _error(websocket, exc)
        except RoomFull as exc:
            return await _close(websocket, 1013, str(exc))


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    try:
        await websocket.close(code, reason[:120])
    except CLOSED_ERRORS:
        pass
    return None


async def _error(websocket: WebSocket, exc: InvalidInput) -> None:
    first = exc.problems[0] if exc.problems else problem(None, None, "invalid input")
    error = live_messages.Error(id=exc.message_id, message=first["message"], field=first["field"],
                                value=first["value"], allowed=first["allowed"])
    try:
        await websocket.send_text(json.dumps(error.model_dump(), separators=(",", ":")))
    except CLOSED_ERRORS:
        pass

"""The lecturer's socket, ``/ws/rooms/CODE`` (docs/protocol.md, "Lecturer socket"), once its key is checked.

Three tasks share the socket: the **receiver** applies the lecturer's commands to the room and answers each;
the **sender** sends what the room tells it (a ``room`` when the room changes, the watched student's latest
frame: one waits at most, a newer one replaces it) and closes the socket when the room ends; the **tiles**
task sends the dashboard ``room_tile_rate`` times a second while something changed.
"""

from __future__ import annotations

import json
import time
from typing import Any, Optional

import anyio
import anyio.abc
import numpy as np
from starlette.websockets import WebSocket

from ..live.run import Mode
from ..live.session import CLOSED_ERRORS
from ..problems import InvalidInput, problem
from ..live import messages as live_messages
from . import messages as m
from .registry import Rooms
from .room import Room, Student
from .tiles import pack_tiles, retag, tile_of

ENDED_CODE = 4000
CHANGES_ROOM = {"push", "challenge", "lock", "pause_all", "play_all", "kick"}  # commands written to the store
QUIET_TILES = 1.0  # seconds after which tiles are sent even if nothing changed (connections, a fresh page)


class LecturerSocket:
    def __init__(self, websocket: WebSocket, room: Room, rooms: Rooms, join_url: str):
        self.ws, self.room, self.rooms, self.join_url = websocket, room, rooms, join_url
        self.watching: Optional[str] = None  # the id of the student whose frames this socket gets
        self._watched_frame: Optional[bytes] = None
        self._room_changed = False
        self._ended = False
        self._wake = anyio.Event()
        self._send_lock = anyio.Lock()
        self._tiles: dict[str, tuple[bytes, dict[str, Any], np.ndarray]] = {}  # by student: frame, facts, tile
        self._task_group: Optional[anyio.abc.TaskGroup] = None

    # ---- what the room tells it ----------------------------------------------------------------------------
    def room_changed(self) -> None:
        self._room_changed = True
        self._wake.set()

    def frame_of_watched(self, frame: bytes) -> None:
        self._watched_frame = frame
        self._wake.set()

    def ended(self) -> None:
        self._ended = True
        self._wake.set()

    # ---- the tasks -----------------------------------------------------------------------------------------
    async def serve(self) -> None:
        self.room.add_lecturer(self)
        try:
            await self._send_json(self.room.info(join_url=self.join_url))
            async with anyio.create_task_group() as tg:
                self._task_group = tg
                tg.start_soon(self._receiver)
                tg.start_soon(self._sender)
                tg.start_soon(self._tiles_task)
        finally:
            self.room.remove_lecturer(self)

    def _end(self) -> None:
        if self._task_group is not None:
            self._task_group.cancel_scope.cancel()

    async def _send(self, text: Optional[str] = None, data: Optional[bytes] = None) -> None:
        try:
            async with self._send_lock:
                if text is not None:
                    await self.ws.send_text(text)
                else:
                    await self.ws.send_bytes(data)
        except CLOSED_ERRORS:
            self._end()

    async def _send_json(self, payload: dict[str, Any]) -> None:
        await self._send(text=json.dumps(payload, separators=(",", ":"), allow_nan=False))

    async def _sender(self) -> None:
        while True:
            await self._wake.wait()
            self._wake = anyio.Event()
            if self._ended:
                try:
                    await self.ws.close(ENDED_CODE, "room ended")
                except CLOSED_ERRORS:
                    pass
                return self._end()
            if self._room_changed:
                self._room_changed = False
                await self._send_json(self.room.info(join_url=self.join_url))
            frame, self._watched_frame = self._watched_frame, None
            if frame is not None and self.watching is not None:
                await self._send(data=retag(frame, student=self.watching, purpose="watch"))

    async def _tiles_task(self) -> None:
        interval = 1.0 / self.room.settings.room_tile_rate
        shown: Any = None
        last = 0.0
        tick = time.monotonic()
        while True:  # ticks on a fixed schedule, so the time a message takes does not lower the rate
            tick = max(tick + interval, time.monotonic())
            await anyio.sleep(max(0.0, tick - time.monotonic()))  # (never negative: the clock moved on)
            seen = [(s.id, id(s.frame), s.connected, s.kicked) for s in self.room.students.values()]
            if seen == shown and time.monotonic() - last < QUIET_TILES:
                continue
            shown, last = seen, time.monotonic()
            await self._send(data=self.tiles())

    def tiles(self) -> bytes:
        """The ``tiles`` message now: each student's tile recut only when their frame is new."""
        size = self.room.settings.room_tile_size
        entries, tiles = [], []
        for student in self.room.students.values():
            entry = {"student": student.id, "nickname": student.nickname, "connected": student.connected,
                     "kicked": student.kicked, "tile": None}
            if student.frame is not None:
                cached = self._tiles.get(student.id)
                if cached is None or cached[0] is not student.frame:
                    facts, tile = tile_of(student.frame, size)
                    cached = self._tiles[student.id] = (student.frame, facts, tile)
                entry.update(cached[1], tile=len(tiles))
                tiles.append(cached[2])
            entries.append(entry)
        return pack_tiles(entries, tiles, size)

    # ---- commands --------------------------------------------------------------------------------------------
    async def _receiver(self) -> None:
        while True:
            try:
                message = await self.ws.receive()
            except CLOSED_ERRORS:
                break
            if message["type"] == "websocket.disconnect":
                break
            try:
                text = message.get("text")
                if text is None:
                    raise InvalidInput.single(None, None, "binary messages are not accepted", "JSON text messages")
                if len(text) > self.room.settings.max_message_bytes:
                    raise InvalidInput.single(None, None, f"message too large ({len(text)} characters)",
                                              f"at most {self.room.settings.max_message_bytes}")
                command = m.parse(text, m.LECTURER_COMMANDS)
                await self._apply(command)
            except InvalidInput as exc:
                await self._send_error(exc)
            if self.room.ended:
                break
        if not self.room.ended:
            self._end()

    async def _apply(self, command: Any) -> None:
        try:
            answered = await getattr(self, f"_do_{command.type}")(command)
        except InvalidInput as exc:
            exc.message_id = command.id
            raise
        if command.type in CHANGES_ROOM:
            self.rooms.kept(self.room)
        if not answered:
            await self._send_json(self.room.info(command.id, join_url=self.join_url))

    async def _send_error(self, exc: InvalidInput) -> None:
        first = exc.problems[0] if exc.problems else problem(None, None, "invalid input")
        await self._send_json(live_messages.Error(id=exc.message_id, message=first["message"], field=first["field"],
                                                  value=first["value"], allowed=first["allowed"]).model_dump())

    def _student(self, student_id: str) -> Student:
        student = self.room.students.get(student_id)
        if student is None:
            raise InvalidInput.single("student", student_id, "no such student in this room",
                                      "a student id from the tiles")
        return student

    async def _do_push(self, c: m.Push) -> None:
        self.room.push(c.config, c.notice, c.play)

    async def _do_challenge(self, c: m.Challenge) -> None:
        self.room.set_challenge(c.text)

    async def _do_lock(self, c: m.Lock) -> None:
        self.room.lock(c.fields)

    async def _do_pause_all(self, c: m.PauseAll) -> None:
        self.room.pause_all()

    async def _do_play_all(self, c: m.PlayAll) -> None:
        self.room.play_all()

    async def _do_reset_all(self, c: m.ResetAll) -> None:
        self.room.reset_all(c.seed)

    async def _do_kick(self, c: m.Kick) -> None:
        student = self._student(c.student)
        if self.watching == student.id:
            self.watching = None
        self.room.kick(student)

    async def _do_end(self, c: m.End) -> bool:
        await self._send_json(self.room.info(c.id, join_url=self.join_url) | {"ended": True})
        self.rooms.end(self.room, "The lecturer ended the room")  # the sender closes this socket (4000)
        return True

    async def _do_unwatch(self, c: m.Unwatch) -> None:
        self.watching = None

    async def _do_watch(self, c: m.Watch) -> bool:
        student = self._student(c.student)
        self.watching, self._watched_frame = student.id, None
        await self._send_json(m.Watching(id=c.id, student=student.id, nickname=student.nickname,
                                         state=state_of(student)).model_dump())
        if student.frame is not None:
            await self._send(data=retag(student.frame, student=student.id, purpose="watch"))
        return True

    async def _do_snapshot(self, c: m.Snapshot) -> bool:
        student = self._student(c.student)
        if student.frame is None:
            raise InvalidInput.single("student", c.student, "this student has no frame yet", "a student who has "
                                      "trained or been shown")
        frame = student.frame
        await self._send_json(m.SnapshotTaken(id=c.id, student=student.id, nickname=student.nickname,
                                              taken=time.time(), state=state_of(student)).model_dump())
        await self._send(data=retag(frame, student=student.id, purpose="snapshot"))
        return True


def state_of(student: Student) -> Optional[dict[str, Any]]:
    """The student's last ``state`` as their page had it (id null), or None before their first."""
    session = student.session
    if session is not None and session.facts:
        return {"type": "state", "id": None, "playing": session.mode is Mode.PLAYING, "speed": session.speed,
                **session.facts}
    return None if student.state is None else {"type": "state", "id": None, "playing": False, **student.state}

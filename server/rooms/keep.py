"""The rooms kept in the server's store (server/store), so that a room outlives a restart of its instance.

A ``rooms`` row holds what a room is (code, the SHA-256 of its key — never the key —, title, setup, challenge,
locks, whether the class is paused, when it was created and last used) and which instance holds it (``owner``:
host and port, the same after a restart; instances that share a data folder each restore only their own). A
``room_students`` row holds one student (the SHA-256 of their rejoin token, id, nickname, the trainer's facts
of their latest state — config, epoch ... — and their latest frame, kept without the pictures a rejoin does not
need: its weights, its epoch and boundary for the dashboard tile). A room row is written when the room changes
(created, a lecturer command, a new student); a student's frame at most every ``room_keep_interval`` seconds,
and only when it is new; everything at once when the instance drains or stops. Rows go when the room ends,
expires or a student is kicked, and with the store's ``store_ttl`` (docs/decisions.md, "Rooms: kept in the
store").
"""

from __future__ import annotations

import json
import logging
import socket
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from ..live.frames import decode, pack
from ..settings import Settings
from ..store import Store, StoreError, Table
from .room import Room, RoomState, Student

log = logging.getLogger("nnplay.rooms")

ROOMS = Table("rooms", """
CREATE TABLE IF NOT EXISTS rooms (
    code TEXT PRIMARY KEY,
    owner TEXT NOT NULL,         -- the instance holding it (host:port), the one that restores it
    key_hash TEXT NOT NULL,      -- SHA-256 (hex) of the lecturer's key
    title TEXT NOT NULL,
    config TEXT NOT NULL,        -- JSON: the room's setup
    challenge TEXT NOT NULL,
    locked TEXT NOT NULL,        -- JSON: the locked fields
    paused INTEGER NOT NULL,
    created REAL NOT NULL,
    used_at REAL NOT NULL        -- when a lecturer or a student was last connected
);
CREATE INDEX IF NOT EXISTS rooms_owner ON rooms (owner);
CREATE INDEX IF NOT EXISTS rooms_used_at ON rooms (used_at)
""")

ROOM_STUDENTS = Table("room_students", """
CREATE TABLE IF NOT EXISTS room_students (
    code TEXT NOT NULL REFERENCES rooms (code) ON DELETE CASCADE,
    id TEXT NOT NULL,
    token_hash TEXT NOT NULL,    -- SHA-256 (hex) of the student's rejoin token
    nickname TEXT NOT NULL,
    joined REAL NOT NULL,
    state TEXT,                  -- JSON: the trainer's facts of their latest state (config, epoch, ...)
    frame BLOB,                  -- their latest frame: header, weights, output (and classes)
    PRIMARY KEY (code, id)
)
""", dated_by=None)

KEPT_ARRAYS = ("weights", "output", "classes")  # what a rejoin, a tile and the results read of a frame


def owner_of(settings: Settings) -> str:
    """This instance's name in the store: its host and port, which a restart keeps."""
    return f"{socket.gethostname()}:{settings.port}"


def kept_frame(frame: bytes) -> bytes:
    """``frame`` with only the arrays in ``KEPT_ARRAYS`` (the neurons' pictures, gradients and history left out)."""
    header, arrays = decode(frame)
    entries = header.pop("arrays")
    items = [(e["name"], arrays[e["name"]], (e["lo"], e["hi"]) if "lo" in e else None)
             for e in entries if e["name"] in KEPT_ARRAYS]
    return pack(header, items)


@dataclass
class Written:
    """What was last written of one student: the frame object (compared by identity) and when."""

    frame: Optional[bytes]
    at: float


class RoomKeep:
    """Reads and writes of one instance's rooms in the store."""

    def __init__(self, store: Store, owner: str, interval: float):
        self.store, self.owner, self.interval = store, owner, interval
        store.define(ROOMS)
        store.define(ROOM_STUDENTS)
        self._written: dict[tuple[str, str], Written] = {}  # by (room code, student id)

    def __repr__(self) -> str:
        return f"RoomKeep({self.owner!r}, every {self.interval:g} s)"

    # ---- writing ---------------------------------------------------------------------------------------------
    def changes(self, rooms: Iterable[Room], everything: bool = False) -> "Changes":
        """What to write of ``rooms`` now: every room row; each student who is new, kicked, or whose frame is new
        and was last written ``interval`` seconds ago or more (any new frame when ``everything``)."""
        now, clock = time.time(), time.monotonic()
        changes = Changes()
        for room in rooms:
            if room.ended:
                continue
            changes.rooms.append(room_row(room, self.owner, now, clock))
            for student in room.students.values():
                place = (room.code, student.id)
                written = self._written.get(place)
                if student.kicked:
                    if written is not None:
                        changes.gone.append(place)
                        del self._written[place]
                    continue
                if written is not None and (written.frame is student.frame or
                                            not everything and clock - written.at < self.interval):
                    continue
                changes.students.append(student_row(room.code, student))
                self._written[place] = Written(student.frame, clock)
        return changes

    def write(self, changes: "Changes") -> None:
        """Write ``changes`` in one transaction (a store that fails is logged: the rooms carry on in memory)."""
        if not changes:
            return
        try:
            with self.store.transaction() as db:
                db.executemany(UPSERT_ROOM, changes.rooms)
                db.executemany(UPSERT_STUDENT, changes.students)
                db.executemany("DELETE FROM room_students WHERE code = ? AND id = ?", changes.gone)
        except (sqlite3.Error, StoreError) as error:
            log.error("could not keep %d rooms in the store %s: %s", len(changes.rooms), self.store.path, error)

    def forget(self, room: Room) -> None:
        """Delete an ended room and its students."""
        for place in [p for p in self._written if p[0] == room.code]:
            del self._written[place]
        try:
            self.store.write("DELETE FROM rooms WHERE code = ?", (room.code,))
        except (sqlite3.Error, StoreError) as error:
            log.error("could not delete room %s from the store %s: %s", room.code, self.store.path, error)

    # ---- reading ---------------------------------------------------------------------------------------------
    def restore(self, settings: Settings) -> list[Room]:
        """This instance's rooms as they were last written (those idle for ``room_idle_timeout`` are deleted)."""
        cutoff = time.time() - settings.room_idle_timeout
        self.store.write("DELETE FROM rooms WHERE owner = ? AND used_at < ?", (self.owner, cutoff))
        rooms = [restored_room(row, settings) for row in
                 self.store.read("SELECT * FROM rooms WHERE owner = ? ORDER BY created", (self.owner,))]
        by_code = {room.code: room for room in rooms}
        if by_code:
            marks = ",".join("?" * len(by_code))
            for row in self.store.read(f"SELECT * FROM room_students WHERE code IN ({marks}) ORDER BY joined",
                                       list(by_code)):
                student = restored_student(row)
                by_code[row["code"]].students[student.id] = student
                self._written[(row["code"], student.id)] = Written(student.frame, time.monotonic())
        return rooms


@dataclass
class Changes:
    """Rows to write in one transaction: room rows, student rows, and (code, id) of students to delete."""

    rooms: list[tuple] = field(default_factory=list)
    students: list[tuple] = field(default_factory=list)
    gone: list[tuple[str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.rooms or self.students or self.gone)


UPSERT_ROOM = """
INSERT INTO rooms (code, owner, key_hash, title, config, challenge, locked, paused, created, used_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (code) DO UPDATE SET owner = excluded.owner, title = excluded.title, config = excluded.config,
    challenge = excluded.challenge, locked = excluded.locked, paused = excluded.paused, used_at = excluded.used_at
"""  # an upsert, not INSERT OR REPLACE: a replaced row would take its students with it (ON DELETE CASCADE)

UPSERT_STUDENT = """
INSERT INTO room_students (code, id, token_hash, nickname, joined, state, frame) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (code, id) DO UPDATE SET state = excluded.state, frame = excluded.frame
"""


def room_row(room: Room, owner: str, now: float, clock: float) -> tuple:
    used_at = now if room.idle_since is None else now - (clock - room.idle_since)
    return (room.code, owner, room.key_hash, room.title, json.dumps(room.config), room.challenge,
            json.dumps(room.locked), int(room.paused), room.created, used_at)


def student_row(code: str, student: Student) -> tuple:
    session = student.session
    state = session.facts if session is not None and session.facts else student.state
    frame = None if student.frame is None else kept_frame(student.frame)
    return (code, student.id, student.token_hash, student.nickname, student.joined,
            None if state is None else json.dumps(state), frame)


def restored_room(row: sqlite3.Row, settings: Settings) -> Room:
    """A room from its row, idle since it was last used (the downtime counts towards ``room_idle_timeout``)."""
    idle_for = max(0.0, time.time() - row["used_at"])
    return Room(row["code"], row["key_hash"], row["title"], json.loads(row["config"]), settings,
                challenge=row["challenge"], locked=json.loads(row["locked"]),
                state=RoomState.PAUSED if row["paused"] else RoomState.OPEN, created=row["created"],
                idle_since=time.monotonic() - idle_for)


def restored_student(row: sqlite3.Row) -> Student:
    state: Optional[dict[str, Any]] = None if row["state"] is None else json.loads(row["state"])
    return Student(row["id"], row["token_hash"], row["nickname"], row["joined"],
                   frame=None if row["frame"] is None else bytes(row["frame"]), state=state)

"""The rooms open on this instance, their limits (rooms per instance, join attempts per address per minute),
their expiry, and their copy in the store (server/rooms/keep.py), from which a restarted instance restores them."""

from __future__ import annotations

import time
from collections import deque
from typing import Any, Optional

import anyio

from ..settings import Settings
from . import codes
from .keep import RoomKeep
from .room import Room, normalized

RATE_WINDOW = 60.0  # seconds over which room_join_rate counts
EXPIRY_CHECK = 30.0  # seconds between looks for idle rooms


class TooManyRooms(Exception):
    """``max_rooms`` rooms are open."""


class Rooms:
    """The open rooms, by code (without its hyphen), kept in the store by ``keep`` (None: in memory only)."""

    def __init__(self, settings: Settings, keep: Optional[RoomKeep] = None):
        self.settings = settings
        self.keep = keep
        self.open: dict[str, Room] = {}
        self._attempts: dict[str, deque[float]] = {}  # join attempts per client address, within RATE_WINDOW

    def __repr__(self) -> str:
        return f"Rooms({len(self.open)} open)"

    def create(self, title: str, config: dict[str, Any]) -> tuple[Room, str]:
        """A new room and its lecturer's key (which only its digest is kept of); :class:`TooManyRooms` at the
        limit, InvalidInput for a bad config."""
        if len(self.open) >= self.settings.max_rooms:
            raise TooManyRooms(f"too many rooms open ({self.settings.max_rooms}); end one or try again later")
        setup = normalized(config)
        code = codes.new_code()
        while code in self.open:
            code = codes.new_code()
        key = codes.new_key()
        room = Room(code, codes.digest(key), title, setup, self.settings)
        self.open[code] = room
        self.kept(room)
        return room, key

    def get(self, text: str) -> Optional[Room]:
        """The open room of a code as typed (any case, hyphen optional), or None."""
        code = codes.normalize(text)
        return self.open.get(code) if code else None

    def end(self, room: Room, why: str) -> None:
        room.end(why)
        self.open.pop(room.code, None)
        if self.keep is not None:
            self.keep.forget(room)

    # ---- the store -----------------------------------------------------------------------------------------
    def restore(self) -> list[Room]:
        """Open again the rooms this instance kept before it stopped; the rooms restored."""
        restored = self.keep.restore(self.settings) if self.keep is not None else []
        for room in restored:
            self.open[room.code] = room
        return restored

    def kept(self, room: Room) -> None:
        """Write ``room`` to the store now (after it changed), with its new students and their frames that are
        due."""
        if self.keep is not None:
            self.keep.write(self.keep.changes([room]))

    def keep_all(self) -> None:
        """Write every room and each student's latest frame now (a drain, a shutdown)."""
        if self.keep is not None:
            self.keep.write(self.keep.changes(list(self.open.values()), everything=True))

    async def keep_now_and_then(self) -> None:
        """Write the rooms' changes (each student's frame at most once a ``room_keep_interval``) every interval
        (until cancelled). In the event loop: a write of 64 students takes milliseconds (docs/decisions.md)."""
        if self.keep is None:
            return
        while True:
            await anyio.sleep(self.keep.interval)
            self.keep.write(self.keep.changes(list(self.open.values())))

    def attempt(self, address: str, now: Optional[float] = None) -> bool:
        """Count one join attempt from ``address``; whether it is within ``room_join_rate`` a minute."""
        now = time.monotonic() if now is None else now
        seen = self._attempts.setdefault(address, deque())
        while seen and seen[0] <= now - RATE_WINDOW:
            seen.popleft()
        if len(seen) >= self.settings.room_join_rate:
            return False
        seen.append(now)
        return True

    def expire(self, now: Optional[float] = None) -> list[Room]:
        """End the rooms idle (no lecturer, no student connected) for ``room_idle_timeout``; forget quiet
        addresses. The rooms ended."""
        now = time.monotonic() if now is None else now
        idle = [room for room in self.open.values()
                if room.idle_since is not None and now - room.idle_since >= self.settings.room_idle_timeout]
        for room in idle:
            self.end(room, "The room expired")
        for address in [a for a, seen in self._attempts.items() if not seen or seen[-1] <= now - RATE_WINDOW]:
            del self._attempts[address]
        return idle

    async def expire_now_and_then(self) -> None:
        """:meth:`expire` every ``EXPIRY_CHECK`` seconds (until cancelled)."""
        while True:
            await anyio.sleep(EXPIRY_CHECK)
            self.expire()

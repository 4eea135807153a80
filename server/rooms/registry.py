"""The rooms open on this instance, their limits (rooms per instance, join attempts per address per minute)
and their expiry."""

from __future__ import annotations

import time
from collections import deque
from typing import Any, Optional

import anyio

from ..settings import Settings
from . import codes
from .room import Room, normalized

RATE_WINDOW = 60.0  # seconds over which room_join_rate counts
EXPIRY_CHECK = 30.0  # seconds between looks for idle rooms


class TooManyRooms(Exception):
    """``max_rooms`` rooms are open."""


class Rooms:
    """The open rooms, by code (without its hyphen)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.open: dict[str, Room] = {}
        self._attempts: dict[str, deque[float]] = {}  # join attempts per client address, within RATE_WINDOW

    def __repr__(self) -> str:
        return f"Rooms({len(self.open)} open)"

    def create(self, title: str, config: dict[str, Any]) -> Room:
        """A new room; :class:`TooManyRooms` at the limit, InvalidInput for a bad config."""
        if len(self.open) >= self.settings.max_rooms:
            raise TooManyRooms(f"too many rooms open ({self.settings.max_rooms}); end one or try again later")
        setup = normalized(config)
        code = codes.new_code()
        while code in self.open:
            code = codes.new_code()
        room = Room(code, codes.new_key(), title, setup, self.settings)
        self.open[code] = room
        return room

    def get(self, text: str) -> Optional[Room]:
        """The open room of a code as typed (any case, hyphen optional), or None."""
        code = codes.normalize(text)
        return self.open.get(code) if code else None

    def end(self, room: Room, why: str) -> None:
        room.end(why)
        self.open.pop(room.code, None)

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

"""One room: its setup, challenge, locks and pause, its students, and the lecturer sockets watching it.

A room's life is a :class:`RoomState` that changes in one method, :meth:`Room.transition` (OPEN ⇄ PAUSED,
either → ENDED, nothing after ENDED). A :class:`Student` outlives their socket: the seat keeps the nickname, the
rejoin token and the last frame, so a page that reloads rejoins as the same student with their network. A
connected student's live session holds a :class:`Seat`, through which the room checks the session's commands
(locked fields, class pause), reads its frames (tiles, watch, snapshot) and reconfigures it (push, pause_all ...).
"""

from __future__ import annotations

import secrets
import time
import unicodedata
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, Optional, Protocol

from pydantic import ValidationError

from nnplay.engine import Config

from ..live import messages as msg
from ..problems import InvalidInput, describe
from ..settings import Settings
from . import codes
from .messages import RoomInfo
from .tiles import is_frame, network_of

if TYPE_CHECKING:
    from ..live.session import Session


class RoomState(Enum):
    OPEN = "open"
    PAUSED = "paused"  # the class is paused: students' play and step are held
    ENDED = "ended"


TRANSITIONS = {RoomState.OPEN: {RoomState.PAUSED, RoomState.ENDED},
               RoomState.PAUSED: {RoomState.OPEN, RoomState.ENDED},
               RoomState.ENDED: set()}
PAUSED_CLASS = "the lecturer has paused the class"


class Watcher(Protocol):
    """A lecturer socket, as the room sees it."""

    watching: Optional[str]

    def room_changed(self) -> None: ...

    def frame_of_watched(self, frame: bytes) -> None: ...

    def ended(self) -> None: ...


@dataclass(eq=False)
class Student:
    """A student who joined: who they are, and what the room keeps of their network between sockets."""

    id: str
    token_hash: str  # codes.digest of their rejoin token
    nickname: str
    joined: float
    token: Optional[str] = None  # the token itself, once given here (at the join, or by a rejoin after a restart)
    session: Optional["Session"] = None
    frame: Optional[bytes] = None  # the latest frame their session sent
    state: Optional[dict[str, Any]] = None  # the trainer's facts of their latest state (config, epoch, ...)
    kicked: bool = False

    @property
    def connected(self) -> bool:
        return self.session is not None


@dataclass(eq=False)
class Room:
    code: str
    key_hash: str  # codes.digest of the lecturer's key (the key itself is shown once, when the room is created)
    title: str
    config: dict[str, Any]  # the room's setup, normalised (Config.model_dump())
    settings: Settings
    challenge: str = ""
    locked: list[str] = field(default_factory=list)
    state: RoomState = RoomState.OPEN
    created: float = field(default_factory=time.time)
    idle_since: Optional[float] = field(default_factory=time.monotonic)  # no lecturer and no student since
    students: dict[str, Student] = field(default_factory=dict)  # by id, in joining order
    lecturers: set = field(default_factory=set)  # of Watcher
    why_ended: str = ""

    def __repr__(self) -> str:
        return f"Room({codes.shown(self.code)}, {self.state.value}, students={len(self.students)})"

    # ---- the state: every change in one place ------------------------------------------------------------------
    def transition(self, to: RoomState) -> None:
        if to not in TRANSITIONS[self.state]:
            raise ValueError(f"a room cannot go from {self.state.value} to {to.value}")
        self.state = to

    @property
    def ended(self) -> bool:
        return self.state is RoomState.ENDED

    @property
    def paused(self) -> bool:
        return self.state is RoomState.PAUSED

    # ---- what readers see ------------------------------------------------------------------------------------
    def connected(self) -> int:
        return sum(student.connected for student in self.students.values())

    def info(self, reply_to: Any = None, student: Optional[Student] = None, join_url: Optional[str] = None,
             notice: Optional[str] = None) -> dict[str, Any]:
        """The ``room`` message for ``student`` (their nickname and token) or, without one, for a lecturer."""
        ended = self.ended or bool(student and student.kicked)
        common = dict(id=reply_to, code=codes.shown(self.code), title=self.title, challenge=self.challenge,
                      locked=list(self.locked), paused=self.paused, ended=ended, notice=notice, config=self.config)
        if student is not None:
            return RoomInfo(**common, nickname=student.nickname, student=student.token).model_dump()
        return RoomInfo(**common, students=self.connected(), max_students=self.settings.max_room_students,
                        join_url=join_url).model_dump()

    # ---- students --------------------------------------------------------------------------------------------
    def seat(self, nickname: Optional[str], token: Optional[str]) -> Student:
        """The student a ``join`` names: the one holding ``token`` (a rejoin), else a new one called
        ``nickname``. :class:`InvalidInput` for a bad or taken nickname; :class:`RoomFull` past the limit."""
        known = next((s for s in self.students.values() if token and codes.matches(token, s.token_hash)
                      and not s.kicked), None)
        if known is not None:
            known.token = token
            return known
        name = self.check_nickname(nickname)
        if len(self.students) >= self.settings.max_room_students:
            raise RoomFull(f"the room is full ({self.settings.max_room_students} students)")
        token = codes.new_token()
        student = Student(secrets.token_hex(4), codes.digest(token), name, time.time(), token=token)
        self.students[student.id] = student
        return student

    def check_nickname(self, nickname: Optional[str]) -> str:
        limit = self.settings.room_nickname_length
        allowed = f"1 to {limit} characters, no control characters, not taken in this room"
        name = (nickname or "").strip()
        if not name or len(name) > limit or any(unicodedata.category(c).startswith("C") for c in name):
            raise InvalidInput.single("nickname", nickname, "not a nickname", allowed)
        if any(s.nickname.casefold() == name.casefold() for s in self.students.values()):
            raise InvalidInput.single("nickname", nickname, "taken by another student in this room", allowed)
        return name

    def connect(self, student: Student, session: "Session") -> Optional["Session"]:
        """Seat ``session`` as ``student``'s; the session it replaces (the same student on another page), if any."""
        old, student.session = student.session, session
        if old is not None:
            student.state = dict(old.facts) or student.state
        self.idle_since = None
        self.tell_lecturers()
        return old

    def disconnect(self, student: Student, session: "Session") -> None:
        if student.session is not session:
            return  # replaced by a newer page of theirs
        student.state = dict(session.facts) or student.state
        student.session = None
        self._maybe_idle()
        self.tell_lecturers()

    def _maybe_idle(self) -> None:
        if not self.lecturers and not self.connected() and self.idle_since is None:
            self.idle_since = time.monotonic()

    # ---- lecturers -------------------------------------------------------------------------------------------
    def add_lecturer(self, lecturer: Watcher) -> None:
        self.lecturers.add(lecturer)
        self.idle_since = None

    def remove_lecturer(self, lecturer: Watcher) -> None:
        self.lecturers.discard(lecturer)
        self._maybe_idle()

    def tell_lecturers(self) -> None:
        for lecturer in self.lecturers:
            lecturer.room_changed()

    # ---- lecturer commands -----------------------------------------------------------------------------------
    def push(self, config: dict[str, Any], notice: Optional[str], play: bool) -> None:
        """The room's setup becomes ``config`` (normalised; :class:`InvalidInput` naming a bad field) and every
        connected student's session is rebuilt from it."""
        self.config = normalized(config)
        play = play and not self.paused
        self._tell_students(notice or "The lecturer pushed a new setup",
                            msg.Configure(type="configure", config=dict(self.config), play=play))

    def set_challenge(self, text: str) -> None:
        limit = self.settings.room_challenge_length
        if len(text) > limit:
            raise InvalidInput.single("text", f"{len(text)} characters", "challenge too long",
                                      f"at most {limit} characters")
        self.challenge = text
        self._tell_students("New challenge" if text else "The challenge was cleared")

    def lock(self, fields: list[str]) -> None:
        unknown = [name for name in fields if name not in Config.model_fields]
        if unknown:
            raise InvalidInput.single("fields", unknown[0], "not a config field", "config field names, e.g. "
                                      "learning_rate, hidden, activation", loc=("fields",))
        self.locked = list(dict.fromkeys(fields))
        shown = ", ".join(self.locked)
        self._tell_students(f"The lecturer locked {shown}" if shown else "Nothing is locked now")

    def pause_all(self) -> None:
        if not self.paused:
            self.transition(RoomState.PAUSED)
        self._tell_students("The lecturer paused the class", msg.Pause(type="pause"))

    def play_all(self) -> None:
        if self.paused:
            self.transition(RoomState.OPEN)
        self._tell_students("The lecturer started the class", msg.Play(type="play"))

    def reset_all(self, seed: Optional[int]) -> None:
        self._tell_students("The lecturer reset every network", msg.Reset(type="reset", seed=seed))

    def kick(self, student: Student) -> None:
        student.kicked = True
        if student.session is not None:
            student.session.for_room(self.info(student=student, notice="The lecturer removed you from the room"))
            student.session.membership, student.session = None, None
        self._maybe_idle()
        self.tell_lecturers()

    def end(self, why: str) -> None:
        """End the room: students carry on as ordinary sessions, with nothing locked; lecturers are closed."""
        if self.ended:
            return
        self.transition(RoomState.ENDED)
        self.why_ended = why
        for student in self.students.values():
            if student.session is not None:
                student.session.for_room(self.info(student=student, notice=why))
                student.session.membership = None
        for lecturer in list(self.lecturers):
            lecturer.ended()

    def _tell_students(self, notice: str, command: Any = None) -> None:
        for student in self.students.values():
            if student.session is not None and not student.kicked:
                student.session.for_room(self.info(student=student, notice=notice), command)
        self.tell_lecturers()


class RoomFull(Exception):
    """A join past ``max_room_students``."""


def normalized(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` as the engine reads it, every field filled in; :class:`InvalidInput` naming a bad field."""
    try:
        return Config(**config).model_dump()
    except ValidationError as exc:
        raise InvalidInput(describe(exc, ("config",), config_level=True)) from None
    except (TypeError, ValueError) as exc:
        raise InvalidInput(describe(exc, ("config",))) from None


class Seat:
    """A connected student's place in a room, as their live session uses it."""

    def __init__(self, room: Room, student: Student):
        self.room, self.student = room, student

    def start(self) -> msg.Configure:
        """The session's first ``configure``: the student's own network on a rejoin (weights, normalization
        parameters and epoch, unless a locked field has changed since), else the room's setup."""
        saved, frame = self.student.state, self.student.frame
        if saved is not None and frame is not None and all(saved["config"].get(f) == self.room.config.get(f)
                                                           for f in self.room.locked):
            network = network_of(frame, Config(**saved["config"]).normalizations)
            return msg.Configure.model_validate({"type": "configure", "config": saved["config"],
                                                 "weights": network["weights"], "epoch": network["epoch"]})
        return msg.Configure(type="configure", config=dict(self.room.config))

    def check(self, command: Any) -> None:
        """:class:`InvalidInput` if the room forbids ``command`` (a locked field, play while the class is
        paused); a ``configure`` that leaves a locked field out gets the room's value."""
        room, kind = self.room, command.type
        if room.paused and (kind in ("play", "step") or kind == "configure" and command.play):
            raise InvalidInput.single(None, None, PAUSED_CLASS, "pause, view, inspect and the other commands")
        if kind == "configure":
            changes = [command.config, *(command.variants or [])]
            for name in room.locked:
                for values in changes:
                    if name in values and not same_value(room.config, name, values[name]):
                        raise locked(name, values[name], room.config[name])
                command.config.setdefault(name, room.config[name])
        elif kind == "set":
            name = next((n for n in command.values if n in room.locked), None)
            if name is not None:
                raise locked(name, command.values[name], room.config[name])

    def saw(self, message: bytes) -> None:
        """A binary message the session sent: a frame becomes the student's latest (tile, watch, rejoin)."""
        if not is_frame(message):
            return
        self.student.frame = message
        for lecturer in self.room.lecturers:
            if lecturer.watching == self.student.id:
                lecturer.frame_of_watched(message)

    def left(self, session: "Session") -> None:
        self.room.disconnect(self.student, session)


def same_value(config: dict[str, Any], name: str, value: Any) -> bool:
    """Whether ``value`` is what ``config`` holds for ``name``, once the engine has read it."""
    if value == config[name]:
        return True
    try:
        return Config(**{**config, name: value}).model_dump()[name] == config[name]
    except (ValidationError, TypeError, ValueError):
        return False


def locked(name: str, value: Any, room_value: Any) -> InvalidInput:
    return InvalidInput.single(name, value, f"{name} is locked by the lecturer", f"the room's value, {room_value!r}")

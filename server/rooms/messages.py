"""Pydantic models of the room messages (docs/protocol.md, "Rooms"): the student's ``join``, the lecturer's
commands, and what the server sends about a room. :func:`parse` turns a text message into one of the client
models, or raises :class:`~nnplay.server.problems.InvalidInput` naming the field, the value and what is allowed.

Lengths that are settings (nickname, challenge) are checked by the room; the bounds here only keep a message
to a size worth validating.
"""

from __future__ import annotations

import json
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..http.nesting import MAX_DEPTH, depth_problem
from ..live.messages import MessageId
from ..problems import InvalidInput, describe, problem

MAX_TEXT = 10_000  # characters of any text field (the settings' own limits are lower)
MAX_NOTICE = 200
MAX_TITLE = 80
STUDENT_ID = Field(min_length=1, max_length=64, description="a student's id from the tiles (never their token)")


class RoomCommand(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    id: MessageId = Field(None, description="echoed in the answer")


class Join(RoomCommand):
    """A student's first message on ``/ws?room=CODE``."""

    type: Literal["join"]
    nickname: Optional[str] = Field(None, max_length=MAX_TEXT)
    student: Optional[str] = Field(None, max_length=200, description="the token of an earlier join, to rejoin")


class Lecturer(RoomCommand):
    """The lecturer socket's first message."""

    type: Literal["lecturer"]
    key: str = Field(max_length=200)


class Push(RoomCommand):
    type: Literal["push"]
    config: dict[str, Any]
    notice: Optional[str] = Field(None, max_length=MAX_NOTICE)
    play: bool = False


class Challenge(RoomCommand):
    type: Literal["challenge"]
    text: str = Field(max_length=MAX_TEXT)


class Lock(RoomCommand):
    type: Literal["lock"]
    fields: list[str] = Field(max_length=200)


class PauseAll(RoomCommand):
    type: Literal["pause_all"]


class PlayAll(RoomCommand):
    type: Literal["play_all"]


class ResetAll(RoomCommand):
    type: Literal["reset_all"]
    seed: Optional[int] = Field(None, ge=0, lt=2**32)


class Watch(RoomCommand):
    type: Literal["watch"]
    student: str = STUDENT_ID


class Unwatch(RoomCommand):
    type: Literal["unwatch"]


class Snapshot(RoomCommand):
    type: Literal["snapshot"]
    student: str = STUDENT_ID


class Kick(RoomCommand):
    type: Literal["kick"]
    student: str = STUDENT_ID


class End(RoomCommand):
    type: Literal["end"]


LECTURER_COMMANDS = {m.model_fields["type"].annotation.__args__[0]: m
                     for m in (Push, Challenge, Lock, PauseAll, PlayAll, ResetAll, Watch, Unwatch, Snapshot, Kick,
                               End)}


def parse(text: str, models: dict[str, type[RoomCommand]]) -> Any:
    """The model in ``models`` (by ``type``) of a JSON text message; :class:`InvalidInput` if it is not one."""
    too_deep = depth_problem(text)
    if too_deep is not None:
        raise InvalidInput([problem(None, None, too_deep, f"at most {MAX_DEPTH} levels")])
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InvalidInput([problem(None, None, f"malformed JSON: {exc}", 'a JSON object with a "type"')]) from None
    if not isinstance(data, dict):
        raise InvalidInput.single(None, data, "a message must be a JSON object", 'an object with a "type"')
    if data.get("type") not in models:
        error = InvalidInput.single("type", data.get("type"), "unknown message type here", ", ".join(models))
    else:
        try:
            return models[data["type"]].model_validate(data)
        except ValidationError as exc:
            error = InvalidInput(describe(exc, fields=models[data["type"]].model_json_schema()["properties"]))
    message_id = data.get("id")
    error.message_id = message_id if isinstance(message_id, (str, int)) and not isinstance(message_id, bool) \
        and len(str(message_id)) <= 200 else None
    raise error


# ---- server → client -------------------------------------------------------------------------------------
class RoomInfo(BaseModel):
    """``room``: the room as one reader sees it. A student's copy holds their nickname and token; a lecturer's
    the counts and the join URL instead."""

    type: Literal["room"] = "room"
    id: MessageId = None
    code: str
    title: str
    challenge: str
    locked: list[str]
    paused: bool
    ended: bool
    notice: Optional[str] = None
    config: dict[str, Any]
    nickname: Optional[str] = None
    student: Optional[str] = Field(None, description="the student's rejoin token (their copy only)")
    students: Optional[int] = Field(None, description="connected students (the lecturer's copy)")
    max_students: Optional[int] = None
    join_url: Optional[str] = None


class Watching(BaseModel):
    type: Literal["watch"] = "watch"
    id: MessageId = None
    student: str
    nickname: str
    state: Optional[dict[str, Any]]


class SnapshotTaken(BaseModel):
    type: Literal["snapshot"] = "snapshot"
    id: MessageId = None
    student: str
    nickname: str
    taken: float
    state: Optional[dict[str, Any]]


class CreateRoom(BaseModel):
    """``POST /api/rooms``: both optional."""

    model_config = ConfigDict(extra="forbid")

    config: dict[str, Any] = Field(default_factory=dict, description="the room's setup (the engine's defaults if "
                                   "empty)")
    title: str = Field("", max_length=MAX_TITLE)


class RoomCreated(BaseModel):
    code: str
    key: str = Field(description="the lecturer's secret: needed for the lecturer socket, results and DELETE")
    join_url: str
    expires: float = Field(description="Unix time the room ends if it stays idle")
    title: str
    config: dict[str, Any]


class RoomPublic(BaseModel):
    code: str
    title: str
    students: int
    max_students: int
    challenge: str
    locked: list[str]
    paused: bool
    state: str


SERVER_MODELS = (Join, Lecturer, *LECTURER_COMMANDS.values(), RoomInfo, Watching, SnapshotTaken)


def room_schemas() -> dict[str, Any]:
    """JSON schemas of the room messages (both directions), for the OpenAPI document's components."""
    from pydantic.json_schema import models_json_schema

    _, schema = models_json_schema([(m, "validation") for m in SERVER_MODELS],
                                   ref_template="#/components/schemas/{model}")
    return schema.get("$defs", {})

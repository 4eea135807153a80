"""Pydantic models of the live session's JSON messages (docs/protocol.md), both directions.

:func:`parse_client_message` turns a text message into one of the client models, or raises
:class:`~nnplay.server.problems.InvalidInput` naming the field, the value and what is allowed (the session answers
with an ``error`` and carries on).
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import (
    BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, StrictStr, ValidationError, model_validator,
)

from ..http.nesting import MAX_DEPTH, depth_problem
from ..http.schemas import Float32, LayerWeights
from ..options import MAX_FPS, MAX_SPEED, MAX_STEP, MAX_THUMB, MIN_FPS, MIN_SPEED, MIN_THUMB
from ..problems import InvalidInput, describe, problem
from .frames import EXTRAS

MessageId = Optional[Union[StrictStr, StrictInt]]
SPEED_ALLOWED = f'{MIN_SPEED} to {MAX_SPEED} epochs per second, or "max"'


def check_speed(value: Any) -> Union[float, str]:
    """A session speed: a number of epochs per second in range, or "max"."""
    if value == "max":
        return "max"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not MIN_SPEED <= value <= MAX_SPEED:
        raise ValueError(f"got {value!r}; allowed: {SPEED_ALLOWED}")
    return float(value)


Speed = Annotated[Union[float, Literal["max"]], BeforeValidator(check_speed)]


class ClientMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, populate_by_name=True)

    id: MessageId = Field(None, description="echoed in the answer")


class Configure(ClientMessage):
    type: Literal["configure"]
    config: dict[str, Any] = Field(default_factory=dict)
    weights: Optional[list[LayerWeights]] = None
    epoch: Optional[int] = Field(None, ge=0, description="continue counting from this epoch (a restored session)")
    play: bool = False
    variants: Optional[list[dict[str, Any]]] = Field(
        None, min_length=2, max_length=4,
        description="compare mode: each variant's overrides of config (training fields only; data is shared)")
    labels: Optional[list[str]] = Field(None, description="compare mode: a name per variant")


class Play(ClientMessage):
    type: Literal["play"]


class Pause(ClientMessage):
    type: Literal["pause"]


class Step(ClientMessage):
    type: Literal["step"]
    n: int = Field(1, ge=1, le=MAX_STEP)


class Reset(ClientMessage):
    type: Literal["reset"]
    seed: Optional[int] = Field(None, ge=0, lt=2**32)


class Regenerate(ClientMessage):
    type: Literal["regenerate"]
    seed: Optional[int] = Field(None, ge=0, lt=2**32)


class Set(ClientMessage):
    type: Literal["set"]
    values: dict[str, Any] = Field(min_length=1)


class SetWeight(ClientMessage):
    type: Literal["set_weight"]
    layer: int = Field(ge=0)
    to: int = Field(ge=0)
    source: Optional[int] = Field(None, alias="from", ge=0)
    bias: bool = False
    value: Float32
    variant: int = Field(0, ge=0, description="compare mode: which variant")

    @model_validator(mode="after")
    def _one_target(self) -> "SetWeight":
        if (self.source is None) == (not self.bias):
            raise ValueError('from: give either "from" (an input index) or "bias": true; allowed: one of the two')
        return self


class Inspect(ClientMessage):
    type: Literal["inspect"]
    point: tuple[Float32, Float32]
    label: Optional[Float32] = None
    variant: int = Field(0, ge=0, description="compare mode: which variant")


class GradCheck(ClientMessage):
    type: Literal["gradcheck"]
    max_params: int = Field(1000, ge=1, le=5000)
    variant: int = Field(0, ge=0, description="compare mode: which variant")


class View(ClientMessage):
    type: Literal["view"]
    density: Optional[int] = None  # its range is the server's (settings), checked by the session
    thumb: Optional[int] = Field(None, ge=MIN_THUMB, le=MAX_THUMB)
    fps: Optional[float] = Field(None, ge=MIN_FPS, le=MAX_FPS)
    speed: Optional[Speed] = None
    extras: Optional[list[Literal[EXTRAS]]] = None  # type: ignore[valid-type]


MESSAGE_TYPES = {m.model_fields["type"].annotation.__args__[0]: m
                 for m in (Configure, Play, Pause, Step, Reset, Regenerate, Set, SetWeight, Inspect, GradCheck, View)}


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_client_message(text: str) -> Any:
    """The client model for a JSON text message; :class:`InvalidInput` (with the message ``id``) if bad."""
    too_deep = depth_problem(text)
    if too_deep is not None:
        raise InvalidInput([problem(None, None, too_deep, f"at most {MAX_DEPTH} levels")])
    try:
        data = json.loads(text, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise InvalidInput([problem(None, None, f"malformed JSON: {exc}", 'a JSON object with a "type"')]) from None
    except ValueError as exc:  # NaN, Infinity, -Infinity
        raise InvalidInput([problem(None, None, f"numbers must be finite: {exc}", "finite numbers")]) from None
    message_id = data.get("id") if isinstance(data, dict) else None
    message_id = message_id if isinstance(message_id, (str, int)) and not isinstance(message_id, bool) else None
    if not isinstance(data, dict):
        error = InvalidInput.single(None, data, "a message must be a JSON object", 'an object with a "type"')
    elif data.get("type") not in MESSAGE_TYPES:
        error = InvalidInput.single("type", data.get("type"), "unknown message type", ", ".join(MESSAGE_TYPES))
    else:
        try:
            return MESSAGE_TYPES[data["type"]].model_validate(data)
        except ValidationError as exc:
            model = MESSAGE_TYPES[data["type"]]
            error = InvalidInput(describe(exc, fields=model.model_json_schema(by_alias=True)["properties"]))
    error.message_id = message_id
    raise error


# ---- server → client -------------------------------------------------------------------------------------
class ServerMessage(BaseModel):
    id: MessageId = None


class Hello(BaseModel):
    type: Literal["hello"] = "hello"
    version: str
    session: str
    limits: dict[str, Any]
    protocol: int = 1


class State(ServerMessage):
    type: Literal["state"] = "state"
    playing: bool
    epoch: int
    status: str
    message: str
    config: dict[str, Any]
    seed: int
    data_seed: int
    init_seed: int
    task: str
    sizes: list[int]
    speed: Union[float, Literal["max"]]
    view: dict[str, Any]
    variants: Optional[list[dict[str, Any]]] = Field(
        None, description="compare mode: per variant label, overrides, status, message, epoch")
    n_train: int
    n_test: int


class Error(ServerMessage):
    type: Literal["error"] = "error"
    message: str
    field: Optional[str] = None
    value: Any = None
    allowed: Optional[str] = None


class Trace(ServerMessage):
    type: Literal["trace"] = "trace"
    point: list[Optional[float]]
    label: Optional[float]
    features: dict[str, Optional[float]]
    layers: list[dict[str, Any]]
    output: list[Optional[float]]
    loss: Optional[float]


class GradCheckResult(ServerMessage):
    type: Literal["gradcheck"] = "gradcheck"
    max_relative_error: Optional[float]
    mean_relative_error: Optional[float]
    checked: int
    total_params: int
    worst: dict[str, Any]
    epsilon: Optional[float] = None


SERVER_MESSAGES = (Hello, State, Error, Trace, GradCheckResult)


def socket_schemas() -> dict[str, Any]:
    """JSON schemas of every socket message (both directions), for the OpenAPI document's components."""
    from pydantic.json_schema import models_json_schema

    models = [*MESSAGE_TYPES.values(), *SERVER_MESSAGES]
    _, schema = models_json_schema([(m, "validation") for m in models], ref_template="#/components/schemas/{model}")
    return schema.get("$defs", {})

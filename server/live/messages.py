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

from nnplay.engine.compare import MAX_VARIANTS

from ..http.nesting import MAX_DEPTH, depth_problem
from ..http.schemas import Float32, LayerWeights
from ..options import MAX_FPS, MAX_SPEED, MAX_STEP, MAX_THUMB, MIN_FPS, MIN_SPEED, MIN_THUMB
from ..problems import InvalidInput, allowed_for_field, describe, problem
from .frames import EXTRAS

# Bounds of the protocol's numbers (docs/protocol.md, "Numbers"): far beyond what a page sends, well within what
# the engine computes with (an epoch of 10**400 overflows the float of a history row). Past them, an ``error``.
MAX_INTEGER = 2**53 - 1  # any integer anywhere in a message: what JavaScript's numbers hold exactly
MAX_EPOCH = 10**9  # a restored epoch: eleven days at 1,000 epochs a second
MAX_INDEX = 2**31 - 1  # a layer, neuron or input index (the engine says the network's own range)
MAX_COORDINATE = 1e6  # a point to inspect (the plot shows ±6)
MAX_ID_LENGTH = 200  # a string id
INTEGERS_ALLOWED = f"integers within ±{MAX_INTEGER} (2**53 − 1) and finite numbers"

MessageId = Optional[Union[Annotated[StrictStr, Field(max_length=MAX_ID_LENGTH)],
                           Annotated[StrictInt, Field(ge=-MAX_INTEGER, le=MAX_INTEGER)]]]
Index = Annotated[int, Field(ge=0, le=MAX_INDEX)]
Variant = Annotated[int, Field(ge=0, le=MAX_VARIANTS - 1, description="compare mode: which variant")]
Coordinate = Annotated[float, Field(ge=-MAX_COORDINATE, le=MAX_COORDINATE)]
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
    epoch: Optional[int] = Field(None, ge=0, le=MAX_EPOCH,
                                 description="continue counting from this epoch (a restored session)")
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
    layer: Index
    to: Index
    source: Optional[Index] = Field(None, alias="from")
    bias: bool = False
    value: Float32
    variant: Variant = 0

    @model_validator(mode="after")
    def _one_target(self) -> "SetWeight":
        if (self.source is None) == (not self.bias):
            raise ValueError('from: give either "from" (an input index) or "bias": true; allowed: one of the two')
        return self


class Inspect(ClientMessage):
    type: Literal["inspect"]
    point: tuple[Coordinate, Coordinate]
    label: Optional[Coordinate] = None
    variant: Variant = 0


class GradCheck(ClientMessage):
    type: Literal["gradcheck"]
    max_params: int = Field(1000, ge=1, le=5000)
    variant: Variant = 0


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


class LongInteger:
    """An integer literal too long to be a number of the protocol, kept as text (never converted: the
    conversion of a long literal costs time quadratic in its digits)."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return f"{self.text[:12]}... ({len(self.text.lstrip('-'))} digits)"


def _integer(text: str) -> Any:
    return int(text) if len(text) <= 20 else LongInteger(text)


def out_of_range(data: Any, loc: tuple = ()) -> Optional[tuple[tuple, Any]]:
    """``(loc, value)`` of the first number in ``data`` that no message may hold (an integer beyond
    ±``MAX_INTEGER``, a number that is not finite), or None. Each field has its own, narrower, bounds too."""
    if isinstance(data, list):
        if _fine_numbers(data):
            return None
        items: Any = enumerate(data)
    elif isinstance(data, dict):
        items = data.items()
    elif isinstance(data, LongInteger) or isinstance(data, int) and not -MAX_INTEGER <= data <= MAX_INTEGER \
            or isinstance(data, float) and not math.isfinite(data):
        return loc, data
    else:
        return None
    for key, value in items:
        found = out_of_range(value, (*loc, key))
        if found is not None:
            return found
    return None


def _fine_numbers(values: list) -> bool:
    """Whether ``values`` are all finite floats, or all ints within bounds (a fast path: the rows of weights)."""
    kinds = set(map(type, values))
    if kinds == {float}:
        return all(map(math.isfinite, values))
    if kinds == {int}:
        return max(map(abs, values)) <= MAX_INTEGER
    return False


def parse_client_message(text: str) -> Any:
    """The client model for a JSON text message; :class:`InvalidInput` (with the message ``id``) if bad."""
    too_deep = depth_problem(text)
    if too_deep is not None:
        raise InvalidInput([problem(None, None, too_deep, f"at most {MAX_DEPTH} levels")])
    try:
        data = json.loads(text, parse_constant=_no_constants, parse_int=_integer)
    except json.JSONDecodeError as exc:
        raise InvalidInput([problem(None, None, f"malformed JSON: {exc}", 'a JSON object with a "type"')]) from None
    except ValueError as exc:  # NaN, Infinity, -Infinity
        raise InvalidInput([problem(None, None, f"numbers must be finite: {exc}", "finite numbers")]) from None
    message_id = data.get("id") if isinstance(data, dict) else None
    message_id = message_id if isinstance(message_id, (str, int)) and not isinstance(message_id, bool) else None
    if out_of_range(message_id) is not None or isinstance(message_id, str) and len(message_id) > MAX_ID_LENGTH:
        message_id = None
    bad = out_of_range(data)
    if bad is not None:
        loc, value = bad
        field = next((part for part in loc if isinstance(part, str)), None)
        shown = repr(value) if isinstance(value, (LongInteger, int)) else value  # (no 400-digit numbers in JSON)
        model = MESSAGE_TYPES.get(data.get("type")) if isinstance(data, dict) and len(loc) == 1 else None
        allowed = model and field and allowed_for_field(field, model.model_json_schema(by_alias=True)["properties"])
        error = InvalidInput.single(field, shown, f"{'.'.join(map(str, loc))}: number out of range",
                                    allowed or INTEGERS_ALLOWED, loc=loc)
    elif not isinstance(data, dict):
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

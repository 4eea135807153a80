"""Bad input, described the same way everywhere: which field, which value, and what is allowed.

:func:`describe` turns a pydantic ``ValidationError`` (or an engine ``ValueError``) into ``Problem`` dicts
``{"field", "value", "allowed", "message", "loc", "type"}``. REST answers them as HTTP 422 (server/http/errors.py:
``{"detail": [problem, ...]}``, keeping FastAPI's ``loc``/``msg``/``type``/``input`` keys) and the socket as
an ``error`` message. Allowed values come from the Config JSON schema (so ranges and names are never typed
twice) or from the error's own context. This module imports no web framework: the engine workers use it.
"""

from __future__ import annotations

import math
import re
from typing import Any, Iterable, Optional

from pydantic import ValidationError

from nnplay.engine import Config

_CONFIG_FIELDS: dict[str, dict] = Config.model_json_schema()["properties"]
_FIELD_PREFIX = re.compile(r"^(?:Value error, )?([a-z_][a-z0-9_]*): ")
_ALLOWED_TAIL = re.compile(r"allowed: (.*)$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class InvalidInput(Exception):
    """Bad input found by a handler (engine validation, a cap known only at run time); answered as 422."""

    message_id = None  # the socket message's "id", echoed in the error

    def __init__(self, problems: list[dict]):
        super().__init__(problems[0]["message"] if problems else "invalid input")
        self.problems = problems

    @classmethod
    def single(cls, field: Optional[str], value: Any, message: str, allowed: Optional[str] = None,
               loc: Iterable[Any] = ()) -> "InvalidInput":
        return cls([problem(field, value, message, allowed, loc=tuple(loc) or ((field,) if field else ()))])


def problem(field: Optional[str], value: Any, message: str, allowed: Optional[str] = None, *,
            loc: tuple = (), kind: str = "value_error") -> dict:
    """One bad-input description; ``message`` always names the field, the value and what is allowed."""
    text = message
    if field and not text.startswith(field):
        text = f"{field}: {text}"
    if value is not None and "got" not in text and short(value) not in text:
        text += f", got {short(value)}"
    if allowed and "allowed" not in text:
        text += f"; allowed: {allowed}"
    return {"field": field, "value": jsonable(value), "allowed": allowed, "message": text,
            "loc": list(loc), "type": kind}


def short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def jsonable(value: Any) -> Any:
    """``value`` made safe for strict JSON (no NaN/inf, no arbitrary objects, short)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return value if len(value) <= 200 else value[:197] + "..."
    text = short(value, 200)
    if isinstance(value, (list, dict, tuple)) and len(text) < 200:
        try:
            import json

            return json.loads(json.dumps(value, allow_nan=False))
        except (TypeError, ValueError):
            return text
    return text


def allowed_for_field(field: str, fields: Optional[dict[str, dict]] = None) -> Optional[str]:
    """What a field accepts, read from its JSON schema (default: Config's): names, or a numeric range."""
    schema = (_CONFIG_FIELDS if fields is None else fields).get(field)
    if schema is None:
        return None
    options = [schema, *schema.get("anyOf", []), *schema.get("items", {}).get("anyOf", []),
               schema.get("items", {})]
    for option in options:
        if "enum" in option:
            return ", ".join(map(str, option["enum"]))
        if "items" in option and "enum" in option["items"]:
            return ", ".join(map(str, option["items"]["enum"]))
    return _range(schema) or next((r for r in map(_range, schema.get("anyOf", [])) if r), None)


def _range(schema: dict) -> Optional[str]:
    low = ("≥", schema["minimum"]) if "minimum" in schema else (">", schema.get("exclusiveMinimum"))
    high = ("≤", schema["maximum"]) if "maximum" in schema else ("<", schema.get("exclusiveMaximum"))
    kind = {"integer": "an integer", "number": "a number"}.get(schema.get("type"), "a value")
    parts = [f"{op} {bound}" for op, bound in (low, high) if bound is not None]
    return f"{kind} {' and '.join(parts)}" if parts else None


def allowed_from_context(kind: str, ctx: dict) -> Optional[str]:
    if "expected" in ctx:
        return str(ctx["expected"])
    if "expected_tags" in ctx:
        return str(ctx["expected_tags"])
    bounds = [f"{op} {ctx[key]}" for key, op in (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤")) if key in ctx]
    if bounds:
        return " and ".join(bounds)
    if kind == "finite_number":
        return "a finite number"
    for key in ("min_length", "max_length"):
        if key in ctx:
            return f"{key.replace('_', ' ')} {ctx[key]}"
    return None


def describe(exc: Exception, prefix: tuple = (), config_level: bool = False,
             fields: Optional[dict[str, dict]] = None) -> list[dict]:
    """Problems of a pydantic ValidationError (or an engine ValueError). ``prefix`` is prepended to each
    ``loc``; allowed values are read from ``fields`` (JSON schema properties; Config's with ``config_level``)."""
    if config_level:
        fields = _CONFIG_FIELDS
    if not isinstance(exc, ValidationError):
        message = str(exc)
        match = _FIELD_PREFIX.match(message)
        field = match.group(1) if match else None
        tail = _ALLOWED_TAIL.search(message)
        loc = prefix + ((field,) if field else ())
        return [problem(field, None, message, tail.group(1) if tail else None, loc=loc)]
    problems, seen = [], set()
    for error in exc.errors(include_url=False):
        raw_loc = tuple(error.get("loc", ()))
        loc = tuple(part for part in raw_loc if isinstance(part, int) or _IDENTIFIER.match(part))  # no union tags
        kind = error.get("type", "value_error")
        message = error.get("msg", "invalid").removeprefix("Value error, ")
        field = next((part for part in loc if isinstance(part, str)), None)
        value = error.get("input")
        if not loc:  # a check across fields: the engine's message starts with "field: "
            match = _FIELD_PREFIX.match(message)
            field = match.group(1) if match else None
            value = value.get(field) if isinstance(value, dict) and field else None
        if (field, loc) in seen:  # one error per field for unions (a name or a list of names)
            continue
        seen.add((field, loc))
        tail = _ALLOWED_TAIL.search(message)
        allowed = tail.group(1) if tail else None
        if allowed is None and fields is not None and field:
            allowed = allowed_for_field(field, fields)
        if allowed is None:
            allowed = allowed_from_context(kind, error.get("ctx") or {})
        if kind in ("literal_error", "enum", "union_tag_invalid"):
            message = "unknown value"
        if loc and not message.startswith(f"{field}"):
            message = f"{'.'.join(map(str, loc))}: {message}"
        problems.append(problem(field, value, message, allowed, loc=prefix + loc, kind=kind))
    return problems

"""Bad input answered over HTTP: 422 with ``{"detail": [problem, ...]}``, for the engine's problems and FastAPI's own
request validation errors alike (server/problems.py describes them)."""

from __future__ import annotations

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import JSONResponse

from ..problems import InvalidInput, allowed_for_field, allowed_from_context, problem


def http_detail(problems: list[dict]) -> list[dict]:
    """422 detail items: FastAPI's keys (loc, msg, type, input) plus field, value and allowed."""
    return [{"loc": p["loc"], "msg": p["message"], "type": p["type"], "input": p["value"], "field": p["field"],
             "value": p["value"], "allowed": p["allowed"]} for p in problems]


async def request_validation_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's own request validation errors, in the same shape as the engine's."""
    problems = []
    for error in exc.errors():
        loc = tuple(error.get("loc", ()))
        inner = tuple(part for part in loc if part != "body")
        config_level = len(inner) >= 2 and inner[0] == "config"
        field = (inner[1] if config_level else inner[0]) if inner else None
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        allowed = (allowed_for_field(field) if config_level and isinstance(field, str) else None) or \
            allowed_from_context(error.get("type", ""), error.get("ctx") or {})
        if error.get("type") == "json_invalid":
            field, message = None, f"the body is not valid JSON: {message}"
        elif field is not None:
            message = f"{'.'.join(map(str, inner))}: {message}"
        problems.append(problem(field if isinstance(field, str) else None, error.get("input"), message, allowed,
                                loc=loc, kind=error.get("type", "value_error")))
    return JSONResponse({"detail": http_detail(problems)}, status_code=422)


async def invalid_input_handler(request: Request, exc: InvalidInput) -> JSONResponse:
    return JSONResponse({"detail": http_detail(exc.problems)}, status_code=422)

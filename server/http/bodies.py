"""Request bodies: a size limit checked before they are read, and JSON parsing and validation off the loop.

* :class:`BodyLimit` (ASGI middleware) answers 413 when ``Content-Length`` exceeds ``max_body_bytes``
  before reading a byte, and stops a body sent without one (chunked) as soon as it grows past the limit.
  The default, 4 MiB, holds 5,000 points and the largest network's weights several times over (about
  0.3 MB each as JSON).
* :class:`ThreadedBodyRoute` (a FastAPI route class) reads the body, then parses and validates it against
  the route's body model in a worker thread; FastAPI then receives the validated model, which pydantic
  passes through without validating again. Errors are FastAPI's own 422 (at most ``MAX_ERRORS`` of them).

So a large body never holds the event loop (docs/decisions.md, "Request bodies off the loop").
"""

from __future__ import annotations

import email.message
import json
from typing import Any, Callable, Coroutine

import anyio.to_thread
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .nesting import depth_problem

MAX_ERRORS = 20  # validation errors reported per request (a million bad numbers are not a million lines)
LIMIT_SETTING = "NNPLAY_MAX_BODY_BYTES"


def too_large(limit: int, size: int | None = None) -> JSONResponse:
    """The 413 answer: it names the limit and the setting that raises it, and closes the connection (so the
    server does not read the rest of the body only to throw it away)."""
    got = f"{size:,} bytes" if size is not None else f"more than {limit:,} bytes"
    message = f"request body too large: {got}; at most {limit:,} bytes (the server's {LIMIT_SETTING})"
    return JSONResponse({"detail": message}, status_code=413, headers={"connection": "close"})


class _TooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: HTTP request bodies of at most ``limit`` bytes, or 413 (see the module docstring)."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            return await too_large(self.limit, declared)(scope, receive, send)
        received, started = 0, False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _TooLarge
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except _TooLarge:
            if started:
                raise
            await too_large(self.limit)(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


def parse_body(model: type[BaseModel], raw: bytes) -> BaseModel:
    """Worker thread: ``raw`` JSON validated as ``model``, or FastAPI's RequestValidationError."""
    too_deep = depth_problem(raw)
    if too_deep is not None:
        raise RequestValidationError([{"type": "json_invalid", "loc": ("body",), "input": None, "msg": too_deep}])
    try:
        data = json.loads(raw)
    except ValueError as exc:  # JSONDecodeError, and UnicodeDecodeError for bytes that are not UTF-8
        position = getattr(exc, "pos", getattr(exc, "start", 0))
        reason = getattr(exc, "msg", None) or getattr(exc, "reason", None) or str(exc)
        raise RequestValidationError([{"type": "json_invalid", "loc": ("body", position), "input": None,
                                       "msg": f"{reason} (at byte {position})", "ctx": {"error": reason}}]) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)[:MAX_ERRORS]
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors]) from None


class _Parsed(Request):
    """The request with its body already read and validated (FastAPI asks for ``json()`` and gets the model)."""

    def __init__(self, request: Request, raw: bytes, parsed: BaseModel):
        super().__init__(request.scope, request.receive)
        self._raw, self._parsed = raw, parsed

    async def body(self) -> bytes:
        return self._raw

    async def json(self) -> Any:
        return self._parsed


class ThreadedBodyRoute(APIRoute):
    """An APIRoute whose JSON body is parsed and validated in a worker thread (see the module docstring)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        body_field = self.body_field
        if body_field is None or not (isinstance(body_field.field_info.annotation, type) and
                                      issubclass(body_field.field_info.annotation, BaseModel)):
            return handler
        model = body_field.field_info.annotation

        async def handle(request: Request) -> Response:
            raw = await request.body()
            if not raw or not _is_json(request.headers.get("content-type")):
                return await handler(request)  # FastAPI's own answer (no body, not JSON)
            parsed = await anyio.to_thread.run_sync(parse_body, model, raw)
            return await handler(_Parsed(request, raw, parsed))

        return handle

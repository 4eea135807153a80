"""HTTP methods answered correctly: 405 with the right ``Allow``, and the page's files only where no route is.

Starlette routes a request to the first route that matches both path and method, and otherwise to the
first that matches the path. The page's static mount at ``/`` matches every path: :class:`PageMount`
matches only where no route has the path, so ``GET /api/train`` is a 405 of the POST-only route, not a 404
of the page; and :func:`method_not_allowed` names in ``Allow`` the methods of every route that shares the
path (``GET`` and ``POST /api/runs``). :class:`HeadAsGet` answers ``HEAD`` wherever ``GET`` is served: the
same status and headers, no body (uptime probes and link checkers use ``HEAD``).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.routing import Match, Mount, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..routes.pages import PageFiles


class PageMount(Mount):
    """The static mount at ``/``, stepping aside for any path that a route of ``router`` serves."""

    def __init__(self, router: Router, directory: Path):
        super().__init__("/", app=PageFiles(directory=directory, check_dir=False), name="frontend")
        self.router = router

    def matches(self, scope: Scope):
        if scope["type"] == "http" and any(route is not self and route.matches(scope)[0] != Match.NONE
                                           for route in self.router.routes):
            return Match.NONE, {}
        return super().matches(scope)


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route (not the page's mount) serves at this request's path: each is asked whether it
    fully matches the path with that method (FastAPI nests included routers, so the routes' own ``methods``
    are not all in one list)."""
    routes = [route for route in request.app.router.routes if not isinstance(route, Mount)]
    return [method for method in METHODS
            if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes)]


async def method_not_allowed(request: Request, exc: HTTPException) -> Response:
    """405 naming every method the path serves (in ``Allow`` and in the message); other HTTP errors as FastAPI
    answers them."""
    if exc.status_code != 405:
        return await http_exception_handler(request, exc)
    methods = allowed_methods(request)
    if "GET" in methods and "HEAD" not in methods:
        methods.insert(methods.index("GET") + 1, "HEAD")  # HeadAsGet answers it
    detail = f"{request.method} is not allowed on {request.url.path}; allowed: {', '.join(methods)}"
    return JSONResponse({"detail": detail}, status_code=405, headers={"Allow": ", ".join(methods)})


class HeadAsGet:
    """ASGI middleware: a ``HEAD`` request to a path some route (or the page's files) serves with ``GET`` is
    answered as that ``GET`` without its body; the ``Content-Length`` stays the ``GET``'s. A path with no
    ``GET`` keeps its 405."""

    def __init__(self, app: ASGIApp, router: Router):
        self.app = app
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD" or not self._gets(scope):
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # the rest of a streamed body: nothing to send
                message = {"type": "http.response.body", "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)

    def _gets(self, scope: Scope) -> bool:
        get = {**scope, "method": "GET"}
        return any(route.matches(get)[0] == Match.FULL for route in self.router.routes)

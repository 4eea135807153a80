"""HTTP methods answered correctly: 405 with the right ``Allow``, and the page's files only where no route is.

Starlette routes a request to the first route that matches both path and method, and otherwise to the
first that matches the path. The page's static mount at ``/`` matches every path: :class:`PageMount`
matches only where no route has the path, so ``GET /api/train`` is a 405 of the POST-only route, not a 404
of the page; and :func:`method_not_allowed` names in ``Allow`` the methods of every route that shares the
path (``GET`` and ``POST /api/runs``).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.routing import Match, Mount, Router
from starlette.types import Scope

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
    detail = f"{request.method} is not allowed on {request.url.path}; allowed: {', '.join(methods)}"
    return JSONResponse({"detail": detail}, status_code=405, headers={"Allow": ", ".join(methods)})

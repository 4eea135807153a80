"""The ASGI app: ``create_app(settings)`` wires the routers, the error handlers, the page and the lifespan.

``uvicorn nnplay.server.main:app`` serves the default app (settings from ``NNPLAY_*``); ``nnplay serve`` uses
``create_app`` as a factory. The lifespan starts the engine pool and the background-run task group, and
cancels and awaits everything at shutdown. A SIGTERM drains the instance first (server/drain.py).
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator, Optional

import anyio
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi

from nnplay.engine import __version__, gpu_available

from .deps import ServerState
from .drain import Drain, DrainGate, drain_on_sigterm
from .errors import InvalidInput, invalid_input_handler, request_validation_handler
from .messages import socket_schemas
from .pool import EnginePool
from .routes import health, lessons, options, pages, train, ws
from .runs import RunStore
from .settings import Settings


def create_app(settings: Optional[Settings] = None) -> FastAPI:
    """A new app; ``settings`` default to the environment's (``NNPLAY_*``)."""
    settings = settings or Settings()
    state = ServerState(settings=settings, limits=settings.limits(), drain=Drain(settings.drain_grace),
                        gpu=gpu_available())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.pool = EnginePool(settings.engine_threads, settings.slice_seconds, settings.switch_interval)
        state.runs = RunStore(state.pool, settings.max_background_runs, settings.run_ttl)
        state.pool.start()
        try:
            async with anyio.create_task_group() as tg:
                state.runs.task_group = tg
                with drain_on_sigterm(state.drain, state.sessions, state.runs, tg):
                    yield
                tg.cancel_scope.cancel()
        finally:
            state.pool.stop()

    app = FastAPI(title="nnplay", version=__version__, lifespan=lifespan,
                  description="A neural-network playground: REST runs and live training sessions over /ws.")
    app.state.nnplay = state
    app.add_middleware(DrainGate, drain=state.drain)
    app.add_exception_handler(RequestValidationError, request_validation_handler)
    app.add_exception_handler(InvalidInput, invalid_input_handler)
    for module in (health, options, train, lessons, ws):
        app.include_router(module.router)
    app.include_router(pages.page_router(settings.frontend_dir))
    app.mount("/", pages.PageFiles(directory=settings.frontend_dir, check_dir=False), name="frontend")
    app.openapi = lambda: _openapi(app)
    return app


def _openapi(app: FastAPI) -> dict:
    """FastAPI's document plus the /ws message models (docs/protocol.md), which routes cannot declare."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        schema.setdefault("components", {}).setdefault("schemas", {}).update(socket_schemas())
        app.openapi_schema = schema
    return app.openapi_schema


app = create_app()

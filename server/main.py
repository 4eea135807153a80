"""The ASGI app: ``create_app(settings)`` wires the routers, the error handlers, the page and the lifespan.

``uvicorn nnplay.server.main:app`` serves the default app (settings from ``NNPLAY_*``); ``nnplay serve`` uses
``create_app`` as a factory. The lifespan starts the engine pool, the engine workers of the live sessions
(server/live/supervisor.py) and the background-run task group, and cancels and awaits everything at shutdown. A
SIGTERM drains the instance first (server/lifecycle/drain.py).
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator, Optional

import anyio
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from nnplay.engine import __version__, gpu_available

from . import logs
from .deps import ServerState
from .http import openapi
from .http.bodies import BodyLimit
from .http.errors import invalid_input_handler, request_validation_handler
from .http.methods import HeadAsGet, PageMount, method_not_allowed
from .jobs.pool import EnginePool
from .jobs.runs import RunStore
from .lifecycle.drain import Drain, DrainGate, drain_on_sigterm
from .live.supervisor import EngineWorkers
from .problems import InvalidInput
from .rooms.keep import RoomKeep, owner_of
from .rooms.registry import Rooms
from .routes import health, lessons, networks, options, pages, rooms, setups, sweep_plots, sweeps, train, ws
from .settings import Settings
from .store import Store
from .sweeps.executors import make_executor
from .sweeps.plan import SweepLimits
from .sweeps.service import Sweeps

EXPIRY_INTERVAL = 3600.0  # seconds between deletions of expired stored entries


async def expire_hourly(store: Store) -> None:
    """Delete the store's expired rows now and every ``EXPIRY_INTERVAL`` seconds (until cancelled)."""
    while True:
        await anyio.to_thread.run_sync(store.expire)
        await anyio.sleep(EXPIRY_INTERVAL)


def create_app(settings: Optional[Settings] = None) -> FastAPI:
    """A new app; ``settings`` default to the environment's (``NNPLAY_*``)."""
    settings = settings or Settings()
    state = ServerState(settings=settings, limits=settings.limits(), drain=Drain(settings.drain_grace),
                        gpu=gpu_available())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.store = Store(settings.data_dir, settings.store_ttl)  # first: a bad data folder stops start-up
        state.store.define(setups.TABLE)
        state.store.define(networks.TABLE)
        state.pool = EnginePool(settings.engine_threads, settings.slice_seconds, settings.switch_interval)
        state.runs = RunStore(state.pool, settings.max_background_runs, settings.run_ttl,
                              settings.max_finished_runs, settings.max_finished_run_bytes, state.store)
        state.rooms = Rooms(settings, RoomKeep(state.store, owner_of(settings), settings.room_keep_interval))
        state.rooms.restore()  # before the first request: a lecturer's key and the students' tokens work again
        state.sweeps = Sweeps(state.store, SweepLimits.of(settings), max_running=settings.max_running_sweeps,
                              chunk_size=settings.sweep_chunk, page_size=settings.sweep_page,
                              executor=lambda: make_executor(settings.sweep_processes, settings.ray_address))
        if settings.ray_address:  # connect at start-up (in the main thread): a bad address stops it, named
            state.sweeps.executor()
        state.workers = EngineWorkers(settings, state.drain)
        await state.workers.start()
        state.pool.start()
        try:
            async with anyio.create_task_group() as tg:
                state.runs.task_group = state.sweeps.task_group = tg
                tg.start_soon(expire_hourly, state.store)
                tg.start_soon(state.rooms.expire_now_and_then)
                tg.start_soon(state.rooms.keep_now_and_then)
                with drain_on_sigterm(state.drain, state.sessions, state.runs, tg, before_close=state.rooms.keep_all):
                    yield
                state.sweeps.shutdown()  # before the cancel: sweeps stop as interrupted, resumable
                tg.cancel_scope.cancel()
        finally:
            state.pool.stop()
            with anyio.CancelScope(shield=True):
                await state.workers.stop()
            state.rooms.keep_all()  # what changed since the drain (or everything, stopped without one)
            state.store.close()
            logs.flush()  # the counts of repeated log lines still held

    app = FastAPI(title="nnplay", version=__version__, lifespan=lifespan,
                  description="A neural-network playground: REST runs and live training sessions over /ws.")
    app.state.nnplay = state
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(DrainGate, drain=state.drain)
    app.add_middleware(HeadAsGet, router=app.router)  # outermost: a HEAD goes through as its GET would
    app.add_exception_handler(RequestValidationError, request_validation_handler)
    app.add_exception_handler(InvalidInput, invalid_input_handler)
    app.add_exception_handler(HTTPException, method_not_allowed)
    for module in (health, options, train, sweeps, sweep_plots, lessons, setups, networks, ws, rooms):
        app.include_router(module.router)
    app.include_router(pages.page_router(settings.frontend_dir))
    app.include_router(rooms.page_routes(settings.frontend_dir))
    app.router.routes.append(PageMount(app.router, settings.frontend_dir))
    app.openapi = lambda: openapi.document(app, settings)
    return app


app = create_app()

"""Work for a client that has gone away stops.

Wrap long work in :func:`cancelled_on_disconnect`: when the client disconnects, the work is cancelled at
its next await, which for engine work is the end of the running slice (the engine pool runs work a slice at
a time, server/jobs/pool.py), and the route answers :func:`client_gone`, which nobody reads.

    async with cancelled_on_disconnect(request) as client:
        result = await train_in_pool(...)
    if client.gone:
        return client_gone()
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

import anyio
from fastapi import Request, Response

CLIENT_CLOSED_REQUEST = 499  # nginx's status for a request whose client left before the answer


class Client:
    """What :func:`cancelled_on_disconnect` found out: ``gone`` once the client has disconnected."""

    gone = False


@asynccontextmanager
async def cancelled_on_disconnect(request: Request) -> AsyncIterator[Client]:
    """Run the block; cancel it if the client disconnects meanwhile (the body must have been read already).
    Yields a :class:`Client` whose ``gone`` says whether the block was cut short."""
    client, failure = Client(), None
    async with anyio.create_task_group() as group:

        async def watch() -> None:
            while (await request.receive())["type"] != "http.disconnect":
                pass
            client.gone = True
            group.cancel_scope.cancel()

        group.start_soon(watch)
        try:
            yield client
        except Exception as exc:  # noqa: BLE001 - raised again below, unwrapped by the task group
            failure = exc
        group.cancel_scope.cancel()  # the work is done: stop watching
    if failure is not None:
        raise failure


def client_gone() -> Response:
    """The answer to a request whose client has left (nobody reads it; the access log shows 499)."""
    return Response(status_code=CLIENT_CLOSED_REQUEST)

"""Ctrl+C stops the server at once, even while long work runs.

uvicorn's shutdown waits for every request in flight to finish (a ``POST /api/train`` of the largest
network at the epoch cap takes about 15 minutes). :class:`Server` keeps uvicorn's behaviour for SIGTERM (a
graceful drain) and makes SIGINT cancel what is in flight right away: requests stop at the end of their
engine slice, live sessions get a close frame (1012) from uvicorn, and the lifespan's shutdown cancels the
background runs.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from types import FrameType
from typing import Optional

import uvicorn
from uvicorn.supervisors import Multiprocess


class QuietCancellations(logging.Filter):
    """After Ctrl+C, cancelling the requests in flight is the plan, not an error: uvicorn's traceback for each
    (and its "timeout graceful shutdown exceeded") are left out of the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        cancelled = record.exc_info is not None and isinstance(record.exc_info[1], asyncio.CancelledError)
        return not cancelled and "timeout graceful shutdown exceeded" not in record.getMessage()


class Server(uvicorn.Server):
    """uvicorn's server with a prompt Ctrl+C (see the module docstring)."""

    interrupted = False

    def handle_exit(self, sig: int, frame: Optional[FrameType]) -> None:
        if sig == signal.SIGINT and not self.interrupted:
            self.interrupted = True
            # read by shutdown(): no grace for requests in flight; their tasks are cancelled there
            self.config.timeout_graceful_shutdown = 0
            logging.getLogger("uvicorn.error").addFilter(QuietCancellations())
        super().handle_exit(sig, frame)


def run(config: uvicorn.Config) -> None:
    """Serve ``config`` as ``uvicorn.run`` does: one process with :class:`Server`, or a supervisor of
    ``config.workers`` processes. (uvicorn's supervisor builds its workers' servers itself, so with several
    workers Ctrl+C keeps uvicorn's behaviour: a second Ctrl+C stops them without waiting.)"""
    if config.workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    else:
        Server(config).run()

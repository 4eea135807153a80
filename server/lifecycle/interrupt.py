"""Ctrl+C stops the server at once, even while long work runs.

uvicorn's shutdown waits for every request in flight to finish (a ``POST /api/train`` of the largest
network at the epoch cap takes about 15 minutes). :class:`Server` keeps uvicorn's behaviour for SIGTERM (a
graceful drain) and makes SIGINT cancel what is in flight right away: requests stop at the end of their
engine slice, live sessions get a close frame (1012) from uvicorn, and the lifespan's shutdown cancels the
background runs.

:func:`on_exit_signals` lets a part of the app hear of a SIGINT or SIGTERM before uvicorn does (the engine
workers stop replacing workers that end, server/live/supervisor.py).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from types import FrameType
from typing import Callable, Optional

import uvicorn
from uvicorn.config import LOG_LEVELS


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


EXIT_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def on_exit_signals(callback: Callable[[], None]) -> Callable[[], None]:
    """From now on, a SIGINT or SIGTERM calls ``callback`` (in the signal handler: keep it to setting a flag),
    then the handler that was there before (uvicorn's, or a drain's). Returns the function that puts the
    previous handlers back (each only if it is still this one). Signals are the main thread's: elsewhere (a
    TestClient) this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {sig: signal.getsignal(sig) for sig in EXIT_SIGNALS}

    def handler(signum: int, frame: Optional[FrameType]) -> None:
        callback()
        before = previous[signal.Signals(signum)]
        if callable(before):
            before(signum, frame)
        elif before in (signal.SIG_DFL, None):  # the default: end the process as the signal asks
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)

    for sig in EXIT_SIGNALS:
        signal.signal(sig, handler)

    def restore() -> None:
        for sig, before in previous.items():
            if signal.getsignal(sig) is handler:
                signal.signal(sig, before if before is not None else signal.SIG_DFL)

    return restore


def with_app_loggers(config: uvicorn.Config) -> None:
    """nnplay's own loggers (``nnplay.*``, e.g. ``nnplay.workers``) print as uvicorn's do, with their level
    (``ERROR:    engine worker 0 ...``), at the server's log level; without this they reach stderr bare, through
    logging's last resort. A log config of the user's own (a file) is left alone."""
    if not isinstance(config.log_config, dict):
        return
    level = config.log_level if config.log_level is not None else logging.INFO
    if isinstance(level, str):
        level = LOG_LEVELS[level.lower()]
    loggers = {**config.log_config.get("loggers", {}),
               "nnplay": {"handlers": ["default"], "level": level, "propagate": False}}
    config.log_config = {**config.log_config, "loggers": loggers}
    config.configure_logging()


def run(config: uvicorn.Config) -> None:
    """Serve ``config`` as ``uvicorn.run`` does, in one process, with :class:`Server` (``nnplay serve`` starts
    one uvicorn server; several instances go behind nginx, deploy/)."""
    with_app_loggers(config)
    Server(config).run()

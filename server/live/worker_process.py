"""The entry point of an engine worker process: signals first, then the worker (server/live/worker.py).

A worker process ignores SIGINT and SIGTERM. Ctrl+C in a terminal, and a stop under systemd's default
``KillMode=control-group``, send the signal to every process of the group; the workers leave it to the server,
which closes their sessions as a drain does (1012) and then stops them itself (``wire.Stop``, then SIGKILL).
The signals are ignored before the worker module is imported (NumPy and the engine: most of a start-up), so a
Ctrl+C during a start leaves no traceback either. This module imports nothing else at the top for that reason.
"""

from __future__ import annotations

import signal
from typing import Any, Optional


def main(channel: Any, limits: dict, device: Optional[str], slice_seconds: float) -> None:
    """Ignore SIGINT and SIGTERM, then serve as ``worker.main`` until told to stop or the server goes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    from .worker import main as serve

    serve(channel, limits, device, slice_seconds)

"""A session's failure in an engine worker, told in one line.

An exception raised by one session's work (a command, an epoch, a frame, an encoding) ends only that session:
the worker forgets it and the server closes its socket with :data:`FAILED_CODE` and :func:`close_reason`, so
the page reconnects and restores its network from the last frame it received (docs/protocol.md,
"Connecting"). The server logs :func:`describe` of the exception, one line per failure (no traceback), and
the worker goes on with its other sessions. Why: docs/decisions.md, "A failing session is isolated".
"""

from __future__ import annotations

import os
import re
import traceback

FAILED_CODE = 1011  # "internal error": the page reconnects on it (frontend/js/session-socket.js)
_KIND = re.compile(r"^([A-Z][A-Za-z0-9_]*)(?::| \(|$)")  # the exception type that starts a description


def describe(exc: BaseException) -> str:
    """``Type: message (file.py:line in function)`` of the innermost frame, for the log: one line, no traceback."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" ({os.path.basename(frames[-1].filename)}:{frames[-1].lineno} in {frames[-1].name})" if frames else ""
    message = " ".join(str(exc).split())[:300]
    return f"{type(exc).__name__}: {message}{where}" if message else f"{type(exc).__name__}{where}"


def close_reason(why: str) -> str:
    """The close reason the client gets for ``why``: a :func:`describe` by the exception's type only (its message
    and the code's location stay in the server's log), any other text as it is. At most 123 bytes, as a
    WebSocket close reason must be."""
    kind = _KIND.match(why)
    text = f"the engine failed on this session ({kind.group(1)}); reconnect to start again" if kind else why
    return text.encode()[:123].decode(errors="ignore")

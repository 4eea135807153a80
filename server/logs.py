"""The server's log: every logger on stderr, and a flood of one error collapsed into one line per interval.

A fault that repeats fast can write a line (and a traceback) per occurrence: out of file descriptors, the
event loop's accept fails and logs thousands of times a second. :class:`Repeats` lets the first record of
a kind through in each interval, counts the rest, and when the interval ends writes one line, at the same
level: ``<the first line of the message> (repeated 7,231 times in the last 10 s)``. A kind is the logger,
the level, the first line of the message's template and, for a record with an exception, its type and the
line that raised it, so two different faults never hide each other.

:func:`install` puts it in uvicorn's log config, on every handler but the access log's (one line per
request by design), and gives the root logger a handler for ``asyncio``, ``nnplay.*`` and everything else,
which would otherwise go to Python's last-resort handler unformatted.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
import traceback
from dataclasses import dataclass

import uvicorn
from uvicorn.config import LOG_LEVELS

WATCHED = ("asyncio", "uvicorn.error", "nnplay")  # loggers (and their children) whose repeats are collapsed
MAX_KINDS = 1000  # kinds remembered at once; past it, the ones whose interval has ended are forgotten

Kind = tuple


@dataclass
class Interval:
    """One kind of record since its first was let through: when the interval ends and how many were held."""

    ends: float
    first: logging.LogRecord
    held: int = 0


def kind_of(record: logging.LogRecord) -> Kind:
    """What makes two records "the same": logger, level, the template's first line, and the exception's type
    and the line that raised it."""
    raised: tuple = ()
    if record.exc_info and record.exc_info[1] is not None:
        error, where = record.exc_info[1], ()
        for frame, line in traceback.walk_tb(error.__traceback__):  # no source lines read: a flood is cheap
            where = (frame.f_code.co_filename, line)
        raised = (type(error).__qualname__, *where)
    return (record.name, record.levelno, str(record.msg).split("\n", 1)[0], *raised)


class Repeats(logging.Filter):
    """A handler filter passing the first record of each kind per ``interval`` seconds, and logging the count
    of the ones it held back when the interval ends (from a timer thread: the flood may have stopped)."""

    def __init__(self, interval: float = 10.0, watched: tuple[str, ...] = WATCHED):
        super().__init__()
        self.interval = interval
        self.watched = watched
        self._lock = threading.Lock()
        self._open: dict[Kind, Interval] = {}

    def __repr__(self) -> str:
        return f"Repeats(every {self.interval:g} s, {len(self._open)} kinds open)"

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "repeats", None) is not None or not self._watches(record.name):
            return True
        kind, now = kind_of(record), time.monotonic()
        with self._lock:
            interval = self._open.get(kind)
            if interval is None or now >= interval.ends:
                self._forget_ended(now)
                self._open[kind] = Interval(now + self.interval, record)
                return True
            interval.held += 1
            if interval.held == 1:
                timer = threading.Timer(interval.ends - now, self._close, (kind, interval))
                timer.daemon = True
                timer.start()
            return False

    def flush(self) -> None:
        """Log the counts of every open interval now (at shutdown)."""
        with self._lock:
            intervals = list(self._open.items())
        for kind, interval in intervals:
            self._close(kind, interval)

    def _watches(self, name: str) -> bool:
        return any(name == watched or name.startswith(watched + ".") for watched in self.watched)

    def _forget_ended(self, now: float) -> None:
        if len(self._open) >= MAX_KINDS:
            self._open = {kind: i for kind, i in self._open.items() if i.ends > now or i.held}

    def _close(self, kind: Kind, interval: Interval) -> None:
        with self._lock:
            if self._open.get(kind) is interval:
                del self._open[kind]
            held, interval.held = interval.held, 0
        if held:
            seconds = min(self.interval, time.monotonic() - (interval.ends - self.interval))  # less at a flush
            logging.getLogger(interval.first.name).handle(summary(interval.first, held, seconds))


def summary(first: logging.LogRecord, held: int, seconds: float) -> logging.LogRecord:
    """The one line standing for ``held`` records like ``first`` (no traceback: the first one had it)."""
    line = first.getMessage().split("\n", 1)[0]
    record = logging.LogRecord(first.name, first.levelno, first.pathname, first.lineno,
                               "%s (repeated %s %s in the last %s s)",
                               (line, f"{held:,}", "time" if held == 1 else "times", f"{seconds:.2g}"), None)
    record.repeats = held
    return record


def install(config: uvicorn.Config, interval: float) -> None:
    """Add :class:`Repeats` to ``config``'s logging (every handler but the access log's), and a stderr handler
    for the root logger (named lines: ``ERROR:    asyncio: ...``), then apply it. In the log config itself, so
    that whoever configures logging from it again keeps both; a log config of the user's own (a file) is
    left alone."""
    if not isinstance(config.log_config, dict):
        return
    log_config = copy.deepcopy(config.log_config)
    log_config.setdefault("filters", {})["repeats"] = {"()": Repeats, "interval": interval}
    log_config["formatters"]["named"] = {"()": "uvicorn.logging.DefaultFormatter",
                                         "fmt": "%(levelprefix)s %(name)s: %(message)s"}
    log_config["handlers"]["named"] = {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
                                       "formatter": "named"}
    for name, handler in log_config["handlers"].items():
        if name != "access":  # one line per request by design
            handler["filters"] = [*handler.get("filters", []), "repeats"]
    log_config["root"] = {"handlers": ["named"], "level": "WARNING"}
    level = config.log_level if config.log_level is not None else logging.INFO
    level = LOG_LEVELS[level.lower()] if isinstance(level, str) else level
    log_config["loggers"] = {"nnplay": {"level": level}, **log_config.get("loggers", {})}
    config.log_config = log_config
    config.configure_logging()


def flush() -> None:
    """Log the counts held by every :class:`Repeats` that :func:`install` put on the handlers (at the end of
    the app's lifespan: after it, uvicorn re-raises SIGTERM and the process ends without unwinding)."""
    handlers = [handler for name in ("", "uvicorn", "nnplay") for handler in logging.getLogger(name).handlers]
    for repeats in {f for handler in handlers for f in handler.filters if isinstance(f, Repeats)}:
        repeats.flush()

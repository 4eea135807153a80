"""Repeated log records collapse into one line per interval with their count; different faults stay apart."""

from __future__ import annotations

import logging
import time

import pytest

from nnplay.server.logs import Repeats


class Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def logged():
    """A logger under ``nnplay.`` whose handler collapses repeats over 0.3 s; yields (logger, lines)."""
    logger, handler, repeats = logging.getLogger("nnplay.test_logs"), Lines(), Repeats(interval=0.3)
    handler.addFilter(repeats)
    logger.addHandler(handler)
    logger.propagate = False
    yield logger, handler.lines
    repeats.flush()
    logger.removeHandler(handler)


def fail(where: str) -> Exception:
    try:
        if where == "here":
            raise OSError("here")
        raise OSError("there")
    except OSError as error:
        return error


def test_a_flood_is_its_first_record_then_one_line_with_the_count(logged):
    logger, lines = logged
    for n in range(1000):
        logger.error("accept failed on socket %d", n)
    logger.error("another fault")
    assert lines == ["accept failed on socket 0", "another fault"]
    time.sleep(0.6)
    assert lines[2:] == ["accept failed on socket 0 (repeated 999 times in the last 0.3 s)"]
    logger.error("accept failed on socket %d", 1000)  # a new interval lets the next one through
    assert lines[3:] == ["accept failed on socket 1000"]


def test_the_same_message_from_different_faults_is_not_collapsed(logged):
    logger, lines = logged
    for where in ("here", "there", "here"):
        error = fail(where)
        logger.error("request failed", exc_info=(type(error), error, error.__traceback__))
    assert lines == ["request failed", "request failed"]


def test_loggers_not_watched_are_left_alone():
    access, handler = logging.getLogger("uvicorn.access"), Lines()
    handler.addFilter(Repeats(interval=10))
    record = access.makeRecord("uvicorn.access", logging.INFO, __file__, 1, "%s - GET %s", ("127.0.0.1", "/"), None)
    for _ in range(3):
        handler.handle(record)
    assert len(handler.lines) == 3

"""The messages between the event loop and an engine worker, one small named type each.

They travel pickled over a ``multiprocessing`` pipe (or, in one process, its twin in ``channel``): the
server sends a list of everything waiting at once, and the worker sends each of its messages on its own.
Both sides decode them with ``match``; only ``supervisor.WorkerHandle`` builds the server's messages.

Server → worker:

* :class:`Call` — run the command ``op`` (one of ``worker.OPS``) for ``session``; answered by a reply with
  the same ``call_id``;
* :class:`PlanChange` — the session's new :class:`~nnplay.server.live.run.Plan`, taken up before the next epoch;
* :class:`Credit` — the session's last frames have gone out; the next ones may follow (one batch of frames
  per session is in flight at a time, so a slow client makes no backlog anywhere);
* :class:`CloseSession` — the worker forgets the session; :class:`Stop` — the worker ends;
* :class:`Ping` — the watchdog's heartbeat, answered by a :class:`Pong` with the same ``serial`` as soon as
  the worker reads it (between rounds of its clock, between commands).

Worker → server:

* :class:`Ready` — once, when the worker has started;
* :class:`Done` (the command's answer), :class:`Refused` (its problems, answered to the client as an
  ``error``; the session goes on) or :class:`Failed` (what went wrong; the session ends);
* :class:`News` — one per tick of the worker's clock: a :class:`NewsEntry` per session with new frames or a stop;
* :class:`Pong` — the answer to a :class:`Ping`.
* :class:`SessionFailed` — the session's work (an epoch, a frame, its report) raised: the worker has forgotten
  it, and the server closes it (server/live/faults.py).

They are ``NamedTuple`` s: pickled, one costs its class's name once per pickle and its fields as a tuple's.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Optional, Union

from .run import Plan


# ---- server → worker -------------------------------------------------------------------------------------------
class Call(NamedTuple):
    call_id: int
    session: str
    op: str
    kwargs: dict[str, Any]


class PlanChange(NamedTuple):
    session: str
    plan: Plan


class Credit(NamedTuple):
    session: str


class CloseSession(NamedTuple):
    session: str


class Stop(NamedTuple):
    pass


class Ping(NamedTuple):
    serial: int


ToWorker = Union[Call, PlanChange, Credit, CloseSession, Stop, Ping]


# ---- worker → server -------------------------------------------------------------------------------------------
class Ready(NamedTuple):
    pass


class Done(NamedTuple):
    call_id: int
    value: dict[str, Any]  # facts, frames, data, result: see worker.WorkerSession


class Refused(NamedTuple):
    call_id: int
    problems: list[dict]  # server/problems.py's problem dicts


class Failed(NamedTuple):
    call_id: int
    why: str


Reply = Union[Done, Refused, Failed]


class Stopped(NamedTuple):
    """Training stopped by itself (a step done, divergence, early stopping) under the plan ``serial``."""

    serial: int
    why: str
    facts: dict[str, Any]  # the trainer's part of a ``state`` at the stop


class NewsEntry(NamedTuple):
    session: str
    frames: list[bytes]  # the encoded frames, variant by variant, as the client receives them
    epoch: int
    stopped: Optional[Stopped]


class News(NamedTuple):
    entries: list[NewsEntry]


class Pong(NamedTuple):
    serial: int


class SessionFailed(NamedTuple):
    session: str
    why: str  # one line: the exception and where it was raised (server/live/faults.py)


FromWorker = Union[Ready, Done, Refused, Failed, News, Pong, SessionFailed]

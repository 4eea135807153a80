"""The sweeps of one server (``state.sweeps``): started, trained, read, cancelled, resumed; kept in the store.

A sweep trains in a thread of the app's task group that sends its chunks to the sweep executor (a pool of
worker processes at low priority by default, ended when no sweep trains; Ray when configured) and writes each
run's row as soon as the run is over. The sweep's row carries its owner (this instance) and a heartbeat: a
sweep whose owner stopped without finishing it (a restart, SIGTERM, a crash) reads as ``interrupted`` and
keeps every run it finished; ``resume`` trains the rest. ``DELETE`` on any instance marks the sweep cancelled in
the shared store; its owner sees the mark within ``BEAT`` seconds and stops between chunks.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional

import anyio
import anyio.abc

from ..problems import InvalidInput
from ..store import Store
from .export import head, result
from .plan import Plan, SweepLimits, make_plan
from .runner import execute
from .schemas import SweepRequest
from .tables import UNFINISHED, SweepTables

BEAT = 5.0  # seconds between an owner's heartbeats (and its looks for a cancel made on another instance)
STALE = 30.0  # a sweep whose owner has not beaten for this long reads as interrupted
BATCH = 64  # runs read from the store at once for a page (with histories: 64 × epochs points in memory)


@dataclass
class Active:
    """A sweep this instance trains: the runs being trained now and, once asked to stop, the reason."""

    plan: Plan
    running: set[int] = field(default_factory=set)
    stop: Optional[str] = None  # "cancelled" or "interrupted"


class Sweeps:
    """The sweeps in ``store``, the ones trained here in ``task_group`` (set by the lifespan)."""

    def __init__(self, store: Store, limits: SweepLimits, *, max_running: int, chunk_size: int,
                 executor: Callable[[], Executor], page_size: int = 256):
        self.tables = SweepTables(store)
        self.limits, self.max_running, self.chunk_size = limits, max_running, chunk_size
        self.page_size = page_size  # results of a page when its reader gives no limit
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{int(time.time())}"
        self.active: dict[str, Active] = {}
        self.task_group: Optional[anyio.abc.TaskGroup] = None
        self._make_executor = executor
        self._executor: Optional[Executor] = None

    def __repr__(self) -> str:
        return f"Sweeps(training={len(self.active)}, max_running={self.max_running}, chunk={self.chunk_size})"

    # ---- starting -------------------------------------------------------------------------------------------
    def plan(self, request: SweepRequest) -> Plan:
        """The request checked against this server's limits (:class:`InvalidInput` naming what is wrong). Checks
        every combination's config: call it in a worker thread."""
        return make_plan(request, self.limits)

    def start(self, plan: Plan) -> dict[str, Any]:
        """Store and start a checked sweep; its ``SweepAccepted`` fields. Call on the event loop."""
        request = plan.request
        self._check_room()
        sweep_id = secrets.token_hex(8)
        meta = {"request": request.model_dump(mode="json", exclude_none=True), "fields": plan.fields,
                "combinations": plan.combinations, "seeds": plan.seeds, "epochs": request.epochs}
        self.tables.create(sweep_id, meta, self.owner)
        self._launch(sweep_id, plan, ())
        return {"id": sweep_id, "status": "queued", "total": plan.total, "combinations": plan.combinations}

    def resume_plan(self, sweep_id: str) -> Optional[tuple[str, Plan]]:
        """For :meth:`resume`: the stored status of an interrupted sweep and its plan, checked against this
        server's limits (call in a worker thread). None when unknown; ValueError naming the status when the
        sweep is not interrupted."""
        meta = self.tables.meta(sweep_id)
        if meta is None:
            return None
        status = self._status(meta)
        if status != "interrupted":
            raise ValueError(f"sweep {sweep_id} is {status}; only an interrupted sweep can be resumed")
        return meta["status"], make_plan(meta["request"], self.limits)

    def resume(self, sweep_id: str, stored_status: str, plan: Plan) -> dict[str, Any]:
        """Train the runs an interrupted sweep has not finished (a halving sweep: all of them again, since its
        rungs rank every combination; the same numbers come out). Call on the event loop."""
        self._check_room()
        if not self.tables.set_status(sweep_id, "queued", owner=self.owner, only_from=(stored_status,)):
            raise ValueError(f"sweep {sweep_id} was just resumed or cancelled elsewhere")
        skip = () if plan.request.halving is not None else tuple(self.tables.rows(sweep_id))
        self._launch(sweep_id, plan, skip)
        sweep = self.get(sweep_id)
        assert sweep is not None, "a sweep being resumed is in the store"
        return sweep

    def _check_room(self) -> None:
        if len(self.active) >= self.max_running:
            raise InvalidInput.single("max_running_sweeps", len(self.active) + 1,
                                      f"max_running_sweeps: {len(self.active)} sweeps are training on this server "
                                      "already; wait for one to finish or DELETE one",
                                      f"at most {self.max_running} at once", loc=("body",))

    def _launch(self, sweep_id: str, plan: Plan, skip: tuple[int, ...]) -> None:
        assert self.task_group is not None, "the app's lifespan has not started"
        self.active[sweep_id] = Active(plan)
        self.task_group.start_soon(self._train, sweep_id, skip)

    # ---- training -------------------------------------------------------------------------------------------
    async def _train(self, sweep_id: str, skip: tuple[int, ...]) -> None:
        active = self.active[sweep_id]
        if not self.tables.set_status(sweep_id, "running", owner=self.owner, only_from=("queued",)):
            self.active.pop(sweep_id, None)  # cancelled before it began
            return
        try:
            completed = await anyio.to_thread.run_sync(self._execute, sweep_id, active, skip, abandon_on_cancel=True)
            if completed:
                self.tables.set_status(sweep_id, "done", only_from=UNFINISHED)
        except BrokenProcessPool as exc:
            self._executor = None  # a worker died: the next sweep starts a fresh pool
            self.tables.set_status(sweep_id, "failed", error=f"a sweep worker process died: {exc}")
        except Exception as exc:  # noqa: BLE001 - a sweep's failure is reported, never kills the server
            self.tables.set_status(sweep_id, "failed", error=f"{type(exc).__name__}: {exc}")
        finally:
            self.active.pop(sweep_id, None)
            if not self.active:
                self._release_pool()

    def _release_pool(self) -> None:
        """End the worker processes once no sweep trains here: they hold ~80 MB each between sweeps, and reading
        or drawing a finished sweep needs none (the next sweep starts a pool again in about a second)."""
        if isinstance(self._executor, ProcessPoolExecutor):
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def _execute(self, sweep_id: str, active: Active, skip: tuple[int, ...]) -> bool:
        """Runs in a worker thread: the sweep's chunks through the executor, rows stored as runs end."""
        last_beat = time.monotonic()

        def finished(row: dict[str, Any]) -> None:
            self.tables.record(sweep_id, [row])
            active.running.discard(row["index"])

        def cancelled() -> bool:
            nonlocal last_beat
            if time.monotonic() - last_beat >= BEAT:
                last_beat = time.monotonic()
                self.tables.beat(sweep_id, self.owner)
                if self.tables.status(sweep_id) == "cancelled":  # a DELETE that reached another instance
                    active.stop = "cancelled"
            return active.stop is not None

        return execute(active.plan, self.executor(), limits=self.limits.engine, chunk_size=self.chunk_size,
                       finished=finished, started=active.running.update, cancelled=cancelled, skip=skip)

    def executor(self) -> Executor:
        if self._executor is None:
            self._executor = self._make_executor()
        return self._executor

    # ---- reading and stopping -------------------------------------------------------------------------------
    def _status(self, meta: dict[str, Any]) -> str:
        """The stored status, except that an unfinished sweep nobody trains any more reads as interrupted."""
        status = meta["status"]
        if status in UNFINISHED and meta["id"] not in self.active:
            orphaned = meta["owner"] == self.owner or time.time() - (meta["beat_at"] or 0) > STALE
            if orphaned:
                return "interrupted"
        return status

    def get(self, sweep_id: str, history: bool = False, offset: int = 0,
            limit: Optional[int] = None) -> Optional[dict[str, Any]]:
        """The page of ``GET /api/sweeps/{id}`` as one document (the runs ``offset`` to ``offset + limit``, by
        default the first ``page_size``; their histories when asked); None if unknown."""
        page = self.page(sweep_id, history, offset, limit)
        return None if page is None else {**page[0], "results": list(page[1])}

    def page(self, sweep_id: str, history: bool = False, offset: int = 0, limit: Optional[int] = None,
             ) -> Optional[tuple[dict[str, Any], Iterator[dict[str, Any]]]]:
        """The sweep's fields (``offset``, ``limit`` and ``next`` included) and its results from ``offset``, at
        most ``limit`` (None: ``page_size``; 0: every one), read from the store ``BATCH`` runs at a time as the
        iterator is consumed; None if unknown."""
        meta = self.tables.meta(sweep_id)
        if meta is None:
            return None
        self.tables.touch(sweep_id)
        active = self.active.get(sweep_id)
        meta["status"] = self._status(meta)
        running = frozenset(active.running) if active else frozenset()
        done, model_epochs = self.tables.tally(sweep_id)
        top = head(meta, done=done, model_epochs=model_epochs)
        limit = self.page_size if limit is None else limit or top["total"]
        stop = min(offset + limit, top["total"])
        follows = f"/api/sweeps/{sweep_id}?offset={stop}&limit={limit}{'&history=1' * history}"
        top.update(offset=offset, limit=limit, next=follows if stop < top["total"] else None)
        return top, self._results(sweep_id, meta, range(offset, stop), running, history)

    def _results(self, sweep_id: str, meta: dict[str, Any], indices: range, running: frozenset[int],
                 history: bool) -> Iterator[dict[str, Any]]:
        for start in range(indices.start, indices.stop, BATCH):
            stop = min(start + BATCH, indices.stop)
            rows = self.tables.rows(sweep_id, history, start, stop)
            for index in range(start, stop):
                yield result(meta, index, rows.get(index), running=running, history=history)

    def histories(self, sweep_id: str, indices: list[int]) -> dict[int, list[list[float]]]:
        """The stored histories (``[[epoch, train_loss, test_loss], ...]``) of the finished runs among ``indices``."""
        return self.tables.histories(sweep_id, indices)

    def listing(self) -> list[dict[str, Any]]:
        return [{"id": m["id"], "status": self._status(m), "done": m["done"], "total": len(m["combinations"]) *
                 len(m["seeds"]), "created": m["created"], "fields": m["fields"]} for m in self.tables.listing()]

    def cancel(self, sweep_id: str) -> Optional[dict[str, Any]]:
        """Stop a sweep that trains or waits to (its finished runs are kept; an owner elsewhere stops within
        ``BEAT`` s), or forget one that is over; its last state, or None if unknown."""
        meta = self.tables.meta(sweep_id)
        if meta is None:
            return None
        if self._status(meta) not in (*UNFINISHED, "interrupted"):
            sweep = self.get(sweep_id)
            self.tables.delete(sweep_id)
            return sweep
        active = self.active.get(sweep_id)
        if active is not None:
            active.stop = "cancelled"
        self.tables.set_status(sweep_id, "cancelled", only_from=(*UNFINISHED, "interrupted"))
        return self.get(sweep_id)

    def shutdown(self) -> None:
        """At the server's exit: the sweeps training here stop between chunks and are marked interrupted."""
        for sweep_id, active in list(self.active.items()):
            active.stop = "interrupted"
            self.tables.set_status(sweep_id, "interrupted", error="the server stopped; POST "
                                   f"/api/sweeps/{sweep_id}/resume trains the rest", only_from=UNFINISHED)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

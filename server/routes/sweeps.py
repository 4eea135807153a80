"""Sweeps: ``POST /api/sweeps`` starts one, ``GET /api/sweeps[/{id}]`` reads them (JSON, or CSV with ``Accept:
text/csv`` or ``?format=csv``; a page of ``limit`` runs from ``offset``, streamed), ``DELETE /api/sweeps/{id}``
cancels, ``POST /api/sweeps/{id}/resume`` trains what an interrupted sweep left. A request is checked whole
(fields, values, counts against the limits) before any training starts: 422 naming the field, the value and what
is allowed."""

from typing import Any, Literal, Optional

import anyio
from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import StreamingResponse

from ..deps import StateDep
from ..http.bodies import ThreadedBodyRoute
from ..problems import InvalidInput
from ..settings import Settings
from ..sweeps.export import csv_chunks, json_chunks
from ..sweeps.schemas import SweepAccepted, SweepInfo, SweepList, SweepRequest

router = APIRouter(tags=["sweeps"], route_class=ThreadedBodyRoute)
UNKNOWN: dict[int | str, dict[str, Any]] = {404: {"description": "unknown or expired"}}
CSV = {"text/csv": {"schema": {"type": "string"}, "example": "learning_rate,index,combination,seed,status,..."}}


def _missing(sweep_id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no sweep {sweep_id!r} (unknown or expired)")


@router.post("/api/sweeps", response_model=SweepAccepted, status_code=status.HTTP_202_ACCEPTED)
async def start_sweep(body: SweepRequest, state: StateDep) -> dict:
    """Start a sweep: ``config`` over a ``grid`` (every combination) or a ``random`` search (``samples`` draws
    with ``sampler_seed``), each combination with every seed of ``seeds``, for ``epochs`` epochs, with optional
    successive ``halving``. Limits: max_sweep_runs, max_sweep_model_epochs, max_running_sweeps (GET
    /api/options, ``server_limits``). Poll ``GET /api/sweeps/{id}``."""
    plan = await anyio.to_thread.run_sync(state.sweeps.plan, body)
    return state.sweeps.start(plan)


@router.get("/api/sweeps", response_model=SweepList)
async def list_sweeps(state: StateDep) -> dict:
    """Every sweep kept (newest first), without results."""
    return {"sweeps": state.sweeps.listing()}


@router.get("/api/sweeps/{sweep_id}", response_model=SweepInfo, responses={**UNKNOWN, 200: {"content": CSV}})
async def get_sweep(sweep_id: str, state: StateDep, request: Request, history: bool = False,
                    format: Optional[Literal["json", "csv"]] = None,
                    offset: int = Query(0, description="the first run of the page (results are in index order)"),
                    limit: Optional[int] = Query(None, description="runs in the page: default sweep_page, at most "
                                                 "max_sweep_page (GET /api/options, server_limits)")) -> Any:
    """The sweep's status and a page of its results so far (``pending`` rows for runs not trained yet): runs
    ``offset`` to ``offset + limit`` of ``total``; ``next`` is the path of the next page (null on the last).
    Each run's losses per epoch with ``history=1``. The table as CSV with ``format=csv`` or ``Accept:
    text/csv``: every run unless ``offset`` or ``limit`` is given. Both are streamed from the store a few runs
    at a time."""
    accept = request.headers.get("accept", "")
    as_csv = format == "csv" or (format is None and "text/csv" in accept and "application/json" not in accept)
    whole = as_csv and limit is None
    _check_page(state.settings, offset, limit)
    page = await anyio.to_thread.run_sync(state.sweeps.page, sweep_id, history, offset, 0 if whole else limit)
    if page is None:
        raise _missing(sweep_id)
    top, results = page
    if offset > top["total"]:
        raise InvalidInput.single("offset", offset, f"offset {offset} is past the sweep's {top['total']} runs",
                                  f"0 to {top['total']}", loc=("query", "offset"))
    if as_csv:
        return StreamingResponse(csv_chunks(top["fields"], results), media_type="text/csv",
                                 headers={"Content-Disposition": f'inline; filename="sweep-{sweep_id}.csv"'})
    return StreamingResponse(json_chunks(top, results), media_type="application/json")


def _check_page(settings: Settings, offset: int, limit: Optional[int]) -> None:
    """422 naming ``offset`` or ``limit`` and what is allowed, before anything is read."""
    if offset < 0:
        raise InvalidInput.single("offset", offset, "offset must not be negative", "0 or more", loc=("query", "offset"))
    if limit is not None and not 1 <= limit <= settings.max_sweep_page:
        raise InvalidInput.single("limit", limit, f"limit {limit} is not a page size this server gives (max_sweep_page "
                                  f"{settings.max_sweep_page}); read more runs with offset, page after page (next)",
                                  f"1 to {settings.max_sweep_page}", loc=("query", "limit"))


@router.delete("/api/sweeps/{sweep_id}", response_model=SweepInfo, responses=UNKNOWN)
async def cancel_sweep(sweep_id: str, state: StateDep) -> dict:
    """Cancel a sweep (training stops between chunks; the runs that finished are kept), or forget one that is
    over (done, cancelled or failed) with its runs."""
    sweep = state.sweeps.cancel(sweep_id)
    if sweep is None:
        raise _missing(sweep_id)
    return sweep


@router.post("/api/sweeps/{sweep_id}/resume", response_model=SweepInfo,
             responses={**UNKNOWN, 409: {"description": "the sweep is not interrupted"}})
async def resume_sweep(sweep_id: str, state: StateDep) -> dict:
    """Train the runs an interrupted sweep (a restart, SIGTERM, a crash) had not finished; its finished runs
    are kept."""
    try:
        prepared = await anyio.to_thread.run_sync(state.sweeps.resume_plan, sweep_id)
        if prepared is None:
            raise _missing(sweep_id)
        return state.sweeps.resume(sweep_id, *prepared)
    except ValueError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None

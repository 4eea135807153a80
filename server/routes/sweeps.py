"""Sweeps: ``POST /api/sweeps`` starts one, ``GET /api/sweeps[/{id}]`` reads them (JSON, or CSV with ``Accept:
text/csv`` or ``?format=csv``), ``DELETE /api/sweeps/{id}`` cancels, ``POST /api/sweeps/{id}/resume`` trains
what an interrupted sweep left. A request is checked whole (fields, values, counts against the limits)
before any training starts: 422 naming the field, the value and what is allowed."""

from typing import Any, Literal, Optional

import anyio
from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import PlainTextResponse

from ..deps import StateDep
from ..http.bodies import ThreadedBodyRoute
from ..sweeps.export import to_csv
from ..sweeps.schemas import SweepAccepted, SweepInfo, SweepList, SweepRequest

router = APIRouter(tags=["sweeps"], route_class=ThreadedBodyRoute)
UNKNOWN: dict[int | str, dict[str, Any]] = {404: {"description": "unknown or expired"}}
CSV = {"text/csv": {"schema": {"type": "string"}, "example": "learning_rate,index,combination,seed,status,..."}}


def _missing(sweep_id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no sweep {sweep_id!r} (unknown or expired)")


def _answer(sweep: dict[str, Any], request: Request, fmt: Optional[str]) -> Any:
    """The sweep as JSON, or as CSV when ``format=csv`` or the client accepts text/csv before JSON."""
    accept = request.headers.get("accept", "")
    if fmt == "csv" or (fmt is None and "text/csv" in accept and "application/json" not in accept):
        return PlainTextResponse(to_csv(sweep), media_type="text/csv",
                                 headers={"Content-Disposition": f'inline; filename="sweep-{sweep["id"]}.csv"'})
    return sweep


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
                    format: Optional[Literal["json", "csv"]] = None) -> Any:
    """The sweep's status and results so far (``pending`` rows for runs not trained yet); each run's losses per
    epoch with ``history=1``; the table as CSV with ``format=csv`` or ``Accept: text/csv``."""
    sweep = await anyio.to_thread.run_sync(state.sweeps.get, sweep_id, history)
    if sweep is None:
        raise _missing(sweep_id)
    return _answer(sweep, request, format)


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

"""Scripted runs: ``POST /api/train`` (synchronous) and ``POST/GET/DELETE /api/runs[/{id}]`` (background).

Both validate the request against the server's limits and epoch cap (422 naming the field, the value and
what is allowed) and train in the engine pool a slice at a time, never on the event loop.
"""

from typing import Any

from fastapi import APIRouter, HTTPException, Request, status

from ..deps import StateDep
from ..http.bodies import ThreadedBodyRoute
from ..http.disconnect import cancelled_on_disconnect, client_gone
from ..http.schemas import RunInfo, RunList, TrainRequest, TrainResult
from ..jobs.results import check_request
from ..jobs.runs import prepare, train_in_pool

router = APIRouter(tags=["train"], route_class=ThreadedBodyRoute)


@router.post("/api/train", response_model=TrainResult)
async def train(body: TrainRequest, state: StateDep, request: Request) -> Any:
    """Train ``epochs`` epochs and answer with the history, final weights and, on request, grid and data.
    Deterministic for a given ``config.seed`` (the same numbers as the engine's ``Trainer.train``). Stops
    within one engine slice if the client disconnects."""
    check_request(body, state.settings.max_epochs, state.limits)
    async with cancelled_on_disconnect(request) as client:
        trainer = await prepare(state.pool, body, state.limits, state.settings.device)
        result = await train_in_pool(state.pool, trainer, body)
    return client_gone() if client.gone else result


@router.post("/api/runs", response_model=RunInfo, status_code=status.HTTP_202_ACCEPTED,
             responses={429: {"description": "max_background_runs are training already"}})
async def start_run(body: TrainRequest, state: StateDep) -> dict:
    """The same run in the background; poll ``GET /api/runs/{id}`` for progress and the result."""
    check_request(body, state.settings.max_epochs, state.limits)
    if state.runs.full():
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS,
                            f"too many background runs: {state.runs.running} are training and at most "
                            f"{state.runs.max_running} may run at once; wait for one to finish or DELETE one")
    trainer = await prepare(state.pool, body, state.limits, state.settings.device)
    return state.runs.start(body, trainer).info()


@router.get("/api/runs", response_model=RunList)
async def list_runs(state: StateDep) -> dict:
    """Every run still kept, without results."""
    state.runs.get("")  # drops expired runs
    return {"runs": [run.info(with_result=False) for run in state.runs.runs.values()]}


@router.get("/api/runs/{run_id}", response_model=RunInfo, responses={404: {"description": "unknown or expired"}})
async def get_run(run_id: str, state: StateDep) -> dict:
    """Progress (epochs done / total) while training; the result once done."""
    run = state.runs.read(run_id)
    if run is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no run {run_id!r} (unknown, deleted or expired)")
    return run.info()


@router.delete("/api/runs/{run_id}", response_model=RunInfo, responses={404: {"description": "unknown or expired"}})
async def delete_run(run_id: str, state: StateDep) -> dict:
    """Cancel a running run (it stops within one slice) or forget a finished one."""
    run = state.runs.cancel(run_id)
    if run is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no run {run_id!r} (unknown, deleted or expired)")
    return run.info()

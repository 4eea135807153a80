"""The figure of a sweep: ``GET /api/sweeps/{id}/plot.png`` and ``.svg`` (server/sweeps/plot.py draws it).

The sweep is read from the store in a worker thread: every run's final metrics, and the histories of the
best few combinations only (the curves drawn), never every run's; drawing takes a turn of the engine pool
(never the event loop) and one of the ``max_renders`` picture slots (server/jobs/render_slots.py: one more is
answered 429). A sweep still running is drawn from the results it has. Without matplotlib (the optional extra
``nnplay[plot]``) the route answers 501 saying how to install it.
"""

from typing import Literal, Optional

import anyio
from fastapi import APIRouter, HTTPException, Query, Response, status

from ..deps import ServerState, StateDep
from ..jobs.render_slots import render_slot
from ..sweeps import plot

router = APIRouter(tags=["sweeps"])

MEDIA_TYPES = {"png": "image/png", "svg": "image/svg+xml"}
METRIC = Query(None, description=f"what to plot: one of {', '.join(plot.METRICS)} that the sweep has "
                                 "(default test_loss)")
RESPONSES = {
    404: {"description": "unknown or expired sweep"},
    422: {"description": "a metric the sweep does not have"},
    429: {"description": "max_renders pictures are being drawn already"},
    501: {"description": f"matplotlib is not installed: {plot.INSTALL}"},
}


@router.get("/api/sweeps/{sweep_id}/plot.png", response_class=Response,
            responses={200: {"content": {"image/png": {}}}, **RESPONSES})
async def sweep_png(sweep_id: str, state: StateDep, metric: Optional[str] = METRIC) -> Response:
    """The sweep's figure as a PNG: ``metric`` against one swept field (log axis where the values are
    log-spaced), a heatmap over two, or the combinations ranked; mean over seeds with the spread, and the
    learning curves of the best three."""
    return await _figure(state, sweep_id, "png", metric)


@router.get("/api/sweeps/{sweep_id}/plot.svg", response_class=Response,
            responses={200: {"content": {"image/svg+xml": {}}}, **RESPONSES})
async def sweep_svg(sweep_id: str, state: StateDep, metric: Optional[str] = METRIC) -> Response:
    """The same figure as SVG (its text stays text)."""
    return await _figure(state, sweep_id, "svg", metric)


async def _figure(state: ServerState, sweep_id: str, fmt: Literal["png", "svg"], metric: Optional[str]) -> Response:
    sweep = await anyio.to_thread.run_sync(lambda: state.sweeps.get(sweep_id, limit=0))  # every run, no history
    if sweep is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no sweep {sweep_id!r} (unknown or expired)")
    metric = plot.check_metric(sweep, metric)  # 422 before taking a slot
    await anyio.to_thread.run_sync(plot.with_best_curves, sweep, metric,
                                   lambda indices: state.sweeps.histories(sweep_id, indices))
    with render_slot(state):
        try:
            picture = await state.pool.run(plot.render, sweep, fmt, metric)
        except plot.PlotUnavailable as exc:
            raise HTTPException(status.HTTP_501_NOT_IMPLEMENTED, str(exc)) from None
    return Response(picture, media_type=MEDIA_TYPES[fmt])

"""``GET /api/health``: readiness, version, load and capacity, for a proxy or an orchestrator (and the
benchmark, which times it while sessions train). 200 while ready, 503 while draining (server/lifecycle/drain.py)."""

from fastapi import APIRouter, Response, status

from nnplay.engine import __version__

from ..deps import StateDep
from ..http.schemas import Capacity, Health

router = APIRouter(tags=["health"])


@router.get("/api/health", response_model=Health, responses={503: {"model": Health, "description": "draining"}})
async def health(state: StateDep, response: Response) -> Health:
    """Whether the instance takes new work, how many live sessions and running background runs it holds, and
    how many of each it takes."""
    settings = state.settings
    if not state.drain.accepting:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return Health(status=state.drain.readiness.value, version=__version__, sessions=len(state.sessions),
                  runs=state.runs.running if state.runs else 0,
                  capacity=Capacity(sessions=settings.max_sessions, runs=settings.max_background_runs),
                  device=settings.device or "cpu")

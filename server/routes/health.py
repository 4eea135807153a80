"""``GET /api/health``: readiness, version, load, capacity and the engine workers, for a proxy or an
orchestrator (and the benchmark, which times it while sessions train). 200 while ready or degraded (an engine
worker is being replaced: the instance still takes work), 503 while draining (server/lifecycle/drain.py)."""

from fastapi import APIRouter, Response, status

from nnplay.engine import __version__

from ..deps import StateDep
from ..http.schemas import Capacity, Health, WorkerHealth
from ..live.supervisor import EngineWorkers, WorkerState

router = APIRouter(tags=["health"])


@router.get("/api/health", response_model=Health, responses={503: {"model": Health, "description": "draining"}})
async def health(state: StateDep, response: Response) -> Health:
    """Whether the instance takes new work, how many live sessions and running background runs it holds, how
    many of each it takes, and the state of each engine worker."""
    settings = state.settings
    workers = worker_health(state.workers)
    if not state.drain.accepting:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        readiness = state.drain.readiness.value
    else:
        readiness = "ready" if all(w.state == WorkerState.READY.value for w in workers) else "degraded"
    return Health(status=readiness, version=__version__, sessions=len(state.sessions),
                  runs=state.runs.running if state.runs else 0,
                  capacity=Capacity(sessions=settings.max_sessions, runs=settings.max_background_runs),
                  device=settings.device or "cpu", workers=workers)


def worker_health(workers: EngineWorkers | None) -> list[WorkerHealth]:
    return [WorkerHealth(index=w.index, pid=w.pid, state=w.state.value, sessions=len(w.sessions),
                         restarts=w.restarts, last_exit=w.last_exit)
            for w in (workers.workers if workers else [])]

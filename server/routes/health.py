"""``GET /api/health``: liveness, version and load (the benchmark times this while sessions train)."""

from fastapi import APIRouter

from engine import __version__

from ..deps import StateDep
from ..models import Health

router = APIRouter(tags=["health"])


@router.get("/api/health", response_model=Health)
async def health(state: StateDep) -> Health:
    """Status and version, with the number of live sessions and running background runs."""
    runs = state.runs.running if state.runs else 0
    return Health(version=__version__, sessions=len(state.sessions), runs=runs,
                  device=state.settings.device or "cpu")

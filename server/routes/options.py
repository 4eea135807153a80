"""``GET /api/options``: every choice the page offers, generated from the engine's registries."""

from fastapi import APIRouter

from ..deps import StateDep
from ..http.schemas import Options
from ..options import build_options

router = APIRouter(tags=["options"])


@router.get("/api/options", response_model=Options)
async def options(state: StateDep) -> dict:
    """Datasets, features, activations, losses, regularisers, optimisers (with their parameters), schedules,
    initialisers, each Config field's range and default, the limits, and the UI's two rate menus."""
    return build_options(state.settings, gpu=state.gpu)

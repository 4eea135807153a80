"""``GET /api/options``: every choice the page offers, generated from the engine's registries."""

from fastapi import APIRouter

from ..deps import StateDep
from ..http.schemas import FeatureOption, FormulaRequest, Options
from ..options import build_options, feature_option

router = APIRouter(tags=["options"])


@router.get("/api/options", response_model=Options)
async def options(state: StateDep) -> dict:
    """Datasets, features, activations, losses, regularisers, optimisers (with their parameters), schedules,
    initialisers, each Config field's range and default, the limits, and the UI's two rate menus."""
    return build_options(state.settings, gpu=state.gpu)


@router.post("/api/feature", response_model=FeatureOption)
async def feature(body: FormulaRequest, state: StateDep) -> dict:
    """One feature as ``/api/options`` lists them (name, label, dims, thumbnail), for a formula the page adds:
    422 naming the formula, the column of the problem and what is allowed, if it does not parse or is not
    finite at the thumbnail's points."""
    return feature_option(body.formula, state.settings.max_formula_length)

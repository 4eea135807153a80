"""For lectures: lesson presets, side-by-side comparisons, and server-rendered PNG and GIF pictures.

``GET /api/presets`` lists the engine's presets; ``POST /api/compare`` trains 2–4 variants of one setup on
the same data from the same initial weights; ``POST /api/render`` answers a PNG of the output plot and
``POST /api/render/gif`` an animated GIF of a run. All training and drawing runs in the engine pool, a
slice at a time, never on the event loop.
"""

from __future__ import annotations

from typing import Any, Optional

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError

from nnplay.engine import EpochReport
from nnplay.engine.compare import MAX_VARIANTS, MIN_VARIANTS, Comparison
from nnplay.engine.presets import PRESETS

from ..deps import StateDep
from ..errors import InvalidInput, describe
from ..models import ConfigJSON, LayerWeights, Request
from ..results import Progress, build_trainer, with_device
from ..render import caption_for, encode_gif, gif_frame_count, png_bytes, render_image

router = APIRouter(tags=["lessons"])
MAX_GIF_FRAMES = 300


class Preset(BaseModel):
    name: str
    title: str
    note: str = Field(description="one paragraph shown beside the plot")
    config: dict[str, Any]
    epochs: int = Field(description="suggested number of epochs")
    variants: Optional[list[dict[str, Any]]] = Field(None, description="a comparison: overrides of config")
    labels: Optional[list[str]] = None
    tags: list[str]


class PresetList(BaseModel):
    presets: list[Preset]


class CompareRequest(Request):
    config: ConfigJSON = Field(default_factory=dict, description="the base config")
    variants: list[dict[str, Any]] = Field(min_length=MIN_VARIANTS, max_length=MAX_VARIANTS,
                                           description="each variant's overrides of the base config")
    labels: Optional[list[str]] = None
    epochs: int = Field(ge=0)


class VariantResult(BaseModel):
    label: str
    overrides: dict[str, Any]
    status: str
    message: str
    history: list[EpochReport]


class CompareResult(BaseModel):
    seed: int
    labels: list[str]
    variants: list[VariantResult]


class RenderRequest(Request):
    config: ConfigJSON = Field(default_factory=dict)
    epochs: int = Field(0, ge=0, description="epochs to train before drawing")
    weights: Optional[list[LayerWeights]] = Field(None, description="initial weights, PyTorch layout")
    size: int = Field(400, ge=64, le=2000, description="pixels per side")
    show_test: bool = True
    discretize: bool = False
    caption: bool = Field(True, description="write the epoch and losses in")


class GifRequest(Request):
    config: ConfigJSON = Field(default_factory=dict)
    epochs: int = Field(ge=1)
    frame_step: int = Field(10, ge=1, description="epochs between frames")
    size: int = Field(300, ge=64, le=800)
    frame_ms: int = Field(100, ge=20, le=5000, description="milliseconds a frame is shown")
    weights: Optional[list[LayerWeights]] = None
    show_test: bool = True


def _check_epochs(epochs: int, cap: int) -> None:
    if epochs > cap:
        raise InvalidInput.single("epochs", epochs, f"at most {cap} epochs (the server's cap)", f"0 to {cap}",
                                  loc=("body", "epochs"))


async def _train(state, trainer, epochs: int) -> list[EpochReport]:
    progress = Progress(trainer, epochs)
    while not await state.pool.run(progress.advance, state.pool.turn_over):
        pass
    return progress.reports


async def _built(state, body) -> Any:
    weights = [w.model_dump() for w in body.weights] if body.weights is not None else None
    return await state.pool.run(lambda: build_trainer(body.config, state.limits, state.settings.device,
                                                      weights=weights))


@router.get("/api/presets", response_model=PresetList)
async def presets() -> dict:
    """Ready setups for the lecture notes' topics, each with a note; comparison presets carry variants."""
    return {"presets": [{**preset.__dict__, "tags": list(preset.tags)} for preset in PRESETS.values()]}


@router.post("/api/compare", response_model=CompareResult)
async def compare(body: CompareRequest, state: StateDep) -> dict:
    """Train every variant for ``epochs`` epochs; variants share the data and the initial weights where the
    network shape matches. Deterministic for a given base ``config.seed``."""
    _check_epochs(body.epochs, state.settings.max_epochs)

    def build() -> Comparison:
        try:
            return Comparison(with_device(body.config, state.settings.device), body.variants, body.labels,
                              limits=state.limits)
        except ValidationError as exc:
            raise InvalidInput(describe(exc, ("config",), config_level=True)) from None
        except ValueError as exc:
            raise InvalidInput(describe(exc)) from None

    comparison = await state.pool.run(build)
    histories = [await _train(state, trainer, body.epochs) for trainer in comparison.trainers]
    return {"seed": comparison.base.seed, "labels": comparison.labels, "variants": [
        {"label": label, "overrides": overrides, "status": t.status, "message": t.message, "history": history}
        for label, overrides, t, history in zip(comparison.labels, body.variants, comparison.trainers, histories)]}


@router.post("/api/render", response_class=Response, responses={200: {"content": {"image/png": {}}}})
async def render(body: RenderRequest, state: StateDep) -> Response:
    """A PNG of the output plot after ``epochs`` epochs (the heatmap with training and test points)."""
    _check_epochs(body.epochs, state.settings.max_epochs)
    trainer = await _built(state, body)
    await _train(state, trainer, body.epochs)

    def draw() -> bytes:
        caption = caption_for(trainer) if body.caption else None
        return png_bytes(render_image(trainer, body.size, body.show_test, body.discretize, caption))

    return Response(await state.pool.run(draw), media_type="image/png")


@router.post("/api/render/gif", response_class=Response, responses={200: {"content": {"image/gif": {}}}})
async def render_gif(body: GifRequest, state: StateDep) -> Response:
    """An animated GIF of a run: epoch 0, every ``frame_step`` epochs and the last, with epoch and losses
    drawn in; for slides that cannot embed the live page. ``X-Frame-Count`` says how many frames."""
    _check_epochs(body.epochs, state.settings.max_epochs)
    frames_needed = gif_frame_count(body.epochs, body.frame_step)
    if frames_needed > MAX_GIF_FRAMES:
        raise InvalidInput.single("frame_step", body.frame_step,
                                  f"{body.epochs} epochs every {body.frame_step} give {frames_needed} frames",
                                  f"at least {-(-body.epochs // (MAX_GIF_FRAMES - 2))} (at most {MAX_GIF_FRAMES} frames)",
                                  loc=("body", "frame_step"))
    trainer = await _built(state, body)

    def frame():
        return render_image(trainer, body.size, body.show_test, caption=caption_for(trainer))

    frames = [await state.pool.run(frame)]
    done = 0
    while done < body.epochs:
        chunk = min(body.frame_step, body.epochs - done)
        reports = await _train(state, trainer, chunk)
        done += chunk
        frames.append(await state.pool.run(frame))
        if reports and reports[-1].status != "ok":
            break
    data = await state.pool.run(encode_gif, frames, body.frame_ms)
    return Response(data, media_type="image/gif", headers={"X-Frame-Count": str(len(frames))})

"""For lectures: lesson presets, side-by-side comparisons, and server-rendered PNG and GIF pictures.

``GET /api/presets`` lists the engine's presets; ``POST /api/compare`` trains 2–4 variants of one setup on
the same data from the same initial weights; ``POST /api/render`` answers a PNG of the output plot and
``POST /api/render/gif`` an animated GIF of a run, ``POST /api/render/compare-gif`` one of a comparison
(its variants side by side). All training and drawing runs in the engine pool, a slice at a time, never on
the event loop.
"""

from __future__ import annotations

import tempfile
from typing import Any, Callable, Iterator, Optional

from fastapi import APIRouter
from fastapi import Request as FastAPIRequest
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field, ValidationError

from nnplay.engine import EpochReport, Trainer
from nnplay.engine.compare import MAX_VARIANTS, MIN_VARIANTS, Comparison
from nnplay.engine.presets import PRESETS

from ..deps import StateDep
from ..http.bodies import ThreadedBodyRoute
from ..http.disconnect import cancelled_on_disconnect, client_gone
from ..http.schemas import ConfigJSON, LayerWeights, Request
from ..jobs.mosaic import Layout, Mosaic
from ..jobs.pictures import Film, GifPalette, GifWriter, Picture, Sink, StillWriter, gif_frame_count
from ..jobs.render_slots import ClientGone, render_slot, run_film
from ..jobs.results import Progress
from ..options import DEFAULT_DENSITY
from ..problems import InvalidInput, describe
from ..trainers import build_trainer, with_device

router = APIRouter(tags=["lessons"], route_class=ThreadedBodyRoute)
MAX_START_EPOCH = 2**31 - 1
CLIENT_GONE = 499  # as nginx logs a request whose client left; nobody receives it
GIF_SPOOL_BYTES = 4 << 20  # a GIF larger than this waits for its client in a temporary file, not in memory


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


class PictureRequest(Request):
    """What every picture of a run needs: the setup, where its weights start, and how to draw it."""

    config: ConfigJSON = Field(default_factory=dict)
    weights: Optional[list[LayerWeights]] = Field(
        None, description="the weights to start from, PyTorch layout (default: the initial weights of config.seed)")
    start_epoch: int = Field(0, ge=0, le=MAX_START_EPOCH,
                             description="the epoch `weights` are at: captions count on from it, as does a "
                                         "learning-rate schedule")
    density: int = Field(DEFAULT_DENSITY, description="grid cells per side, as the page's density "
                                                      "(the server's min_grid_density to max_grid_density)")
    show_test: bool = True
    discretize: bool = False
    caption: bool = Field(True, description="write the epoch and the losses in")


class RenderRequest(PictureRequest):
    epochs: int = Field(0, ge=0, description="epochs to train before drawing")
    size: int = Field(400, ge=64, le=2000, description="pixels per side")


class GifRequest(PictureRequest):
    epochs: int = Field(ge=1)
    frame_step: int = Field(10, ge=1, description="epochs between frames")
    size: int = Field(300, ge=64, description="pixels per side (at most the server's max_gif_size)")
    frame_ms: int = Field(100, ge=20, le=5000, description="milliseconds a frame is shown")


class CompareGifRequest(Request):
    """A comparison's GIF: the variants trained from the base config's initial weights, side by side."""

    config: ConfigJSON = Field(default_factory=dict, description="the base config")
    variants: list[dict[str, Any]] = Field(min_length=MIN_VARIANTS, max_length=MAX_VARIANTS,
                                           description="each variant's overrides of the base config")
    labels: Optional[list[str]] = None
    epochs: int = Field(ge=1)
    frame_step: int = Field(10, ge=1, description="epochs between frames")
    size: int = Field(600, ge=64, description="the GIF's width in pixels (at most the server's max_gif_size)")
    frame_ms: int = Field(100, ge=20, le=5000, description="milliseconds a frame is shown")
    density: int = Field(DEFAULT_DENSITY, description="grid cells per side, as the page's density")
    show_test: bool = True
    discretize: bool = False


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
async def compare(body: CompareRequest, state: StateDep, request: FastAPIRequest) -> Any:
    """Train every variant for ``epochs`` epochs; variants share the data and the initial weights where the
    network shape matches. Deterministic for a given base ``config.seed``. Stops within one engine slice if
    the client disconnects."""
    _check_epochs(body.epochs, state.settings.max_epochs)

    def build() -> Comparison:
        try:
            return Comparison(with_device(body.config, state.settings.device), body.variants, body.labels,
                              limits=state.limits)
        except ValidationError as exc:
            raise InvalidInput(describe(exc, ("config",), config_level=True)) from None
        except ValueError as exc:
            raise InvalidInput(describe(exc)) from None

    async with cancelled_on_disconnect(request) as client:
        comparison = await state.pool.run(build)
        histories = [await _train(state, trainer, body.epochs) for trainer in comparison.trainers]
    if client.gone:
        return client_gone()
    return {"seed": comparison.base.seed, "labels": comparison.labels, "variants": [
        {"label": label, "overrides": overrides, "status": t.status, "message": t.message, "history": history}
        for label, overrides, t, history in zip(comparison.labels, body.variants, comparison.trainers, histories)]}


RENDER_RESPONSES = {429: {"description": "as many renders as NNPLAY_MAX_RENDERS allows are running"}}


def _check_gif(body: GifRequest | CompareGifRequest, state) -> None:
    """Caps of a GIF known only at run time: its size and its number of frames."""
    top = state.settings.max_gif_size
    if body.size > top:
        raise InvalidInput.single("size", body.size, f"at most {top} pixels (the server's max_gif_size)",
                                  f"64 to {top}", loc=("body", "size"))
    cap = state.settings.max_gif_frames
    frames_needed = gif_frame_count(body.epochs, body.frame_step)
    if frames_needed > cap:
        raise InvalidInput.single("frame_step", body.frame_step,
                                  f"{body.epochs} epochs every {body.frame_step} give {frames_needed} frames",
                                  f"at least {-(-body.epochs // (cap - 2))} (at most {cap} frames)",
                                  loc=("body", "frame_step"))


def _check_picture(body: PictureRequest | CompareGifRequest, state) -> None:
    """Caps known only at run time: epochs and grid density."""
    _check_epochs(body.epochs, state.settings.max_epochs)
    lo, hi = state.limits.min_grid_density, state.limits.max_grid_density
    if not lo <= body.density <= hi:
        raise InvalidInput.single("density", body.density, "grid density out of range", f"{lo} to {hi}",
                                  loc=("body", "density"))


async def _film(state, request: FastAPIRequest, body: PictureRequest, make_sink: Callable[[Trainer], Sink],
                frame_step: Optional[int]) -> Film:
    """Build the run (its epoch set to ``start_epoch``) and play it into ``make_sink(trainer)`` in the pool."""
    trainer = await _built(state, body)
    picture = Picture(body.size, body.density, body.show_test, body.discretize, body.caption)

    def start() -> Film:
        trainer.epoch = body.start_epoch  # a public attribute: the captions and the schedule go on from here
        return Film(trainer, picture, make_sink(trainer), body.epochs, frame_step)

    film = await state.pool.run(start)
    await run_film(state, request, film)
    return film


@router.post("/api/render", response_class=Response,
             responses={200: {"content": {"image/png": {}}}, **RENDER_RESPONSES})
async def render(body: RenderRequest, request: FastAPIRequest, state: StateDep) -> Response:
    """A PNG of the output plot after ``epochs`` epochs (the heatmap with training and test points); the
    caption shows the real epoch, ``start_epoch`` + the epochs trained."""
    _check_picture(body, state)
    with render_slot(state):
        try:
            film = await _film(state, request, body, lambda trainer: StillWriter(), frame_step=None)
        except ClientGone:
            return Response(status_code=CLIENT_GONE)
        return Response(await state.pool.run(film.sink.png), media_type="image/png")


@router.post("/api/render/gif", response_class=Response,
             responses={200: {"content": {"image/gif": {}}}, **RENDER_RESPONSES})
async def render_gif(body: GifRequest, request: FastAPIRequest, state: StateDep) -> Response:
    """An animated GIF of a run: ``start_epoch``, every ``frame_step`` epochs and the last, each frame with
    its real epoch and the losses; for slides that cannot embed the live page. Frames are encoded as they
    are drawn (memory does not grow with their number) and a large GIF waits for its client in a temporary
    file. ``X-Frame-Count`` says how many frames."""
    _check_picture(body, state)
    _check_gif(body, state)
    with render_slot(state):
        out = tempfile.SpooledTemporaryFile(max_size=GIF_SPOOL_BYTES)

        def writer(trainer: Trainer) -> GifWriter:
            return GifWriter(out, body.size, body.frame_ms, GifPalette(trainer.task, trainer.config.n_classes))

        try:
            film = await _film(state, request, body, writer, body.frame_step)
        except ClientGone:
            out.close()
            return Response(status_code=CLIENT_GONE)
        except BaseException:  # bad input (InvalidInput), cancellation: the file goes with the request
            out.close()
            raise
        headers = {"X-Frame-Count": str(film.sink.frames), "Content-Length": str(out.tell())}
        return StreamingResponse(_chunks(out), media_type="image/gif", headers=headers)


@router.post("/api/render/compare-gif", response_class=Response,
             responses={200: {"content": {"image/gif": {}}}, **RENDER_RESPONSES})
async def render_compare_gif(body: CompareGifRequest, request: FastAPIRequest, state: StateDep) -> Response:
    """An animated GIF of a comparison, as the compare page shows it: every variant's plot (2 × 2 for four)
    under its label and test loss, trained ``epochs`` epochs from the shared initial weights, a frame every
    ``frame_step`` epochs; ``size`` is the GIF's width. ``X-Frame-Count`` says how many frames."""
    _check_picture(body, state)
    _check_gif(body, state)

    def build() -> Comparison:
        try:
            return Comparison(with_device(body.config, state.settings.device), body.variants, body.labels,
                              limits=state.limits)
        except ValidationError as exc:
            raise InvalidInput(describe(exc, ("config",), config_level=True)) from None
        except ValueError as exc:
            raise InvalidInput(describe(exc)) from None

    with render_slot(state):
        comparison = await state.pool.run(build)
        out = tempfile.SpooledTemporaryFile(max_size=GIF_SPOOL_BYTES)

        def start() -> Mosaic:
            first = comparison.trainers[0]
            layout = Layout(len(comparison.trainers), body.size)
            writer = GifWriter(out, layout.width, body.frame_ms, GifPalette(first.task, first.config.n_classes),
                               height=layout.height)
            picture = Picture(layout.tile, body.density, body.show_test, body.discretize, caption=False)
            return Mosaic(comparison.trainers, comparison.labels, picture, body.epochs, body.frame_step, writer, layout)

        try:
            mosaic = await state.pool.run(start)
            await run_film(state, request, mosaic)
        except ClientGone:
            out.close()
            return Response(status_code=CLIENT_GONE)
        except BaseException:
            out.close()
            raise
        headers = {"X-Frame-Count": str(mosaic.writer.frames), "Content-Length": str(out.tell())}
        return StreamingResponse(_chunks(out), media_type="image/gif", headers=headers)


def _chunks(file) -> Iterator[bytes]:
    """A finished file from its start, a chunk at a time (Starlette reads it in a worker thread); closed at
    the end, or when the client leaves and the generator is dropped."""
    try:
        file.seek(0)
        while chunk := file.read(1 << 16):
            yield chunk
    finally:
        file.close()

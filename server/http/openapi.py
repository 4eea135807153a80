"""The OpenAPI document: FastAPI's, plus the /ws message models, every status a route can answer, and the
server's own limits (from its settings, so the schema says what this server accepts); and the classroom
rooms' socket messages.

FastAPI knows only the limits written into the models. The epoch cap, the grid density range and the
engine's :class:`~nnplay.engine.Limits` (layers, neurons, samples, batch size) are settings, checked by the
handlers and the engine; :func:`add_limits` writes them into the request schemas. 413 (body too large,
:mod:`nnplay.server.http.bodies`) can answer any request, so every operation lists it.
"""

from __future__ import annotations

from typing import Any, Iterator

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from nnplay.engine import Limits
from nnplay.engine.config import FLOAT32_MAX

from ..live.messages import socket_schemas
from ..rooms.messages import room_schemas
from ..settings import Settings

MESSAGE = {"title": "Message", "type": "object", "required": ["detail"],
           "properties": {"detail": {"type": "string", "description": "what went wrong and what is allowed"}}}
MESSAGE_REF = {"$ref": "#/components/schemas/Message"}
EVERY_OPERATION = {"413": "request body larger than max_body_bytes (NNPLAY_MAX_BODY_BYTES)"}


def document(app: FastAPI, settings: Settings) -> dict[str, Any]:
    """The app's OpenAPI document (built once)."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(socket_schemas())
        components.update(room_schemas())  # /ws?room=CODE and /ws/rooms/CODE
        components["Message"] = MESSAGE
        add_statuses(schema)
        add_limits(components, settings)
        add_paging(schema, settings)
        app.openapi_schema = schema
    return app.openapi_schema


def add_statuses(schema: dict[str, Any]) -> None:
    """413 on every operation; a body schema for every error status declared with a description only."""
    for operation in _operations(schema):
        responses = operation.setdefault("responses", {})
        for status, description in EVERY_OPERATION.items():
            responses.setdefault(status, {"description": description})
        for status, response in responses.items():
            if status.startswith(("4", "5")) and "content" not in response:
                response["content"] = {"application/json": {"schema": MESSAGE_REF}}


def add_paging(schema: dict[str, Any], settings: Settings) -> None:
    """The default and largest page of ``GET /api/sweeps/{sweep_id}`` (settings sweep_page, max_sweep_page)."""
    operation = schema.get("paths", {}).get("/api/sweeps/{sweep_id}", {}).get("get")
    for parameter in (operation or {}).get("parameters", []):
        if parameter["name"] == "limit":
            parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": settings.max_sweep_page,
                                   "default": settings.sweep_page}


def _operations(schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for path in schema.get("paths", {}).values():
        yield from (op for method, op in path.items() if method in ("get", "post", "put", "patch", "delete"))


def add_limits(components: dict[str, Any], settings: Settings) -> None:
    """The settings' limits as JSON-schema bounds, in every request model and every config schema."""
    limits = settings.limits()
    for name, model in components.items():
        for node in _schemas(model):
            if {"hidden", "learning_rate"} <= set(node.get("properties", {})):
                _config_limits(node["properties"], limits)
        properties = model.get("properties", {})
        if name.endswith("Request") and "epochs" in properties:
            properties["epochs"]["maximum"] = settings.max_epochs
        if name == "SetupRequest":  # a valid link is ASCII: its bytes are its characters
            properties["link"]["maxLength"] = settings.max_setup_bytes
        if name == "SweepRequest":
            model["description"] += (f" Limits: at most {settings.max_sweep_runs} runs (max_sweep_runs), "
                                     f"{settings.max_sweep_model_epochs} model-epochs (max_sweep_model_epochs), "
                                     f"{settings.max_running_sweeps} sweeps training at once (max_running_sweeps).")
            model["x-limits"] = {"max_sweep_runs": settings.max_sweep_runs, "max_running_sweeps":
                                 settings.max_running_sweeps, "max_sweep_model_epochs": settings.max_sweep_model_epochs}
        if name in ("TrainRequest", "View"):
            _non_null(properties["density"]).update(minimum=limits.min_grid_density, maximum=limits.max_grid_density)


def _config_limits(properties: dict[str, Any], limits: Limits) -> None:
    properties["hidden"].update(maxItems=limits.max_layers)
    properties["hidden"].setdefault("items", {}).update(minimum=1, maximum=limits.max_neurons)
    _non_null(properties["n_samples"]).update(minimum=limits.min_samples, maximum=limits.max_samples)
    properties["batch_size"]["maximum"] = limits.max_batch_size
    points = _non_null(properties["custom_points"])
    points["maxItems"] = limits.max_samples
    points.setdefault("items", {}).update(minItems=3, maxItems=3)
    points["items"].setdefault("items", {}).update(minimum=-FLOAT32_MAX, maximum=FLOAT32_MAX)


def _non_null(schema: dict[str, Any]) -> dict[str, Any]:
    """The non-null branch of an ``anyOf [X, null]`` schema (or the schema itself)."""
    return next((s for s in schema.get("anyOf", []) if s.get("type") != "null"), schema)


def _schemas(node: Any) -> Iterator[dict[str, Any]]:
    """Every (sub)schema object in ``node``."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _schemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from _schemas(value)

"""Stored networks: a trained network (the Export menu's JSON: config, weights, epoch) kept under a short id.

``POST /api/networks`` keeps a network and answers its id; ``GET /api/networks/ID`` gives the JSON back, as the
page's Import reads it; ``/n/ID`` opens it in the playground (a 303 to ``/?network=ID``: the page loads it,
paused, at its epoch); an unknown or expired id is a 404 (a plain HTML page for ``/n/``). Ids are short links'
(server/routes/setups.py: Crockford's base 32, read as forgivingly). The same network posted twice gets the same
id (rows are keyed by the hash of the network as stored); rows expire ``store_ttl`` after their last use. A
room's results.csv keeps each student's network here too (:func:`keep_network`), so its links outlive the room.
"""

from __future__ import annotations

import hashlib
import html
import json
import sqlite3
import time
from typing import Any, Literal, Optional

import anyio
from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel, Field

from nnplay.engine import __version__

from ..deps import StateDep
from ..http.schemas import ConfigJSON, LayerWeights, Request
from ..live.messages import MAX_EPOCH
from ..store import Store, Table
from ..trainers import build_trainer
from .setups import key_of, new_key, spoken, store_of

router = APIRouter(tags=["networks"])

FORMAT = "nnplay-network"  # the Export menu's file format (frontend/js/exports.js)

TABLE = Table("networks", """
CREATE TABLE IF NOT EXISTS networks (
    id TEXT PRIMARY KEY,          -- ID_LENGTH characters of setups.ALPHABET, no hyphen
    digest TEXT NOT NULL UNIQUE,  -- sha256 of body: the same network keeps its id
    body TEXT NOT NULL,           -- the network's JSON: {format, version, epoch, config, weights}
    created_at REAL NOT NULL,
    used_at REAL NOT NULL         -- created or last opened (Unix time): the store expires by it
)""")


class NetworkRequest(Request):
    """What the Export menu's "Network (JSON)" downloads and its Import reads."""

    format: Optional[Literal["nnplay-network"]] = Field(None, description="the file's format, if given")
    version: Optional[str] = Field(None, description="the nnplay version that exported it (not kept)")
    config: ConfigJSON = Field(description="an engine Config (see GET /api/options)")
    weights: list[LayerWeights] = Field(min_length=1, description="every layer's weights, PyTorch layout")
    epoch: int = Field(0, ge=0, le=MAX_EPOCH, description="the epoch these weights were reached at")


class StoredNetwork(BaseModel):
    id: str = Field(description="the short id, as it is read aloud (a hyphen in the middle)")
    url: str = Field(description="the path that opens it in the playground: /n/ID")


def stored(key: str) -> StoredNetwork:
    name = spoken(key)
    return StoredNetwork(id=name, url=f"/n/{name}")


def body_of(config: dict[str, Any], weights: list[dict[str, Any]], epoch: int) -> str:
    """The network as kept and answered: compact JSON with sorted keys, so equal networks are equal text."""
    network = {"format": FORMAT, "version": __version__, "epoch": epoch, "config": config, "weights": weights}
    return json.dumps(network, sort_keys=True, separators=(",", ":"), allow_nan=False)


def keep(store: Store, body: str, max_networks: int) -> Optional[StoredNetwork]:
    """Store ``body`` (or mark its existing row used) and return its id; None when ``max_networks`` are kept."""
    digest = hashlib.sha256(body.encode()).hexdigest()
    now = time.time()
    with store.transaction() as db:
        row = db.execute("SELECT id FROM networks WHERE digest = ?", (digest,)).fetchone()
        if row is not None:
            db.execute("UPDATE networks SET used_at = ? WHERE id = ?", (now, row["id"]))
            return stored(row["id"])
        if db.execute("SELECT COUNT(*) FROM networks").fetchone()[0] >= max_networks:
            return None
        while True:  # a clash of 50 random bits is as good as impossible, but costs nothing to handle
            key = new_key()
            try:
                db.execute("INSERT INTO networks VALUES (?, ?, ?, ?, ?)", (key, digest, body, now, now))
                return stored(key)
            except sqlite3.IntegrityError:
                continue


def keep_network(store: Store, network: dict[str, Any], max_bytes: int, max_networks: int) -> Optional[StoredNetwork]:
    """Keep a network the server itself made ({config, weights, epoch}, e.g. a room student's); None if it is
    larger than ``max_bytes`` or the store is full (the caller links it another way)."""
    body = body_of(network["config"], network["weights"], network["epoch"])
    return keep(store, body, max_networks) if len(body.encode()) <= max_bytes else None


def find(store: Store, text: str) -> Optional[str]:
    """The JSON of the network stored under id ``text``, marked used now; None if there is none."""
    key = key_of(text)
    if key is None:
        return None
    if not store.write("UPDATE networks SET used_at = ? WHERE id = ?", (time.time(), key)):
        return None
    rows = store.read("SELECT body FROM networks WHERE id = ?", (key,))
    return rows[0]["body"] if rows else None


@router.post("/api/networks", status_code=201, response_model=StoredNetwork,
             responses={413: {"description": "the network is larger than max_network_bytes"},
                        507: {"description": "the server keeps max_networks networks already"}})
async def create_network(network: NetworkRequest, state: StateDep) -> StoredNetwork | JSONResponse:
    """Keep a network and answer its short id; the same network posted again answers the same id. The config
    and weights must build the network (the page could not open it otherwise): 422 names what does not fit."""
    settings = state.settings
    weights = [layer.model_dump() for layer in network.weights]
    body = body_of(network.config, weights, network.epoch)
    size = len(body.encode())
    if size > settings.max_network_bytes:
        return JSONResponse({"detail": f"network: {size} bytes as stored, at most {settings.max_network_bytes} "
                             "(NNPLAY_MAX_NETWORK_BYTES); share a smaller network, or export it as a file"},
                            status_code=413)
    await anyio.to_thread.run_sync(lambda: build_trainer(network.config, state.limits, weights=weights))
    kept = await anyio.to_thread.run_sync(keep, store_of(state), body, settings.max_networks)
    if kept is None:
        return JSONResponse({"detail": f"this server keeps at most {settings.max_networks} networks and is full; "
                             "export the network as a file instead, or ask its operator to raise "
                             "NNPLAY_MAX_NETWORKS"}, status_code=507)
    return kept


def missing(text: str) -> str:
    return f"no network is stored under {text!r}: the id is mistyped, or the link expired"


@router.get("/api/networks/{network_id}", responses={200: {"description": "the network as the Export menu "
                                                           "writes it: {format, version, epoch, config, weights}"},
                                                     404: {"description": "no such network"}})
def read_network(network_id: str, state: StateDep) -> Response:
    """The network a short id stands for, as the page's Import reads it."""
    body = find(store_of(state), network_id)
    if body is None:
        return JSONResponse({"detail": missing(network_id)}, status_code=404)
    return Response(body, media_type="application/json")


NOT_FOUND = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Network not found · nnplay</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto; padding: 0 1em; line-height: 1.5">
<main><h1>This network link does not exist</h1>
<p>No network is stored under <code>{id}</code> on this server. The link may be mistyped, or it expired: a
network is kept for {days} days after it was last opened.</p>
<p>Ask whoever shared it for the link again, or <a href="/">open the playground</a> with its default setup.</p>
</main></body></html>
"""


@router.get("/n/{network_id}", include_in_schema=False)
def open_network(network_id: str, state: StateDep) -> Response:
    """The playground with the network loaded (a 303 to ``/?network=ID``), or a plain 404 page."""
    key = key_of(network_id)
    if key is None or find(store_of(state), network_id) is None:
        days = round(state.settings.store_ttl / 86400)
        return HTMLResponse(NOT_FOUND.format(id=html.escape(network_id), days=days), status_code=404)
    return RedirectResponse(f"/?network={spoken(key)}", status_code=303)

"""Short links: a whole setup (the page's URL hash, drawn points included) kept in the store under a short id.

``POST /api/setups`` keeps a link and answers its id; ``GET /api/setups/ID`` gives the link back; ``/s/ID``
opens it in the playground and ``/s/ID/embed`` in the embed (a 303 to ``/#…`` or ``/embed#…``, the embed's
with the query's keys, e.g. ``?controls=play``, after the setup's); an unknown or expired id is a 404 (a
plain HTML page for ``/s/``). The same link posted twice gets the same id.

An id is :data:`ID_LENGTH` characters of Crockford's base 32 (digits and lower-case letters without i, l, o,
u), written with a hyphen in the middle to be read aloud: 50 random bits. Reading is forgiving as Crockford
meant it: case, hyphens, ``o`` for zero and ``i``/``l`` for one. Rows expire ``store_ttl`` after their last
use (opening a link uses it).
"""

from __future__ import annotations

import hashlib
import html
import re
import secrets
import sqlite3
import time
from typing import Optional

from fastapi import APIRouter, Response
from fastapi import Request as FastAPIRequest
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel, Field

from ..deps import ServerState, StateDep
from ..http.schemas import Request
from ..problems import InvalidInput
from ..store import Store, Table

router = APIRouter(tags=["setups"])

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford's base 32: no i, l, o, u
ID_LENGTH = 10  # 50 bits: a million stored links leave a guess a 1 in 10⁹ chance
READ_AS = str.maketrans({"o": "0", "i": "1", "l": "1", "-": None})
# a URL fragment's characters (RFC 3986: pchar, "/" and "?"); anything else must arrive %-encoded
LINK = re.compile(r"#[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*")

TABLE = Table("setups", """
CREATE TABLE IF NOT EXISTS setups (
    id TEXT PRIMARY KEY,          -- ID_LENGTH characters of ALPHABET, no hyphen
    digest TEXT NOT NULL UNIQUE,  -- sha256 of the link: the same link keeps its id
    link TEXT NOT NULL,           -- the URL hash, '#' first
    created_at REAL NOT NULL,
    used_at REAL NOT NULL         -- created or last opened (Unix time): the store expires by it
)""")


class SetupRequest(Request):
    link: str = Field(description="the page's URL hash, '#' first (state.hashText()), drawn points included",
                      examples=["#dataset=custom&points=1AAgC…&networkShape=4,2"])


class Setup(BaseModel):
    id: str = Field(description="the short id, as it is read aloud (a hyphen in the middle)")
    url: str = Field(description="the path that opens it in the playground: /s/ID")
    embed_url: str = Field(description="the path that opens it in the embed: /s/ID/embed")
    link: str = Field(description="the URL hash it stands for")


def store_of(state: ServerState) -> Store:
    """The app's store (the lifespan opens it before any request is served)."""
    assert state.store is not None, "the store opens in the lifespan"
    return state.store


def spoken(key: str) -> str:
    """The stored key as it is written and read aloud: two halves joined by a hyphen."""
    half = len(key) // 2
    return f"{key[:half]}-{key[half:]}"


def key_of(text: str) -> Optional[str]:
    """The stored key an id as typed stands for (Crockford's reading), or None if it cannot be one."""
    key = text.lower().translate(READ_AS)
    return key if len(key) == ID_LENGTH and all(c in ALPHABET for c in key) else None


def new_key() -> str:
    """A fresh random key: ID_LENGTH characters of ALPHABET (a caller retries on the rare clash)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(ID_LENGTH))


def setup_of(key: str, link: str) -> Setup:
    name = spoken(key)
    return Setup(id=name, url=f"/s/{name}", embed_url=f"/s/{name}/embed", link=link)


def find(store: Store, text: str) -> Optional[Setup]:
    """The setup stored under id ``text``, marked used now; None if there is none (never made, or expired)."""
    key = key_of(text)
    if key is None:
        return None
    if not store.write("UPDATE setups SET used_at = ? WHERE id = ?", (time.time(), key)):
        return None
    rows = store.read("SELECT link FROM setups WHERE id = ?", (key,))
    return setup_of(key, rows[0]["link"]) if rows else None


def keep(store: Store, link: str, max_setups: int) -> Optional[Setup]:
    """Store ``link`` (or mark its existing row used) and return it; None when ``max_setups`` are kept."""
    digest = hashlib.sha256(link.encode()).hexdigest()
    now = time.time()
    with store.transaction() as db:
        row = db.execute("SELECT id FROM setups WHERE digest = ?", (digest,)).fetchone()
        if row is not None:
            db.execute("UPDATE setups SET used_at = ? WHERE id = ?", (now, row["id"]))
            return setup_of(row["id"], link)
        if db.execute("SELECT COUNT(*) FROM setups").fetchone()[0] >= max_setups:
            return None
        while True:  # a clash of 50 random bits is as good as impossible, but costs nothing to handle
            key = new_key()
            try:
                db.execute("INSERT INTO setups VALUES (?, ?, ?, ?, ?)", (key, digest, link, now, now))
                return setup_of(key, link)
            except sqlite3.IntegrityError:
                continue


def checked_link(link: str, max_bytes: int) -> str:
    """``link`` if it is a URL hash within ``max_bytes``; an InvalidInput naming what is wrong otherwise."""
    size = len(link.encode())
    if size > max_bytes:
        raise InvalidInput.single("link", link, f"link: at most {max_bytes} bytes, got {size}",
                                  f"up to {max_bytes} bytes (NNPLAY_MAX_SETUP_BYTES)")
    if not LINK.fullmatch(link):
        raise InvalidInput.single("link", link, "link: must be a URL hash: '#' and then URL characters "
                                  "(others %-encoded)", "'#' followed by A-Z a-z 0-9 - . _ ~ ! $ & ' ( ) * + , ; = "
                                  ": @ / ? %")
    return link


@router.post("/api/setups", status_code=201, response_model=Setup,
             responses={507: {"description": "the server keeps max_setups short links already"}})
def create_setup(body: SetupRequest, state: StateDep) -> Setup | JSONResponse:
    """Keep a setup and answer its short id; the same link posted again answers the same id."""
    link = checked_link(body.link, state.settings.max_setup_bytes)
    setup = keep(store_of(state), link, state.settings.max_setups)
    if setup is None:
        return JSONResponse({"detail": f"this server keeps at most {state.settings.max_setups} short links and is "
                             "full; copy the long link instead, or ask its operator to raise NNPLAY_MAX_SETUPS"},
                            status_code=507)
    return setup


def missing(text: str) -> str:
    """What a 404 for id ``text`` says."""
    return f"no setup is stored under {text!r}: the id is mistyped, or the link expired"


@router.get("/api/setups/{setup_id}", response_model=Setup, responses={404: {"description": "no such setup"}})
def read_setup(setup_id: str, state: StateDep) -> Setup | JSONResponse:
    """The link a short id stands for."""
    setup = find(store_of(state), setup_id)
    return setup or JSONResponse({"detail": missing(setup_id)}, status_code=404)


NOT_FOUND = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Short link not found · nnplay</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto; padding: 0 1em; line-height: 1.5">
<main><h1>This short link does not exist</h1>
<p>No setup is stored under <code>{id}</code> on this server. The link may be mistyped, or it expired: a short
link is kept for {days} days after it was last opened.</p>
<p>Ask whoever shared it for the link again, or <a href="/">open the playground</a> with its default setup.</p>
</main></body></html>
"""


def opened(setup_id: str, state: ServerState, page: str, extra: str = "") -> Response:
    """A 303 to ``page`` with the setup's link as its hash (and ``extra`` keys after it, when they are URL
    characters), or the plain 404 page."""
    setup = find(store_of(state), setup_id)
    if setup is None:
        days = round(state.settings.store_ttl / 86400)
        return HTMLResponse(NOT_FOUND.format(id=html.escape(setup_id), days=days), status_code=404)
    more = f"&{extra}" if extra and LINK.fullmatch("#" + extra) else ""
    return RedirectResponse(page + setup.link + more, status_code=303)


@router.get("/s/{setup_id}", include_in_schema=False)
def open_setup(setup_id: str, state: StateDep) -> Response:
    """The playground with the setup (a 303 to ``/#…``), or a plain 404 page."""
    return opened(setup_id, state, "/")


@router.get("/s/{setup_id}/embed", include_in_schema=False)
def open_embed(setup_id: str, state: StateDep, request: FastAPIRequest) -> Response:
    """The embed with the setup (a 303 to ``/embed#…``), or a plain 404 page. The query's keys go on after
    the setup's, so a slide picks the embed's own: ``/s/ID/embed?controls=play,reset&autoplay=true``."""
    return opened(setup_id, state, "/embed", request.url.query)

"""Classroom rooms over REST (docs/protocol.md, "Rooms"): create, look up, QR code, results, a student's
network, end; the lecturer's socket ``/ws/rooms/{code}``; the pages ``/room`` (lecturer) and ``/r/{code}``
(student: the playground, which finds the code in its URL).

A request naming a room this instance does not hold is a 404, so that behind deploy/nginx it goes on to the
next instance (docs/decisions.md, "Rooms: routing by code"). Lookups of codes that are not open, wrong keys
and joins count against ``room_join_rate`` per client address (429 beyond it).
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Annotated, Any, Optional

import anyio
import segno
from fastapi import APIRouter, Body, HTTPException, Request, WebSocket, status
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.requests import HTTPConnection

from nnplay.engine import Config, __version__

from ..deps import ServerState, StateDep, server_state
from ..live.frames import decode
from ..live.session import CLOSED_ERRORS
from ..problems import InvalidInput
from ..rooms import codes
from ..rooms.lecturer import LecturerSocket
from ..rooms.messages import CreateRoom, Lecturer, RoomCreated, RoomPublic, parse
from ..rooms.registry import TooManyRooms
from ..rooms.room import Room
from ..rooms.student import deny, no_room
from ..rooms.tiles import network_of, params
from .networks import keep_network
from .pages import PLACEHOLDER
from .setups import store_of
from .ws import origin_refusal

router = APIRouter(tags=["rooms"])
Responses = dict[int | str, dict[str, Any]]
NOT_HELD: Responses = {404: {"description": "no such room on this instance (it ended, expired, or never was)"}}
KEYED: Responses = {401: {"description": "no room key given"}, 403: {"description": "wrong room key"},
                    429: {"description": "too many join attempts from this address"}, **NOT_HELD}
QR_SCALE = 10  # pixels a module in the PNG: a 33-module code with its quiet zone is 410 px
LECTURER_WAIT = 10.0  # seconds the lecturer socket's first message may take


def join_url(connection: HTTPConnection, code: str) -> str:
    """The student's link: this request's scheme and host (the proxy's, where its headers are trusted)."""
    base = str(connection.base_url).rstrip("/")
    return base.replace("ws://", "http://", 1).replace("wss://", "https://", 1) + f"/r/{codes.shown(code)}"


def address(connection: HTTPConnection) -> str:
    return connection.client.host if connection.client else ""


def held(state: ServerState, code: str, connection: HTTPConnection) -> Room:
    """The room of ``code``; 404 (counted as a join attempt) if this instance holds none, 429 past the rate."""
    room = state.rooms.get(code)
    if room is None:
        if not state.rooms.attempt(address(connection)):
            raise too_many(state)
        raise HTTPException(status.HTTP_404_NOT_FOUND, no_room(code))
    return room


def too_many(state: ServerState) -> HTTPException:
    return HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, f"too many join attempts from this address "
                         f"({state.settings.room_join_rate} a minute); wait a minute", headers={"Retry-After": "60"})


def keyed(state: ServerState, code: str, request: Request, key: Optional[str]) -> Room:
    """The room of ``code`` if the request carries its key (``Authorization: Bearer`` or ``?key=``)."""
    room = held(state, code, request)
    given = key
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        given = header[7:].strip()
    if not given:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "this needs the room key: Authorization: Bearer KEY or "
                            "?key=KEY", headers={"WWW-Authenticate": "Bearer"})
    if not codes.matches(given, room.key_hash):
        if not state.rooms.attempt(address(request)):
            raise too_many(state)
        raise HTTPException(status.HTTP_403_FORBIDDEN, "wrong room key")
    return room


@router.post("/api/rooms", response_model=RoomCreated, status_code=status.HTTP_201_CREATED,
             responses={429: {"description": "max_rooms rooms are open"}})
async def create_room(request: Request, state: StateDep, body: Annotated[Optional[CreateRoom], Body()] = None) -> dict:
    """Open a room; the answer's ``key`` is the lecturer's secret (shown once)."""
    body = body or CreateRoom(title="")
    try:
        room, key = state.rooms.create(body.title, body.config)
    except TooManyRooms as exc:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, str(exc), headers={"Retry-After": "60"}) from None
    return {"code": codes.shown(room.code), "key": key, "join_url": join_url(request, room.code),
            "expires": time.time() + state.settings.room_idle_timeout, "title": room.title, "config": room.config}


@router.get("/api/rooms/{code}", response_model=RoomPublic, responses={**NOT_HELD, 429: KEYED[429]})
async def room_info(code: str, request: Request, state: StateDep) -> dict:
    """What the join page shows before the student picks a nickname."""
    room = held(state, code, request)
    return {"code": codes.shown(room.code), "title": room.title, "students": room.connected(),
            "max_students": state.settings.max_room_students, "challenge": room.challenge,
            "locked": room.locked, "paused": room.paused, "state": room.state.value}


def _qr(request: Request, state: ServerState, code: str) -> segno.QRCode:
    room = held(state, code, request)
    return segno.make_qr(join_url(request, room.code), error="m")


@router.get("/api/rooms/{code}/qr.svg", responses={200: {"content": {"image/svg+xml": {}}}, **NOT_HELD},
            response_class=Response)
async def room_qr_svg(code: str, request: Request, state: StateDep) -> Response:
    """The join link as a QR code (SVG, scales to any projector)."""
    out = io.BytesIO()
    _qr(request, state, code).save(out, kind="svg", scale=QR_SCALE, border=4, dark="#000", light="#fff",
                                   xmldecl=False, svgclass=None, lineclass=None)
    return Response(out.getvalue(), media_type="image/svg+xml")


@router.get("/api/rooms/{code}/qr.png", responses={200: {"content": {"image/png": {}}}, **NOT_HELD},
            response_class=Response)
async def room_qr_png(code: str, request: Request, state: StateDep) -> Response:
    """The join link as a QR code (PNG, 10 px a module)."""
    out = io.BytesIO()
    _qr(request, state, code).save(out, kind="png", scale=QR_SCALE, border=4)
    return Response(out.getvalue(), media_type="image/png")


RESULT_COLUMNS = ["nickname", "setup", "epoch", "train_loss", "test_loss", "accuracy", "r2", "params", "hidden",
                  "connected", "network", "network_json"]


@router.get("/api/rooms/{code}/results.csv", responses={200: {"content": {"text/csv": {}}}, **KEYED},
            response_class=Response)
async def room_results(code: str, request: Request, state: StateDep, key: Optional[str] = None) -> Response:
    """One row per student who joined: their setup and latest metrics, and links to their network: ``network``
    opens it in the playground (``/n/ID``, kept in the store now, so it outlives the room), ``network_json`` is
    the keyed JSON (while the room lasts)."""
    room = keyed(state, code, request, key)
    base = str(request.base_url).rstrip("/")
    students = list(room.students.values())
    configs = [student_config(student, room) for student in students]
    links = await anyio.to_thread.run_sync(kept_links, state, students, configs)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(RESULT_COLUMNS)
    for student, config, link in zip(students, configs, links, strict=True):
        json_url = f"{base}/api/rooms/{codes.shown(room.code)}/students/{student.id}.json"
        writer.writerow([csv_text(student.nickname), setup_name(config), *result_row(student.frame),
                         student.connected, f"{base}{link}" if link else "", json_url])
    filename = f"room-{codes.shown(room.code)}.csv"
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def student_config(student: Any, room: Room) -> dict:
    """The config a student's network runs: their session's, or the one they last had, or the room's."""
    facts = student.session.facts if student.session is not None and student.session.facts else student.state
    return (facts or {}).get("config", room.config)


def kept_links(state: ServerState, students: list, configs: list[dict]) -> list[str]:
    """Per student, the ``/n/ID`` path of their current network, kept in the store now; "" for a student with
    no frame yet, or a network the store does not take (larger than max_network_bytes, or the store full)."""
    settings = state.settings
    links = []
    for student, config in zip(students, configs, strict=True):
        kept = None
        if student.frame is not None:
            network = network_of(student.frame, Config(**config).normalizations)
            kept = keep_network(store_of(state), {"config": config, "weights": network["weights"],
                                                  "epoch": network["epoch"]},
                                settings.max_network_bytes, settings.max_networks)
        links.append(kept.url if kept else "")
    return links


def result_row(frame: Optional[bytes]) -> list:
    """epoch, train_loss, test_loss, accuracy, r2, params, hidden of a student's latest frame."""
    if frame is None:
        return ["", "", "", "", "", "", ""]
    header, _ = decode(frame)
    regression = header["task"] == "regression"
    return [header["epoch"], header["train_loss"], header["test_loss"],
            "" if regression else header["test_accuracy"], header["test_r2"] if regression else "",
            params(header["sizes"]), "-".join(map(str, header["sizes"][1:-1]))]


def setup_name(config: dict) -> str:
    hidden = "-".join(map(str, config.get("hidden", []))) or "no hidden layer"
    return f"{config.get('dataset')} {hidden} {config.get('activation')} lr {config.get('learning_rate')}"


def csv_text(text: str) -> str:
    """A nickname as a spreadsheet cell: one that starts like a formula is prefixed with ' (OWASP's advice
    against CSV injection), so it shows as typed and never runs."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@router.get("/api/rooms/{code}/students/{student}.json", responses=KEYED)
async def student_network(code: str, student: str, request: Request, state: StateDep,
                          key: Optional[str] = None) -> dict:
    """The student's network as a ``configure`` (or ``POST /api/train``) takes it: config, weights, epoch."""
    room = keyed(state, code, request, key)
    seated = room.students.get(student)
    if seated is None or seated.frame is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no network of student {student!r} in this room")
    config = student_config(seated, room)
    network = network_of(seated.frame, Config(**config).normalizations)
    return {"nickname": seated.nickname, "config": config, "weights": network["weights"], "epoch": network["epoch"]}


@router.delete("/api/rooms/{code}", status_code=status.HTTP_204_NO_CONTENT, responses=KEYED,
               response_class=Response)
async def end_room(code: str, request: Request, state: StateDep, key: Optional[str] = None) -> Response:
    """End the room: students carry on alone, with nothing locked; lecturer sockets close (4000)."""
    room = keyed(state, code, request, key)
    state.rooms.end(room, "The lecturer ended the room")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.websocket("/ws/rooms/{code}")
async def lecturer_socket(websocket: WebSocket, code: str) -> None:
    state: ServerState = server_state(websocket)
    room = state.rooms.get(code)
    if room is None:
        return await deny(websocket, code)
    refused = origin_refusal(websocket, state.settings.allowed_origins)
    await websocket.accept()
    if refused is not None:
        return await websocket.close(1008, refused)
    key = None
    with anyio.move_on_after(LECTURER_WAIT):
        try:
            message = await websocket.receive()
        except CLOSED_ERRORS:
            return
        try:
            key = parse(message.get("text") or "", {"lecturer": Lecturer}).key
        except InvalidInput:
            key = None  # anything but a lecturer message is as bad as a wrong key
    if not state.rooms.attempt(address(websocket)):
        return await websocket.close(1013, f"too many join attempts from this address "
                                           f"({state.settings.room_join_rate} a minute); wait a minute")
    if room.ended:
        return await websocket.close(4404, no_room(code)[:120])
    if not codes.matches(key, room.key_hash):
        return await websocket.close(1008, "wrong room key")
    await LecturerSocket(websocket, room, state.rooms, join_url(websocket, room.code)).serve()


def page_routes(frontend: Path) -> APIRouter:
    """``/room``: the lecturer's page. ``/r/{code}``: the student's link (short, for the QR code and to read
    aloud), redirected to the playground with the code in its query, ``/?room=CODE`` (the page's assets are
    relative to ``/``)."""
    pages = APIRouter(tags=["page"])

    async def lecturer_page() -> Response:
        path = frontend / "room.html"
        if path.is_file():
            return FileResponse(path, media_type="text/html")
        return HTMLResponse(PLACEHOLDER.format(version=__version__))

    async def student_link(code: str) -> Response:
        room = codes.normalize(code)
        return RedirectResponse(f"/?room={codes.shown(room) if room else ''}", status_code=307)

    pages.add_api_route("/room", lecturer_page, methods=["GET"], include_in_schema=False, response_model=None)
    pages.add_api_route("/r/{code}", student_link, methods=["GET"], include_in_schema=False, response_model=None)
    return pages

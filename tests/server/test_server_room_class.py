"""A room of 64 simulated students on a real ``nnplay serve``: the lecturer's tiles keep coming at the tile rate,
each a few KB, every student listed and training, and no student hears of another."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import websockets
from server_helpers import SMALL, serving

from nnplay.server.live.frames import decode

STUDENTS = 64
WINDOW = 5.0  # seconds over which the tiles are counted


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


async def student(ws_url: str, code: str, name: str, heard: list[str], stop: asyncio.Event) -> None:
    async with websockets.connect(f"{ws_url}?room={code}", max_size=None) as ws:
        await ws.send(json.dumps({"type": "join", "nickname": name}))
        while not stop.is_set():
            try:
                message = await asyncio.wait_for(ws.recv(), 0.5)
            except asyncio.TimeoutError:
                continue
            heard.append(message if isinstance(message, str) else json.dumps(decode(message)[0]))


async def classroom(served: dict) -> tuple[list, dict[str, list[str]]]:
    made = post(f"{served['http']}/api/rooms", {"config": SMALL})
    code, names = made["code"], [f"kid{i:02d}x" for i in range(STUDENTS)]
    heard: dict[str, list[str]] = {name: [] for name in names}
    stop = asyncio.Event()
    async with websockets.connect(f"{served['ws']}/rooms/{code}", max_size=None) as lecturer:
        await lecturer.send(json.dumps({"type": "lecturer", "key": made["key"]}))
        tasks = [asyncio.create_task(student(served["ws"], code, name, heard[name], stop)) for name in names]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until every student has joined
            message = await asyncio.wait_for(lecturer.recv(), 30)
            if isinstance(message, str) and json.loads(message).get("students") == STUDENTS:
                break
        await lecturer.send(json.dumps({"type": "push", "config": SMALL, "play": True, "id": "go"}))
        tiles: list = []
        start = time.monotonic()
        while time.monotonic() - start < WINDOW:
            message = await asyncio.wait_for(lecturer.recv(), 10)
            if isinstance(message, bytes):
                tiles.append((time.monotonic(), len(message), *decode(message)))
        stop.set()
        await asyncio.gather(*tasks)
    return tiles, heard


def test_64_students_in_one_room_tiles_come_at_rate_and_nobody_hears_another():
    env = {"NNPLAY_MAX_SESSIONS": "80", "NNPLAY_MAX_SESSIONS_PER_ADDRESS": "80", "NNPLAY_ROOM_TILE_RATE": "4",
           "NNPLAY_ENGINE_PROCESSES": "2"}
    with serving(env) as served:
        # in a thread of its own: a browser test's Playwright may hold this thread's event loop
        with ThreadPoolExecutor(1) as thread:
            tiles, heard = thread.submit(asyncio.run, classroom(served)).result()
    assert len(tiles) >= 2 * WINDOW, f"{len(tiles)} tiles messages in {WINDOW} s"  # set to 4 a second
    last_time, size, header, arrays = tiles[-1]
    assert [s["nickname"] for s in header["students"]] == [f"kid{i:02d}x" for i in range(STUDENTS)]
    assert all(s["connected"] and s["epoch"] > 0 for s in header["students"]), "every student trains"
    assert arrays["tiles"].shape == (STUDENTS, 25, 25)
    assert size / STUDENTS < 2048, f"{size / STUDENTS:.0f} bytes a tile"
    for name, messages in heard.items():
        text = "".join(messages)
        assert name in text and not any(other in text for other in heard if other != name)

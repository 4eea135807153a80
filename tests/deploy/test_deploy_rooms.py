"""Classroom rooms through deploy/nginx in front of two instances: whichever instance a room was created on,
its lecturer's socket, its students' sockets and its REST paths all reach that instance."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from deploy_helpers import get_json, post_json
from test_deploy import cluster  # noqa: F401 - the fixture: two instances and nginx
from websockets.sync.client import connect

from nnplay.server.live.frames import decode

SETUP = {"dataset": "xor", "hidden": [3], "seed": 7, "n_samples": 100}
ROOMS = 4


def holder(instances, code: str) -> list[int]:
    """Which instances answer for the room (asked directly, not through nginx)."""
    return [i for i, instance in enumerate(instances) if get_json(f"{instance.url}/api/rooms/{code}")[0] == 200]


def student_and_lecturer(proxy_ws: str, made: dict, nickname: str) -> dict:
    """Join as a student and as the lecturer through the proxy; the first tiles that list the student."""
    with connect(f"{proxy_ws}/ws/rooms/{made['code']}") as lecturer, \
            connect(f"{proxy_ws}/ws?room={made['code']}") as student:
        lecturer.send(json.dumps({"type": "lecturer", "key": made["key"]}))
        assert json.loads(lecturer.recv(10))["type"] == "room"
        student.send(json.dumps({"type": "join", "nickname": nickname}))
        assert json.loads(student.recv(10))["nickname"] == nickname
        assert json.loads(student.recv(10))["type"] == "hello"
        while True:
            message = lecturer.recv(10)
            if isinstance(message, bytes):
                header, _ = decode(message)
                if header["students"] and header["students"][0]["tile"] is not None:
                    return header


def test_every_part_of_a_room_reaches_the_instance_holding_it(cluster):  # noqa: F811
    instances, proxy = cluster
    proxy_ws = proxy.url.replace("http://", "ws://")
    made = []
    for index in range(ROOMS):
        status, room, _ = post_json(f"{proxy.url}/api/rooms", {"config": SETUP, "title": f"room {index}"})
        assert status == 201
        made.append(room)
    holders = [holder(instances, room["code"]) for room in made]
    assert all(len(h) == 1 for h in holders), holders  # each room lives in one instance
    for index, room in enumerate(made):
        assert get_json(f"{proxy.url}/api/rooms/{room['code']}")[1]["title"] == f"room {index}"
        tiles = student_and_lecturer(proxy_ws, room, f"kid {index}")
        assert [s["nickname"] for s in tiles["students"]] == [f"kid {index}"]
        qr = urllib.request.urlopen(f"{proxy.url}/api/rooms/{room['code']}/qr.svg", timeout=5)
        assert qr.headers["Content-Type"] == "image/svg+xml"
    try:
        urllib.request.urlopen(f"{proxy.url}/api/rooms/ZZZZ-ZZZZ", timeout=5)
        raise AssertionError("an unknown room was found")
    except urllib.error.HTTPError as error:
        assert error.code == 404  # every instance said so
    request = urllib.request.Request(f"{proxy.url}/api/rooms/{made[0]['code']}", method="DELETE",
                                     headers={"Authorization": f"Bearer {made[0]['key']}"})
    assert urllib.request.urlopen(request, timeout=5).status == 204
    assert holder(instances, made[0]["code"]) == []
    print("rooms per instance:", [sum(h == [i] for h in holders) for i in range(len(instances))])

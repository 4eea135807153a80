"""Classroom rooms (server/rooms, docs/protocol.md "Rooms"): REST, the student's join and rules, the lecturer's
commands, and what a student may never do."""

from __future__ import annotations

import csv
import io
import json
from contextlib import ExitStack

import pytest
from server_helpers import SMALL, make_settings, parse, receive, send, wait_for
from starlette.testclient import WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect


HEADERS = lambda key: {"Authorization": f"Bearer {key}"}  # noqa: E731


@pytest.fixture
def sockets():
    """Where the tests' sockets are opened: all closed after the test, pass or fail."""
    with ExitStack() as stack:
        yield stack


@pytest.fixture
def settings():
    return make_settings(max_room_students=3, room_join_rate=20, room_tile_rate=10.0)


def open_room(client, **body):
    answer = client.post("/api/rooms", json={"config": SMALL, **body})
    assert answer.status_code == 201, answer.text
    return answer.json()


def join(client, sockets, code, nickname="Ada", token=None):
    """A student's socket, joined: (socket, room message, greeting by kind)."""
    ws = sockets.enter_context(client.websocket_connect(f"/ws?room={code}"))
    send(ws, type="join", nickname=nickname, **({"student": token} if token else {}))
    room = wait_for(ws, "room")
    greeting = {}
    while len(greeting) < 4:
        kind, payload = parse(receive(ws))
        greeting[kind] = payload
    return ws, room, greeting


def lecturer(client, sockets, code, key):
    ws = sockets.enter_context(client.websocket_connect(f"/ws/rooms/{code}"))
    send(ws, type="lecturer", key=key)
    return ws, wait_for(ws, "room")


def test_a_room_is_created_looked_up_and_joined_with_the_rooms_setup(client, sockets):
    made = open_room(client, title="Spirals")
    assert len(made["code"]) == 9 and made["code"][4] == "-" and len(made["key"]) >= 32
    assert made["join_url"].endswith(f"/r/{made['code']}")
    public = client.get(f"/api/rooms/{made['code'].lower().replace('-', '')}").json()
    assert public == {"code": made["code"], "title": "Spirals", "students": 0, "max_students": 3, "challenge": "",
                      "locked": [], "paused": False, "state": "open"}
    assert client.get("/api/options").json()["server_limits"]["max_room_students"] == 3
    ws = sockets.enter_context(client.websocket_connect(f"/ws?room={made['code']}"))
    for nickname in ("x" * 33, "  ", "tab\there"):
        send(ws, type="join", id="n", nickname=nickname)
        error = wait_for(ws, "error")
        assert error["field"] == "nickname" and "1 to 32 characters" in error["allowed"]
    ws, room, greeting = join(client, sockets, made["code"], "<img src=x onerror=alert(1)>")
    assert room["nickname"] == "<img src=x onerror=alert(1)>" and room["code"] == made["code"]
    assert greeting["state"]["config"]["hidden"] == SMALL["hidden"] and greeting["state"]["config"]["dataset"] == "xor"
    assert client.get(f"/api/rooms/{made['code']}").json()["students"] == 1


def test_an_unknown_room_is_a_404_for_rest_and_for_the_socket_upgrade(client, sockets):
    answer = client.get("/api/rooms/ABCD-EFGH")
    assert answer.status_code == 404 and "no room ABCD-EFGH" in answer.json()["detail"]
    with pytest.raises(WebSocketDenialResponse) as refused:
        client.websocket_connect("/ws?room=ABCD-EFGH").__enter__()
    assert refused.value.status_code == 404
    with pytest.raises(WebSocketDenialResponse):
        client.websocket_connect("/ws/rooms/ABCD-EFGH").__enter__()


def test_locked_fields_and_the_class_pause_are_enforced_on_the_server(client, sockets):
    made = open_room(client)
    teacher, _ = lecturer(client, sockets, made["code"], made["key"])
    ws, _, _ = join(client, sockets, made["code"])
    send(teacher, type="lock", id="l", fields=["learning_rate"])
    assert wait_for(teacher, "room", lambda r: r["id"] == "l")["locked"] == ["learning_rate"]
    assert wait_for(ws, "room")["locked"] == ["learning_rate"]
    send(ws, type="set", id=1, values={"learning_rate": 0.5})
    error = wait_for(ws, "error")
    assert error["id"] == 1 and error["field"] == "learning_rate" and "locked by the lecturer" in error["message"]
    send(ws, type="configure", id=2, config={**SMALL, "learning_rate": 0.5})
    assert wait_for(ws, "error")["id"] == 2
    send(ws, type="set", id=3, values={"batch_size": 5})  # not locked
    assert wait_for(ws, "state", lambda s: s["id"] == 3)["config"]["batch_size"] == 5
    send(teacher, type="pause_all", id="p")
    wait_for(teacher, "room", lambda r: r["id"] == "p")
    assert wait_for(ws, "room")["paused"] is True
    send(ws, type="play", id=4)
    error = wait_for(ws, "error", lambda e: e["id"] == 4)
    assert "paused the class" in error["message"]
    send(teacher, type="play_all", id="g")
    wait_for(ws, "state", lambda s: s["playing"])


def test_a_push_reconfigures_every_student_and_tiles_show_each_of_them(client, sockets):
    made = open_room(client)
    teacher, _ = lecturer(client, sockets, made["code"], made["key"])
    students = [join(client, sockets, made["code"], name)[0] for name in ("Ada", "Bo")]
    send(teacher, type="push", id="push", config={**SMALL, "hidden": [5, 2]}, play=True)
    for ws in students:
        assert wait_for(ws, "room")["notice"] == "The lecturer pushed a new setup"
        assert wait_for(ws, "state")["config"]["hidden"] == [5, 2]
    header, arrays = wait_for(teacher, "tiles", lambda t: len(t[0]["students"]) == 2 and all(
        s["hidden"] == [5, 2] and s["epoch"] > 0 for s in t[0]["students"]))
    assert [s["nickname"] for s in header["students"]] == ["Ada", "Bo"]
    assert arrays["tiles"].shape == (2, 25, 25) and header["students"][0]["params"] == 2 * 5 + 5 + 5 * 2 + 2 + 2 * 1 + 1
    assert all("student" not in s or len(s["student"]) == 8 for s in header["students"])


def test_a_student_cannot_use_the_lecturer_socket_and_a_wrong_key_is_refused(client, sockets):
    made = open_room(client)
    ws, room, _ = join(client, sockets, made["code"])
    for key in (room["student"], "x" * 32):
        teacher = sockets.enter_context(client.websocket_connect(f"/ws/rooms/{made['code']}"))
        send(teacher, type="lecturer", key=key)
        with pytest.raises(WebSocketDisconnect) as closed:
            teacher.receive_text()
        assert closed.value.code == 1008
    for command in ({"type": "push", "config": SMALL}, {"type": "lock", "fields": ["hidden"]}, {"type": "end"}):
        send(ws, **command, id="x")
        error = wait_for(ws, "error", lambda e: e["id"] == "x")
        assert error["field"] == "type"
    assert client.get(f"/api/rooms/{made['code']}").json()["locked"] == []
    assert client.delete(f"/api/rooms/{made['code']}", headers=HEADERS(room["student"])).status_code == 403
    assert client.delete(f"/api/rooms/{made['code']}").status_code == 401
    assert client.get(f"/api/rooms/{made['code']}/results.csv?key=wrong").status_code == 403
    assert client.get(f"/api/rooms/{made['code']}").status_code == 200


def test_join_attempts_are_rate_limited_per_address(client, sockets):
    made = open_room(client)
    answers = [client.get("/api/rooms/ZZZZ-ZZZZ").status_code for _ in range(25)]
    assert answers[:20] == [404] * 20 and answers[20:] == [429] * 5
    ws = sockets.enter_context(client.websocket_connect(f"/ws?room={made['code']}"))
    send(ws, type="join", nickname="Ada")
    with pytest.raises(WebSocketDisconnect) as closed:
        while True:
            ws.receive_text()
    assert closed.value.code == 1013 and "too many join attempts" in closed.value.reason


def test_a_student_never_receives_another_students_data(client, sockets):
    made = open_room(client)
    teacher, _ = lecturer(client, sockets, made["code"], made["key"])
    ada, ada_room, _ = join(client, sockets, made["code"], "Ada")
    bo, bo_room, _ = join(client, sockets, made["code"], "Bo")
    send(bo, type="set", id="bo", values={"batch_size": 3})
    wait_for(bo, "state", lambda s: s["id"] == "bo")
    send(teacher, type="challenge", id="c", text="fewest neurons wins")
    seen: list = []
    wait_for(ada, "room", lambda r: r["challenge"] == "fewest neurons wins", seen=seen)
    text = json.dumps([p for k, p in seen if k not in ("frame", "data")]) + json.dumps(ada_room)
    assert "Bo" not in text and bo_room["student"] not in text and made["key"] not in text
    assert all(p[0]["config"]["batch_size"] != 3 for k, p in seen if k == "frame" and "config" in p[0])


def test_a_student_rejoins_with_their_token_and_network(client, sockets):
    made = open_room(client)
    ws, room, greeting = join(client, sockets, made["code"], "Ada")
    send(ws, type="set", id="lr", values={"learning_rate": 0.3})
    wait_for(ws, "state", lambda s: s["id"] == "lr")
    send(ws, type="step", id="s", n=7)
    wait_for(ws, "state", lambda s: s["id"] == "s")
    ws.close()
    again, room2, greeting2 = join(client, sockets, made["code"], None, token=room["student"])
    assert room2["nickname"] == "Ada" and room2["student"] == room["student"]
    assert greeting2["state"]["epoch"] == 7 and greeting2["state"]["config"]["learning_rate"] == 0.3


def test_results_csv_and_end(client, sockets):
    made = open_room(client)
    ws, room, _ = join(client, sockets, made["code"], "=cmd|' /C calc'!A0")
    answer = client.get(f"/api/rooms/{made['code']}/results.csv", headers=HEADERS(made["key"]))
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert answer.headers["content-type"].startswith("text/csv") and len(rows) == 1
    assert rows[0]["nickname"] == "'=cmd|' /C calc'!A0" and rows[0]["epoch"] == "0"
    network = client.get(rows[0]["network_json"].split("testserver")[1], headers=HEADERS(made["key"])).json()
    assert [len(layer["b"]) for layer in network["weights"]] == [3, 1]
    svg, head = client.get(f"/api/rooms/{made['code']}/qr.svg"), client.head(f"/api/rooms/{made['code']}/qr.svg")
    assert svg.text.startswith("<svg") and head.content == b"" and head.headers["content-type"] == "image/svg+xml"
    assert client.get(f"/api/rooms/{made['code']}/qr.png").content[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.delete(f"/api/rooms/{made['code']}", headers=HEADERS(made["key"])).status_code == 204
    ended = wait_for(ws, "room")
    assert ended["ended"] is True and ended["locked"] == []
    send(ws, type="set", id="after", values={"learning_rate": 0.2})
    assert wait_for(ws, "state", lambda s: s["id"] == "after")["config"]["learning_rate"] == 0.2
    assert client.get(f"/api/rooms/{made['code']}").status_code == 404


def test_a_full_room_refuses_the_next_student(client, sockets):
    made = open_room(client)
    for i in range(3):
        join(client, sockets, made["code"], f"s{i}")
    ws = sockets.enter_context(client.websocket_connect(f"/ws?room={made['code']}"))
    send(ws, type="join", nickname="late")
    with pytest.raises(WebSocketDisconnect) as closed:
        while True:
            ws.receive_text()
    assert closed.value.code == 1013 and "full" in closed.value.reason


def test_watch_and_snapshot_send_that_students_frames_tagged_with_their_id(client, sockets):
    made = open_room(client)
    teacher, _ = lecturer(client, sockets, made["code"], made["key"])
    join(client, sockets, made["code"], "Ada")
    bo, _, _ = join(client, sockets, made["code"], "Bo")
    header, _ = wait_for(teacher, "tiles", lambda t: len(t[0]["students"]) == 2)
    bo_id = next(s["student"] for s in header["students"] if s["nickname"] == "Bo")
    send(teacher, type="watch", id="w", student=bo_id)
    watching = wait_for(teacher, "watch")
    assert watching["id"] == "w" and watching["nickname"] == "Bo" and watching["state"]["config"]["dataset"] == "xor"
    first, _ = wait_for(teacher, "frame")
    assert first["student"] == bo_id and first["purpose"] == "watch"
    send(bo, type="step", id="s", n=3)
    wait_for(teacher, "frame", lambda f: f[0]["epoch"] == 3 and f[0]["student"] == bo_id)
    send(teacher, type="snapshot", id="snap", student=bo_id)
    taken = wait_for(teacher, "snapshot")
    frame, arrays = wait_for(teacher, "frame", lambda f: f[0]["purpose"] == "snapshot")
    assert taken["state"]["epoch"] == 3 and frame["epoch"] == 3 and arrays["output"].shape == (100, 100)
    send(teacher, type="watch", id="nobody", student="ffffffff")
    assert wait_for(teacher, "error", lambda e: e["id"] == "nobody")["field"] == "student"


def test_a_second_page_of_one_student_replaces_the_first_and_a_kick_ends_their_membership(client, sockets):
    made = open_room(client)
    teacher, _ = lecturer(client, sockets, made["code"], made["key"])
    first, room, _ = join(client, sockets, made["code"], "Ada")
    join(client, sockets, made["code"], None, token=room["student"])
    closed = wait_for(first, "close")
    assert closed["code"] == 4409
    header, _ = wait_for(teacher, "tiles", lambda t: t[0]["students"][0]["connected"])
    assert len(header["students"]) == 1
    third, _, _ = join(client, sockets, made["code"], "Bo")
    bo_id = wait_for(teacher, "tiles", lambda t: len(t[0]["students"]) == 2)[0]["students"][1]["student"]
    send(teacher, type="lock", fields=["hidden"])
    send(teacher, type="kick", id="k", student=bo_id)
    wait_for(teacher, "room", lambda r: r["id"] == "k")
    kicked = wait_for(third, "room", lambda r: r["ended"])
    assert "removed" in kicked["notice"]
    send(third, type="configure", id="free", config={**SMALL, "hidden": [2]})  # nothing locked for them now
    assert wait_for(third, "state", lambda s: s["id"] == "free")["config"]["hidden"] == [2]


def test_idle_rooms_expire_and_a_room_with_a_lecturer_does_not():
    from nnplay.server.rooms.registry import Rooms

    rooms = Rooms(make_settings(room_idle_timeout=60.0))
    (idle, _), (watched, _) = rooms.create("", SMALL), rooms.create("", SMALL)
    watched.add_lecturer(type("Screen", (), {"watching": None, "room_changed": lambda self: None})())
    start = idle.idle_since
    assert rooms.expire(now=start + 59) == [] and rooms.get(idle.code) is idle
    assert rooms.expire(now=start + 61) == [idle]
    assert rooms.get(idle.code) is None and idle.ended and rooms.get(watched.code) is watched

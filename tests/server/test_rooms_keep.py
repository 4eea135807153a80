"""What server/rooms/keep.py writes of a room and reads back: secrets only as digests, a student's frame at most
once a ``room_keep_interval`` and only when new, kicked students and ended, idle or expired rooms gone."""

from __future__ import annotations

import time

import pytest
from server_helpers import SMALL, make_settings

from nnplay.engine import Config, Trainer
from nnplay.server.live.frames import decode, encode_frame
from nnplay.server.rooms import codes
from nnplay.server.rooms.keep import RoomKeep
from nnplay.server.rooms.registry import Rooms
from nnplay.server.store import Store


def frame(epochs: int) -> bytes:
    trainer = Trainer(Config(**SMALL))
    trainer.train(epochs)
    return encode_frame(trainer, trainer.report(confusion=True), trainer.grid(20, 4))


@pytest.fixture
def store(tmp_path):
    opened = Store(tmp_path, ttl=3600.0)
    yield opened
    opened.close()


def rooms_on(store: Store, interval: float = 60.0, **settings) -> Rooms:
    """An instance's rooms kept in ``store`` (each call: the same instance started again)."""
    return Rooms(make_settings(port=8123, **settings), RoomKeep(store, "host:8123", interval))


def stored_epochs(store: Store) -> dict[str, int]:
    return {row["nickname"]: decode(row["frame"])[0]["epoch"]
            for row in store.read("SELECT nickname, frame FROM room_students WHERE frame IS NOT NULL")}


def test_a_room_comes_back_with_its_secrets_as_digests_and_its_students(store):
    rooms = rooms_on(store)
    room, key = rooms.create("Spirals", SMALL)
    ada, bo = room.seat("Ada", None), room.seat("Bo", None)
    ada_token = ada.token
    room.lock(["activation"])
    room.set_challenge("Fewest neurons")
    room.pause_all()
    ada.frame, ada.state = frame(3), {"config": Config(**SMALL).model_dump(), "epoch": 3}
    rooms.keep_all()
    raw = store.path.read_bytes() + store.path.with_name(store.path.name + "-wal").read_bytes()
    assert key.encode() not in raw and ada_token.encode() not in raw  # only their SHA-256 is kept

    again = rooms_on(store)
    [back] = again.restore()
    assert again.get(codes.shown(room.code)) is back
    assert codes.matches(key, back.key_hash) and not codes.matches(key + "x", back.key_hash)
    assert (back.title, back.challenge, back.locked, back.paused) == ("Spirals", "Fewest neurons", ["activation"], True)
    assert [s.nickname for s in back.students.values()] == ["Ada", "Bo"]
    rejoined = back.seat(None, ada_token)
    assert rejoined.id == ada.id and rejoined.token == ada_token and rejoined.state["epoch"] == 3
    assert decode(rejoined.frame)[0]["epoch"] == 3 and "neurons" not in decode(rejoined.frame)[1]
    assert back.students[bo.id].frame is None


def test_a_students_frame_is_written_at_most_once_an_interval_and_all_of_them_before_a_drain(store):
    rooms = rooms_on(store, interval=60.0)
    room, _ = rooms.create("", SMALL)
    ada = room.seat("Ada", None)
    ada.frame = frame(1)
    rooms.kept(room)  # a student not yet written is written at once
    ada.frame = frame(2)
    rooms.kept(room)  # within the interval: not again
    assert stored_epochs(store) == {"Ada": 1}
    rooms.keep_all()  # a drain writes every new frame
    assert stored_epochs(store) == {"Ada": 2}
    fast = rooms_on(store, interval=0.01)
    [room] = fast.restore()
    student = next(iter(room.students.values()))
    student.frame = frame(4)
    time.sleep(0.02)
    fast.kept(room)
    assert stored_epochs(store) == {"Ada": 4}


def test_kicked_students_and_ended_or_idle_rooms_are_not_restored_and_idle_time_counts_on(store):
    rooms = rooms_on(store, room_idle_timeout=600.0)
    ended, _ = rooms.create("ended", SMALL)
    idle, _ = rooms.create("idle", SMALL)
    kept, _ = rooms.create("kept", SMALL)
    kicked, stays = kept.seat("Kim", None), kept.seat("Sam", None)
    kept.kick(kicked)
    rooms.kept(kept)
    rooms.end(ended, "The lecturer ended the room")
    idle.idle_since = time.monotonic() - 601  # nobody there for longer than room_idle_timeout
    kept.idle_since = time.monotonic() - 500  # its idle time goes on after the restart
    rooms.keep_all()
    again = rooms_on(store, room_idle_timeout=600.0)
    [back] = again.restore()
    assert back.title == "kept" and list(back.students) == [stays.id]
    assert again.expire(now=time.monotonic() + 90) == [] and again.expire(now=time.monotonic() + 110) == [back]
    assert store.read("SELECT count(*) AS n FROM rooms")[0]["n"] == 0  # the idle one at restore, this one now


def test_the_store_ttl_deletes_a_room_and_its_students(store):
    rooms = rooms_on(store)
    room, _ = rooms.create("left behind", SMALL)
    room.seat("Ada", None)
    rooms.keep_all()
    assert store.expire(now=time.time() + 3601) == 1  # store_ttl: the room goes, its students with it
    assert store.read("SELECT count(*) AS n FROM room_students")[0]["n"] == 0


def test_instances_sharing_a_store_each_restore_only_their_own_rooms(store):
    rooms_on(store).create("mine", SMALL)
    other = Rooms(make_settings(port=8124), RoomKeep(store, "host:8124", 60.0))
    other.create("theirs", SMALL)
    assert [room.title for room in rooms_on(store).restore()] == ["mine"]

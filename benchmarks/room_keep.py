"""What keeping a room in the store (server/rooms/keep.py) costs: K students on the lecturer's C2 setup, each
with a real frame at the default view (density 100, every extra).

    python benchmarks/room_keep.py [--students 64] [--repeats 20]

Reported: a frame's size as sent and as kept; the time of one periodic write (every student's frame new: the
worst case, once every ``room_keep_interval``, in the event loop) and of the write before a drain; the
event loop's share of it at the default interval; the store's size; the time to restore the room at start-up.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from harness import CONFIGS

from nnplay.engine import Config, Trainer
from nnplay.server.live.frames import encode_frame
from nnplay.server.rooms.keep import RoomKeep, kept_frame
from nnplay.server.rooms.registry import Rooms
from nnplay.server.settings import Settings
from nnplay.server.store import Store


def frames(k: int) -> list[bytes]:
    """One C2 frame per student (their own seed), trained a few epochs."""
    out = []
    for i in range(k):
        trainer = Trainer(Config(**{**CONFIGS["C2"], "seed": 1000 + i}))
        trainer.train(3)
        out.append(encode_frame(trainer, trainer.report(confusion=True), trainer.grid(100, 10)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    made = frames(args.students)
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings.model_construct(data_dir=Path(folder))
        store = Store(Path(folder), settings.store_ttl)
        keep = RoomKeep(store, "bench:1", 0.0)  # every new frame due: each write is the periodic worst case
        rooms = Rooms(settings, keep)
        room, _ = rooms.create("bench", CONFIGS["C2"])
        for i in range(args.students):
            student = room.seat(f"kid{i:02d}", None)
            student.frame = made[i]
        periodic, drain = [], []
        for r in range(args.repeats):
            for i, student in enumerate(room.students.values()):
                student.frame = made[(i + 2 * r) % args.students]  # a new frame object for every student
            start = time.perf_counter()
            keep.write(keep.changes([room]))
            periodic.append(time.perf_counter() - start)
            for i, student in enumerate(room.students.values()):
                student.frame = made[(i + 2 * r + 1) % args.students]
            start = time.perf_counter()
            rooms.keep_all()
            drain.append(time.perf_counter() - start)
        size, wal = store.path.stat().st_size, Path(f"{store.path}-wal").stat().st_size
        start = time.perf_counter()
        restored = RoomKeep(store, "bench:1", settings.room_keep_interval).restore(settings)
        restore = time.perf_counter() - start
        store.close()
    sent, kept = statistics.median(map(len, made)), statistics.median(len(kept_frame(f)) for f in made)
    per = statistics.median(periodic)
    print(f"{args.students} students, C2 at density 100; a frame {sent / 1024:.1f} KB as sent, "
          f"{kept / 1024:.1f} KB as kept")
    print(f"periodic write (every student's frame new): median {per * 1000:.1f} ms, max {max(periodic) * 1000:.1f} ms"
          f" ({per / args.students * 1e6:.0f} µs a student); every {settings.room_keep_interval:g} s that is "
          f"{per / settings.room_keep_interval * 100:.2f} % of the event loop")
    print(f"write before a drain: median {statistics.median(drain) * 1000:.1f} ms")
    print(f"store file {size / 1024:.0f} KB (its WAL {wal / 1024:.0f} KB); restore of "
          f"{len(restored[0].students)} students: {restore * 1000:.1f} ms")


if __name__ == "__main__":
    main()

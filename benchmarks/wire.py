"""What the typed wire between the event loop and an engine worker costs (server/live/wire.py).

    python benchmarks/wire.py

Each row pickles and unpickles one message as ``multiprocessing`` sends it (``ForkingPickler``), beside the
reference measured in the same run: the same content as a plain positional tuple, the wire's earlier form.
The figures are bytes on the pipe and µs per round trip (the best of 5 repeats). The live traffic of 32 C2
sessions is about 700 credits and 700 news entries a second, so 1 µs a message is 0.14% of a core.
"""

from __future__ import annotations

import os
import pickle
import timeit
from multiprocessing.reduction import ForkingPickler

from nnplay.server.live import wire
from nnplay.server.live.run import Mode, Plan


def dumps(message: object) -> bytes:
    return bytes(ForkingPickler.dumps(message))


def round_trip_us(message: object, number: int = 20_000) -> float:
    return min(timeit.repeat(lambda: pickle.loads(dumps(message)), number=number, repeat=5)) / number * 1e6


def cases() -> dict[str, tuple[object, object]]:
    """Each message as a positional tuple (the reference) and as the wire's type: a batch from the server is
    a list, a message from a worker is sent on its own."""
    frame = os.urandom(12_000)  # about a C2 frame at the default view
    sessions = [os.urandom(6).hex() for _ in range(16)]
    one, plan, facts = sessions[0], Plan(3, Mode.PLAYING, 60.0), {"epoch": 5, "status": "ok"}
    return {
        "one credit": ([("sent", one)], [wire.Credit(one)]),
        "16 credits": ([("sent", s) for s in sessions], [wire.Credit(s) for s in sessions]),
        "a plan": ([("plan", one, plan)], [wire.PlanChange(one, plan)]),
        "a call": ([("call", 7, one, "view", {"changes": {}})], [wire.Call(7, one, "view", {"changes": {}})]),
        "a reply": (("reply", 7, "ok", facts), wire.Done(7, facts)),
        "news of 1": (("news", [(one, [frame], 120, None)]), wire.News([wire.NewsEntry(one, [frame], 120, None)])),
        "news of 16": (("news", [(s, [frame], 120, None) for s in sessions]),
                       wire.News([wire.NewsEntry(s, [frame], 120, None) for s in sessions])),
    }


def main() -> None:
    print(f"{'message':12} {'bytes: tuple':>12} {'typed':>7} {'µs: tuple':>10} {'typed':>7}")
    for name, (reference, typed) in cases().items():
        print(f"{name:12} {len(dumps(reference)):12,} {len(dumps(typed)):7,} "
              f"{round_trip_us(reference):10.2f} {round_trip_us(typed):7.2f}")


if __name__ == "__main__":
    main()

"""Poison messages against a real ``nnplay serve``: what one client's odd numbers cost the others on its worker.

    python benchmarks/faults.py [--bystanders 6] [--rounds 3] [--python PATH]

One engine worker (``NNPLAY_ENGINE_PROCESSES=1``), so every session shares the attacker's worker. The bystanders
(C1 students, playing) follow their frames; the attacker sends each message of :data:`POISONS` in turn, then
a ``step`` that trains whatever state the message left, and reconnects when its session is closed. Reported:
engine worker restarts (new worker processes under the server), bystander sessions closed, attacker sessions
closed, and the answers the attacker got. Target: no restart, no bystander closed.

``--python`` serves the checkout installed in another environment (see its help) to measure before and after
on the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time
from collections import Counter

from harness import CONFIGS, PYTHON_HELP, Server, Student, process_tree, start_students  # shared helpers

HUGE = str(10**400)
POISONS = {  # name → the message text (numbers a page never sends, written as JSON literals)
    "huge epoch": '{"type": "configure", "id": "p", "play": true, "config": {}, "epoch": %s}' % HUGE,
    "epoch 1e400": '{"type": "configure", "id": "p", "play": true, "config": {}, "epoch": 1e400}',
    "negative huge epoch": '{"type": "configure", "id": "p", "config": {}, "epoch": -%s}' % HUGE,
    "huge layer index": '{"type": "set_weight", "id": "p", "layer": %s, "to": 0, "bias": true, "value": 1}' % HUGE,
    "huge point": '{"type": "inspect", "id": "p", "point": [3e38, -3e38]}',
    "huge id": '{"type": "step", "n": 1, "id": %s}' % ("9" * 4000),
    "5,000-digit seed": '{"type": "reset", "id": "p", "seed": %s}' % ("1" * 5000),
    "deep nesting": '{"type": "configure", "id": "p", "config": %s}' % ("[" * 5000 + "]" * 5000),
}


def watch_workers(pid: int, stop: threading.Event, seen: set[int]) -> None:
    """Every worker process the server has had (its children), polled every 50 ms."""
    while not stop.is_set():
        seen.update(p for p in process_tree(pid) if p != pid)
        time.sleep(0.05)


async def attack(url: str, rounds: int, answers: Counter, closes: Counter) -> None:
    import websockets

    for _ in range(rounds):
        for name, text in POISONS.items():
            try:
                async with websockets.connect(url, max_size=2**24, open_timeout=60) as ws:
                    await ws.send(text)
                    await ws.send(json.dumps({"type": "step", "n": 3, "id": "sync"}))
                    while True:
                        message = await asyncio.wait_for(ws.recv(), 10)
                        if isinstance(message, str):
                            reply = json.loads(message)
                            if reply.get("id") == "p" or reply["type"] == "error" and reply.get("id") is None:
                                answers[(name, reply["type"])] += 1
                            if reply.get("id") == "sync":
                                break
            except websockets.ConnectionClosed as exc:
                closes[(name, exc.rcvd.code if exc.rcvd else None)] += 1
            except (OSError, asyncio.TimeoutError) as exc:
                closes[(name, type(exc).__name__)] += 1


async def trial(server: Server, bystanders: int, rounds: int) -> dict:
    students = [Student({"config": CONFIGS["C1"]}, label="C1") for _ in range(bystanders)]
    measuring, stop = asyncio.Event(), asyncio.Event()
    tasks = await start_students(server, students, measuring, stop)
    measuring.set()
    seen: set[int] = set(p for p in process_tree(server.pid) if p != server.pid)
    first = len(seen)
    watching = threading.Event()
    watcher = threading.Thread(target=watch_workers, args=(server.pid, watching, seen), daemon=True)
    watcher.start()
    answers: Counter = Counter()
    closes: Counter = Counter()
    started = time.perf_counter()
    await attack(server.ws_url, rounds, answers, closes)
    elapsed = time.perf_counter() - started
    await asyncio.sleep(1.0)
    measuring.clear()
    stop.set()
    await asyncio.gather(*tasks)
    watching.set()
    watcher.join()
    closed = [s for s in students if s.error]
    return {"seconds": elapsed, "restarts": len(seen) - first, "bystanders_closed": len(closed),
            "bystanders": bystanders, "slowest_bystander_epochs_per_s": min(s.epochs_per_s() for s in students),
            "attacker_closed": sum(closes.values()), "closes": closes, "answers": answers,
            "why": sorted({s.error for s in closed})[:3]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bystanders", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3, help="times the attacker sends every poison")
    parser.add_argument("--python", default=sys.executable, help=PYTHON_HELP)
    args = parser.parse_args()
    with Server(args.python, env={"NNPLAY_ENGINE_PROCESSES": "1"}) as server:
        result = asyncio.run(trial(server, args.bystanders, args.rounds))
    print(f"server: {args.python}")
    print(f"{len(POISONS)} poison messages × {args.rounds} rounds in {result['seconds']:.1f} s, "
          f"{result['bystanders']} C1 bystanders playing on the same worker")
    print(f"engine worker restarts: {result['restarts']}")
    print(f"bystander sessions closed: {result['bystanders_closed']} of {result['bystanders']} {result['why']}")
    print(f"slowest bystander: {result['slowest_bystander_epochs_per_s']:.1f} epochs/s (over the whole attack; "
          "a closed one counts until it closed)")
    print(f"attacker sessions closed: {result['attacker_closed']}")
    for name in POISONS:
        answered = ", ".join(f"{kind} ×{n}" for (poison, kind), n in result["answers"].items() if poison == name)
        closed = ", ".join(f"closed {code} ×{n}" for (poison, code), n in result["closes"].items() if poison == name)
        print(f"  {name:22} {answered or '-'}{'; ' + closed if closed else ''}")


if __name__ == "__main__":
    main()

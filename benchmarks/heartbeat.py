"""The longest silence of an engine worker under the heaviest legal load: what ``NNPLAY_WORKER_TIMEOUT`` must
stay above, so that the watchdog (server/live/supervisor.py) never takes long work for a hang.

    python benchmarks/heartbeat.py [--seconds 20]

One engine worker process (this checkout's, started as the server starts it) holds, at the default limits:
a session playing the largest network on the most points at speed "max", one asking for gradient checks of
the largest network back to back (``max_params`` at its cap), one configuring the largest network over and
over, and one playing C2. A heartbeat (``wire.Ping``) goes out every 50 ms. Reported: the longest and the
99th-percentile time from a heartbeat to the next message of any kind (the watchdog counts any message as a
sign of life), and each command's longest time.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time

from harness import CONFIGS, percentile
from render import largest_config

from nnplay.server.live import wire
from nnplay.server.live.messages import GradCheck
from nnplay.server.live.run import Mode, Plan
from nnplay.server.live.worker_process import main as worker_process_main
from nnplay.server.settings import Settings

PING_EVERY = 0.05


def configure(call_id: int, session: str, config: dict, play: bool) -> wire.Call:
    return wire.Call(call_id, session, "configure", {"config": config, "weights": None, "epoch": None,
                                                     "variants": None, "labels": None, "play": play})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    settings = Settings()
    limits = settings.limits()
    largest = largest_config(limits)
    max_params = GradCheck.model_fields["max_params"].metadata[-1].le
    context = multiprocessing.get_context("spawn")
    channel, far_end = context.Pipe(duplex=True)
    worker = context.Process(target=worker_process_main, args=(far_end, limits.model_dump(), None,
                                                               settings.slice_seconds), daemon=True)
    worker.start()
    far_end.close()
    assert isinstance(channel.recv(), wire.Ready)
    calls = {0: "configure max", 1: "configure gradcheck", 2: "configure C2", 3: "configure again"}
    channel.send([configure(0, "max", largest, True), configure(1, "check", largest, False),
                  configure(2, "c2", CONFIGS["C2"], True), configure(3, "again", largest, False)])
    channel.send([wire.PlanChange("max", Plan(1, Mode.PLAYING, "max")),
                  wire.PlanChange("c2", Plan(1, Mode.PLAYING, 30.0))])
    next_id, sent_at, longest = 4, {}, {}
    gaps: list[float] = []
    pinged, heard = time.monotonic(), time.monotonic()
    began = time.monotonic()
    while time.monotonic() - began < args.seconds:
        now = time.monotonic()
        if now - pinged >= PING_EVERY:
            if heard < pinged:  # the last heartbeat is still unanswered: no new one, as the watchdog does
                pass
            else:
                pinged = now
                channel.send([wire.Ping(0)])
        if not channel.poll(PING_EVERY / 5):
            continue
        message = channel.recv()
        heard = time.monotonic()
        if heard > pinged:
            gaps.append(heard - pinged)
        match message:
            case wire.News(entries):
                channel.send([wire.Credit(entry.session) for entry in entries])
            case wire.Done(call_id) | wire.Refused(call_id) | wire.Failed(call_id):
                what = calls.pop(call_id)
                longest[what] = max(longest.get(what, 0.0), heard - sent_at.pop(call_id, began))
                session = {"configure gradcheck": "check", "gradcheck": "check"}.get(what, "again")
                if what in ("configure max", "configure C2"):
                    continue
                if session == "check":
                    calls[next_id] = "gradcheck"
                    channel.send([wire.Call(next_id, "check", "gradcheck", {"variant": 0, "max_params": max_params})])
                else:
                    calls[next_id] = "configure again"
                    channel.send([configure(next_id, "again", largest, False)])
                sent_at[next_id] = time.monotonic()
                next_id += 1
    channel.send([wire.Stop()])
    worker.join(10)
    print(f"load average {os.getloadavg()[0]:.2f}; largest network {largest['hidden']} on {largest['n_samples']} "
          f"points; gradcheck max_params {max_params}; {len(gaps)} heartbeats answered in {args.seconds:g} s")
    print(f"heartbeat to next message: longest {max(gaps) * 1000:.0f} ms, p99 {percentile(gaps, 99) * 1000:.0f} ms")
    print("longest command: " + ", ".join(f"{what} {seconds * 1000:.0f} ms" for what, seconds in longest.items()))


if __name__ == "__main__":
    main()

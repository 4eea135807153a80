"""Memory and time of the largest GIF the server allows, through ``POST /api/render/gif``.

The largest GIF: 900 px (max_gif_size), 300 frames (``epochs`` 299, a frame every epoch), the spiral with the
most samples and the largest network the default limits allow. Each measurement runs in fresh processes (so one does not
inherit the other's heap): a small GIF is rendered once (imports, caches), the resident set is read, then
the large GIF is rendered and the peak resident set is read. The growth is the difference. Printed side by
side:

* ``route``: ``nnplay serve`` answering the request, as deployed (frames encoded one by one, none kept;
  the finished GIF streamed from a temporary file); its client reads the answer in another process;
* ``route, 6 classes``: the same on the six-class spiral (each frame blends six upscaled class grids);
* ``hold all``: the reference, the same frames drawn by the same renderer but kept in a list and handed to
  Pillow's ``save_all`` at the end (what the route did before, issue 10 item 6).

Target (issue 10): peak growth at most 150 MB for the route.

    python benchmarks/render.py [--size 900] [--frames 300] [--json]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TARGET_MB = 150


def largest_config(limits, classes: int = 0) -> dict:
    """The spiral with the most points and the largest network (``classes``: the multiclass spiral)."""
    config = {"dataset": "spiral", "n_samples": limits.max_samples, "seed": 1,
              "features": ["x1", "x2", "x1_sq", "x2_sq", "x1_x2", "sin_x1", "sin_x2"],
              "hidden": [limits.max_neurons] * limits.max_layers}
    return {**config, "dataset": "spiral_multi", "n_classes": classes} if classes else config


def process_mb(pid: int, field: str) -> float:
    """A process's VmRSS (resident now) or VmHWM (peak resident) in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def post_gif(url: str, body: dict) -> tuple[int, int]:
    """POST a GIF request and read the answer a chunk at a time: (frames, bytes)."""
    request = urllib.request.Request(url + "/api/render/gif", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=3600) as response:
        size = 0
        while chunk := response.read(1 << 16):
            size += len(chunk)
        return int(response.headers["X-Frame-Count"]), size


def run_route(size: int, frames: int, classes: int = 0) -> dict:
    """``nnplay serve`` in its own process; the growth is that process's peak resident set (VmHWM) less its
    resident set after a small warm-up GIF, so the client's copy of the answer does not count."""
    from nnplay.server.settings import Settings

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "nnplay", "serve", "--host", "127.0.0.1", "--port", str(port),
                               "--log-level", "warning"], cwd=ROOT)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(url + "/api/health", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        body = {"config": largest_config(Settings().limits(), classes), "epochs": frames - 1, "frame_step": 1,
                "size": size}
        post_gif(url, {**body, "epochs": 2, "size": 64})
        base = process_mb(server.pid, "VmRSS")
        start = time.perf_counter()
        count, size_bytes = post_gif(url, body)
        seconds = time.perf_counter() - start
        return {"base_mb": base, "growth_mb": process_mb(server.pid, "VmHWM") - base, "seconds": seconds,
                "frames": count, "bytes": size_bytes}
    finally:
        server.terminate()
        server.wait(30)


def run_hold_all(size: int, frames: int) -> dict:
    from nnplay.engine import Trainer
    from nnplay.server.jobs.pictures import Picture
    from nnplay.server.settings import Settings

    trainer = Trainer(largest_config(Settings().limits()))
    trainer.step_epoch(gradients=False)  # warm up: imports, font, grid cache, training buffers
    Picture(size=64).image(trainer)
    base = process_mb(os.getpid(), "VmRSS")
    start = time.perf_counter()
    picture = Picture(size=size)
    images = [picture.image(trainer)]
    for _ in range(frames - 1):
        trainer.step_epoch(gradients=False)  # as the route trains
        images.append(picture.image(trainer))
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
    seconds = time.perf_counter() - start
    return {"base_mb": base, "growth_mb": process_mb(os.getpid(), "VmHWM") - base, "seconds": seconds,
            "frames": len(images), "bytes": buffer.tell()}


MODES = {"route": run_route, "route, 6 classes": lambda size, frames: run_route(size, frames, classes=6),
         "hold all": run_hold_all}


def measure(mode: str, size: int, frames: int) -> dict:
    """Run one mode in a fresh interpreter and return what it printed."""
    command = [sys.executable, __file__, "--child", mode, "--size", str(size), "--frames", str(frames)]
    out = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=900)  # NNPLAY_MAX_GIF_SIZE
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--modes", default=";".join(MODES), help="separated by ';': " + "; ".join(MODES))
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(MODES[args.child](args.size, args.frames)))
        return
    results = {mode: measure(mode, args.size, args.frames) for mode in args.modes.split(";")}
    if args.json:
        print(json.dumps(results, indent=1))
        return
    print(f"GIF {args.size} px, {args.frames} frames, largest network; target: route growth <= {TARGET_MB} MB")
    print(f"{'mode':17} {'growth MB':>10} {'base MB':>8} {'seconds':>8} {'frames':>7} {'GIF MB':>7}")
    for mode, r in results.items():
        print(f"{mode:17} {r['growth_mb']:10.0f} {r['base_mb']:8.0f} {r['seconds']:8.1f} {r['frames']:7d} "
              f"{r['bytes'] / 1e6:7.1f}")


if __name__ == "__main__":
    main()

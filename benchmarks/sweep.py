"""A sweep: 256 C2 runs (8 learning rates × 4 L2 rates × 8 seeds) × 100 epochs, side by side in one run.

    python benchmarks/sweep.py [--epochs 100] [--sample 16] [--chunk 32] [--skip-memory | --memory-only]
                               [--memory-epochs N] [--read-timeout S] [--python PATH]

Prints the wall time and model-epochs/s of:
* nnplay's sweep (``run_sweep``: signature-chunked TrainerGroups in a pool of one process per core);
* nnplay one run at a time (``Trainer.train``, one process), measured on ``--sample`` runs and scaled;
* a PyTorch CPU loop (float32, one model after another, one thread per process, a process per core), measured
  on ``--sample`` runs and scaled;
* Optuna driving PyTorch (a GridSampler over the same grid, one trial per run, ``n_jobs`` = cores), when
  optuna is installed, measured on ``--sample`` trials and scaled;
then successive halving (keep 0.5 every 25 epochs): the best combination (lowest mean test loss over the
seeds) against the full sweep's, and the model-epochs it took; and the server's memory (the peak of every process
of ``nnplay serve``) while the largest sweep its default limits allow runs (``--memory-epochs`` shortens it) and
then while every page of its results is read with history and its figure drawn, with the time of each read.

Targets on the 2-core machine: >= 50x the PyTorch loop, >= 4x nnplay one run at a time; halving finds the
same best combination with <= 40% of the model-epochs; the server grows <= 200 MB.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import CONFIGS, PYTHON_HELP, Server, load_average, process_tree, rss_bytes  # noqa: E402

from nnplay.engine import Trainer, limit_blas_threads  # noqa: E402
from nnplay.engine.features import feature_matrix  # noqa: E402
from nnplay.server.settings import Settings  # noqa: E402
from nnplay.server.sweeps import SweepLimits, run_sweep  # noqa: E402

C2 = CONFIGS["C2"]
GRID = {"learning_rate": [0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1], "reg_rate": [0, 0.0003, 0.001, 0.003]}
SEEDS = 8
CORES = os.cpu_count() or 1


HALVINGS = [25, 20, 10]  # rung spacings (keep 0.5): the 25 first, then denser rungs


def request(epochs: int, halving_every: int | None = None) -> dict:
    body = {"config": C2, "grid": GRID, "seeds": SEEDS, "epochs": epochs}
    if halving_every:
        body["halving"] = {"metric": "test_loss", "every": halving_every, "keep": 0.5}
    return body


def run_configs() -> list[dict]:
    return [{**C2, "learning_rate": lr, "reg_rate": l2, "seed": s}
            for lr in GRID["learning_rate"] for l2 in GRID["reg_rate"] for s in range(SEEDS)]


def lone(config: dict, epochs: int) -> float:
    limit_blas_threads(1)
    Trainer(config).train(epochs)
    return 0.0


def torch_run(config: dict, epochs: int) -> float:
    """One C2 run in PyTorch (float32, one thread): the nnplay run's data and initial weights, SGD with L2 on the
    weights (weight_decay = reg_rate: the gradient of reg_rate · ½‖W‖²), half mean squared error."""
    import torch

    torch.set_num_threads(1)
    trainer = Trainer(config)
    layers = []
    for w, b in trainer.network.get_layers():
        linear = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w.astype(np.float32)))
            linear.bias.copy_(torch.from_numpy(b.astype(np.float32)))
        layers += [linear, torch.nn.Tanh()]
    model = torch.nn.Sequential(*layers)
    x = torch.from_numpy(feature_matrix(np, trainer.data.x_train, config["features"], np.float32, ones_column=False))
    y = torch.from_numpy(trainer.data.y_train.astype(np.float32))[:, None]
    weights = [p for n, p in model.named_parameters() if n.endswith("weight")]
    biases = [p for n, p in model.named_parameters() if n.endswith("bias")]
    optimizer = torch.optim.SGD([{"params": weights, "weight_decay": config["reg_rate"]},
                                 {"params": biases, "weight_decay": 0}], lr=config["learning_rate"])
    batch = config["batch_size"]
    for _ in range(epochs):
        for start in range(0, x.shape[0], batch):
            optimizer.zero_grad()
            loss = 0.5 * ((model(x[start:start + batch]) - y[start:start + batch]) ** 2).mean()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        return float(0.5 * ((model(x) - y) ** 2).mean())


def timed_in_pool(fn, configs: list[dict], epochs: int) -> float:
    """Seconds to run ``fn(config, epochs)`` for each config in a pool of one process per core (pool start
    excluded)."""
    with ProcessPoolExecutor(CORES) as pool:
        list(pool.map(int, range(CORES)))  # the processes are up
        start = time.perf_counter()
        list(pool.map(fn, configs, [epochs] * len(configs)))
        return time.perf_counter() - start


def optuna_seconds(configs: list[dict], epochs: int) -> float | None:
    try:
        import optuna
    except ImportError:
        return None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = {"learning_rate": GRID["learning_rate"], "reg_rate": GRID["reg_rate"], "seed": list(range(SEEDS))}

    def objective(trial) -> float:
        config = {**C2, **{name: trial.suggest_categorical(name, values) for name, values in space.items()}}
        return torch_run(config, epochs)

    study = optuna.create_study(sampler=optuna.samplers.GridSampler(space, seed=0))
    start = time.perf_counter()
    study.optimize(objective, n_trials=len(configs), n_jobs=CORES)
    return time.perf_counter() - start


def best_combination(sweep: dict) -> tuple[dict, float]:
    """The combination with the lowest mean final test loss over its seeds, among those trained to the end."""
    scores: dict[int, list[float]] = {}
    for result in sweep["results"]:
        if result["status"] != "halved" and result["test_loss"] is not None:
            scores.setdefault(result["combination"], []).append(result["test_loss"])
    full = {c: sum(v) / len(v) for c, v in scores.items() if len(v) == SEEDS}
    best = min(full, key=full.get)
    return sweep["combinations"][best], full[best]


class PeakRss:
    """The peak resident memory of a server's processes (all, and the server process alone), sampled every
    ``interval`` seconds in a thread from ``start()`` to ``stop()``."""

    def __init__(self, pid: int, interval: float = 0.1):
        self.pid, self.interval = pid, interval
        self.before, self.main_before = rss_bytes(process_tree(pid)), rss_bytes([pid])
        self.peak, self.main_peak = self.before, self.main_before
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, rss_bytes(process_tree(self.pid)))
            self.main_peak = max(self.main_peak, rss_bytes([self.pid]))

    def start(self) -> "PeakRss":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def growth(self) -> str:
        return (f"grew {(self.peak - self.before) / 1e6:.0f} MB (from {self.before / 1e6:.0f} MB), the server process "
                f"{(self.main_peak - self.main_before) / 1e6:.0f} MB")


def timed_get(port: int, path: str, timeout: float) -> tuple[float, int, Any]:
    """(seconds, bytes, parsed JSON or None for a picture) of one GET; an OSError naming what went wrong."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    start = time.perf_counter()
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    seconds = time.perf_counter() - start
    if response.status != 200:
        raise OSError(f"GET {path}: HTTP {response.status} {body[:300]!r}")
    return seconds, len(body), json.loads(body) if response.getheader("content-type", "").startswith(
        "application/json") else None


def read_every_page(port: int, sweep_id: str, timeout: float) -> list[tuple[float, int]]:
    """Every page of the sweep with histories (the largest page the server allows; a server without pages
    answers the whole sweep at once): (seconds, bytes) of each read."""
    options = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/options", timeout=60).read())
    largest = options["server_limits"].get("max_sweep_page")
    path = f"/api/sweeps/{sweep_id}?history=1" + (f"&limit={largest}" if largest else "")
    reads, rows = [], 0
    while path:
        seconds, size, page = timed_get(port, path, timeout)
        reads.append((seconds, size))
        rows += sum(len(r["history"] or []) for r in page["results"])
        path = page.get("next")
    print(f"  {len(reads)} read(s) with history, {rows} epoch rows: " + ", ".join(
        f"{s:.1f} s/{b / 1e6:.0f} MB" for s, b in reads))
    return reads


def memory_growth(python: str, epochs: int | None, timeout: float) -> None:
    """The largest sweep the default limits allow (``epochs`` shortens it), then every page of its results with
    history and its figure: the peak memory of the server's processes throughout and the time of each read."""
    settings = Settings()
    runs = settings.max_sweep_runs
    epochs = epochs or settings.max_sweep_model_epochs // runs
    per_lr = runs // (SEEDS * 4)
    grid = {"learning_rate": [0.001 * (1 + i) for i in range(per_lr)], "reg_rate": GRID["reg_rate"]}
    with tempfile.TemporaryDirectory(prefix="nnplay-bench-") as data, \
            Server(python, env={"NNPLAY_DATA_DIR": data}) as server:  # never the user's own store
        memory = PeakRss(server.pid).start()
        body = json.dumps({"config": C2, "grid": grid, "seeds": SEEDS, "epochs": epochs}).encode()
        post = urllib.request.Request(f"http://127.0.0.1:{server.port}/api/sweeps", data=body,
                                      headers={"Content-Type": "application/json"})
        sweep_id = json.loads(urllib.request.urlopen(post, timeout=60).read())["id"]
        start = time.perf_counter()
        while (state := server.get(f"/api/sweeps/{sweep_id}?limit=1"))["status"] in ("queued", "running"):
            time.sleep(0.5)
        trained = time.perf_counter() - start
        print(f"memory: {runs} runs x {epochs} epochs ({state['status']}, {trained:.0f} s); the server's processes "
              f"{memory.growth()} while training")
        try:
            read_every_page(server.port, sweep_id, timeout)
            print(f"  after the reads: the server's processes {memory.growth()}")
            print(f"  figure: {timed_get(server.port, f'/api/sweeps/{sweep_id}/plot.png', timeout)[0]:.1f} s")
        except OSError as exc:  # socket.timeout included
            print(f"  no answer: {exc!r}")
        memory.stop()
    print(f"  throughout (training, reads, figure): the server's processes {memory.growth()} (target <= 200 MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--sample", type=int, default=16, help="runs the one-at-a-time contenders are timed on")
    parser.add_argument("--chunk", type=int, default=Settings().sweep_chunk, help="runs per stacked group")
    parser.add_argument("--memory-epochs", type=int, default=None, help="epochs of the memory sweep (default: "
                        "the most max_sweep_model_epochs allows)")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--memory-only", action="store_true", help="only the memory part")
    parser.add_argument("--read-timeout", type=float, default=600.0, help="seconds a read may take")
    parser.add_argument("--python", default=sys.executable, help=PYTHON_HELP)
    args = parser.parse_args()
    limit_blas_threads(1)
    if args.memory_only:
        print(load_average())
        memory_growth(args.python, args.memory_epochs, args.read_timeout)
        return
    limits = SweepLimits.of(Settings())
    total = len(run_configs())
    model_epochs = total * args.epochs
    print(f"{total} C2 runs x {args.epochs} epochs = {model_epochs} model-epochs, {CORES} cores, "
          f"load {load_average()}")

    start = time.perf_counter()
    full = run_sweep(request(args.epochs), limits=limits, chunk_size=args.chunk)
    ours = time.perf_counter() - start
    sample = run_configs()[::total // args.sample][:args.sample]
    scale = total / len(sample)
    start = time.perf_counter()
    for config in sample:
        lone(config, args.epochs)
    contenders = {"nnplay one at a time (1 process)": (time.perf_counter() - start) * scale,
                  f"PyTorch loop ({CORES} processes x 1 thread)": timed_in_pool(torch_run, sample, args.epochs) * scale}
    tuned = optuna_seconds(sample, args.epochs)
    if tuned is not None:
        contenders[f"Optuna + PyTorch (n_jobs={CORES})"] = tuned * scale
    print(f"{'':40} {'seconds':>9} {'model-epochs/s':>15} {'nnplay sweep is':>16}")
    print(f"{'nnplay sweep (pool of ' + str(CORES) + ', chunk ' + str(args.chunk) + ')':40} {ours:9.1f} "
          f"{model_epochs / ours:15.0f} {'':>16}")
    for name, seconds in contenders.items():
        print(f"{name:40} {seconds:9.1f} {model_epochs / seconds:15.0f} {seconds / ours:15.1f}x")
    print(f"(one at a time: timed on {len(sample)} runs and scaled by {scale:g}; 'one at a time' is one process, "
          f"as a script calling POST /api/train in a loop)")

    for every in HALVINGS:
        start = time.perf_counter()
        halved = run_sweep(request(args.epochs, halving_every=every), limits=limits, chunk_size=args.chunk)
        seconds = time.perf_counter() - start
        (best_full, loss_full), (best_halved, loss_halved) = best_combination(full), best_combination(halved)
        print(f"halving (keep 0.5 every {every}): {halved['model_epochs']} model-epochs = "
              f"{halved['model_epochs'] / full['model_epochs']:.0%} of {full['model_epochs']}, {seconds:.1f} s; best "
              f"{best_halved} (mean test loss {loss_halved:.4f}) vs without halving {best_full} ({loss_full:.4f}): "
              f"{'same' if best_full == best_halved else 'DIFFERENT'}")
    if not args.skip_memory:
        memory_growth(args.python, args.memory_epochs, args.read_timeout)


if __name__ == "__main__":
    main()

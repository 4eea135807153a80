"""Engine speed: nnplay against PyTorch CPU (both 1 thread, float32) on the same data and initial weights.

    python benchmarks/engine.py [--seconds 2]

For each configuration it prints epochs/s (training only) and frames/s (one epoch + train and test loss
+ the 100×100 output grid + every hidden neuron's 10×10 thumbnail) for both, and their ratio. nnplay's
frame also carries what the live page shows (accuracy, per-layer gradient and weight norms), PyTorch's
does not, so the ratio is conservative. Targets: frames/s ≥ 6× on C1 and C2, epochs/s ≥ 6× on C3.

C2-BN is C2 with batch normalization on every hidden layer (torch: Linear → BatchNorm1d → Tanh, training mode
for the epoch, evaluation mode for the losses and the grid); target frames/s ≥ 6× as well. Last, the cost of
nnplay's grid (100×100 output and the thumbnails) of C2-BN against C2's: target ≤ 1.3×.
"""

from __future__ import annotations

import argparse
import os

import numpy as np  # noqa: E402
from harness import CONFIGS, rate  # noqa: E402  (benchmarks/harness.py: what every benchmark shares)

from nnplay.engine import Limits, Trainer  # noqa: E402
from nnplay.engine.backend import limit_blas_threads  # noqa: E402
from nnplay.engine.features import feature_matrix  # noqa: E402
from nnplay.engine.probes import grid_points, thumbnail_points  # noqa: E402

TARGETS = {"C1": ("frames", 6.0), "C2": ("frames", 6.0), "C3": ("epochs", 6.0), "C2-BN": ("frames", 6.0)}
NORMALIZED = {"C2-BN": {**CONFIGS["C2"], "normalization": "batch"}}
GRID_COST_TARGET = 1.3  # C2-BN's grid against C2's


class TorchReference:
    """The same network, data, initial weights and update rule in PyTorch (the idiomatic nn.Module way)."""

    def __init__(self, trainer: Trainer):
        import torch

        torch.set_num_threads(1)
        self.torch = torch
        cfg = trainer.config
        layers = []
        norms = [n != "none" for n in cfg.normalizations] + [False]  # the output layer is never normalized
        for (w, b), normalized in zip(trainer.network.get_layers(), norms):
            linear = torch.nn.Linear(w.shape[1], w.shape[0])
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(w.astype(np.float32)))
                linear.bias.copy_(torch.from_numpy(b.astype(np.float32)))
            layers += [linear, *([torch.nn.BatchNorm1d(w.shape[0])] if normalized else []), torch.nn.Tanh()]
        self.model = torch.nn.Sequential(*layers)  # tanh hidden layers and tanh output (square loss)
        linears = [m for m in self.model if isinstance(m, torch.nn.Linear)]
        weights = [m.weight for m in linears]
        others = [p for p in self.model.parameters() if all(p is not w for w in weights)]  # biases, γ, β
        # L2 as the penalty ½λΣW² on weights only == weight_decay λ on the weight group
        self.optimizer = torch.optim.SGD([{"params": weights, "weight_decay": cfg.reg_rate},
                                          {"params": others, "weight_decay": 0.0}], lr=cfg.learning_rate)
        data = trainer.data

        def tensor(points):
            return torch.from_numpy(feature_matrix(np, points, cfg.features, np.float32, ones_column=False))

        self.x_train, self.x_test = tensor(data.x_train), tensor(data.x_test)
        self.y_train = torch.from_numpy(data.y_train.astype(np.float32))[:, None]
        self.y_test = torch.from_numpy(data.y_test.astype(np.float32))[:, None]
        self.grid = tensor(np.concatenate([grid_points(100), thumbnail_points(10)]))
        self.batch = min(cfg.batch_size, len(self.y_train))

    def epoch(self) -> None:
        self.model.train()
        for start in range(0, len(self.y_train), self.batch):
            xb, yb = self.x_train[start:start + self.batch], self.y_train[start:start + self.batch]
            self.optimizer.zero_grad()
            loss = 0.5 * ((self.model(xb) - yb) ** 2).mean()
            loss.backward()
            self.optimizer.step()

    def frame(self) -> None:
        self.epoch()
        self.model.eval()
        with self.torch.no_grad():
            for x, y in ((self.x_train, self.y_train), (self.x_test, self.y_test)):
                float((0.5 * (self.model(x) - y) ** 2).mean())
            h, hidden = self.grid, []
            for module in self.model:
                h = module(h)
                if isinstance(module, self.torch.nn.Tanh):
                    hidden.append(h)
            [t.numpy() for t in hidden]


def nnplay_frame(trainer: Trainer) -> None:
    trainer.step_epoch()
    trainer.grid(100, 10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="measuring time per cell")
    args = parser.parse_args()
    limits = Limits(max_samples=20000)
    limit_blas_threads(1)  # both sides single-threaded: torch.set_num_threads(1) below
    print(f"numpy {np.__version__}, OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '-')}")
    header = f"{'config':6} {'measure':8} {'nnplay/s':>10} {'torch/s':>10} {'ratio':>7}  target"
    print(header)
    print("-" * len(header))
    for name, config in {**CONFIGS, **NORMALIZED}.items():
        ours = Trainer(config, limits=limits)
        ref = TorchReference(Trainer(config, limits=limits))
        rows = {
            "epochs": (rate(ours.run_epoch, args.seconds), rate(ref.epoch, args.seconds)),
            "frames": (rate(lambda: nnplay_frame(ours), args.seconds), rate(ref.frame, args.seconds)),
        }
        for measure, (mine, theirs) in rows.items():
            goal_measure, goal = TARGETS[name]
            target = f">= {goal:.0f}x {'ok' if mine / theirs >= goal else 'MISSED'}" if measure == goal_measure else ""
            print(f"{name:6} {measure:8} {mine:10.1f} {theirs:10.1f} {mine / theirs:6.1f}x  {target}")
    plain, normalized = Trainer(CONFIGS["C2"], limits=limits), Trainer(NORMALIZED["C2-BN"], limits=limits)
    # interleaved, best of five short windows each: a shared machine's load shifts between two long ones
    windows = [[rate(lambda t=t: t.grid(100, 10), args.seconds / 5) for t in (plain, normalized)] for _ in range(5)]
    grids = [max(w[0] for w in windows), max(w[1] for w in windows)]
    cost = grids[0] / grids[1]
    verdict = "ok" if cost <= GRID_COST_TARGET else "MISSED"
    print(f"grid   C2 {grids[0]:.1f}/s, C2-BN {grids[1]:.1f}/s: batch norm costs {cost:.2f}x  "
          f"target <= {GRID_COST_TARGET}x {verdict}")


if __name__ == "__main__":
    main()

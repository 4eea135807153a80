"""Many networks at once: a TrainerGroup of K C2 runs against K separate Trainers and PyTorch, same run.

    python benchmarks/groups.py [--seconds 2] [--sizes 1 8 32 128 512]

For each K it prints model-epochs/s (K × the group's epochs/s) of: the group's stacked step; K separate
Trainers stepped one after another; PyTorch CPU (1 thread, float32) as a loop over K nn.Modules; and
PyTorch's model-ensembling recipe, ``torch.func.vmap`` over stacked parameters (stack_module_state +
functional_call + grad), training the same thing (SGD with L2 on the weights). Every member has its own
seed (data and initial weights). Separate Trainers and the torch loop run one model after another, so they
are measured on min(K, 16) models. Then: the memory a 512-member group of C2 with 250 training points
adds, and the cost per member of the group's grid against a lone grid.

Targets on the 2-core machine, at K = 32: >= 4x the separate Trainers and >= 50x PyTorch's loop; 512
members under 200 MB.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import numpy as np  # noqa: E402
from harness import CONFIGS, rate  # noqa: E402  (benchmarks/harness.py)

from nnplay.engine import Trainer, TrainerGroup  # noqa: E402
from nnplay.engine.backend import limit_blas_threads  # noqa: E402
from nnplay.engine.features import feature_matrix  # noqa: E402

C2 = CONFIGS["C2"]
SEPARATE_MAX = 16


def configs(k: int) -> list[dict]:
    return [{**C2, "seed": 100 + i} for i in range(k)]


class TorchModels:
    """K copies of C2 in PyTorch: trained as a loop over modules, or as one vmap over stacked parameters."""

    def __init__(self, trainers: list[Trainer]):
        import torch

        torch.set_num_threads(1)
        self.torch, cfg = torch, trainers[0].config
        self.models = [self._module(t) for t in trainers]
        self.reg, self.lr = cfg.reg_rate, cfg.learning_rate
        self.batch = min(cfg.batch_size, trainers[0].data.n_train)
        self.x = torch.stack([torch.from_numpy(
            feature_matrix(np, t.data.x_train, cfg.features, np.float32, ones_column=False)) for t in trainers])
        self.y = torch.stack([torch.from_numpy(t.data.y_train.astype(np.float32))[:, None] for t in trainers])
        weights = [[p for n, p in m.named_parameters() if n.endswith("weight")] for m in self.models]
        biases = [[p for n, p in m.named_parameters() if n.endswith("bias")] for m in self.models]
        self.optimizers = [torch.optim.SGD([{"params": w, "weight_decay": self.reg}, {"params": b, "weight_decay": 0}],
                                           lr=self.lr) for w, b in zip(weights, biases)]

    def _module(self, trainer: Trainer):
        torch, layers = self.torch, []
        for w, b in trainer.network.get_layers():
            linear = torch.nn.Linear(w.shape[1], w.shape[0])
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(w.astype(np.float32)))
                linear.bias.copy_(torch.from_numpy(b.astype(np.float32)))
            layers += [linear, torch.nn.Tanh()]
        return torch.nn.Sequential(*layers)

    def loop_epoch(self) -> None:
        n = self.x.shape[1]
        for model, optimizer, x, y in zip(self.models, self.optimizers, self.x, self.y):
            for start in range(0, n, self.batch):
                optimizer.zero_grad()
                loss = 0.5 * ((model(x[start:start + self.batch]) - y[start:start + self.batch]) ** 2).mean()
                loss.backward()
                optimizer.step()

    def vmap_stepper(self):
        """One epoch of every model as vmap(grad(loss)) over stacked parameters, then p ← p − η(g + λW)."""
        torch = self.torch
        from torch.func import functional_call, grad, stack_module_state, vmap

        params, _ = stack_module_state(self.models)
        params = {name: p.detach().clone() for name, p in params.items()}
        base = copy.deepcopy(self.models[0]).to("meta")
        weight_names = [name for name in params if name.endswith("weight")]

        def loss(p, x, y):
            return 0.5 * ((functional_call(base, (p,), (x,)) - y) ** 2).mean()

        step_grad = vmap(grad(loss))
        n = self.x.shape[1]

        def epoch() -> None:
            for start in range(0, n, self.batch):
                grads = step_grad(params, self.x[:, start:start + self.batch], self.y[:, start:start + self.batch])
                with torch.no_grad():
                    for name in weight_names:
                        grads[name].add_(params[name], alpha=self.reg)
                    for name, g in grads.items():
                        params[name].sub_(g, alpha=self.lr)

        return epoch


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="measuring time per cell")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 8, 32, 128, 512])
    args = parser.parse_args()
    limit_blas_threads(1)
    before = rss_mb()
    big = TrainerGroup(configs(512))
    big.step_epoch()
    memory = rss_mb() - before
    del big

    header = (f"{'K':>4} {'group':>9} {'separate':>9} {'torch loop':>11} {'torch vmap':>11} "
              f"{'vs separate':>12} {'vs loop':>8} {'vs vmap':>8}")
    print("C2 model-epochs/s (K x epochs/s), 1 thread each")
    print(header)
    print("-" * len(header))
    for k in args.sizes:
        group = TrainerGroup(configs(k))
        ours = k * rate(lambda: group.step_epoch(), args.seconds)
        sample = [Trainer(c) for c in configs(min(k, SEPARATE_MAX))]
        separate = len(sample) * rate(lambda: [t.step_epoch(gradients=False) for t in sample], args.seconds)
        torch_models = TorchModels(sample)
        loop = len(sample) * rate(torch_models.loop_epoch, args.seconds)
        vmap = k * rate(TorchModels([Trainer(c) for c in configs(k)]).vmap_stepper(), args.seconds)
        print(f"{k:4d} {ours:9.0f} {separate:9.0f} {loop:11.0f} {vmap:11.0f} "
              f"{ours / separate:11.1f}x {ours / loop:7.1f}x {ours / vmap:7.1f}x")
        if k == 32:
            ok = ours / separate >= 4 and ours / loop >= 50
            print(f"     K = 32 targets (>= 4x separate, >= 50x torch loop): {'ok' if ok else 'MISSED'}")

    print(f"\n512 C2 members (250 training points each): +{memory:.0f} MB resident "
          f"({'ok' if memory < 200 else 'MISSED'}, target < 200 MB)")
    group, lone = TrainerGroup(configs(32)), Trainer(C2)
    per_member = rate(lambda: group.grids(density=100, thumb=10), args.seconds) * 32
    single = rate(lambda: lone.grid(100, 10), args.seconds)
    print(f"grid 100x100 + thumbnails: group {per_member:.0f} member-grids/s, lone {single:.0f} grids/s "
          f"({per_member / single:.2f}x)")


if __name__ == "__main__":
    main()

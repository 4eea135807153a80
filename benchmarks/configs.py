"""What the benchmarks share: the measured configurations and the rate helper.

C1 is the playground's default (circle, 2 features, 4-2 tanh); C2 the spiral with the playground's seven
features and six hidden layers of 8 (the largest network the playground draws); C3 C2 on 20,000 points.
"""

from __future__ import annotations

import time

PLAYGROUND_FEATURES = ["x1", "x2", "x1_sq", "x2_sq", "x1_x2", "sin_x1", "sin_x2"]
CONFIGS = {
    "C1": {"dataset": "circle", "features": ["x1", "x2"], "hidden": [4, 2], "activation": "tanh", "loss": "square",
           "optimizer": "sgd", "learning_rate": 0.03, "batch_size": 10, "n_samples": 500, "seed": 1},
    "C2": {"dataset": "spiral", "features": PLAYGROUND_FEATURES, "hidden": [8] * 6, "activation": "tanh",
           "regularization": "l2", "reg_rate": 0.001, "learning_rate": 0.03, "batch_size": 10, "seed": 1},
    "C3": {"dataset": "spiral", "features": PLAYGROUND_FEATURES, "hidden": [8] * 6, "activation": "tanh",
           "regularization": "l2", "reg_rate": 0.001, "learning_rate": 0.03, "batch_size": 100,
           "n_samples": 20000, "seed": 1},
}
TARGETS = {"C1": ("frames", 6.0), "C2": ("frames", 6.0), "C3": ("epochs", 6.0)}


def rate(fn, seconds: float) -> float:
    """Calls per second of ``fn``, after a warm-up, over at least ``seconds``."""
    for _ in range(3):
        fn()
    count, start = 0, time.perf_counter()
    while True:
        fn()
        count += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds and count >= 3:
            return count / elapsed

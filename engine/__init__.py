"""nnplay's training engine: pure NumPy (CuPy on a GPU when asked), no web imports.

Public API::

    from nnplay.engine import Config, Trainer
    run = Trainer({"dataset": "spiral", "hidden": [8, 8], "seed": 3})
    run.train(100)                 # -> list[EpochReport]
    run.grid(density=100)          # -> GridResult (output heatmap, neuron thumbnails)
    run.trace([1.0, -2.0])         # -> backprop values for one point
    run.gradient_check()           # -> worst relative error vs central differences
    run.confusion("test")          # -> confusion matrix (classification)

    group = TrainerGroup([{**config, "seed": s} for s in range(32)])   # 32 runs as one stacked computation
    group.train(100)               # -> one list[EpochReport] per member; group.members[i] is a Trainer
    group_configs(configs)         # -> indices of the configs that can share a group

    Comparison(base_config, [{"optimizer": "sgd"}, {"optimizer": "adam"}]).train(100)   # side by side
    PRESETS["xor_hidden"].config   # lesson presets
"""

if __name__ != "nnplay.engine":  # the checkout's engine/ folder imported on its own, as "engine"
    raise ImportError(f"import nnplay.engine, not {__name__}: engine/ is the package nnplay.engine; "
                      "install the checkout with `pip install -e .` (README, Quick start)")

from .activations import ACTIVATIONS
from .backend import Backend, BackendError, get_backend, gpu_available, limit_blas_threads, to_host
from .compare import Comparison
from .config import Config, Limits
from .datasets import DATASETS
from .features import FEATURES
from .group import Signature, TrainerGroup, group_configs, signature
from .initializers import INITIALIZERS
from .losses import LOSSES
from .optimizers import OPTIMIZERS
from .presets import PRESETS
from .regularizers import REGULARIZERS
from .reports import EpochReport, GridResult
from .schedules import SCHEDULES
from .splits import DataSplit
from .trainer import LIVE_FIELDS, Trainer, validate_config

__all__ = [
    "ACTIVATIONS", "DATASETS", "FEATURES", "INITIALIZERS", "LOSSES", "OPTIMIZERS", "PRESETS", "REGULARIZERS",
    "SCHEDULES", "Backend", "BackendError", "Comparison", "Config", "DataSplit", "EpochReport", "GridResult",
    "LIVE_FIELDS", "Limits", "Signature", "Trainer", "TrainerGroup", "get_backend", "gpu_available",
    "group_configs", "limit_blas_threads", "signature", "to_host", "validate_config",
]
__version__ = "0.1.0"

"""Sweeps: many runs of one base config over a grid or a random search, trained as stacked groups, kept in the
server's store (``/api/sweeps``, README "Sweeps")."""

from .export import playground_link, to_csv
from .local import run_sweep
from .plan import SweepLimits, make_plan
from .schemas import SweepRequest

__all__ = ["SweepLimits", "SweepRequest", "make_plan", "playground_link", "run_sweep", "to_csv"]

"""The figure of a sweep (``GET /api/sweeps/{id}/plot.png|.svg``, ``nnplay sweep --plot``), drawn with matplotlib.

``render(sweep, fmt, metric)`` takes the JSON of a whole sweep (``GET /api/sweeps/{id}``'s pages; with ``history``
for the learning curves, which only the best few combinations need: :func:`with_best_curves` reads just those)
and draws, in fonts readable on a slide:

* one swept field: ``metric`` against the field's values, the mean over seeds as a line with each seed's
  value as a dot and the spread (mean ± one standard deviation) as a band; a log axis where the values span
  a decade or more and are not evenly spaced (learning rates, L2 rates); categories (activations, layer
  sizes) at even steps;
* two swept fields: a heatmap with a cell per pair of values, coloured by the mean over seeds and labelled
  with the mean and its standard deviation (a pair never run is left blank);
* more than two, or a random search: the combinations ranked by their mean, best first (top ``MAX_BARS``);
* a field given one value is part of the setup, not an axis; a combination that successive halving stopped
  shows its metric at the epoch it stopped, marked "halved @N";
* beside it, with history, the test-loss curves (mean over seeds) of the ``BEST_CURVES`` best combinations.

Runs without a finite value of ``metric`` (diverged, not run yet) are left out and counted in the title.
matplotlib is the optional extra ``nnplay[plot]`` (docs/decisions.md); :class:`PlotUnavailable` says how to
install it. Only the object-oriented API is used (``Figure``, never pyplot's global figures), under one lock
because matplotlib does not promise thread safety and the server draws in the engine pool's threads.
"""

from __future__ import annotations

import io
import itertools
import math
import statistics
import threading
from dataclasses import dataclass
from typing import Any, Callable, Literal, Optional

from ..problems import InvalidInput

METRICS = {"test_loss": "test loss", "train_loss": "train loss", "accuracy": "test accuracy", "r2": "test R²",
           "rmse": "test RMSE"}
HIGHER_IS_BETTER = frozenset({"accuracy", "r2"})
INSTALL = "pip install 'nnplay[plot]'"
BEST_CURVES = 3
MAX_BARS = 20
LONG_LABEL = 32  # characters: a longer legend entry goes under the curves, not over them
FONT = 16  # points: tick labels and legends; labels and titles are larger (a slide read from the back row)
SIZE = (14.0, 6.0)  # inches at DPI: 1400 × 600 pixels
DPI = 100

_LOCK = threading.Lock()


class PlotUnavailable(RuntimeError):
    """matplotlib is not installed (it is the optional extra ``nnplay[plot]``)."""


@dataclass(frozen=True)
class Point:
    """One combination: its swept values, its metric over seeds, its mean test-loss curve, and the epoch
    successive halving stopped it at (None when it ran to the end)."""

    values: dict[str, Any]
    scores: list[float]
    curve: list[tuple[int, float]]
    halved_at: Optional[int] = None
    combination: int = 0  # its index in the sweep's combinations

    @property
    def note(self) -> str:
        return f"halved @{self.halved_at}" if self.halved_at is not None else ""

    @property
    def mean(self) -> float:
        return statistics.fmean(self.scores)

    @property
    def spread(self) -> float:
        return statistics.pstdev(self.scores) if len(self.scores) > 1 else 0.0


def metrics_of(sweep: dict) -> list[str]:
    """The metrics this sweep's results can be plotted by (losses always; accuracy or R²/RMSE by task)."""
    seen = {name for row in sweep["results"] for name in METRICS if row.get(name) is not None}
    return [name for name in METRICS if name in seen or name in ("test_loss", "train_loss")]


def check_metric(sweep: dict, metric: Optional[str]) -> str:
    """``metric``, or the default ``test_loss``; :class:`InvalidInput` (422) naming it and the allowed ones."""
    allowed = metrics_of(sweep)
    metric = metric or "test_loss"
    if metric not in allowed:
        raise InvalidInput.single("metric", metric, f"{metric!r} is not a metric of this sweep", ", ".join(allowed),
                                  loc=("query", "metric"))
    return metric


def points(sweep: dict, metric: str) -> tuple[list[Point], int]:
    """Each combination with a finite ``metric`` in at least one run (in the sweep's order), and how many
    runs were left out for having none."""
    rows: dict[int, list[dict]] = {}
    for row in sweep["results"]:
        rows.setdefault(row["combination"], []).append(row)
    result, left_out = [], 0
    for index, values in enumerate(sweep["combinations"]):
        runs = rows.get(index, [])
        scores = [row[metric] for row in runs if _finite(row.get(metric))]
        left_out += len(runs) - len(scores)
        if scores:
            halved = [row["epochs_run"] for row in runs if row["status"] == "halved"]
            result.append(Point(values, scores, _mean_curve(runs), max(halved) if halved else None, index))
    return result, left_out


def with_best_curves(sweep: dict, metric: str, histories: Callable[[list[int]], dict[int, list]]) -> dict:
    """``sweep`` (read without histories) given the histories of the runs whose curves :func:`render` draws: those
    of the best ``BEST_CURVES`` combinations by ``metric`` that have a curve, read one combination at a time
    with ``histories(run indices)`` (the stored ``[[epoch, train_loss, test_loss], ...]`` by index). The
    sweep's result rows are updated in place; the figure is the one its whole histories give."""
    found, _ = points(sweep, metric)
    runs: dict[int, list[dict]] = {}
    for row in sweep["results"]:
        runs.setdefault(row["combination"], []).append(row)
    drawn = 0
    for point in _ranked(found, metric):
        if drawn == BEST_CURVES:
            break
        rows = runs[point.combination]
        stored = histories([row["index"] for row in rows])
        for row in rows:
            points_of = stored.get(row["index"], [])
            row["history"] = [{"epoch": e, "train_loss": tr, "test_loss": te} for e, tr, te in points_of]
        drawn += bool(_mean_curve(rows))
    return sweep


def render(sweep: dict, fmt: Literal["png", "svg"], metric: Optional[str] = None) -> bytes:
    """The sweep's figure as PNG or SVG bytes (see the module's docstring); SVG text stays text."""
    metric = check_metric(sweep, metric)
    figure_module, svg_backend, agg_backend = require_matplotlib()
    found, left_out = points(sweep, metric)
    with _LOCK:
        figure = figure_module.Figure(figsize=SIZE, dpi=DPI, layout="constrained")
        with_curves = any(p.curve for p in found)
        axes = figure.subplots(1, 2, width_ratios=(3, 2)) if with_curves else [figure.subplots()]
        fields = varying_fields(sweep) or sweep["fields"]
        _draw_main(axes[0], sweep, fields, found, metric, figure)
        if with_curves:
            _draw_curves(axes[1], fields, found, metric)
        runs = sum(len(p.scores) for p in found)
        note = f" ({left_out} runs without a value left out)" if left_out else ""
        seeds = len(sweep["seeds"])
        figure.suptitle(f"{METRICS[metric]}: mean over {seeds} seed{'s' * (seeds != 1)} ({runs} runs of "
                        f"{sweep['epochs']} epochs){note}", fontsize=FONT + 4)
        out = io.BytesIO()
        canvas = (svg_backend if fmt == "svg" else agg_backend).FigureCanvas(figure)
        canvas.print_figure(out, format=fmt, metadata=_metadata(fmt))
        return out.getvalue()


# ---- the panels -------------------------------------------------------------------------------------------------
def _draw_main(ax, sweep: dict, fields: list[str], found: list[Point], metric: str, figure) -> None:
    if not found:
        ax.text(0.5, 0.5, "no run has a value yet", ha="center", va="center", fontsize=FONT + 2)
        ax.set_axis_off()
    elif len(fields) == 1 and not sweep["request"].get("random"):
        _draw_line(ax, fields[0], found, metric)
    elif len(fields) == 2 and not sweep["request"].get("random"):
        _draw_heatmap(ax, fields, found, metric, figure)
    else:
        _draw_ranking(ax, fields, found, metric)


def _draw_line(ax, field: str, found: list[Point], metric: str) -> None:
    """``metric`` against one field: the mean line, the seeds as dots, mean ± std as a band."""
    values = [p.values[field] for p in found]
    scale = axis_scale(values)
    xs = values if scale != "category" else list(range(len(values)))
    order = sorted(range(len(found)), key=lambda i: xs[i])
    xs_sorted = [xs[i] for i in order]
    means = [found[i].mean for i in order]
    low = [found[i].mean - found[i].spread for i in order]
    high = [found[i].mean + found[i].spread for i in order]
    ax.fill_between(xs_sorted, low, high, alpha=0.25, color="C0", label="mean ± std over seeds")
    for i in order:
        ax.scatter([xs[i]] * len(found[i].scores), found[i].scores, s=30, color="C0", alpha=0.5, zorder=3)
        if found[i].note:
            ax.annotate(found[i].note, (xs[i], found[i].mean), xytext=(8, 8), textcoords="offset points",
                        fontsize=FONT - 4, color="dimgray")
    ax.plot(xs_sorted, means, "o-", color="C0", linewidth=3, markersize=9, label="mean", zorder=4)
    if scale == "log":
        ax.set_xscale("log")
    ax.set_xticks(xs_sorted, [_label(values[i]) for i in order])
    ax.minorticks_off()
    ax.set_xlabel(field, fontsize=FONT + 2)
    ax.set_ylabel(METRICS[metric], fontsize=FONT + 2)
    ax.tick_params(labelsize=FONT)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=FONT - 2)


def _draw_heatmap(ax, fields: list[str], found: list[Point], metric: str, figure) -> None:
    """A cell per pair of values of two fields (rows: the first field), coloured by the mean."""
    rows = _ordered_unique([p.values[fields[0]] for p in found])
    cols = _ordered_unique([p.values[fields[1]] for p in found])
    grid = [[math.nan] * len(cols) for _ in rows]
    for p in found:
        r, c = _index(rows, p.values[fields[0]]), _index(cols, p.values[fields[1]])
        grid[r][c] = p.mean
        text = f"{_number(p.mean)}\n±{p.spread:.1g}" if len(p.scores) > 1 else _number(p.mean)
        text += f"\n{p.note}" if p.note else ""
        ax.text(c, r, text, ha="center", va="center", fontsize=FONT, gid=f"cell-{r}-{c}",
                color="black", bbox={"facecolor": "white", "alpha": 0.6, "edgecolor": "none", "pad": 2})
    cmap = "viridis" if metric in HIGHER_IS_BETTER else "viridis_r"  # the better, the brighter
    image = ax.imshow(grid, cmap=cmap, aspect="auto", origin="lower")
    colorbar = figure.colorbar(image, ax=ax)
    colorbar.set_label(f"mean {METRICS[metric]}", fontsize=FONT)
    colorbar.ax.tick_params(labelsize=FONT - 2)
    ax.set_xticks(range(len(cols)), [_label(v) for v in cols])
    ax.set_yticks(range(len(rows)), [_label(v) for v in rows])
    ax.set_xlabel(fields[1], fontsize=FONT + 2)
    ax.set_ylabel(fields[0], fontsize=FONT + 2)
    ax.tick_params(labelsize=FONT)


def _draw_ranking(ax, fields: list[str], found: list[Point], metric: str) -> None:
    """The best ``MAX_BARS`` combinations as horizontal bars (best at the top), the spread as error bars."""
    best = _ranked(found, metric)[:MAX_BARS]
    ys = list(range(len(best)))[::-1]
    ax.barh(ys, [p.mean for p in best], xerr=[p.spread for p in best], color="C0", alpha=0.8, capsize=4)
    labels = [_describe(p.values, fields) + (f" ({p.note})" if p.note else "") for p in best]
    ax.set_yticks(ys, labels, fontsize=max(FONT - 4, 10))
    ax.set_xlabel(f"mean {METRICS[metric]}", fontsize=FONT + 2)
    ax.tick_params(axis="x", labelsize=FONT)
    ax.grid(axis="x", alpha=0.3)


def _draw_curves(ax, fields: list[str], found: list[Point], metric: str) -> None:
    """The mean test-loss curves of the best few combinations by ``metric``."""
    for rank, p in enumerate([p for p in _ranked(found, metric) if p.curve][:BEST_CURVES]):
        epochs, losses = zip(*p.curve, strict=True)
        ax.plot(epochs, losses, linewidth=3, color=f"C{rank}", label=_describe(p.values, fields))
    ax.set_title(f"best {BEST_CURVES} by {METRICS[metric]}", fontsize=FONT + 2)
    ax.set_xlabel("epoch", fontsize=FONT + 2)
    ax.set_ylabel("test loss (mean over seeds)", fontsize=FONT + 2)
    ax.tick_params(labelsize=FONT)
    ax.grid(alpha=0.3)
    labels_long = max(len(line.get_label()) for line in ax.get_lines()) > LONG_LABEL if ax.get_lines() else False
    if labels_long:  # under the axes, where the combination's whole description fits
        ax.legend(fontsize=FONT - 4, loc="upper right", bbox_to_anchor=(1.0, -0.18))
    else:
        ax.legend(fontsize=FONT - 4)


# ---- helpers ----------------------------------------------------------------------------------------------------
def varying_fields(sweep: dict) -> list[str]:
    """The swept fields with more than one value (a field given one value is part of the setup, not an axis)."""
    return [f for f in sweep["fields"] if len(_ordered_unique([c[f] for c in sweep["combinations"]])) > 1]


def axis_scale(values: list[Any]) -> Literal["log", "linear", "category"]:
    """How a field's values go on an axis: ``log`` when all are positive numbers spanning a factor of 10 or
    more that are not evenly spaced (0.003, 0.01, 0.03), ``linear`` for other numbers, ``category`` else."""
    if not values or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "category"
    unique = sorted(set(values))
    if len(unique) < 2 or unique[0] <= 0 or unique[-1] / unique[0] < 10:
        return "linear"
    steps = [b - a for a, b in itertools.pairwise(unique)]
    evenly = max(steps) - min(steps) <= 1e-9 * unique[-1]
    return "linear" if evenly and len(unique) > 2 else "log"


def _ranked(found: list[Point], metric: str) -> list[Point]:
    return sorted(found, key=lambda p: p.mean, reverse=metric in HIGHER_IS_BETTER)


def _mean_curve(runs: list[dict]) -> list[tuple[int, float]]:
    """The test loss at each epoch, averaged over the runs that have a finite value there."""
    by_epoch: dict[int, list[float]] = {}
    for row in runs:
        for point in row.get("history") or []:
            if _finite(point.get("test_loss")):
                by_epoch.setdefault(point["epoch"], []).append(point["test_loss"])
    return [(epoch, statistics.fmean(losses)) for epoch, losses in sorted(by_epoch.items())]


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _ordered_unique(values: list[Any]) -> list[Any]:
    """The distinct values, sorted when they are numbers, else in their first order."""
    unique = []
    for v in values:
        if v not in unique:
            unique.append(v)
    return sorted(unique) if axis_scale(unique) != "category" else unique


def _index(values: list[Any], value: Any) -> int:
    return next(i for i, v in enumerate(values) if v == value)


def _label(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return "[" + ", ".join(_label(v) for v in value) + "]"
    return str(value)


def _number(value: float) -> str:
    return f"{value:.3g}"


def _describe(values: dict[str, Any], fields: list[str]) -> str:
    """``lr=0.01, reg_rate=0``; a sweep of seeds alone (no field) has one combination: the setup itself."""
    return ", ".join(f"{k}={_label(values[k])}" for k in fields) or "the setup"


def _metadata(fmt: str) -> dict:
    """No creation date, so one sweep always gives the same bytes."""
    return {"Date": None} if fmt == "svg" else {"Software": None}


def require_matplotlib():
    """matplotlib's Figure and its SVG and Agg canvases, imported on first use (about half a second);
    :class:`PlotUnavailable` when the extra is not installed."""
    try:
        import matplotlib
        from matplotlib import figure
        from matplotlib.backends import backend_agg, backend_svg
    except ImportError:
        raise PlotUnavailable(f"drawing sweeps needs matplotlib, which this server does not have: {INSTALL}") \
            from None
    # SVG text stays <text> (searchable, smaller, editable on a slide); ids are stable from one drawing to the next
    matplotlib.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "nnplay"})
    return figure, backend_svg, backend_agg

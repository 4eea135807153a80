"""``nnplay sweep``: a sweep from a terminal, run in this process or by a server (``--server URL``).

    nnplay sweep CONFIG.json --grid learning_rate=0.003,0.01,0.03 --grid reg_rate=0,0.001 --seeds 5
                 --epochs 300 [--out results.csv|results.json] [--plot sweep.png|sweep.svg] [--metric test_loss]
                 [--random learning_rate=log_uniform:1e-4:1 --samples 20 [--sampler-seed 0]]
                 [--halving test_loss:50:0.5] [--server http://127.0.0.1:8000] [--quiet]

``CONFIG.json`` is a bare engine config or a whole ``POST /api/sweeps`` body; the options add to it (a
``--grid`` field replaces the file's values of that field). Values are JSON where they parse as JSON
(``hidden=[4],[8,8]``, ``shuffle=true,false``) and text otherwise (``activation=relu,tanh``). Locally the sweep
runs with ``run_sweep`` (the server's numbers); with ``--server`` it is posted to ``/api/sweeps`` and polled,
and Ctrl+C cancels it there. Either way the CSV is the server's table (``to_csv``) and a tqdm bar counts
the finished runs on stderr. Failures are one line on stderr with exit code 2, as every ``nnplay`` command.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Optional

from ..cli import Failure, _checked, _number, load_settings

FINAL_STATUSES = ("done", "cancelled", "interrupted", "failed")
POLL_SECONDS = 0.5
HTTP_TIMEOUT = 30.0
DISTRIBUTIONS = ("log_uniform", "uniform", "choice")
LOWER_IS_BETTER = ("test_loss", "train_loss", "rmse")


def add_parser(commands) -> None:
    """The ``sweep`` subcommand's arguments (``commands`` is ``nnplay``'s subparsers)."""
    sweep = commands.add_parser("sweep", help="run a sweep (grid or random search over seeds) and write its table")
    sweep.add_argument("config", type=Path, help="a config JSON file, or a POST /api/sweeps body")
    sweep.add_argument("--grid", action="append", default=[], type=grid_option, metavar="FIELD=V1,V2,...",
                       help="values of a config field; every combination of the --grid fields is run")
    sweep.add_argument("--random", action="append", default=[], type=random_option,
                       metavar="FIELD=log_uniform:A:B|uniform:A:B|choice:V1,V2",
                       help="a random search: each field drawn from its distribution (with --samples)")
    sweep.add_argument("--samples", type=_number("samples", 1), default=None, help="combinations a random search draws")
    sweep.add_argument("--sampler-seed", type=_number("sampler seed", 0), default=None,
                       help="seed of the random search (default 0)")
    sweep.add_argument("--seeds", type=seeds_option, default=None, metavar="N|S1,S2,...",
                       help="how many seeds each combination runs with, or the list of seeds")
    sweep.add_argument("--epochs", type=_number("epochs", 1), default=None,
                       help="epochs per run (required unless in the file)")
    sweep.add_argument("--halving", type=halving_option, default=None, metavar="METRIC:EVERY[:KEEP]",
                       help="successive halving, e.g. test_loss:50:0.5 (keep half every 50 epochs)")
    sweep.add_argument("--out", type=Path, default=None,
                       help="write the results here: .json for the whole sweep, else CSV (default: CSV on stdout)")
    sweep.add_argument("--plot", type=Path, default=None, help="draw the sweep's figure here (.png or .svg)")
    sweep.add_argument("--metric", default=None, help="the figure's metric (default test_loss)")
    sweep.add_argument("--server", default=None, metavar="URL", help="run it on this nnplay server (REST)")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")


# ---- argument values ------------------------------------------------------------------------------------------
def split_values(text: str) -> list[Any]:
    """``0.003,0.01`` -> [0.003, 0.01]; ``[4],[8,8]`` -> [[4], [8, 8]]; ``relu,tanh`` -> ['relu', 'tanh']: commas
    inside brackets or quotes do not split, and each item is JSON where it parses, else text."""
    items, depth, quoted, start = [], 0, False, 0
    for i, char in enumerate(text + ","):
        if char == '"':
            quoted = not quoted
        elif not quoted and char in "[{":
            depth += 1
        elif not quoted and char in "]}":
            depth -= 1
        elif char == "," and depth == 0 and not quoted:
            items.append(text[start:i].strip())
            start = i + 1
    if any(item == "" for item in items):
        raise argparse.ArgumentTypeError(f"empty value in {text!r}")
    return [_value(item) for item in items]


def _value(item: str) -> Any:
    try:
        return json.loads(item)
    except ValueError:
        return item


def _field(text: str, form: str) -> tuple[str, str]:
    field, sep, rest = text.partition("=")
    if not sep or not field.strip() or not rest.strip():
        raise argparse.ArgumentTypeError(f"expected {form}, got {text!r}")
    return field.strip(), rest.strip()


def grid_option(text: str) -> tuple[str, list[Any]]:
    """``FIELD=V1,V2,...`` -> (field, values)."""
    field, rest = _field(text, "FIELD=V1,V2,...")
    return field, split_values(rest)


def random_option(text: str) -> tuple[str, dict]:
    """``FIELD=log_uniform:A:B``, ``FIELD=uniform:A:B`` or ``FIELD=choice:V1,V2`` -> (field, distribution)."""
    field, rest = _field(text, "FIELD=KIND:...")
    kind, _, spec = rest.partition(":")
    if kind not in DISTRIBUTIONS:
        raise argparse.ArgumentTypeError(f"{field}: distribution {kind!r} is not one of {', '.join(DISTRIBUTIONS)}")
    if kind == "choice":
        return field, {"choice": split_values(spec)}
    bounds = spec.split(":")
    try:
        low, high = (float(b) for b in bounds)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{field}: {kind} needs two numbers as {kind}:LOW:HIGH, got {rest!r}") \
            from None
    return field, {kind: [low, high]}


def seeds_option(text: str) -> int | list[int]:
    """``5`` (a count) or ``1,2,3`` (the seeds)."""
    values = split_values(text)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise argparse.ArgumentTypeError(f"--seeds takes a count or a list of integer seeds, got {text!r}")
    return values[0] if len(values) == 1 and "," not in text else values


def halving_option(text: str) -> dict:
    """``METRIC:EVERY[:KEEP]`` -> the request's ``halving`` object."""
    parts = text.split(":")
    try:
        if len(parts) not in (2, 3):
            raise ValueError
        halving = {"metric": parts[0], "every": int(parts[1])}
        if len(parts) == 3:
            halving["keep"] = float(parts[2])
    except ValueError:
        raise argparse.ArgumentTypeError(f"--halving takes METRIC:EVERY[:KEEP], e.g. test_loss:50:0.5, got "
                                         f"{text!r}") from None
    return halving


def build_request(args: argparse.Namespace, body: Any) -> dict:
    """The ``POST /api/sweeps`` body: the file's (a bare config becomes its ``config``) with the options over it."""
    if not isinstance(body, dict) or "config" not in body:
        body = {"config": body}
    if args.grid:
        body["grid"] = {**(body.get("grid") or {}), **dict(args.grid)}
    if args.random:
        body["random"] = {**(body.get("random") or {}), **dict(args.random)}
    for key in ("samples", "sampler_seed", "seeds", "epochs", "halving"):
        if getattr(args, key) is not None:
            body[key] = getattr(args, key)
    return body


# ---- the command --------------------------------------------------------------------------------------------
def sweep(args: argparse.Namespace) -> int:
    try:
        body = json.loads(args.config.read_text())
    except (OSError, ValueError) as exc:
        raise Failure(f"cannot read {args.config}: {getattr(exc, 'strerror', None) or exc}") from None
    request = build_request(args, body)
    if "epochs" not in request:
        raise Failure('give --epochs N (or "epochs" in the file)')
    if not (request.get("grid") or request.get("random")):
        raise Failure("give --grid FIELD=V1,V2 (or --random FIELD=KIND:...), or grid/random in the file")
    _check_outputs(args)
    bar = _progress_bar(args.quiet)
    try:
        result, csv_text = (_remote(args.server, request, bar) if args.server else _local(request, bar))
    finally:
        bar.close()
    text = json.dumps(result, allow_nan=False) if args.out and args.out.suffix == ".json" else csv_text
    if args.out:
        _write(args.out, text.encode(), "results")
    else:
        sys.stdout.write(text)
    if args.plot:
        _draw(args.plot, result, args.metric)
    print(summary(result), file=sys.stderr)
    return 0


def _check_outputs(args: argparse.Namespace) -> None:
    """Before any training: the output paths are writable and the figure can be drawn."""
    for path in (args.out, args.plot):
        if path is not None and (path.is_dir() or not path.parent.is_dir()):
            reason = "it is a directory" if path.is_dir() else f"the directory {path.parent} does not exist"
            raise Failure(f"cannot write {path}: {reason}")
    if args.plot is not None:
        from .plot import METRICS, PlotUnavailable, require_matplotlib

        if args.plot.suffix not in (".png", ".svg"):
            raise Failure(f"--plot {args.plot}: the figure is a .png or a .svg file")
        if args.metric is not None and args.metric not in METRICS:
            raise Failure(f"--metric {args.metric!r} is not a metric; allowed: {', '.join(METRICS)}")

        try:
            require_matplotlib()
        except PlotUnavailable as exc:
            raise Failure(str(exc)) from None


def _local(request: dict, bar) -> tuple[dict, str]:
    """Run the sweep here, in worker processes as a server would (``NNPLAY_SWEEP_PROCESSES``, ``_CHUNK``,
    ``_RAY_ADDRESS`` and the limits apply)."""
    from . import SweepLimits, make_plan, run_sweep, to_csv
    from .executors import make_executor

    settings = load_settings()
    limits = SweepLimits.of(settings)
    _checked(lambda: make_plan(request, limits))  # a bad request fails before any worker starts
    executor = make_executor(settings.sweep_processes, settings.ray_address)
    try:
        result = _checked(lambda: run_sweep(request, limits=limits, progress=_updater(bar), executor=executor,
                                            chunk_size=settings.sweep_chunk))
    finally:
        executor.shutdown()
    return result, to_csv(result)


def _remote(server: str, request: dict, bar) -> tuple[dict, str]:
    """Post the sweep to ``server``, poll it until it ends (Ctrl+C deletes it there), fetch its table (page by
    page)."""
    base = server.rstrip("/") + "/api/sweeps"
    accepted = json.loads(_http("POST", base, request))
    url = f"{base}/{accepted['id']}"
    update = _updater(bar)
    try:
        while True:
            state = json.loads(_http("GET", url))
            update(state["done"], state["total"])
            if state["status"] in FINAL_STATUSES:
                break
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        _http("DELETE", url)
        raise
    if state["status"] in ("failed", "interrupted"):
        more = f": {state.get('error')}" if state.get("error") else ""
        raise Failure(f"the sweep {accepted['id']} on {server} {state['status']}{more}")
    return _every_page(server, f"{url}?history=1"), _http("GET", f"{url}?format=csv")


def _every_page(server: str, url: str) -> dict:
    """The sweep at ``url`` with the results of all its pages (each page's ``next`` read in turn)."""
    sweep = json.loads(_http("GET", url))
    follows = sweep["next"]
    while follows:
        page = json.loads(_http("GET", server.rstrip("/") + follows))
        sweep["results"] += page["results"]
        follows = page["next"]
    sweep["next"] = None
    return sweep


def _http(method: str, url: str, body: Optional[dict] = None) -> str:
    """The response's text; an HTTP error or an unreachable server is a one-line Failure."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:  # noqa: S310 (the user's URL)
            return response.read().decode()
    except urllib.error.HTTPError as exc:
        raise Failure(f"{method} {url}: {exc.code} {_detail(exc.read())}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise Failure(f"cannot reach {url}: {getattr(exc, 'reason', None) or exc}") from None


def _detail(raw: bytes) -> str:
    """The server's error message (``detail``: a text, or a list of problems with their messages)."""
    try:
        detail = json.loads(raw)["detail"]
    except (ValueError, KeyError, TypeError):
        return raw.decode(errors="replace")[:200]
    if isinstance(detail, list):
        messages = [d.get("message") or d.get("msg") or str(d) for d in detail if isinstance(d, dict)]
        return "; ".join(messages) or str(detail)
    return str(detail)


def _progress_bar(quiet: bool):
    from tqdm import tqdm

    return tqdm(total=None, unit="run", file=sys.stderr, disable=quiet, dynamic_ncols=True, desc="sweep")


def _updater(bar) -> Callable[[int, int], None]:
    """``progress(done, total)`` moving ``bar`` to ``done`` of ``total``."""

    def update(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
            bar.refresh()
        bar.update(done - bar.n)

    return update


def _write(path: Path, data: bytes, what: str) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise Failure(f"cannot write the {what} to {path}: {exc.strerror or exc}") from None


def _draw(path: Path, result: dict, metric: Optional[str]) -> None:
    from .plot import render

    _write(path, _checked(lambda: render(result, path.suffix[1:], metric)), "figure")


def summary(result: dict) -> str:
    """One line: the status, the runs and the best combination by mean test loss over its seeds (among those
    that successive halving did not stop, when there are any)."""
    scores: dict[int, list[float]] = {}
    halved = {row["combination"] for row in result["results"] if row["status"] == "halved"}
    for row in result["results"]:
        if row.get("test_loss") is not None:
            scores.setdefault(row["combination"], []).append(row["test_loss"])
    scores = {c: s for c, s in scores.items() if c not in halved} or scores
    line = f"{result['status']}: {result['done']}/{result['total']} runs of {result['epochs']} epochs"
    if scores:
        best = min(scores, key=lambda c: sum(scores[c]) / len(scores[c]))
        values = ", ".join(f"{k}={v}" for k, v in result["combinations"][best].items())
        mean = sum(scores[best]) / len(scores[best])
        line += f"; best test loss {mean:.4g} (mean over {len(scores[best])} seeds) at {values}"
    return line

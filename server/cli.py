"""The ``nnplay`` command: ``serve`` the playground, ``train`` a config from a terminal, print the ``options``.

    nnplay serve [--host 127.0.0.1] [--port 8000] [--workers 1] [--device cpu|gpu]
    nnplay train CONFIG.json --epochs N [--out results.json] [--csv history.csv] [--include grid data]
    nnplay options [--json]

``CONFIG.json`` is either a bare engine config or a whole ``POST /api/train`` body (``{"config": ...,
"epochs": ..., "data": ..., "weights": ...}``); ``train`` writes the same result shape as that endpoint.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

HISTORY_COLUMNS = ("epoch", "train_loss", "test_loss", "total_loss", "train_accuracy", "test_accuracy", "train_r2",
                   "test_r2", "train_rmse", "test_rmse", "learning_rate", "status")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nnplay", description="nnplay: a neural-network playground.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="start the web server (the page at /, the API at /api, /ws)")
    serve.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1, NNPLAY_HOST)")
    serve.add_argument("--port", type=int, default=None, help="port (default 8000, NNPLAY_PORT)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (sessions are per process)")
    serve.add_argument("--device", choices=("cpu", "gpu"), default=None, help="default device for runs")
    serve.add_argument("--log-level", default="info", help="uvicorn's log level")

    train = commands.add_parser("train", help="train a config and write the result (as POST /api/train)")
    train.add_argument("config", type=Path, help="a config JSON file, or a POST /api/train body")
    train.add_argument("--epochs", type=int, default=None, help="epochs to train (required unless in the file)")
    train.add_argument("--out", type=Path, default=None, help="write the result JSON here (default: stdout)")
    train.add_argument("--csv", type=Path, default=None, help="write the per-epoch history as CSV here")
    train.add_argument("--include", nargs="*", default=None, choices=("history", "weights", "grid", "data"),
                       help="what the result carries (default: history weights)")
    train.add_argument("--quiet", action="store_true", help="no progress line")

    options = commands.add_parser("options", help="print every choice (datasets, activations, ...)")
    options.add_argument("--json", action="store_true", help="the full GET /api/options JSON")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``nnplay`` console script (importing ``server`` has set up single-threaded BLAS)."""
    args = _parser().parse_args(argv)
    handler = {"serve": serve, "train": train, "options": options}[args.command]
    code = handler(args)
    if argv is None:
        sys.exit(code)
    return code


# ---- serve -------------------------------------------------------------------------------------------------
def serve(args: argparse.Namespace) -> int:
    """uvicorn with ``create_app`` as the factory, so every worker reads the same NNPLAY_* settings."""
    import uvicorn

    for name in ("host", "port", "device"):
        if getattr(args, name) is not None:
            os.environ[f"NNPLAY_{name.upper()}"] = str(getattr(args, name))
    from .settings import Settings

    settings = Settings()
    if settings.device == "gpu":
        from nnplay.engine import gpu_available

        if not gpu_available():
            print("nnplay serve: --device gpu needs CuPy and a CUDA device (pip install 'nnplay[gpu]')",
                  file=sys.stderr)
            return 2
    uvicorn.run("nnplay.server.main:create_app", factory=True, host=settings.host, port=settings.port,
                workers=args.workers, log_level=args.log_level,
                ws_max_size=max(16 << 20, 4 * settings.max_message_bytes),
                ws_per_message_deflate=settings.ws_compression)
    return 0


# ---- train -------------------------------------------------------------------------------------------------
def _progress(total: int):
    """A callback printing one updating line (epoch, losses) on stderr at most 10 times a second."""
    state = {"shown": 0.0, "start": time.perf_counter()}

    def callback(report) -> None:
        stream = sys.stderr
        now = time.perf_counter()
        if now - state["shown"] < 0.1 and report.epoch < total:
            return
        state["shown"] = now
        train = "—" if report.train_loss is None else f"{report.train_loss:.4f}"
        test = "—" if report.test_loss is None else f"{report.test_loss:.4f}"
        rate = report.epoch / max(now - state["start"], 1e-9)
        stream.write(f"\repoch {report.epoch:>{len(str(total))}}/{total}  train loss {train}  test loss {test}  "
                     f"{rate:,.0f} epochs/s ")
        stream.flush()

    return callback


def train(args: argparse.Namespace) -> int:
    from .errors import InvalidInput
    from .models import TrainRequest, TrainResult
    from .results import train_blocking
    from .settings import Settings

    try:
        body = json.loads(args.config.read_text())
    except (OSError, ValueError) as exc:
        print(f"nnplay train: cannot read {args.config}: {exc}", file=sys.stderr)
        return 2
    if not isinstance(body, dict) or "config" not in body:
        body = {"config": body}
    if args.epochs is not None:
        body["epochs"] = args.epochs
    if args.include is not None:
        body["include"] = args.include
    if "epochs" not in body:
        print("nnplay train: give --epochs N (or \"epochs\" in the file)", file=sys.stderr)
        return 2
    try:
        request = TrainRequest.model_validate(body)
        settings = Settings()
        show = None if args.quiet else _progress(request.epochs)
        result = train_blocking(request, settings.limits(), settings.device, callback=show)
    except InvalidInput as exc:
        for problem in exc.problems:
            print(f"nnplay train: {problem['message']}", file=sys.stderr)
        return 2
    except Exception as exc:  # pydantic ValidationError of the request itself
        from pydantic import ValidationError

        if not isinstance(exc, ValidationError):
            raise
        from .errors import describe

        for problem in describe(exc):
            print(f"nnplay train: {problem['message']}", file=sys.stderr)
        return 2
    if show is not None:
        print(file=sys.stderr)
    result = TrainResult.model_validate(result).model_dump(mode="json")  # exactly what the endpoint answers
    text = json.dumps(result, allow_nan=False)
    if args.out is not None:
        args.out.write_text(text)
    else:
        print(text)
    if args.csv is not None:
        write_csv(args.csv, result.get("history") or [])
    final = result.get("final") or {}
    print(f"{result['status']}: {result['epochs_run']} epochs, train loss {final.get('train_loss')}, "
          f"test loss {final.get('test_loss')}, seed {result['seed']}", file=sys.stderr)
    return 0


def write_csv(path: Path, history: list[dict]) -> None:
    """One row per epoch with the scalar metrics (empty for null)."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HISTORY_COLUMNS)
        for row in history:
            writer.writerow(["" if row.get(k) is None else row[k] for k in HISTORY_COLUMNS])


# ---- options ----------------------------------------------------------------------------------------------
def options(args: argparse.Namespace) -> int:
    from .options import build_options
    from .settings import Settings

    data = build_options(Settings())
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    lines = [f"nnplay {data['version']}"]
    for key in ("datasets", "features", "activations", "losses", "regularizations", "optimizers", "schedules",
                "initializers"):
        lines.append(f"\n{key}:")
        for item in data[key]:
            extra = ""
            if key == "datasets":
                extra = f"  [{item['task'] or 'from labels'}] {item['description']}"
            elif key == "losses":
                extra = f"  ({', '.join(item['tasks'])})"
            elif key in ("optimizers", "schedules") and item["params"]:
                params = item["params"]
                extra = "  " + (", ".join(f"{k}={v}" for k, v in params.items()) if isinstance(params, dict)
                                else ", ".join(params))
            lines.append(f"  {item['name']:<14} {item['label']}{extra}")
    lines.append("\nlimits: " + ", ".join(f"{k}={v}" for k, v in data["limits"].items()))
    lines.append("live fields (set while training): " + ", ".join(data["live_fields"]))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    main()

"""The ``nnplay`` command: ``serve`` the playground, ``train`` a config from a terminal, print the ``options``.

    nnplay serve [--host 127.0.0.1] [--port 8000] [--device cpu|gpu] [--ray ADDRESS]
    nnplay train CONFIG.json --epochs N [--out results.json] [--csv history.csv] [--include grid data]
    nnplay options [--json]
    nnplay sweep CONFIG.json --grid FIELD=V1,V2 [--seeds N] --epochs N [--out results.csv] [--plot sweep.png]
                 [--server URL]   (server/sweeps/cli.py)

``CONFIG.json`` is either a bare engine config or a whole ``POST /api/train`` body (``{"config": ...,
"epochs": ..., "data": ..., "weights": ...}``); ``train`` writes the same result shape as that endpoint.

Every failure (bad arguments, an invalid ``NNPLAY_*`` variable, bad input, a file that cannot be read or
written, an address that cannot be listened on) is one line on stderr and exit code 2; never a traceback.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import NoReturn, Optional, Sequence

HISTORY_COLUMNS = ("epoch", "train_loss", "test_loss", "total_loss", "train_accuracy", "test_accuracy", "train_r2",
                   "test_r2", "train_rmse", "test_rmse", "learning_rate", "status")


LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


class Failure(Exception):
    """A failure the user can fix: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, with errors on one line (``nnplay serve: error: ...``) instead of the usage and the error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _number(kind: str, low: int, high: Optional[int] = None):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{kind} must be an integer, got {text!r}") from None
        if value < low or (high is not None and value > high):
            allowed = f"{low} to {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"{kind} must be {allowed}, got {value}")
        return value

    return parse


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="nnplay", description="nnplay: a neural-network playground.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="start the web server (the page at /, the API at /api, /ws)")
    serve.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1, NNPLAY_HOST)")
    serve.add_argument("--port", type=_number("port", 0, 65535), default=None,
                       help="port (default 8000, NNPLAY_PORT)")
    serve.add_argument("--workers", default=None, help=argparse.SUPPRESS)  # gone: a clear error (WORKERS_GONE)
    serve.add_argument("--device", choices=("cpu", "gpu"), default=None, help="default device for runs")
    serve.add_argument("--log-level", default="info", choices=LOG_LEVELS, help="uvicorn's log level")
    serve.add_argument("--ray", dest="ray_address", metavar="ADDRESS", default=None,
                       help="train sweeps on the Ray cluster at ADDRESS ('auto': the one this machine belongs to; "
                            "'local': start one here); needs nnplay[ray] (NNPLAY_RAY_ADDRESS)")

    train = commands.add_parser("train", help="train a config and write the result (as POST /api/train)")
    train.add_argument("config", type=Path, help="a config JSON file, or a POST /api/train body")
    train.add_argument("--epochs", type=_number("epochs", 0), default=None, help="epochs to train (required unless in the file)")
    train.add_argument("--out", type=Path, default=None, help="write the result JSON here (default: stdout)")
    train.add_argument("--csv", type=Path, default=None, help="write the per-epoch history as CSV here")
    train.add_argument("--include", nargs="*", default=None, choices=("history", "weights", "grid", "data"),
                       help="what the result carries (default: history weights)")
    train.add_argument("--quiet", action="store_true", help="no progress line")

    options = commands.add_parser("options", help="print every choice (datasets, activations, ...)")
    options.add_argument("--json", action="store_true", help="the full GET /api/options JSON")

    from .sweeps.cli import add_parser as add_sweep_parser

    add_sweep_parser(commands)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``nnplay`` console script (importing ``server`` has set up single-threaded BLAS)."""
    args = _parser().parse_args(argv)
    handler = {"serve": serve, "train": train, "options": options, "sweep": sweep}[args.command]
    try:
        code = handler(args)
    except Failure as exc:
        print(f"nnplay {args.command}: {exc}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        print(f"\nnnplay {args.command}: interrupted", file=sys.stderr)
        code = 130
    except BrokenPipeError:  # e.g. `nnplay options | head`: the reader left, nothing to say
        sys.stdout = None  # (no second error when Python flushes stdout at exit)
        code = 1
    if argv is None:
        sys.exit(code)
    return code


def load_settings():
    """The settings from the NNPLAY_* environment; an invalid variable is a :class:`Failure` naming it."""
    from pydantic import ValidationError

    from .settings import Settings

    try:
        return Settings()
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        name = f"NNPLAY_{str(error['loc'][0]).upper()}" if error.get("loc") else "an NNPLAY_* variable"
        raise Failure(f"{name}={os.environ.get(name, '')!r} is invalid: {error['msg'].removeprefix('Value error, ')}") from None


def write_text(path: Path, text: str, what: str) -> None:
    try:
        path.write_text(text)
    except OSError as exc:
        raise Failure(f"cannot write the {what} to {path}: {exc.strerror or exc}") from None


def check_listen(host: str, port: int) -> None:
    """Fail early, in one line, where uvicorn would log the error between its start-up lines."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        raise Failure(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


# ---- serve ----------------------------------------------------------------------------------------------------
WORKERS_GONE = ("--workers is not an option: one instance already trains on every core (engine worker processes, "
                "NNPLAY_ENGINE_PROCESSES), and separate servers on one port would not share their runs and limits; "
                "to run several instances, put them behind nginx as deploy/ does")


def serve(args: argparse.Namespace) -> int:
    """uvicorn with ``create_app`` as the factory, its connections guarded (server/http/connections.py), the
    open-file limit raised and repeated log lines collapsed (server/logs.py)."""
    import uvicorn

    from . import logs
    from .http.connections import GuardedH11Protocol
    from .http.websocket_protocol import WEBSOCKET_PROTOCOL
    from .lifecycle import interrupt

    if args.workers is not None:
        raise Failure(WORKERS_GONE)
    for name in ("host", "port", "device", "ray_address"):
        if getattr(args, name, None) is not None:
            os.environ[f"NNPLAY_{name.upper()}"] = str(getattr(args, name))
    settings = load_settings()
    if settings.device == "gpu":
        from nnplay.engine import gpu_available

        if not gpu_available():
            print("nnplay serve: --device gpu needs CuPy and a CUDA device (pip install 'nnplay[gpu]')",
                  file=sys.stderr)
            return 2
    if settings.ray_address and importlib.util.find_spec("ray") is None:
        from .sweeps.ray_tasks import RAY_MISSING

        print(f"nnplay serve: {RAY_MISSING}", file=sys.stderr)
        return 2
    check_listen(settings.host, settings.port)
    proxies = settings.forwarded_allow_ips
    config = uvicorn.Config("nnplay.server.main:create_app", factory=True, host=settings.host, port=settings.port,
                            log_level=args.log_level, ws=WEBSOCKET_PROTOCOL,
                            ws_max_size=max(16 << 20, 4 * settings.max_message_bytes),
                            ws_per_message_deflate=settings.ws_compression,
                            http=GuardedH11Protocol.configured(settings.head_timeout, settings.body_timeout,
                                                               settings.max_connections),
                            timeout_keep_alive=settings.keep_alive_timeout,
                            proxy_headers=bool(proxies), forwarded_allow_ips=proxies or None)
    logs.install(config, settings.log_repeat_interval)
    note_file_limit(settings)
    try:
        interrupt.run(config)
    finally:
        logs.flush()
    return 0


def note_file_limit(settings) -> None:
    """Raise the open-file limit (NNPLAY_OPEN_FILES, default the hard limit) and say so once; warn when it
    leaves no room for NNPLAY_MAX_CONNECTIONS."""
    import logging

    from .http.connections import connections_room, raise_file_limit

    log = logging.getLogger("nnplay.server")
    before, after = raise_file_limit(settings.open_files)
    if after != before:
        log.info("open-file limit raised from %d to %d", before, after)
    if connections_room(after) < settings.max_connections:
        log.warning("the open-file limit (%d) leaves room for %d connections, fewer than NNPLAY_MAX_CONNECTIONS "
                    "(%d): past it, accepting fails until descriptors free up; raise LimitNOFILE or lower "
                    "NNPLAY_MAX_CONNECTIONS", after, connections_room(after), settings.max_connections)


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
    from .http.schemas import TrainResult
    from .jobs.results import train_blocking

    settings = load_settings()
    request = read_request(args, settings)
    for path in (args.out, args.csv):  # before training, not after it
        if path is not None and (path.is_dir() or not path.parent.is_dir()):
            reason = "it is a directory" if path.is_dir() else f"the directory {path.parent} does not exist"
            raise Failure(f"cannot write {path}: {reason}")
    show = None if args.quiet else _progress(request.epochs)
    result = _checked(lambda: train_blocking(request, settings.limits(), settings.device, callback=show))
    if show is not None:
        print(file=sys.stderr)
    result = TrainResult.model_validate(result).model_dump(mode="json")  # exactly what the endpoint answers
    text = json.dumps(result, allow_nan=False)
    if args.out is not None:
        write_text(args.out, text, "result")
    else:
        print(text)
    if args.csv is not None:
        write_csv(args.csv, result.get("history") or [])
    final = result.get("final") or {}
    print(f"{result['status']}: {result['epochs_run']} epochs, train loss {final.get('train_loss')}, "
          f"test loss {final.get('test_loss')}, seed {result['seed']}", file=sys.stderr)
    return 0


def read_request(args: argparse.Namespace, settings):
    """The ``TrainRequest`` of the config file and the options, checked against the settings' caps."""
    from .http.schemas import TrainRequest
    from .jobs.results import check_request

    try:
        body = json.loads(args.config.read_text())
    except (OSError, ValueError) as exc:
        raise Failure(f"cannot read {args.config}: {getattr(exc, 'strerror', None) or exc}") from None
    if not isinstance(body, dict) or "config" not in body:
        body = {"config": body}
    if args.epochs is not None:
        body["epochs"] = args.epochs
    if args.include is not None:
        body["include"] = args.include
    if "epochs" not in body:
        raise Failure('give --epochs N (or "epochs" in the file)')
    request = _checked(lambda: TrainRequest.model_validate(body))
    _checked(lambda: check_request(request, settings.max_epochs, settings.limits()))
    return request


def _checked(work):
    """``work()``, with bad input (a pydantic ValidationError or InvalidInput) as a one-line :class:`Failure`."""
    from pydantic import ValidationError

    from .problems import InvalidInput, describe

    try:
        return work()
    except (ValidationError, InvalidInput) as exc:
        problems = exc.problems if isinstance(exc, InvalidInput) else describe(exc)
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise Failure(problems[0]["message"] + more) from None


def write_csv(path: Path, history: list[dict]) -> None:
    """One row per epoch with the scalar metrics (empty for null)."""
    try:
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(HISTORY_COLUMNS)
            for row in history:
                writer.writerow(["" if row.get(k) is None else row[k] for k in HISTORY_COLUMNS])
    except OSError as exc:
        raise Failure(f"cannot write the history to {path}: {exc.strerror or exc}") from None


# ---- sweep -------------------------------------------------------------------------------------------------
def sweep(args: argparse.Namespace) -> int:
    from .sweeps.cli import sweep as run

    return run(args)


# ---- options ----------------------------------------------------------------------------------------------
def options(args: argparse.Namespace) -> int:
    from .options import build_options

    data = build_options(load_settings())
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
    grammar = data["formulas"]
    lines.append(f"\nfeature formulas: over {', '.join(grammar['variables'])} with {' '.join(grammar['operators'])}, "
                 f"parentheses, {', '.join(grammar['constants'])} and "
                 f"{', '.join(f['name'] for f in grammar['functions'])}; e.g. {grammar['example']!r}")
    lines.append("\nlimits: " + ", ".join(f"{k}={v}" for k, v in data["limits"].items()))
    lines.append("live fields (set while training): " + ", ".join(data["live_fields"]))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    main()

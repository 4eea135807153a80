"""A rolling restart behind deploy/'s nginx: who is stranded, and which polls of a background run fail.

    python benchmarks/rolling.py [--pages 16] [--gap 30] [--python PATH] [--deploy DIR]

Two ``nnplay serve`` instances started as deploy/systemd/nnplay.service starts them, Debian's nginx with
``--deploy``'s nginx/nnplay.conf in front (all on loopback), ``--pages`` simulated pages (WebSocket clients
that reconnect with the page's backoff and restore their setup) and a script polling two background runs
every 0.1 s: one on the instance restarted first, one started while it drains. Each instance is restarted in
turn, ``--gap`` seconds apart (SIGTERM, wait for the exit, start again): the scenario of the deploy test
``test_a_rolling_restart_...`` (tests/deploy/deploy_helpers.py, ``RollingRestart``), whose targets are every
page back within 5 s of each SIGTERM and no failed poll.

Per restart: the sessions the instance held, the pages that lost theirs, how many were back within 5 s and
within 40 s, the slowest (— if some never came back), the failed reconnection attempts by cause, and the
seconds until the instance exited. Per run: polls, failed polls by status code, the status last seen.

``--python`` serves the checkout installed in another environment (see its help) and ``--deploy`` takes its
deploy/ folder, to measure before and after on the same machine: ``--python /tmp/base/bin/python --deploy
/tmp/base-src/deploy``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from harness import PYTHON_HELP  # the helpers every benchmark shares

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "deploy"), str(ROOT / "tests" / "frontend")]  # the deploy test's machinery
from deploy_helpers import DEPLOY, Instance, Nginx, RollingRestart  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=16)
    parser.add_argument("--gap", type=float, default=30.0, help="seconds between the restarts")
    parser.add_argument("--python", default=sys.executable, help=PYTHON_HELP)
    parser.add_argument("--deploy", type=Path, default=DEPLOY, help="the deploy/ folder whose nginx config to use")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        # outside any checkout, `python -m nnplay` imports the code installed for --python
        cwd = ROOT if args.python == sys.executable else Path(folder)
        instances = [Instance(python=args.python, cwd=cwd, drain_grace="20", idle_timeout="600") for _ in range(2)]
        proxy = Nginx(Path(folder), instances, deploy=args.deploy)
        for instance in instances:
            instance.env["NNPLAY_ALLOWED_ORIGINS"] = proxy.url
        rolling = RollingRestart(instances, proxy, pages=args.pages, gap=args.gap)
        try:
            for instance in instances:
                instance.start()
            proxy.start()
            rolling.play()
        finally:
            rolling.close()
            proxy.stop()
            for instance in instances:
                instance.stop()
    print(f"{args.pages} pages, 2 instances restarted {args.gap:g} s apart; python {args.python}, "
          f"deploy {args.deploy}")
    print("restart  held  lost  back<=5s  back<=40s  slowest s  exited s  failed reconnects")
    for n, seen in enumerate(rolling.restarts, 1):
        slowest = "—" if seen["slowest"] is None else f"{seen['slowest']:.2f}"
        print(f"{n:7d}  {seen['held']:4d}  {seen['moved']:4d}  {seen['back']:8d}  {seen['back_in_40s']:9d}  "
              f"{slowest:>9}  {seen['exited_after']:8.1f}  {seen['refused'] or '-'}")
    print("run      polls  failed polls  last status")
    for n, polled in enumerate(rolling.polls(), 1):
        print(f"{n:3d}      {polled['polls']:5d}  {str(polled['failed'] or '-'):>12}  {polled['status']}")


if __name__ == "__main__":
    main()

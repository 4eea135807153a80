"""Helpers for the deployment tests: ``nnplay serve`` instances started as deploy/systemd/nnplay.service
starts them, and Debian's nginx running deploy/nginx/nnplay.conf, all on loopback ports of their own."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Callable, Optional

from page_helpers import free_port
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync import client as websockets_sync

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNIT = DEPLOY / "systemd" / "nnplay.service"
ENV_FILE = DEPLOY / "systemd" / "nnplay.env"
SITE = DEPLOY / "nginx" / "nnplay.conf"
INSTANCES = DEPLOY / "nginx" / "nnplay-instances.conf"
INSTALLED_COMMAND = "/opt/nnplay/bin/nnplay"  # where the unit expects the console script


def unit_settings(path: Path = UNIT) -> dict[str, list[str]]:
    """``Key: [values]`` of a unit file's lines (every section; a key may repeat)."""
    settings: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def env_file(path: Path = ENV_FILE) -> dict[str, str]:
    """The variables of a systemd EnvironmentFile (KEY=VALUE lines; # starts a comment line)."""
    pairs = (line.split("=", 1) for line in path.read_text().splitlines()
             if "=" in line and not line.lstrip().startswith(("#", ";")))
    return {key.strip(): value.strip() for key, value in pairs}


def unit_command(python: str = sys.executable) -> list[str]:
    """The unit's ExecStart, with ``python -m nnplay`` (this checkout's) for the installed console script."""
    command = shlex.split(unit_settings()["ExecStart"][0])
    assert command[0] == INSTALLED_COMMAND, command
    return [python, "-m", "nnplay", *command[1:]]


def get_json(url: str, timeout: float = 5.0, headers: Optional[dict] = None) -> tuple[int, dict]:
    """(status, JSON body) of a GET, whatever the status."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def post_json(url: str, body: dict, timeout: float = 30.0, headers: Optional[dict] = None) -> tuple[int, dict, dict]:
    """(status, JSON body, headers) of a POST, whatever the status."""
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.load(response), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error), dict(error.headers)


def wait_until(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout} s")


class Instance:
    """One ``nnplay serve`` as the systemd unit runs it: its ExecStart, the settings of its EnvironmentFile
    (deploy/systemd/nnplay.env) with this test's port and ``overrides``. ``python`` and ``cwd`` choose the
    code: ``python -m nnplay`` imports the checkout in ``cwd`` if there is one, else the one installed."""

    def __init__(self, python: str = sys.executable, cwd: Path = ROOT, **overrides: str):
        self.python, self.cwd = python, cwd
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env_file(), "NNPLAY_PORT": str(self.port), "PYTHONUNBUFFERED": "1",
                    "NNPLAY_DATA_DIR": os.environ["NNPLAY_DATA_DIR"],  # this run's folder, not /var/lib/nnplay
                    **{f"NNPLAY_{k.upper()}": v for k, v in overrides.items()}}
        self.process: Optional[subprocess.Popen] = None

    def start(self, timeout: float = 30.0) -> "Instance":
        self.process = subprocess.Popen(unit_command(self.python), cwd=self.cwd, env=self.env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: self.process.poll() is not None or self._answers(), timeout, f"{self} starts")
        assert self.process.poll() is None, f"{self} exited with {self.process.returncode}"
        return self

    def _answers(self) -> bool:
        try:
            return get_json(f"{self.url}/api/health", timeout=1)[0] == 200
        except OSError:
            return False

    def health(self) -> tuple[int, dict]:
        return get_json(f"{self.url}/api/health")

    def terminate(self) -> None:
        """What ``systemctl stop`` does first: SIGTERM."""
        self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def __repr__(self) -> str:
        return f"Instance(port={self.port})"


class Nginx:
    """Debian's nginx with deploy/nginx/nnplay.conf (or ``deploy``/nginx/nnplay.conf) as the site, listening
    on a loopback port, passing to ``instances``; everything it writes (pid, logs, temp files) stays in
    ``folder``."""

    def __init__(self, folder: Path, instances: list[Instance], deploy: Path = DEPLOY):
        self.folder, self.port, self.deploy = folder, free_port(), deploy
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = self._write(instances)
        self.process: Optional[subprocess.Popen] = None

    def _write(self, instances: list[Instance]) -> Path:
        active = [line for line in (self.deploy / INSTANCES.relative_to(DEPLOY)).read_text().splitlines()
                  if line.startswith("server ")]
        assert len(active) == 1, "the template lists one instance (the others are commented out)"
        listed = self.folder / "nnplay-instances.conf"
        listed.write_text("".join(active[0].replace("127.0.0.1:8000", f"127.0.0.1:{i.port}") + "\n"
                                  for i in instances))
        site = (self.deploy / SITE.relative_to(DEPLOY)).read_text()
        site = site.replace("/etc/nginx/nnplay-instances.conf", str(listed))
        site = re.sub(r"^(\s*)listen 80;\n", rf"\1listen 127.0.0.1:{self.port};\n", site, flags=re.M)
        site = re.sub(r"^\s*listen \[::\]:80;\n", "", site, flags=re.M)
        (self.folder / "site.conf").write_text(site)
        temp = "\n".join(f"    {kind}_temp_path {self.folder / kind};" for kind in
                         ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        user = "user root;\n" if os.geteuid() == 0 else ""  # workers may then write the temp folders
        main = self.folder / "nginx.conf"
        main.write_text(f"""{user}daemon off;
worker_processes 2;
pid {self.folder / 'nginx.pid'};
error_log {self.folder / 'error.log'} notice;
events {{ worker_connections 512; }}
http {{
    access_log {self.folder / 'access.log'};
{temp}
    include {self.folder / 'site.conf'};
}}
""")
        return main

    def command(self, *extra: str) -> list[str]:
        return [shutil.which("nginx") or "/usr/sbin/nginx", "-p", str(self.folder), "-c", str(self.config),
                "-e", str(self.folder / "error.log"), *extra]

    def start(self, timeout: float = 15.0) -> "Nginx":
        checked = subprocess.run(self.command("-t"), capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        self.process = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def up() -> bool:
            try:
                return get_json(f"{self.url}/api/health", timeout=1)[0] in (200, 503)
            except OSError:
                return self.process.poll() is not None

        wait_until(up, timeout, "nginx answers")
        assert self.process.poll() is None, (self.folder / "error.log").read_text()
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# ---- what a class does through the proxy: pages that reconnect, a script that polls its run -----------------------
def page_backoff(attempt: int) -> float:
    """Seconds before reconnect number ``attempt`` + 1, as frontend/js/session-socket.js waits (without its
    ±20 % jitter: these pages wait the middle)."""
    return min(8.0, 0.25 * 2 ** attempt)


class SimulatedPage(threading.Thread):
    """A page's live session, as frontend/js/session-socket.js and session.js keep it: it connects to ``url``
    (``origin`` as the browser sends it), restores its setup (a ``configure`` of ``config``, answered with a
    ``state``), reads until the socket closes, then reconnects with the page's backoff. ``events`` keeps
    (monotonic time, "back" | "lost") for each setup restored and each connection lost."""

    def __init__(self, url: str, origin: str, config: dict):
        super().__init__(daemon=True)
        self.url, self.origin, self.config = url, origin, config
        self.events: list[tuple[float, str]] = []
        self.refusals: list[tuple[float, str]] = []  # when and why a connection attempt failed ("HTTP 502")
        self.stopping = threading.Event()

    @property
    def up(self) -> bool:
        return bool(self.events) and self.events[-1][1] == "back"

    def back_since(self, moment: float) -> Optional[float]:
        """When the page last had its setup restored, if that is after ``moment`` and it is still up."""
        return self.events[-1][0] if self.up and self.events[-1][0] > moment else None

    def lost_since(self, moment: float) -> bool:
        return any(kind == "lost" and at > moment for at, kind in self.events)

    def run(self) -> None:
        attempt = 0
        while not self.stopping.is_set():
            try:
                with websockets_sync.connect(self.url, origin=self.origin, open_timeout=10) as socket:
                    self._restore(socket)
                    attempt = 0
                    while not self.stopping.is_set():
                        try:
                            socket.recv(timeout=0.2)
                        except TimeoutError:
                            pass
            except ConnectionClosed:
                pass
            except (InvalidStatus, OSError, TimeoutError) as error:
                self.refusals.append((time.monotonic(), f"HTTP {error.response.status_code}"
                                      if isinstance(error, InvalidStatus) else type(error).__name__))
            if self.stopping.is_set():
                return
            if self.up:
                self.events.append((time.monotonic(), "lost"))
            self.stopping.wait(page_backoff(attempt))
            attempt += 1

    def _restore(self, socket) -> None:
        hello = json.loads(socket.recv(timeout=10))
        assert hello["type"] == "hello", hello
        socket.send(json.dumps({"type": "configure", "id": 1, "config": self.config}))
        while True:
            message = socket.recv(timeout=10)
            if isinstance(message, str) and (reply := json.loads(message))["type"] == "state" and reply["id"] == 1:
                assert reply["config"]["seed"] == self.config["seed"], reply["config"]
                self.events.append((time.monotonic(), "back"))
                return

    def stop(self) -> None:
        self.stopping.set()
        self.join(10)


class RunPoller(threading.Thread):
    """A script polling its background run through the proxy every ``interval`` seconds until the run is no
    longer running; ``answers`` keeps (monotonic time, status code, run status or error detail) of each poll."""

    def __init__(self, url: str, headers: dict, interval: float = 0.1):
        super().__init__(daemon=True)
        self.url, self.headers, self.interval = url, headers, interval
        self.answers: list[tuple[float, int, str]] = []
        self.last: dict = {}

    def run(self) -> None:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            code, body = self._poll()
            self.answers.append((time.monotonic(), code, body.get("status") or str(body.get("detail"))))
            if code == 200:
                self.last = body
                if body["status"] != "running":
                    return
            time.sleep(self.interval)

    def _poll(self) -> tuple[int, dict]:
        request = urllib.request.Request(self.url, headers=self.headers)
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                code, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            code, raw = error.code, error.read()
        except OSError as error:
            return 0, {"detail": str(error)}
        try:
            return code, json.loads(raw)
        except ValueError:  # nginx's own error page
            return code, {"detail": raw[:80].decode(errors="replace")}

    @property
    def failures(self) -> list[tuple[int, str]]:
        return [(code, why) for _, code, why in self.answers if code != 200]

    def running_after(self, moment: float) -> bool:
        return any(at > moment and why == "running" for at, code, why in self.answers if code == 200)


# ---- a rolling restart: every instance restarted in turn under a class of pages and a script's runs ---------------
# 5000 points through seven features and six layers (a few milliseconds an epoch): still training when the
# signal comes, done well within the drain grace
LONG_RUN = {"config": {"dataset": "spiral", "n_samples": 5000, "hidden": [8] * 6, "seed": 3,
                       "features": ["x1", "x2", "x1_sq", "x2_sq", "x1_x2", "sin_x1", "sin_x2"]}, "epochs": 500}


def held_sessions(instance: Instance) -> int:
    """The live sessions an instance holds; 0 once it has exited."""
    try:
        return instance.health()[1]["sessions"]
    except OSError:
        return 0


class RollingRestart:
    """A rolling restart during a lesson: ``pages`` simulated pages through ``proxy``, a script (cookie
    ``nnplay_client=rolling``) with a background run on one instance, then every instance restarted in turn,
    that one first, ``gap`` seconds apart (SIGTERM, wait for the exit, start again). While the first drains,
    the script starts a second run: the draining instance refuses it, another takes it, and the script's key
    still points at the first. :meth:`play` runs it; ``restarts`` and ``pollers`` hold what was seen."""

    def __init__(self, instances: list[Instance], proxy: Nginx, pages: int = 16, gap: float = 30.0,
                 back_within: float = 5.0, run: dict = LONG_RUN):
        self.instances, self.proxy, self.gap, self.back_within, self.run = instances, proxy, gap, back_within, run
        self.pages = [SimulatedPage(proxy.url.replace("http", "ws") + "/ws", proxy.url,
                                    {"dataset": "circle", "hidden": [3], "seed": 100 + n}) for n in range(pages)]
        self.script = {"Cookie": "nnplay_client=rolling"}
        self.pollers: list[RunPoller] = []
        self.restarts: list[dict] = []
        self.began = 0.0  # when the first SIGTERM went out (monotonic)
        self.second_elsewhere = False  # the run started during the first drain is on another instance

    def play(self) -> None:
        for page in self.pages:
            page.start()
        wait_until(lambda: all(page.up for page in self.pages), 60, "every page has its session")
        first = self._start_run()
        holder = next(i for i in self.instances if get_json(f"{i.url}/api/runs/{first}")[0] == 200)
        order = [holder] + [i for i in self.instances if i is not holder]
        self.began = time.monotonic()
        for n, instance in enumerate(order):
            time.sleep(max(0.0, self.began + n * self.gap - time.monotonic()))
            self.restarts.append(self._restart(instance, self._start_second_run if n == 0 else lambda: None))
        for poller in self.pollers:
            poller.join(180)

    def close(self) -> None:
        for page in self.pages:
            page.stop()

    def _start_run(self) -> str:
        status, run, _ = post_json(f"{self.proxy.url}/api/runs", self.run, headers=self.script)
        assert status == 202, run
        self.pollers.append(RunPoller(f"{self.proxy.url}/api/runs/{run['id']}", self.script))
        self.pollers[-1].start()
        return run["id"]

    def _start_second_run(self) -> None:
        second = self._start_run()
        ready = [instance for instance in self.instances if instance.health()[0] == 200]  # not the draining one
        self.second_elsewhere = any(get_json(f"{i.url}/api/runs/{second}")[0] == 200 for i in ready)

    def _restart(self, instance: Instance, while_draining: Callable[[], object]) -> dict:
        """SIGTERM, wait for the exit, start again; ``while_draining`` once the instance has closed its sessions.
        Returns what the pages saw: how many lost their session, how many of those had their setup back
        within ``back_within`` s and within 40 s, the slowest, and why attempts to reconnect failed."""
        held, signalled = held_sessions(instance), time.monotonic()
        exited: list[float] = []

        def note_the_exit() -> None:
            instance.wait(120)
            exited.append(time.monotonic())

        watch = threading.Thread(target=note_the_exit)
        instance.terminate()
        watch.start()
        wait_until(lambda: sum(page.lost_since(signalled) for page in self.pages) >= held, 10,
                   f"{instance} closes its sessions")
        while_draining()
        moved = [page for page in self.pages if page.lost_since(signalled)]
        try:
            wait_until(lambda: all(page.back_since(signalled) for page in moved), 40, "the pages come back")
        except AssertionError:
            pass  # in the figures
        back = [page.back_since(signalled) - signalled for page in moved if page.back_since(signalled)]
        refused = Counter(why for page in moved for at, why in page.refusals if at > signalled)
        watch.join(120)
        instance.start()
        return {"held": held, "moved": len(moved), "back": sum(seconds <= self.back_within for seconds in back),
                "back_in_40s": len(back), "slowest": round(max(back), 2) if len(back) == len(moved) else None,
                "refused": dict(refused), "exited_after": round(exited[0] - signalled, 1)}

    def polls(self) -> list[dict]:
        """Per run: the polls made, the failed ones by status code, and the status last seen."""
        return [{"polls": len(p.answers), "failed": dict(Counter(code for code, _ in p.failures)),
                 "status": p.last.get("status")} for p in self.pollers]

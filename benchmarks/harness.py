"""Shared pieces of the live-session benchmarks (ws_load.py, classroom.py, soak.py).

* :data:`CONFIGS` — the benchmark setups C1, C2, C3 (benchmarks/engine.py and groups.py time the engine on
  them) and :func:`rate`, calls per second of a function;
* :class:`Server` — ``nnplay serve`` with its defaults on a free loopback port, run from a checkout's code;
* :class:`Student` and :func:`run_students` — K WebSocket clients, each one live session that configures,
  plays and decodes every frame, counting frames and epochs inside a measuring window;
* :func:`measure` — one window over running students: their rates, the server's CPU (all its processes),
  the client's own CPU and ``GET /api/health`` latency, polled by a separate process so that the client's
  work does not count;
* :func:`process_tree`, :func:`cpu_seconds`, :func:`rss_bytes` — the server's processes from Linux /proc;
* :func:`engine_rates` — the engine alone in this process, the reference printed beside live figures.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

PYTHON_HELP = ("the Python whose installed nnplay serves (default: this one). To measure another checkout, "
               "install it in an environment of its own: python -m venv --system-site-packages /tmp/base && "
               "/tmp/base/bin/pip install --no-deps --no-build-isolation -e /tmp/base-src; then --python "
               "/tmp/base/bin/python")

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def load_average() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


# ---- the server's processes (Linux /proc) ----------------------------------------------------------------
def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants: the server may run engine work in worker processes."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
        children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        tree.append(todo.pop())
        todo.extend(children.get(tree[-1], []))
    return tree


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of the processes (those that ended meanwhile count 0)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def rss_bytes(pids: list[int]) -> int:
    """Resident memory of the processes, summed (pages shared between them count once per process)."""
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        kb = next((line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")), "0")
        total += int(kb) * 1024
    return total


def server_code(python: str) -> str:
    """Where the server code that ``python`` imports lives (the checkout being measured)."""
    return subprocess.run([python, "-c", "import nnplay.server as s, os; print(os.path.dirname(s.__file__))"],
                          capture_output=True, text=True, check=True).stdout.strip()


# ---- nnplay serve ------------------------------------------------------------------------------------------
class Server:
    """``python -m nnplay serve`` of the interpreter ``python`` (this one by default; another environment's to
    measure the checkout installed there, see :data:`PYTHON_HELP`) on a free loopback port, with its default
    settings unless ``env`` overrides some (the per-address session cap lifted: every student here shares one
    address). A context manager."""

    def __init__(self, python: str = sys.executable, env: Optional[dict[str, str]] = None):
        # every simulated student comes from 127.0.0.1, as if a whole class shared one NAT address
        self.python, self.env = python, {"NNPLAY_MAX_SESSIONS_PER_ADDRESS": "10000", **(env or {})}
        self.port = free_port()
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws"
        self.process: Optional[subprocess.Popen] = None

    def __enter__(self) -> "Server":
        command = [self.python, "-m", "nnplay", "serve", "--host", "127.0.0.1", "--port", str(self.port),
                   "--log-level", "warning"]
        self.process = subprocess.Popen(command, env={**os.environ, **self.env}, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nnplay serve exited with code {self.process.returncode}")
            try:
                self.get("/api/health")
                return self
            except OSError:
                time.sleep(0.1)
        self.__exit__()
        raise RuntimeError(f"nnplay serve did not answer on port {self.port}")

    def __exit__(self, *exc: Any) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def get(self, path: str) -> Any:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                raise OSError(f"GET {path}: HTTP {response.status}")
            return json.loads(body)
        finally:
            conn.close()

    def post(self, path: str, body: dict) -> Any:
        """The JSON answer of a POST (an OSError for any status but 200 and 201)."""
        return self._request("POST", path, json.dumps(body).encode(), {"Content-Type": "application/json"})

    def delete(self, path: str, key: str) -> None:
        """DELETE with a bearer key (a room's); an OSError for a status other than 204."""
        self._request("DELETE", path, None, {"Authorization": f"Bearer {key}"})

    def _request(self, method: str, path: str, body: Optional[bytes], headers: dict[str, str]) -> Any:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body, headers)
            response = conn.getresponse()
            answer = response.read()
            if response.status not in (200, 201, 204):
                raise OSError(f"{method} {path}: HTTP {response.status} {answer[:200]!r}")
            return json.loads(answer) if answer else None
        finally:
            conn.close()

    def wait_idle(self, timeout: float = 20.0) -> None:
        """Wait until the server holds no live session (the previous trial's have closed)."""
        deadline = time.monotonic() + timeout
        while self.get("/api/health")["sessions"] and time.monotonic() < deadline:
            time.sleep(0.2)


# ---- students ------------------------------------------------------------------------------------------------
@dataclass
class Student:
    """One live session: the ``configure`` body it sends (config, and variants/labels for a comparison), an
    optional ``view`` (None keeps the server's default speed and fps), and what it saw while measuring."""

    setup: dict[str, Any]
    view: Optional[dict[str, Any]] = None
    label: str = ""  # what it runs (a setup's or a lesson's name), for the verdicts
    touch_every: Optional[float] = None  # seconds between re-sending its pace, as a student touching a control
    frames: int = 0
    bytes: int = 0
    first: Optional[tuple[float, int]] = None  # (time, epoch) of the first and last frame in the window
    last: Optional[tuple[float, int]] = None
    pace: Optional[dict[str, Any]] = None  # the speed and fps its session reported
    stopped: Optional[str] = None  # the status, when its training stopped by itself
    error: Optional[str] = None  # why the connection failed or closed early
    started: asyncio.Event = field(default_factory=asyncio.Event)  # a frame of its own run has arrived

    def record(self, now: float, epoch: int, size: int) -> None:
        self.frames += 1
        self.bytes += size
        self.first = self.first or (now, epoch)
        self.last = (now, epoch)

    def epochs_per_s(self) -> float:
        """Epochs per second between the first and the last frame of the window (from the epochs they carry)."""
        if not (self.first and self.last and self.last[0] > self.first[0]):
            return 0.0
        return (self.last[1] - self.first[1]) / (self.last[0] - self.first[0])


async def run_student(url: str, student: Student, measuring: asyncio.Event, stop: asyncio.Event) -> None:
    """Connect, configure and play, then follow the session until ``stop``; a failure is noted on the student."""
    import websockets

    try:
        async with websockets.connect(url, max_size=2**24, compression=None, open_timeout=60) as ws:
            if student.view:
                await ws.send(json.dumps({"type": "view", "id": "view", **student.view}))
            await ws.send(json.dumps({"type": "configure", "id": "go", **student.setup, "play": True}))
            await follow(ws, student, measuring, stop)
            await ws.send(json.dumps({"type": "pause"}))
    except (OSError, asyncio.TimeoutError, websockets.WebSocketException) as exc:
        student.error = f"{type(exc).__name__}: {exc}"
        student.started.set()


async def follow(ws, student: Student, measuring: asyncio.Event, stop: asyncio.Event) -> None:
    """Read and decode every message until ``stop``; frames of the student's own run count while ``measuring``
    (in compare mode one per tick: variant 0's). Every ``touch_every`` seconds re-send the pace."""
    from nnplay.server.live.frames import decode

    configured, touched = False, time.monotonic()
    while not stop.is_set():
        if student.touch_every and student.pace and time.monotonic() - touched > student.touch_every:
            await ws.send(json.dumps({"type": "view", "id": "touch", "speed": student.pace["speed"]}))
            touched = time.monotonic()
        try:
            message = await asyncio.wait_for(ws.recv(), 0.5)
        except asyncio.TimeoutError:
            continue
        if isinstance(message, str):
            configured = note_json(student, json.loads(message)) or configured
            continue
        header, _ = decode(message)
        if header["type"] == "frame" and configured and header.get("variant", 0) == 0:
            student.started.set()
            if measuring.is_set():
                student.record(time.perf_counter(), header["epoch"], len(message))


def note_json(student: Student, message: dict[str, Any]) -> bool:
    """Note what a JSON message says about the student's run; True when it answers the ``configure``."""
    if message["type"] == "error":
        student.error = message["message"]
    elif message["type"] == "state" and message["id"] is None and message["status"] != "ok":
        student.stopped = message["status"]  # diverged or stopped early: training ended by itself
    elif message["type"] == "state" and message["id"] == "go":
        student.pace = {"speed": message["speed"], "fps": message["view"]["fps"]}
        return True
    return False


# ---- a lecturer's probe: commands answered while the class runs ------------------------------------------
@dataclass
class Probe:
    """One more session beside the class (not one of its K) that, once a ``period`` while measuring, pauses,
    changes its optimiser (its run moves to another stack and back) and plays again, timing each answer:
    the documented ``pause`` latency (≤ 100 ms) and the hitch a live change costs."""

    setup: dict[str, Any]
    period: float = 1.0
    pause_ms: list[float] = field(default_factory=list)  # pause sent → its state
    set_ms: list[float] = field(default_factory=list)  # set optimizer sent → its state
    resume_ms: list[float] = field(default_factory=list)  # play sent → the first frame of a new epoch
    error: Optional[str] = None


async def run_probe(url: str, probe: Probe, measuring: asyncio.Event, stop: asyncio.Event) -> None:
    import websockets

    try:
        async with websockets.connect(url, max_size=2**24, compression=None, open_timeout=60) as ws:
            await ws.send(json.dumps({"type": "configure", "id": "go", **probe.setup, "play": True}))
            await answer(ws, "go")
            optimizers = ("adam", probe.setup["config"].get("optimizer", "sgd"))
            while not stop.is_set():
                await asyncio.sleep(probe.period)
                if not measuring.is_set():
                    continue
                started = time.perf_counter()
                paused = await command(ws, {"type": "pause", "id": "pause"})
                probe.pause_ms.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                await command(ws, {"type": "set", "id": "set", "values": {"optimizer": optimizers[0]}})
                probe.set_ms.append((time.perf_counter() - started) * 1000)
                optimizers = optimizers[::-1]
                started = time.perf_counter()
                await command(ws, {"type": "play", "id": "play"})
                await frame_after(ws, paused["epoch"])
                probe.resume_ms.append((time.perf_counter() - started) * 1000)
    except (OSError, asyncio.TimeoutError, websockets.WebSocketException, RuntimeError) as exc:
        probe.error = f"{type(exc).__name__}: {exc}"


async def command(ws, message: dict[str, Any]) -> dict[str, Any]:
    await ws.send(json.dumps(message))
    return await answer(ws, message["id"])


async def answer(ws, command_id: str, timeout: float = 10.0, kind: str = "state") -> dict[str, Any]:
    """The message of type ``kind`` answering ``command_id`` (frames and other messages before it are read and
    dropped); an ``error`` raises."""
    while True:
        message = await asyncio.wait_for(ws.recv(), timeout)
        if isinstance(message, str):
            reply = json.loads(message)
            if reply["type"] == "error":
                raise RuntimeError(reply["message"])
            if reply["type"] == kind and reply["id"] == command_id:
                return reply


async def frame_after(ws, epoch: int, timeout: float = 10.0) -> None:
    from nnplay.server.live.frames import decode

    while True:
        message = await asyncio.wait_for(ws.recv(), timeout)
        if not isinstance(message, str) and decode(message)[0]["epoch"] > epoch:
            return


# ---- /api/health, polled from its own process ------------------------------------------------------------
def poll_health(port: int, seconds: float, interval: float = 0.02) -> list[float]:
    """Latencies (ms) of ``GET /api/health`` every ``interval`` seconds for ``seconds``, on one connection."""
    latencies, end = [], time.perf_counter() + seconds
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    while time.perf_counter() < end:
        start = time.perf_counter()
        conn.request("GET", "/api/health")
        conn.getresponse().read()
        latencies.append((time.perf_counter() - start) * 1000)
        time.sleep(max(0.0, interval - (time.perf_counter() - start)))
    return latencies


async def health_latencies(port: int, seconds: float) -> list[float]:
    poller = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--poll-health", str(port), str(seconds), stdout=asyncio.subprocess.PIPE)
    return json.loads((await poller.communicate())[0])


# ---- one measuring window ------------------------------------------------------------------------------------
@dataclass
class Window:
    """What one measuring window saw."""

    students: list[Student]
    probe: Optional[Probe]
    seconds: float
    server_cpu: float  # CPU seconds per second of all the server's processes (1.0 = one core busy)
    client_cpu: float  # the same for this process (the clients), which shares the machine
    health_ms: list[float]

    def epochs_per_s(self) -> list[float]:
        return [s.epochs_per_s() for s in self.students]

    def frames_per_s(self) -> list[float]:
        return [s.frames / self.seconds for s in self.students]


async def start_students(server: Server, students: list[Student], measuring: asyncio.Event,
                         stop: asyncio.Event) -> list[asyncio.Task]:
    """Start every student; return once each has a frame of its own run or failed (or after a minute and a
    second per student: the late ones then show as slow)."""
    tasks = [asyncio.create_task(run_student(server.ws_url, s, measuring, stop)) for s in students]
    try:
        await asyncio.wait_for(asyncio.gather(*(s.started.wait() for s in students)), 60 + len(students))
    except asyncio.TimeoutError:
        pass
    return tasks


async def measure(server: Server, students: list[Student], seconds: float, warmup: float,
                  probe: Optional[Probe] = None) -> Window:
    """Start every student (and the ``probe``), wait until each has a frame of its own run (or failed), let
    them run ``warmup`` seconds more, then measure for ``seconds``."""
    measuring, stop = asyncio.Event(), asyncio.Event()
    tasks = await start_students(server, students, measuring, stop)
    if probe is not None:
        tasks.append(asyncio.create_task(run_probe(server.ws_url, probe, measuring, stop)))
    await asyncio.sleep(warmup)
    health = asyncio.create_task(health_latencies(server.port, seconds))
    cpu0, client0, t0 = cpu_seconds(process_tree(server.pid)), time.process_time(), time.perf_counter()
    measuring.set()
    await asyncio.sleep(seconds)
    measuring.clear()
    cpu1, client1, t1 = cpu_seconds(process_tree(server.pid)), time.process_time(), time.perf_counter()
    latencies = await health
    stop.set()
    await asyncio.gather(*tasks)
    window = t1 - t0
    return Window(students, probe, window, (cpu1 - cpu0) / window, (client1 - client0) / window, latencies)


# ---- the engine alone --------------------------------------------------------------------------------------
def engine_rates(name: str, seconds: float = 2.0) -> dict[str, float]:
    """Calls per CPU second of this process (one BLAS thread, as the server runs) of the engine's ``run_epoch``
    (benchmarks/engine.py's measure), ``step_epoch`` (an epoch with the losses a live session reports) and a
    frame's grid (``grid(100, 10)``). CPU seconds, not wall-clock ones: on a shared machine the time other
    processes take would otherwise count against the engine; on an idle one the two agree."""
    from nnplay.engine import Trainer, limit_blas_threads

    limit_blas_threads(1)
    trainer = Trainer(CONFIGS[name])
    calls = {"run_epoch": trainer.run_epoch, "step_epoch": trainer.step_epoch, "grid": lambda: trainer.grid(100, 10)}
    rates = {}
    for method, fn in calls.items():
        fn()
        count, start = 0, time.process_time()
        while time.process_time() - start < seconds:
            fn()
            count += 1
        rates[method] = count / (time.process_time() - start)
    return rates


if __name__ == "__main__" and sys.argv[1:2] == ["--poll-health"]:
    print(json.dumps(poll_health(int(sys.argv[2]), float(sys.argv[3]))))

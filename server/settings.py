"""Every server setting in one ``BaseSettings`` class, each overridable by an ``NNPLAY_*`` environment variable.

``NNPLAY_DEVICE`` is the same variable the engine reads for configs that name no device. List settings
(``NNPLAY_ALLOWED_ORIGINS``) take JSON (``'["https://a.example"]'``) or a comma-separated string.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal, Optional

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from nnplay.engine import Limits

FRONTEND_DIR = Path(__file__).resolve().parent.parent / "frontend"  # nnplay/frontend in a wheel, frontend/ here


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/nnplay``, or ``~/.local/share/nnplay`` (the XDG base-directory default)."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "nnplay"


class Settings(BaseSettings, Limits):
    """Server and session settings, plus the engine's :class:`Limits` (max_layers, max_neurons, min/max_samples,
    max_batch_size, min/max_grid_density: inherited, so they are declared once, in the engine, and each
    still has its ``NNPLAY_*`` variable). Create once per app (``create_app(settings)``)."""

    model_config = SettingsConfigDict(env_prefix="NNPLAY_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    device: Optional[Literal["cpu", "gpu"]] = Field(None, description="default device for configs naming none")

    # REST runs
    max_epochs: int = Field(5000, ge=1, description="epoch cap of POST /api/train and /api/runs")
    max_background_runs: int = Field(4, ge=1, description="background runs training at once")
    run_ttl: float = Field(3600.0, gt=0, description="seconds a finished background run is kept")
    max_finished_runs: int = Field(100, ge=1, description="finished background runs kept; the oldest go first")
    max_finished_run_bytes: int = Field(64 << 20, ge=1 << 16,
                                        description="bytes of results of finished runs kept; the oldest go first")
    max_body_bytes: int = Field(4 << 20, ge=1 << 10, description="largest HTTP request body (413 beyond it)")

    # sweeps (server/sweeps): many runs trained as stacked groups in a pool of worker processes, or on Ray
    max_sweep_runs: int = Field(4096, ge=1, description="runs of one sweep (combinations × seeds)")
    max_sweep_model_epochs: int = Field(1_000_000, ge=1, description="epochs of one sweep summed over its runs")
    max_running_sweeps: int = Field(2, ge=1, description="sweeps training at once on one instance")
    sweep_processes: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=0, le=256,
                                 description="worker processes training sweeps, at low priority (default: one per "
                                             "core; 0: a thread of the server process)")
    sweep_chunk: int = Field(32, ge=1, le=4096, description="runs trained as one stacked group in a sweep")
    sweep_page: int = Field(256, ge=1, description="results of one GET /api/sweeps/{id} page when limit is not given")
    max_sweep_page: int = Field(1024, ge=1, description="most results one GET /api/sweeps/{id} page may ask for "
                                "(limit); histories are streamed, never held whole")
    ray_address: Optional[str] = Field(None, description="train sweeps on this Ray cluster ('auto': the one this "
                                       "machine belongs to; 'local': start one here); needs nnplay[ray]")

    # server-rendered pictures (POST /api/render, /api/render/gif)
    max_renders: int = Field(2, ge=1, description="pictures drawn at once; one more is answered 429")
    max_gif_frames: int = Field(300, ge=2, description="frames of one GIF")
    max_gif_size: int = Field(900, ge=64, le=2000, description="pixels across one GIF (the page offers 300, 600 "
                              "and 900 up to it)")

    # live sessions
    max_sessions: int = Field(64, ge=1)
    max_sessions_per_address: int = Field(32, ge=1, description="live sessions from one client address (a "
                                          "classroom behind one NAT address shares it)")
    max_message_bytes: int = Field(1 << 20, ge=256)
    max_queued_bytes: int = Field(1 << 20, ge=256, description="bytes of a session's messages read but not yet "
                                  "applied; beyond it the socket is not read until they are (at least "
                                  "max_message_bytes)")
    send_timeout: float = Field(10.0, gt=0, description="seconds a message to a client that is not reading may "
                                "wait: past it its training is paused, past twice it the session is closed (1008)")
    idle_timeout: float = Field(1800.0, gt=0, description="close a paused session after this many quiet seconds")
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Origins allowed on /ws besides the server's own; '*' allows any")
    drain_grace: float = Field(30.0, ge=0, description="seconds a SIGTERM lets background runs finish, and their "
                               "results be read, before cancelling them (the unit's TimeoutStopSec must be longer)")
    ws_compression: bool = Field(False, description="permessage-deflate on /ws (costs event-loop CPU)")

    # where live sessions train (see server/live/supervisor.py): worker processes, 0 for a thread of this process
    engine_processes: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=0, le=64,
                                  description="engine worker processes for live sessions (default: one per core; "
                                              "0: one worker thread in the server process)")
    worker_heartbeat: float = Field(0.5, gt=0, le=60, description="seconds between the watchdog's heartbeats to "
                                    "each engine worker process")
    worker_timeout: float = Field(5.0, gt=0, le=600, description="seconds an engine worker process may go without "
                                  "answering a heartbeat before it is killed and replaced (its sessions reconnect)")

    # how REST runs share the process with the event loop (see server/jobs/pool.py)
    engine_threads: int = Field(1, ge=1, le=16, description="worker threads running engine work at once")
    slice_seconds: float = Field(0.01, gt=0, le=1, description="longest stretch of engine work between yields "
                                                               "(a REST run's turn, a live worker's tick)")
    switch_interval: float = Field(0.001, gt=0, le=0.1, description="sys.setswitchinterval while serving")

    frontend_dir: Path = FRONTEND_DIR

    # what users asked the server to keep (server/store): one SQLite file, which instances may share
    data_dir: Path = Field(default_factory=default_data_dir, description="folder of the server's SQLite store "
                           "(sweeps, runs, short links); instances on one machine may share it")
    store_ttl: float = Field(90 * 86400.0, gt=0, description="seconds a stored entry is kept after it was last "
                             "used (default 90 days)")
    max_setup_bytes: int = Field(80 << 10, ge=1 << 10, description="longest setup link kept as a short link "
                                 "(POST /api/setups): max_samples points of any CSV fit (5,000 take 20-65 kB)")
    max_setups: int = Field(20_000, ge=1, description="short links kept at once; one more is refused (507) until "
                            "old ones expire")
    max_network_bytes: int = Field(1 << 20, ge=1 << 10, description="largest network kept for a link (POST "
                                   "/api/networks, a room's results.csv), as stored JSON: 10 layers of 32 neurons "
                                   "take about 200 kB, custom points up to 65 kB more")
    max_networks: int = Field(20_000, ge=1, description="networks kept at once; one more is refused (507) until "
                              "old ones expire")

    # classroom rooms (server/rooms): a lecturer's room links its students' live sessions
    max_rooms: int = Field(16, ge=1, description="rooms open at once on this instance; one more is answered 429")
    max_room_students: int = Field(100, ge=1, description="students in one room (each also takes one of "
                                   "max_sessions)")
    room_join_rate: int = Field(300, ge=1, description="room join attempts per client address per minute (joins, "
                                "lookups of a code that is not open, lecturer keys tried); a hall behind one NAT "
                                "address shares it")
    room_idle_timeout: float = Field(3600.0, gt=0, description="seconds a room with no lecturer socket and no "
                                     "student connected is kept before it ends")
    room_keep_interval: float = Field(5.0, gt=0, le=3600, description="seconds between writes of a room "
                                      "student's network to the store (a room outlives a restart of its instance)")
    room_challenge_length: int = Field(500, ge=1, le=10_000, description="characters of a room's challenge text")
    room_nickname_length: int = Field(32, ge=1, le=200, description="characters of a student's nickname")
    room_tile_size: int = Field(25, ge=4, le=100, description="side of a dashboard tile (its boundary sampled "
                                "down to size x size cells)")
    room_tile_rate: float = Field(3.0, ge=0.5, le=20, description="dashboard tile updates per second")

    # ---- connections and the process: slow clients, floods, proxies (server/http/connections.py, server/logs.py)
    head_timeout: float = Field(10.0, gt=0, le=300, description="seconds a connection may take to send a request "
                                "head, from opening or from the request's first byte; then it is closed")
    body_timeout: float = Field(60.0, gt=0, le=3600, description="seconds a request body may take to arrive after "
                                "its head; then the connection is closed")
    keep_alive_timeout: float = Field(5.0, gt=0, le=300, description="seconds an idle keep-alive connection is "
                                      "kept between requests")
    max_connections: int = Field(1000, ge=1, description="open HTTP and WebSocket connections at once; one more "
                                 "is answered 503 and closed before it is read")
    open_files: Optional[int] = Field(None, ge=64, description="open-file soft limit set at start-up (default: "
                                      "the hard limit)")
    log_repeat_interval: float = Field(10.0, gt=0, description="seconds over which repeats of one log message "
                                       "are collapsed into one line with their count")
    forwarded_allow_ips: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="proxies (addresses or networks; '*' any) whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed; none by default: the client is the connection's peer")

    @model_validator(mode="after")
    def _one_message_fits_the_queue(self) -> "Settings":
        if self.max_queued_bytes < self.max_message_bytes:
            raise ValueError(f"max_queued_bytes ({self.max_queued_bytes}) must be at least max_message_bytes "
                             f"({self.max_message_bytes}), or the largest message could never be queued")
        return self

    @model_validator(mode="after")
    def _default_page_within_the_largest(self) -> "Settings":
        if self.sweep_page > self.max_sweep_page:
            raise ValueError(f"sweep_page ({self.sweep_page}) must be at most max_sweep_page ({self.max_sweep_page})")
        return self

    @field_validator("allowed_origins", "forwarded_allow_ips", mode="before")
    @classmethod
    def _split_origins(cls, value):
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                import json

                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        import ipaddress

        for entry in value:
            if entry != "*":
                try:
                    ipaddress.ip_network(entry, strict=False)
                except ValueError:
                    raise ValueError(f"{entry!r} is not an IP address, a network (10.0.0.0/8) or '*'") from None
        return value

    def limits(self) -> Limits:
        """The engine's :class:`Limits` from these settings."""
        return Limits(**{name: getattr(self, name) for name in Limits.model_fields})

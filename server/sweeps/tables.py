"""The sweeps' tables in the server's store (server/store): one row per sweep, one per finished run.

A sweep's row holds what it is (the request as posted, its swept fields, combinations and seeds) and where it
stands (status, owner, heartbeat); a run's row is written as soon as that run is over, so a sweep that stops
half way keeps every run it finished. A sweep row dates by ``used_at`` (created, then each read and write);
its runs' rows go with it (foreign key, ON DELETE CASCADE).
"""

from __future__ import annotations

import json
import time
from typing import Any, Optional

from ..store import Store, Table

SWEEPS = Table("sweeps", """
CREATE TABLE IF NOT EXISTS sweeps (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    created REAL NOT NULL,
    finished REAL,
    error TEXT,
    meta TEXT NOT NULL,          -- JSON: request, fields, combinations, seeds, epochs
    owner TEXT,                  -- the instance training it (host:pid:start), NULL when none is
    beat_at REAL,                -- the owner's last heartbeat (a stale one means the owner is gone)
    used_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sweeps_used_at ON sweeps (used_at)
""")

SWEEP_RESULTS = Table("sweep_results", """
CREATE TABLE IF NOT EXISTS sweep_results (
    sweep_id TEXT NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    row TEXT NOT NULL,           -- JSON: status, epochs_run, metrics
    history TEXT NOT NULL,       -- JSON: [[epoch, train_loss, test_loss], ...], read only when asked
    PRIMARY KEY (sweep_id, idx)
)
""", dated_by=None)

UNFINISHED = ("queued", "running")


class SweepTables:
    """Reads and writes of the sweeps' tables."""

    def __init__(self, store: Store):
        self.store = store
        store.define(SWEEPS)
        store.define(SWEEP_RESULTS)

    def create(self, sweep_id: str, meta: dict[str, Any], owner: str, now: Optional[float] = None) -> float:
        now = time.time() if now is None else now
        self.store.write("INSERT INTO sweeps (id, status, created, meta, owner, beat_at, used_at) "
                         "VALUES (?, 'queued', ?, ?, ?, ?, ?)", (sweep_id, now, json.dumps(meta), owner, now, now))
        return now

    def record(self, sweep_id: str, rows: list[dict[str, Any]]) -> None:
        """Store finished runs' rows (in one transaction)."""
        now = time.time()
        with self.store.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO sweep_results VALUES (?, ?, ?, ?)",
                           [(sweep_id, row["index"], _compact({k: v for k, v in row.items() if k != "history"}),
                             _compact(row.get("history", []))) for row in rows])
            db.execute("UPDATE sweeps SET beat_at = ?, used_at = ? WHERE id = ?", (now, now, sweep_id))

    def set_status(self, sweep_id: str, status: str, *, owner: Optional[str] = None, error: Optional[str] = None,
                   only_from: tuple[str, ...] = ()) -> bool:
        """Move a sweep to ``status`` (only from one of ``only_from`` when given); True when it moved. A final
        status dates ``finished`` and clears the owner."""
        now = time.time()
        final = status not in UNFINISHED
        condition = f" AND status IN ({','.join('?' * len(only_from))})" if only_from else ""
        changed = self.store.write(
            f"UPDATE sweeps SET status = ?, finished = ?, error = CASE WHEN ? THEN COALESCE(?, error) END, owner = ?, "
            f"beat_at = ?, used_at = ? WHERE id = ?{condition}",  # a sweep that trains again has no error
            (status, now if final else None, final, error, None if final else owner, now, now, sweep_id, *only_from))
        return changed > 0

    def beat(self, sweep_id: str, owner: str) -> None:
        self.store.write("UPDATE sweeps SET beat_at = ? WHERE id = ? AND owner = ?", (time.time(), sweep_id, owner))

    def status(self, sweep_id: str) -> Optional[str]:
        rows = self.store.read("SELECT status FROM sweeps WHERE id = ?", (sweep_id,))
        return rows[0]["status"] if rows else None

    def meta(self, sweep_id: str) -> Optional[dict[str, Any]]:
        """The sweep's description and state (``meta`` plus id, status, created, finished, error, owner, beat_at)."""
        rows = self.store.read("SELECT * FROM sweeps WHERE id = ?", (sweep_id,))
        return _meta(rows[0]) if rows else None

    def rows(self, sweep_id: str, history: bool = False, start: int = 0,
             stop: Optional[int] = None) -> dict[int, dict[str, Any]]:
        """The finished runs' rows by index (those with ``start <= index < stop`` when given), with their
        histories when asked (they are most of the bytes)."""
        bounds = (sweep_id, start, -1 if stop is None else stop)
        where = "WHERE sweep_id = ? AND idx >= ? AND (? < 0 OR idx < ?) ORDER BY idx"
        if not history:
            return {row["idx"]: json.loads(row["row"]) for row in
                    self.store.read(f"SELECT idx, row FROM sweep_results {where}", (*bounds, bounds[-1]))}
        return {row["idx"]: {**json.loads(row["row"]), "history": json.loads(row["history"])} for row in
                self.store.read(f"SELECT idx, row, history FROM sweep_results {where}", (*bounds, bounds[-1]))}

    def histories(self, sweep_id: str, indices: list[int]) -> dict[int, list[list[float]]]:
        """The stored histories (``[[epoch, train_loss, test_loss], ...]``) of the finished runs among ``indices``."""
        marks = ",".join("?" * len(indices))
        return {row["idx"]: json.loads(row["history"]) for row in self.store.read(
            f"SELECT idx, history FROM sweep_results WHERE sweep_id = ? AND idx IN ({marks})", (sweep_id, *indices))}

    def tally(self, sweep_id: str) -> tuple[int, int]:
        """How many runs finished and the epochs they trained, summed (without reading their rows)."""
        row = self.store.read("SELECT COUNT(*) AS done, COALESCE(SUM(json_extract(row, '$.epochs_run')), 0) AS epochs "
                              "FROM sweep_results WHERE sweep_id = ?", (sweep_id,))[0]
        return row["done"], row["epochs"]

    def listing(self) -> list[dict[str, Any]]:
        """Every sweep kept, newest first, with the number of its finished runs as ``done``."""
        rows = self.store.read("SELECT s.*, (SELECT COUNT(*) FROM sweep_results r WHERE r.sweep_id = s.id) AS done "
                               "FROM sweeps s ORDER BY created DESC")
        return [{**_meta(row), "done": row["done"]} for row in rows]

    def delete(self, sweep_id: str) -> None:
        """Forget a sweep and its runs."""
        self.store.write("DELETE FROM sweeps WHERE id = ?", (sweep_id,))

    def touch(self, sweep_id: str) -> None:
        self.store.write("UPDATE sweeps SET used_at = ? WHERE id = ?", (time.time(), sweep_id))


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _meta(row: Any) -> dict[str, Any]:
    return {**json.loads(row["meta"]), "id": row["id"], "status": row["status"], "created": row["created"],
            "finished": row["finished"], "error": row["error"], "owner": row["owner"], "beat_at": row["beat_at"]}

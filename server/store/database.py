"""One SQLite database file, ``nnplay.sqlite3`` in the server's data folder (``NNPLAY_DATA_DIR``).

Each feature that keeps something declares its tables as a :class:`Table` (its ``CREATE`` statements, a
schema version and the column that dates a row) and calls :meth:`Store.define` at start-up; the store creates
what is missing and refuses a file written by a newer schema. Rows older than the store's ``ttl`` (by their
dating column) are deleted by :meth:`Store.expire`, which the app runs at start-up and every hour.

Instances on one machine may share the file (WAL journal, a busy timeout): a short link made on one opens on
every other. Instances on different machines each keep their own (SQLite over a network file system is not
safe); the proxy finds an entry by passing a 404 on to the next instance (deploy/nginx).

Calls are short and serialised by one lock per :class:`Store`; a caller that writes many rows at once does it
in one :meth:`transaction`.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

FILE_NAME = "nnplay.sqlite3"
BUSY_TIMEOUT_MS = 10_000  # another instance's write holds the file for milliseconds, never seconds


class StoreError(RuntimeError):
    """The data folder or its database cannot be used (named in the message, with what to do)."""


@dataclass(frozen=True)
class Table:
    """A table one feature owns: ``schema`` holds its ``CREATE TABLE/INDEX IF NOT EXISTS`` statements,
    ``version`` the schema's version (stored; a file written by a newer version is refused), ``dated_by`` the
    column holding the Unix time a row was last used (rows older than the store's ttl are deleted), or None
    for a table whose rows never expire on their own."""

    name: str
    schema: str
    version: int = 1
    dated_by: Optional[str] = "used_at"


class Store:
    """The database in ``data_dir`` (created, private to its user, if missing). ``ttl`` is the seconds a row is
    kept after the time in its table's ``dated_by`` column."""

    def __init__(self, data_dir: Path, ttl: float):
        self.path = Path(data_dir) / FILE_NAME
        self.ttl = ttl
        self.tables: dict[str, Table] = {}
        self._lock = threading.Lock()
        try:
            Path(data_dir).mkdir(mode=0o700, parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None,
                                       timeout=BUSY_TIMEOUT_MS / 1000)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across a process crash
            self._db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            self._db.execute("PRAGMA foreign_keys=ON")  # a table's rows that reference an expired row go with it
            self._db.execute("CREATE TABLE IF NOT EXISTS schema_versions (name TEXT PRIMARY KEY, version INTEGER)")
        except (OSError, sqlite3.Error) as error:
            raise StoreError(f"cannot open the store {self.path} ({error}); set NNPLAY_DATA_DIR to a folder "
                             "this user can write") from error

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r}, tables={sorted(self.tables)})"

    def define(self, table: Table) -> None:
        """Create ``table`` if it is missing; refuse a file whose version of it is newer than this code's."""
        with self.transaction() as db:
            row = db.execute("SELECT version FROM schema_versions WHERE name = ?", (table.name,)).fetchone()
            if row is not None and row["version"] > table.version:
                raise StoreError(f"{self.path} holds table {table.name!r} at version {row['version']}, newer than "
                                 f"this nnplay's {table.version}; upgrade nnplay or point NNPLAY_DATA_DIR elsewhere")
            for statement in filter(str.strip, table.schema.split(";")):
                db.execute(statement)
            db.execute("INSERT OR REPLACE INTO schema_versions VALUES (?, ?)", (table.name, table.version))
        self.tables[table.name] = table

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """The connection, inside one transaction that commits on leaving and rolls back on an exception."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def read(self, sql: str, parameters: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """The rows of one query."""
        with self._lock:
            return self._db.execute(sql, parameters).fetchall()

    def write(self, sql: str, parameters: Sequence[Any] = ()) -> int:
        """Run one statement in its own transaction; the number of rows it changed."""
        with self.transaction() as db:
            return db.execute(sql, parameters).rowcount

    def expire(self, now: Optional[float] = None) -> int:
        """Delete the rows older than ``ttl`` from every dated table; the number deleted."""
        cutoff = (time.time() if now is None else now) - self.ttl
        deleted = 0
        with self.transaction() as db:
            for table in self.tables.values():
                if table.dated_by is not None:
                    deleted += db.execute(f"DELETE FROM {table.name} WHERE {table.dated_by} < ?", (cutoff,)).rowcount
        return deleted

    def close(self) -> None:
        with self._lock:
            self._db.close()

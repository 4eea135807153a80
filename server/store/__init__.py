"""The server's embedded SQLite store: what users asked the server to keep (sweeps, runs, short links)."""

from .database import Store, StoreError, Table

__all__ = ["Store", "StoreError", "Table"]

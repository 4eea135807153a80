"""The SQLite store: what is written survives reopening, expiry deletes only old rows, instances share one file,
and a file from a newer schema or an unusable folder is refused with a message naming it."""

from __future__ import annotations

import os
import stat

import pytest
from fastapi.testclient import TestClient

from nnplay.server.main import create_app
from nnplay.server.settings import Settings
from nnplay.server.store import Store, StoreError, Table

NOTES = Table("notes", "CREATE TABLE IF NOT EXISTS notes (id TEXT PRIMARY KEY, body TEXT, used_at REAL)")


def test_rows_survive_closing_and_reopening(tmp_path):
    store = Store(tmp_path, ttl=60)
    store.define(NOTES)
    store.write("INSERT INTO notes VALUES (?, ?, ?)", ("a", "kept", 1000.0))
    store.close()
    reopened = Store(tmp_path, ttl=60)
    reopened.define(NOTES)
    assert [tuple(row) for row in reopened.read("SELECT * FROM notes")] == [("a", "kept", 1000.0)]


def test_expiry_deletes_rows_older_than_the_ttl_and_keeps_the_rest(tmp_path):
    store = Store(tmp_path, ttl=100)
    store.define(NOTES)
    store.define(Table("forever", "CREATE TABLE IF NOT EXISTS forever (id TEXT)", dated_by=None))
    with store.transaction() as db:
        db.executemany("INSERT INTO notes VALUES (?, ?, ?)", [("old", "", 899.0), ("new", "", 901.0)])
        db.execute("INSERT INTO forever VALUES ('x')")
    assert store.expire(now=1000.0) == 1
    assert [row["id"] for row in store.read("SELECT id FROM notes")] == ["new"]
    assert len(store.read("SELECT * FROM forever")) == 1


def test_a_failed_transaction_leaves_nothing_behind(tmp_path):
    store = Store(tmp_path, ttl=60)
    store.define(NOTES)
    with pytest.raises(RuntimeError, match="half-way"):
        with store.transaction() as db:
            db.execute("INSERT INTO notes VALUES ('a', '', 0)")
            raise RuntimeError("half-way")
    assert store.read("SELECT * FROM notes") == []


def test_two_instances_sharing_the_folder_see_each_others_rows(tmp_path):
    first, second = Store(tmp_path, ttl=60), Store(tmp_path, ttl=60)
    first.define(NOTES)
    second.define(NOTES)
    first.write("INSERT INTO notes VALUES ('from-first', '', 0)")
    second.write("INSERT INTO notes VALUES ('from-second', '', 0)")
    assert {row["id"] for row in first.read("SELECT id FROM notes")} == {"from-first", "from-second"}


def test_a_file_from_a_newer_schema_is_refused_naming_the_table(tmp_path):
    Store(tmp_path, ttl=60).define(Table("notes", NOTES.schema, version=3))
    with pytest.raises(StoreError, match=r"'notes' at version 3, newer than this nnplay's 1"):
        Store(tmp_path, ttl=60).define(NOTES)


def test_the_data_folder_is_created_private_to_its_user(tmp_path):
    Store(tmp_path / "deep" / "data", ttl=60)
    assert stat.S_IMODE(os.stat(tmp_path / "deep" / "data").st_mode) == 0o700


def test_a_server_whose_data_folder_cannot_be_written_does_not_start_and_says_why(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    app = create_app(Settings(data_dir=blocker / "data", engine_processes=0))
    with pytest.raises(StoreError, match="set NNPLAY_DATA_DIR to a folder this user can write"):
        with TestClient(app):
            pass


def test_the_server_keeps_its_store_in_the_data_folder_setting(tmp_path):
    with TestClient(create_app(Settings(data_dir=tmp_path, engine_processes=0))) as client:
        assert client.get("/api/health").status_code == 200
        assert client.app.state.nnplay.store.path == tmp_path / "nnplay.sqlite3"
    assert (tmp_path / "nnplay.sqlite3").exists()

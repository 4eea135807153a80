"""The ``nnplay`` command: train (same result as POST /api/train), options, and its errors."""

from __future__ import annotations

import csv
import json
import os

import pytest

from server_helpers import SMALL

from nnplay.engine import ACTIVATIONS, DATASETS, Trainer
from nnplay.server.cli import main


def test_train_writes_the_result_and_the_history_csv(tmp_path, capsys):
    config = tmp_path / "config.json"
    config.write_text(json.dumps(SMALL))
    out, history = tmp_path / "result.json", tmp_path / "history.csv"
    assert main(["train", str(config), "--epochs", "12", "--out", str(out), "--csv", str(history)]) == 0
    result = json.loads(out.read_text())
    engine = Trainer(SMALL)
    reports = engine.train(12)
    assert result["history"] == [r.model_dump() for r in reports]
    assert result["weights"] == engine.get_weights() and result["epochs_run"] == 12 and result["seed"] == 7
    with history.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 12 and float(rows[-1]["train_loss"]) == reports[-1].train_loss
    assert rows[0]["train_r2"] == ""  # null metrics are empty cells
    err = capsys.readouterr().err
    assert "epoch 12/12" in err and "train loss" in err and "ok: 12 epochs" in err


def test_train_matches_post_api_train(tmp_path, capsys, client):
    body = {"config": SMALL, "epochs": 8, "include": ["history", "grid"], "density": 20}
    request = tmp_path / "request.json"
    request.write_text(json.dumps(body))
    assert main(["train", str(request), "--quiet"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == client.post("/api/train", json=body).json()


def test_train_names_bad_fields_and_exits_2(tmp_path, capsys):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"activation": "nope"}))
    assert main(["train", str(config), "--epochs", "1"]) == 2
    assert "activation" in capsys.readouterr().err
    assert main(["train", str(config)]) == 2
    assert "--epochs" in capsys.readouterr().err
    assert main(["train", str(tmp_path / "missing.json"), "--epochs", "1"]) == 2
    config.write_text(json.dumps({"config": {}, "epochs": -1}))
    assert main(["train", str(config)]) == 2
    assert "epochs" in capsys.readouterr().err


def test_serve_refuses_gpu_without_one(monkeypatch, capsys):
    from nnplay.engine import gpu_available

    if gpu_available():
        pytest.skip("this machine has a GPU")
    for name in ("NNPLAY_DEVICE", "NNPLAY_HOST", "NNPLAY_PORT"):  # serve sets them; put them back afterwards
        monkeypatch.setenv(name, os.environ.get(name, ""))
        monkeypatch.delenv(name)
    assert main(["serve", "--device", "gpu"]) == 2
    assert "CuPy" in capsys.readouterr().err


def test_options_prints_the_registries(capsys):
    assert main(["options"]) == 0
    text = capsys.readouterr().out
    assert all(name in text for name in [*DATASETS, *ACTIVATIONS])
    assert main(["options", "--json"]) == 0
    assert [d["name"] for d in json.loads(capsys.readouterr().out)["datasets"]] == list(DATASETS)

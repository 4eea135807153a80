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
    assert "feature formulas: over x1, x2" in text and "atan2, sinh" in text and "max_formula_length=100" in text
    assert main(["options", "--json"]) == 0
    assert [d["name"] for d in json.loads(capsys.readouterr().out)["datasets"]] == list(DATASETS)


# ---- every failure: one line on stderr, exit code 2, no traceback ------------------------------------------------
def one_line_failure(argv: list[str], capsys) -> str:
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_unwritable_outputs_fail_in_one_line_before_training(tmp_path, capsys):
    config = tmp_path / "config.json"
    config.write_text(json.dumps(SMALL))
    err = one_line_failure(["train", str(config), "--epochs", "2", "--out", str(tmp_path / "no" / "r.json")], capsys)
    assert err.startswith("nnplay train: cannot write") and "does not exist" in err and "epoch" not in err
    err = one_line_failure(["train", str(config), "--epochs", "2", "--csv", str(tmp_path)], capsys)
    assert "is a directory" in err


@pytest.mark.parametrize("argv, words", [
    (["serve", "--port", "99999"], ["--port", "0 to 65535", "99999"]),
    (["serve", "--workers", "4"], ["--workers is not an option", "deploy/", "NNPLAY_ENGINE_PROCESSES"]),
    (["serve", "--log-level", "loud"], ["--log-level", "loud"]),
    (["train", "config.json", "--epochs", "many"], ["--epochs", "'many'"]),
    ([], ["command"]),
])
def test_bad_arguments_fail_in_one_line(argv, words, capsys):
    err = one_line_failure(argv, capsys)
    assert all(word in err for word in words), err


def test_the_caps_and_bad_files_fail_in_one_line(tmp_path, capsys):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"config": SMALL, "density": 5000, "include": ["grid"]}))
    assert "density" in one_line_failure(["train", str(config), "--epochs", "1"], capsys)
    assert "at most 5000 epochs" in one_line_failure(["train", str(config), "--epochs", "999999"], capsys)
    assert "Is a directory" in one_line_failure(["train", str(tmp_path), "--epochs", "1"], capsys)
    config.write_text(json.dumps({"config": {}, "data": {"train": [["a", 1, 1]] * 5}}))
    assert "(and 4 more)" in one_line_failure(["train", str(config), "--epochs", "1"], capsys)


def test_an_invalid_nnplay_variable_fails_in_one_line(monkeypatch, capsys):
    monkeypatch.setenv("NNPLAY_MAX_EPOCHS", "lots")
    err = one_line_failure(["options"], capsys)
    assert err.startswith("nnplay options: NNPLAY_MAX_EPOCHS='lots' is invalid")


def test_an_address_in_use_fails_in_one_line(capsys, monkeypatch):
    import socket

    for name in ("NNPLAY_HOST", "NNPLAY_PORT"):  # serve sets them; put them back afterwards
        monkeypatch.setenv(name, os.environ.get(name, ""))
        monkeypatch.delenv(name)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        err = one_line_failure(["serve", "--port", str(port)], capsys)
    assert f"cannot listen on 127.0.0.1:{port}" in err


def test_train_with_weights_beyond_float32_fails_in_one_line_from_the_console(tmp_path):
    import subprocess
    import sys

    request = tmp_path / "request.json"
    request.write_text(json.dumps({"config": {"hidden": []}, "epochs": 3, "weights": [{"W": [[3.5e38, 1]], "b": [0]}]}))
    done = subprocess.run([sys.executable, "-m", "nnplay", "train", str(request)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == "nnplay train: weights.0.W.0.0: 3.5e+38 is beyond float32's range; allowed: a number " \
                          "within ±3.402823e+38\n"

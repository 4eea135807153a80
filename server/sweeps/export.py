"""What a sweep looks like to its readers: the JSON of ``GET /api/sweeps/{id}``, its CSV, each run's link.

:func:`document` builds the JSON from a sweep's stored description and its result rows (both the server and
:func:`~nnplay.server.sweeps.local.run_sweep` call it); :func:`to_csv` writes the same table with one column
per swept field; :func:`playground_link` writes the playground URL hash that opens a run, in the keys of the
page's link codec (frontend/js/state-link.js): TensorFlow Playground's where it has one, else the field's
camelCase name.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any, Iterable, Iterator, Optional
from urllib.parse import quote

from nnplay.engine import FEATURES

PLAYGROUND_KEYS = {"batch_size": "batchSize", "learning_rate": "learningRate", "reg_rate": "regularizationRate",
                   "noise": "noise", "seed": "seed", "problem": "problem"}
UNLINKED = frozenset({"custom_points", "device"})  # own points travel in the page's storage, the device is the server's
COLUMNS = ["index", "combination", "seed", "status", "epochs_run", "train_loss", "test_loss", "accuracy", "r2", "rmse",
           "link"]


def _camel(name: str) -> str:
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), name)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(map(str, value))
    return "" if value is None else str(value)


def _pairs(config: dict[str, Any]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for name, value in config.items():
        if name in UNLINKED:
            continue
        if name == "features":
            names = [f for f in value if f in FEATURES]
            formulas = [f for f in value if f not in FEATURES]
            pairs += [(FEATURES[f].url_key, _text(f in names)) for f in FEATURES if f in names or f in ("x1", "x2")]
            if formulas:
                pairs.append(("formulas", json.dumps(formulas)))
        elif name in ("activation", "normalization"):
            pairs.append((f"{name}s", _text(value)) if isinstance(value, list) else (name, value))
        elif name == "regularization":
            pairs.append((name, value.upper() if value in ("l1", "l2") else value))
        elif name == "dataset":
            pairs.append(("regDataset" if config.get("problem") == "regression" else "dataset", value))
        elif name == "hidden":
            pairs.append(("networkShape", _text(value)))
        elif name == "train_ratio":
            pairs.append(("percTrainData", _text(round(value * 100, 3))))
        elif name == "init":
            pairs.append(("initZero", "true") if value == "zeros" else ("init", value))
        else:
            pairs.append((PLAYGROUND_KEYS.get(name, _camel(name)), _text(value)))
    return pairs


def playground_link(config: dict[str, Any]) -> str:
    """The page's URL (path and hash) that opens ``config`` (seed included) in the playground."""
    text = "&".join(f"{key}={quote(value, safe='').replace('%2C', ',')}" for key, value in _pairs(config))
    return f"/#{text}"


def document(meta: dict[str, Any], rows: dict[int, dict[str, Any]], *, running: frozenset[int] = frozenset(),
             history: bool = False) -> dict[str, Any]:
    """``SweepInfo``'s fields from ``meta`` (id, status, created, finished, error, request, fields,
    combinations, seeds, epochs) and the result ``rows`` known (by run index), every run in one document; the
    runs without a row are ``running`` (indices in ``running``), ``cancelled`` (the sweep was) or ``pending``."""
    total = len(meta["combinations"]) * len(meta["seeds"])
    top = head(meta, done=len(rows), model_epochs=sum(row["epochs_run"] for row in rows.values()))
    return {**top, "offset": 0, "limit": total, "next": None,
            "results": [result(meta, index, rows.get(index), running=running, history=history)
                        for index in range(total)]}


def head(meta: dict[str, Any], *, done: int, model_epochs: int) -> dict[str, Any]:
    """``SweepInfo``'s fields before the page (``offset``, ``limit``, ``next``) and its ``results``."""
    return {"id": meta["id"], "status": meta["status"], "created": meta["created"], "finished": meta.get("finished"),
            "error": meta.get("error"), "done": done, "total": len(meta["combinations"]) * len(meta["seeds"]),
            "epochs": meta["epochs"], "model_epochs": model_epochs, "fields": meta["fields"], "seeds": meta["seeds"],
            "request": meta["request"], "combinations": meta["combinations"]}


def result(meta: dict[str, Any], index: int, row: Optional[dict[str, Any]], *,
           running: frozenset[int] = frozenset(), history: bool = False) -> dict[str, Any]:
    """Run ``index``'s ``SweepResult`` from its stored ``row`` (None: not finished), with its history when asked."""
    seeds, combinations = meta["seeds"], meta["combinations"]
    combination, seed = divmod(index, len(seeds))
    overrides = combinations[combination]
    if row is None:
        trains = meta["status"] == "running" and index in running
        row = {"status": "running" if trains else "cancelled" if meta["status"] == "cancelled" else "pending",
               "epochs_run": 0}
    out = {"index": index, "combination": combination, "overrides": overrides, "seed": seeds[seed],
           "status": row["status"], "epochs_run": row["epochs_run"],
           **{key: row.get(key) for key in ("train_loss", "test_loss", "accuracy", "r2", "rmse")},
           "link": playground_link({**meta["request"].get("config", {}), **overrides, "seed": seeds[seed]}),
           "history": None}
    if history:
        out["history"] = [{"epoch": e, "train_loss": tr, "test_loss": te} for e, tr, te in row.get("history", [])]
    return out


def json_chunks(top: dict[str, Any], results: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """The JSON document ``{**top, "results": [...]}`` in pieces, one result at a time (never the whole text)."""
    opening = json.dumps(top)
    yield (opening[:-1] + ', "results": [').encode()
    for position, item in enumerate(results):
        yield ((", " if position else "") + json.dumps(item)).encode()
    yield b"]}"


def csv_chunks(fields: list[str], results: Iterable[dict[str, Any]], columns: Optional[list[str]] = None) \
        -> Iterator[bytes]:
    """The table of :func:`to_csv` in pieces: the header, then one line per result."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    columns = columns or COLUMNS
    writer.writerow([*fields, *columns])
    for item in results:
        writer.writerow([*(_cell(item["overrides"].get(n)) for n in fields), *(_cell(item.get(c)) for c in columns)])
        if out.tell() >= 1 << 16:
            yield out.getvalue().encode()
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    return json.dumps(value) if isinstance(value, (list, dict)) else value


def to_csv(sweep: dict[str, Any], columns: Optional[list[str]] = None) -> str:
    """The result table of a sweep (the JSON of ``GET /api/sweeps/{id}``) as CSV: one row per run, one column per
    swept field (its value; a list as JSON), then ``COLUMNS``."""
    return b"".join(csv_chunks(sweep["fields"], sweep["results"], columns)).decode()

"""npm packages for tests (a real reveal.js deck): installed once from the npm registry into a cache folder the
tests own (~/.cache/nnplay-tests/npm/<name>@<version>), reused by later runs; the test is skipped, saying why,
only when npm is missing."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

CACHE = Path.home() / ".cache" / "nnplay-tests" / "npm"


def npm_package(name: str, version: str) -> Path:
    """The folder of npm package `name` at `version` (a version or a range such as "5"), installed on first use."""
    prefix = CACHE / f"{name.replace('/', '+')}@{version}"
    folder = prefix / "node_modules" / name
    if (folder / "package.json").exists():
        return folder
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip(f"npm is missing: install Debian's nodejs and npm to fetch {name}@{version} for this test")
    prefix.mkdir(parents=True, exist_ok=True)
    (prefix / "package.json").write_text(json.dumps({"private": True}))  # npm needs one at the prefix
    command = [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--loglevel=error",
               f"{name}@{version}"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if result.returncode != 0 or not (folder / "package.json").exists():
        raise RuntimeError(f"npm install {name}@{version} failed ({result.returncode}): {result.stderr[-2000:]}")
    return folder

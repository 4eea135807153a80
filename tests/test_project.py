"""The project's promises about itself: the README's two commands, what CI runs, and one import name."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    quick_start = ROOT.joinpath("README.md").read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", quick_start, re.S)]


def test_readme_quick_start_has_exactly_two_commands():
    commands = _readme_commands()
    assert len(commands) == 2
    assert all("\n" not in command for command in commands)
    assert "nnplay serve" in commands[0]
    assert "pytest" in commands[1] and "chromium" in commands[1] and "nginx" in commands[1]  # tests/deploy


def test_ci_runs_the_readme_test_command_and_nothing_else():
    lines = [line for line in ROOT.joinpath(".ci/run").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines[-1] == _readme_commands()[1]
    assert all(line.startswith(("set ", "cd ")) for line in lines[:-1])


def test_console_script_and_gpu_extra_are_declared():
    project = tomllib.loads(ROOT.joinpath("pyproject.toml").read_text())["project"]
    assert project["scripts"]["nnplay"] == "nnplay.server.cli:main"
    assert any(dep.startswith("cupy-cuda12x") for dep in project["optional-dependencies"]["gpu"])


def run_from_the_root(code: str) -> subprocess.CompletedProcess:
    """``python -c code`` in a fresh interpreter whose working directory (first on ``sys.path``) is the checkout."""
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_the_checkout_folders_are_not_packages_of_their_own():
    for folder in ("engine", "server"):
        done = run_from_the_root(f"import {folder}")
        assert done.returncode != 0
        assert f"import nnplay.{folder}, not {folder}" in done.stderr and "pip install -e ." in done.stderr


def test_each_module_is_loaded_once_under_its_one_name():
    done = run_from_the_root("""
import importlib.util, json, sys
import nnplay.engine, nnplay.server.main, nnplay.server.cli
print(json.dumps({
    "top": sorted({name.split(".")[0] for name in sys.modules} & {"engine", "server", "frontend", "tests"}),
    "extra": [name for name in ("nnplay.tests", "nnplay.benchmarks", "nnplay.nnplay")
              if importlib.util.find_spec(name)],
    "ours": sorted(name for name in sys.modules if name.startswith("nnplay.")),
    "files": [m.__file__ for name, m in sys.modules.items() if name.startswith("nnplay")],
}))""")
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout)
    assert seen["top"] == [] and seen["extra"] == []
    assert "nnplay.server.live.supervisor" in seen["ours"]
    assert len(seen["files"]) == len(set(seen["files"])), "a file loaded under two names"
    assert all(Path(f).resolve().is_relative_to(ROOT) for f in seen["files"]), "the checkout is the package"

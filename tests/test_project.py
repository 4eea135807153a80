"""The project's promises about itself: the README's two commands and what CI runs."""

from __future__ import annotations

import re
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

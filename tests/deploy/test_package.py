"""The package as users install it: a built wheel holds one import name, ``nnplay``, with the page inside, and
``nnplay serve`` run from any folder serves every page and asset; the editable install works the same way.

Each install goes into a fresh virtual environment, with no PYTHONPATH and another folder as the working
directory, so nothing can come from this checkout by accident. The wheel's dependencies come through pip
(its cache and the configured index); the editable install borrows this interpreter's packages."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest
from deploy_helpers import ROOT, get_json, wait_until
from page_helpers import free_port

from nnplay.engine import Trainer, __version__

SOURCES = ("pyproject.toml", "README.md", "nnplay", "engine", "server", "frontend")  # what a build reads
PAGES = {"/": "index.html", "/embed": "embed.html", "/compare": "compare.html"}
ISOLATED = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}


def python_modules() -> set[str]:
    """Every module of the checkout, as the wheel names it: ``engine/x.py`` → ``nnplay/engine/x.py``."""
    return {f"nnplay/{path.relative_to(ROOT).as_posix()}" for folder in ("engine", "server")
            for path in (ROOT / folder).rglob("*.py") if "__pycache__" not in path.parts} | {
        f"nnplay/{path.name}" for path in (ROOT / "nnplay").glob("*.py")}


def page_files() -> list[str]:
    """Every file of the page, as paths under frontend/ (its README is for developers, not served)."""
    folder = ROOT / "frontend"
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.name != "README.md"
                  and "__pycache__" not in p.parts)


def copy_sources(folder: Path) -> None:
    """What a build reads, copied to ``folder`` (so a build or an install leaves nothing in the checkout)."""
    folder.mkdir()
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, folder / name)


def pip(python: Path, *args: str) -> None:
    """This interpreter's pip, installing into the environment of ``python``."""
    command = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-compile", *args]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]


def fresh_venv(folder: Path, *options: str) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", *options, str(folder)], check=True)
    return folder / "bin" / "python"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of the sources (so the build leaves nothing in the checkout)."""
    folder = tmp_path_factory.mktemp("build")
    copy_sources(folder / "src")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                            "-w", str(folder / "dist"), str(folder / "src")], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr[-3000:]
    return next((folder / "dist").glob("nnplay-*.whl"))


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh virtual environment with the wheel and its dependencies: its python."""
    python = fresh_venv(tmp_path_factory.mktemp("venv") / "venv")
    pip(python, str(wheel))
    return python


def run_python(python: Path, code: str, cwd: Path) -> str:
    done = subprocess.run([str(python), "-c", code], cwd=cwd, env=ISOLATED, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class Serving:
    """``nnplay serve`` of an environment, started in ``cwd``."""

    def __init__(self, python: Path, cwd: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [str(python.parent / "nnplay"), "serve", "--port", str(self.port), "--log-level", "warning"]
        self.process = subprocess.Popen(command, cwd=cwd, env=ISOLATED, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)

    def __enter__(self) -> "Serving":
        def answers() -> bool:
            assert self.process.poll() is None, self.process.stderr.read().decode()[-3000:]
            try:
                return get_json(f"{self.url}/api/health", timeout=1)[0] == 200
            except OSError:
                return False

        wait_until(answers, 30, "nnplay serve answers")
        return self

    def __exit__(self, *exc) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(30)
        self.process.stderr.close()


def test_the_wheel_holds_one_import_name_with_the_page_inside(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = archive.read(f"nnplay-{__version__}.dist-info/entry_points.txt").decode()
    assert {name.split("/")[0] for name in names} == {"nnplay", f"nnplay-{__version__}.dist-info"}
    missing = {f"nnplay/frontend/{name}" for name in page_files()} - names
    assert not missing, f"page files left out of the wheel (pyproject's package-data): {sorted(missing)}"
    modules = {name for name in names if name.endswith(".py")}
    left_out = sorted(python_modules() - modules)
    assert modules == python_modules(), f"modules left out of the wheel (pyproject's packages): {left_out}"
    assert "nnplay/py.typed" in names
    assert "nnplay = nnplay.server.cli:main" in entry_points


def test_the_installed_engine_is_the_one_package(installed, tmp_path):
    config = {"dataset": "xor", "hidden": [3], "seed": 4}
    printed = run_python(installed, f"""
import importlib.util, nnplay
from nnplay import Trainer
print(nnplay.__file__)
print([name for name in ("engine", "server", "frontend") if importlib.util.find_spec(name)])
print(repr(Trainer({config!r}).train(3)[-1].train_loss))
""", tmp_path).splitlines()
    assert Path(printed[0]).is_relative_to(installed.parent.parent), "imported from the environment"
    assert printed[1] == "[]", "no top-level engine, server or frontend"
    assert float(printed[2]) == Trainer(config).train(3)[-1].train_loss


def test_nnplay_serve_from_any_folder_serves_every_page_and_asset(installed, tmp_path):
    with Serving(installed, tmp_path) as server:
        for route, name in PAGES.items():
            assert fetch(server.url + route) == (200, (ROOT / "frontend" / name).read_bytes()), route
        for name in page_files():
            assert fetch(f"{server.url}/{name}") == (200, (ROOT / "frontend" / name).read_bytes()), name
        assert fetch(server.url + "/js/no-such-module.js")[0] == 404
        assert fetch(server.url + "/css/nothing.css")[0] == 404


def test_the_editable_install_maps_the_checkout(tmp_path):
    """README's ``pip install -e .``, in an environment of its own (this interpreter's packages beside it):
    the package, the console script and the page come from the checkout."""
    python = fresh_venv(tmp_path / "venv", "--system-site-packages")
    pip(python, "--no-deps", "--no-build-isolation", "-e", str(ROOT))
    printed = run_python(python, "import nnplay.engine, nnplay.server.main as m; print(nnplay.engine.__file__); "
                                 "print(m.__file__)", tmp_path).splitlines()
    assert printed == [str(ROOT / "engine" / "__init__.py"), str(ROOT / "server" / "main.py")]
    with Serving(python, tmp_path) as server:
        assert fetch(server.url + "/embed") == (200, (ROOT / "frontend" / "embed.html").read_bytes())
        assert fetch(server.url + "/js/main.js") == (200, (ROOT / "frontend" / "js" / "main.js").read_bytes())


def test_a_type_checker_follows_the_strict_editable_install(tmp_path):
    """README's install for IDEs and type checkers (``editable_mode=strict``) lets mypy resolve nnplay.engine
    and nnplay.server to the checkout's sources (a plain editable install maps them with an import hook, which
    type checkers do not run)."""
    source = tmp_path / "src"
    copy_sources(source)
    python = fresh_venv(tmp_path / "venv", "--system-site-packages")
    pip(python, "--no-deps", "--no-build-isolation", "-e", str(source), "--config-settings", "editable_mode=strict")
    pytest.importorskip("mypy", reason="mypy (a test extra) is not installed")
    probe = tmp_path / "probe.py"
    probe.write_text("from nnplay.engine import Trainer\nfrom nnplay.server.live.wire import Credit\n"
                     "reveal_type(Trainer({}).train(3))\nreveal_type(Credit('s').session)\n")
    done = subprocess.run([sys.executable, "-m", "mypy", "--python-executable", str(python), "--follow-imports=silent",
                           "--no-incremental", str(probe)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:]
    assert 'nnplay.engine.reports.EpochReport]"' in done.stdout
    assert 'Revealed type is "str"' in done.stdout

"""README.md runs as written: every ```python block, in order, in one fresh interpreter, as a reader pasting them
into a new Jupyter kernel would.

How it works, for whoever adds a README section:

* Every block fenced ```python is run, top to bottom, in one namespace of a new ``python`` process (so a block
  may use what an earlier one defined). A block fenced otherwise (```sh, ```console, ```text, ```html) is never
  run: use those for shell commands, a session's output, or code that is not meant to run here.
* A block that talks to a server writes its address as ``http://127.0.0.1:8000`` (where the Quick start serves);
  when any block does, this test first starts ``nnplay serve`` on a free port and rewrites that address to it.
* Matplotlib draws off-screen (``MPLBACKEND=Agg``); the interpreter's working folder is a fresh temporary one,
  so a block may write files.
* A failing block is reported with its first README line number and the traceback.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from page_helpers import Server

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)
SERVED_AT = "http://127.0.0.1:8000"
RUN_SECONDS = 300

DRIVER = """
import json, sys, traceback
namespace = {"__name__": "__main__"}
for line, code in json.load(open(sys.argv[1])):
    try:
        exec(compile(code, f"README.md (the block at line {line})", "exec"), namespace)
    except BaseException:
        sys.stderr.write(f"README.md: the python block at line {line} failed:\\n{traceback.format_exc()}")
        sys.exit(1)
"""


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(first line of the code, code) of every ```python block, in order."""
    return [(text.count("\n", 0, match.start(1)) + 1, match.group(1)) for match in FENCE.finditer(text)]


def test_the_fence_reader_finds_python_blocks_only():
    text = "# T\n```sh\nls\n```\n\n```python\nx = 1\n```\ntext\n```python\ny = x\n```\n```console\n$ z\n```\n"
    assert python_blocks(text) == [(7, "x = 1\n"), (11, "y = x\n")]


def run_blocks(blocks: list[tuple[int, str]], folder: Path) -> subprocess.CompletedProcess:
    """Run ``blocks`` in order in one new interpreter in ``folder``, with a server if any names SERVED_AT."""
    server = Server().start() if any(SERVED_AT in code for _, code in blocks) else None
    try:
        if server is not None:
            blocks = [(line, code.replace(SERVED_AT, server.url)) for line, code in blocks]
        (folder / "blocks.json").write_text(json.dumps(blocks))
        return subprocess.run([sys.executable, "-c", DRIVER, str(folder / "blocks.json")], cwd=folder,
                              env={**os.environ, "MPLBACKEND": "Agg"}, capture_output=True, text=True,
                              timeout=RUN_SECONDS)
    finally:
        if server is not None:
            server.stop()


def test_blocks_share_one_namespace_reach_a_served_address_and_fail_naming_their_line(tmp_path):
    served = "import json, urllib.request\nhealth = json.load(urllib.request.urlopen('http://127.0.0.1:8000/api/health'))\n"
    ran = run_blocks([(3, served), (9, "assert health['status'] == 'ready', health\n")], tmp_path)
    assert ran.returncode == 0, ran.stderr
    failed = run_blocks([(3, "x = 1\n"), (12, "x = 1\ny = undefined_name\n")], tmp_path)
    assert failed.returncode == 1
    assert "the python block at line 12 failed" in failed.stderr and 'block at line 12)", line 2' in failed.stderr


def test_every_python_block_of_the_readme_runs_in_a_fresh_interpreter(tmp_path):
    blocks = python_blocks(README.read_text())
    assert len(blocks) >= 2, "README.md has python blocks (the engine from a notebook)"
    ran = run_blocks(blocks, tmp_path)
    assert ran.returncode == 0, ran.stderr[-4000:]

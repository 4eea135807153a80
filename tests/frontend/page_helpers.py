"""Helpers for the browser tests: waiting for the page, reading its readouts and canvases."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"


def wait_ready(page, timeout: float = 15_000) -> None:
    """Wait until the page is wired, connected, and has drawn a frame of its own configuration."""
    page.wait_for_function("document.body.dataset.ready === 'true'", timeout=timeout)
    page.evaluate("""() => {
        const n = window.nnplay;
        if (n.__hooked) return;
        n.__hooked = true;
        n.states = []; n.errors = []; n.frames = 0;
        n.hub.on('state', (m) => n.states.push(m));
        n.hub.on('error', (m) => n.errors.push(m));
        n.hub.on('frame', () => { n.frames += 1; });
    }""")
    page.wait_for_function("window.nnplay.socket.open && window.nnplay.session.lastFrame !== null", timeout=timeout)
    settle(page)


def settle(page, timeout: float = 15_000) -> None:
    """Wait until the server's session has the page's current network (sizes match) and a frame drew it."""
    page.wait_for_function("""() => {
        const n = window.nnplay;
        const f = n.session.lastFrame;
        if (!f || !n.session.synced) return false;
        const c = n.state.config();
        return JSON.stringify(f.header.sizes) === JSON.stringify([c.features.length, ...c.hidden, n.state.outputs()]);
    }""", timeout=timeout)


def epoch(page) -> int:
    return int(page.get_by_label("Epoch", exact=True).inner_text().replace(",", ""))


def server_state(page) -> dict:
    """The newest `state` message the page received."""
    return page.evaluate("window.nnplay.session.serverState")


def canvas_colours(page, selector: str = ".plot canvas.heatmap") -> int:
    """How many distinct colours the canvas holds."""
    return page.evaluate("""(selector) => {
        const c = document.querySelector(selector);
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const seen = new Set();
        for (let i = 0; i < d.length; i += 4) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
        return seen.size;
    }""", selector)


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``nnplay serve`` (as ``python -m nnplay serve``) on a port, started and stopped on demand."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> "Server":
        env = {**os.environ, "NNPLAY_IDLE_TIMEOUT": "600", "PYTHONUNBUFFERED": "1"}
        command = [sys.executable, "-m", "nnplay", "serve", "--host", "127.0.0.1", "--port", str(self.port),
                   "--log-level", "warning"]
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode(errors="replace")
                self.process.stderr.close()
                raise RuntimeError(f"nnplay serve exited with {self.process.returncode}: {error[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/health", timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"nnplay serve did not answer /api/health on port {self.port} within {timeout} s")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stderr.close()
        self.process = None


CONTRAST_FAILURES = """() => {
    // WCAG 2 contrast of every visible text against the background it is drawn on (the first opaque
    // background up the tree; opacity and alpha blended in); text on a canvas or image and disabled controls
    // (exempt in WCAG) are left out.
    // any computed colour (rgb(), and the color(srgb ...) or oklab() that color-mix() gives) as [r, g, b, a],
    // read back from a 1-pixel canvas
    const ink = document.createElement('canvas').getContext('2d', {willReadFrequently: true});
    const rgba = (s) => {
        ink.clearRect(0, 0, 1, 1);
        ink.fillStyle = 'rgba(0, 0, 0, 0)';
        ink.fillStyle = s;
        ink.fillRect(0, 0, 1, 1);
        const d = ink.getImageData(0, 0, 1, 1).data;
        return [d[0], d[1], d[2], d[3] / 255];
    };
    const lum = ([r, g, b]) => { const c = [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
                                 return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]; };
    const blend = (top, bottom, a) => top.slice(0, 3).map((v, i) => v * a + bottom[i] * (1 - a));
    const failures = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
        const node = walker.currentNode;
        const el = node.parentElement;
        if (!node.textContent.trim() || !el || el.closest('[hidden], .plot, svg, option, select, input, :disabled')) continue;
        const r = el.getBoundingClientRect();
        const style = getComputedStyle(el);
        if (!r.width || !r.height || style.visibility === 'hidden' || !el.checkVisibility({opacityProperty: false})) continue;
        let bg = null, opacity = 1;
        for (let a = el; a; a = a.parentElement) {
            const s = getComputedStyle(a);
            opacity *= Number(s.opacity);
            const c = rgba(s.backgroundColor);
            if (!bg && c[3] > 0.9) bg = c;
        }
        bg = bg || [255, 255, 255, 1];
        const fg = rgba(style.color);
        const text = blend(fg, bg, fg[3] * opacity);
        const [l1, l2] = [lum(text), lum(bg)].sort((x, y) => y - x);
        const ratio = (l1 + 0.05) / (l2 + 0.05);
        const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
        const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
        if (ratio < needed) failures.push(`${node.textContent.trim().slice(0, 30)} (${style.color} on rgb(${bg.slice(0, 3)}), ${ratio.toFixed(2)}:1)`);
    }
    return failures;
}"""


def contrast_failures(page_or_frame) -> list[str]:
    """Texts whose colour contrast is below WCAG AA (4.5:1, or 3:1 for large text)."""
    return page_or_frame.evaluate(CONTRAST_FAILURES)

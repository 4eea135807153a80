"""Two embeds in a real reveal.js deck (installed from the npm registry, tests/npm_packages.py), pasted as the
Embed dialog gives them: the deck's keys still work after a click inside an embed, an embed on a slide not
shown holds no session, leaving a slide pauses its embed, and the speaker view's preview opens no session.
On a plain page the same snippet makes Space and PageDown scroll the page after a click inside."""

from __future__ import annotations

import tempfile
import time
import threading
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from lesson_helpers import get_json, wait_epoch, wait_frame_ready
from npm_packages import npm_package
from page_helpers import ARTIFACTS

pytestmark = pytest.mark.browser

def dialog_code(page, keep: list[str]) -> str:
    """The Embed dialog's code for the page's setup, keeping `keep` too, with autoplay."""
    page.get_by_role("button", name="Embed", exact=True).click()
    for name in keep:
        page.get_by_label(f"Keep {name}").check()
    page.get_by_label("Autoplay when shown").check()
    code = page.get_by_label("Embed code").input_value()
    page.get_by_role("button", name="Close").click()
    return code


def deck_html(first: str, second: str) -> str:
    return f"""<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="dist/reveal.css"><link rel="stylesheet" href="dist/theme/white.css"></head>
<body><div class="reveal"><div class="slides">
<section><h2>Title</h2></section>
<section><h3>First embed</h3>{first}</section>
<section><h3>Second embed</h3>{second}</section>
<section><h2>The end</h2></section>
</div></div>
<script src="dist/reveal.js"></script><script>
Reveal.initialize({{ hash: true, transition: 'fade' }});  // hidden slides stay in place, transparent
Reveal.on('slidetransitionend', () => {{ window.settled = Reveal.getIndices().h; }});  // for wait_slide
</script></body></html>"""


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextmanager
def deck_server(html: str, reveal: Path | None = None):
    """The page (deck.html, and reveal.js's dist/ for a deck) on a port of its own: another origin than
    nnplay's, on the loopback too (Chromium keeps a page of another address space from framing a local one)."""
    with tempfile.TemporaryDirectory(prefix="nnplay-deck-") as root:
        (Path(root) / "deck.html").write_text(html)
        if reveal is not None:
            (Path(root) / "dist").symlink_to(reveal / "dist")
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=root))
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{httpd.server_address[1]}/deck.html"
        finally:
            httpd.shutdown()
            httpd.server_close()


def open_deck_page(browser, url: str):
    """A fresh page at `url`; its WebSockets (the embeds') in ``page.sockets``, its errors in ``page.errors``."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.errors, page.sockets = [], []
    page.on("pageerror", lambda e: page.errors.append(f"pageerror: {e}"))
    page.on("websocket", lambda ws: page.sockets.append(ws.url))
    page.goto(url)
    return page


def open_deck(browser, url: str):
    page = open_deck_page(browser, url)
    page.wait_for_function("window.Reveal && Reveal.isReady()")
    return page


def embed_frame(page, index: int):
    return page.locator("iframe").nth(index).element_handle().content_frame()


def wait_slide(page, index: int) -> None:
    """Wait until slide `index` is shown and has stopped moving (a click during the transition misses)."""
    page.wait_for_function("(i) => Reveal.getIndices().h === i && window.settled === i", arg=index, timeout=5_000)


def test_a_reveal_deck_keeps_its_keys_and_runs_only_the_slide_shown(browser, server, page):
    reveal = npm_package("reveal.js", "5")
    first = dialog_code(page, [])
    second = dialog_code(page, ["Learning rate"])
    assert "nnplayHosts" in first, "the snippet carries the host listener"
    before = get_json(server.url + "/api/health")["sessions"]
    with deck_server(deck_html(first, second), reveal) as url:
        deck = open_deck(browser, url)
        try:
            run_the_deck(deck, server, before)
        finally:
            deck.context.close()


def run_the_deck(deck, server, before: int) -> None:
    frames = [deck.frame_locator("iframe").nth(i) for i in range(2)]
    deck.wait_for_timeout(1500)
    assert deck.sockets == [], "embeds on slides not shown opened sessions"
    # <=: a session of an earlier test's closed page may still be ending on the shared server
    assert get_json(server.url + "/api/health")["sessions"] <= before

    deck.keyboard.press("ArrowRight")
    wait_slide(deck, 1)
    first_embed, second_embed = (embed_frame(deck, i) for i in range(2))
    wait_frame_ready(first_embed)
    wait_epoch(first_embed, 3)
    assert len(deck.sockets) == 1, "only the slide shown holds a session"
    assert get_json(server.url + "/api/health")["sessions"] <= before + 1

    frames[0].get_by_role("button", name="Pause").click()  # a click inside: Pause, then Play again
    frames[0].get_by_role("button", name="Play").click()
    frames[0].get_by_role("button", name="Pause").wait_for()
    deck.keyboard.press("Space")  # the deck's "next", not the Play button again
    wait_slide(deck, 2)
    first_embed.wait_for_function("window.nnplay.session.playing === false", timeout=10_000)
    assert first_embed.get_by_role("button", name="Play").count() == 1, "leaving the slide paused its embed"
    wait_frame_ready(second_embed)
    wait_epoch(second_embed, 3)

    rate = second_embed.get_by_label("Learning rate", exact=True)
    chosen = rate.input_value()
    frames[1].locator(".plot").click()  # the plot, then the deck's keys
    deck.keyboard.press("ArrowLeft")
    wait_slide(deck, 1)
    deck.keyboard.press("n")
    wait_slide(deck, 2)
    rate.click()  # a menu: opened and closed by the mouse
    deck.keyboard.press("Escape")
    deck.keyboard.press("PageUp")
    wait_slide(deck, 1)
    assert rate.input_value() == chosen, "the deck's keys did not change the menu"
    frames[0].get_by_role("button", name="Reset").click()
    deck.keyboard.press("Escape")
    deck.wait_for_function("Reveal.isOverview()", timeout=5_000)
    deck.keyboard.press("Escape")
    deck.wait_for_function("!Reveal.isOverview()", timeout=5_000)
    ARTIFACTS.mkdir(exist_ok=True)
    deck.screenshot(path=str(ARTIFACTS / "embed_deck.png"))
    assert deck.errors == []


def test_the_speaker_views_preview_opens_no_session(browser, page):
    reveal = npm_package("reveal.js", "5")
    with deck_server(deck_html(dialog_code(page, []), ""), reveal) as url:
        preview = open_deck(browser, url + "?receiver#/1")  # as reveal's speaker view loads its previews
        try:
            check_the_preview(preview)
        finally:
            preview.context.close()


def check_the_preview(preview) -> None:
    preview.wait_for_function("Reveal.getIndices().h === 1")
    embed = embed_frame(preview, 0)
    wait_frame_ready(embed)
    embed.wait_for_function("window.nnplay.host.preview === true", timeout=5_000)
    preview.wait_for_timeout(1000)
    assert embed.evaluate("window.nnplay.visibility.visible") is False
    assert preview.sockets == [], "an embed in the speaker view's preview opened a session"
    assert preview.errors == []


def test_on_a_plain_page_space_scrolls_after_a_click_and_presses_a_button_reached_by_tab(browser, page):
    code = dialog_code(page, [])
    fixed = code.replace('style="border:0"', 'style="border:0;position:fixed;right:0;top:0"')  # stays in view
    html = f'<!doctype html><html><body>{fixed}<div style="height:4000px">a long page</div></body></html>'
    with deck_server(html) as url:
        host = open_deck_page(browser, url)
        try:
            embed = embed_frame(host, 0)
            wait_frame_ready(embed)
            wait_epoch(embed, 3)  # autoplay
            host.frame_locator("iframe").get_by_role("button", name="Pause").click()
            host.frame_locator("iframe").get_by_role("button", name="Play").click()
            host.keyboard.press("Space")
            host.wait_for_function("scrollY > 300", timeout=5_000)
            host.keyboard.press("PageDown")
            host.wait_for_function("scrollY > 900", timeout=5_000)
            assert embed.evaluate("window.nnplay.session.playing"), "Space pressed Play (now Pause) again"
            host.frame_locator("iframe").get_by_role("button", name="Reset").click()
            host.keyboard.press("Tab")  # to the Play button by keyboard: now Space is the button's
            assert embed.evaluate("document.activeElement.getAttribute('aria-label')") == "Pause"
            host.wait_for_timeout(800)  # PageDown's smooth scroll has ended
            scrolled = host.evaluate("scrollY")
            host.keyboard.press("Space")
            embed.get_by_role("button", name="Play").wait_for(timeout=5_000)
            assert host.evaluate("scrollY") == scrolled
            assert host.errors == []
        finally:
            host.context.close()


SUSPEND_S = 4.0  # frontend/js/embed-visibility.js SUSPEND_MS


def test_an_embed_left_behind_gives_its_session_back_and_comes_back_where_it_was(browser, server, page):
    reveal = npm_package("reveal.js", "5")
    code = dialog_code(page, ["Loss chart"])
    before = get_json(server.url + "/api/health")["sessions"]
    with deck_server(deck_html(code, "<p>no embed</p>"), reveal) as url:
        deck = open_deck(browser, url)
        try:
            leave_and_come_back(deck, server, before)
            assert deck.errors == []
        finally:
            deck.context.close()


def leave_and_come_back(deck, server, before: int) -> None:
    deck.keyboard.press("ArrowRight")
    wait_slide(deck, 1)
    embed = embed_frame(deck, 0)
    wait_frame_ready(embed)
    wait_epoch(embed, 5)  # autoplay
    deck.keyboard.press("ArrowRight")  # a flick through: away and back within the grace keeps the session
    wait_slide(deck, 2)
    deck.keyboard.press("ArrowLeft")
    wait_slide(deck, 1)
    embed.wait_for_function("window.nnplay.session.playing", timeout=10_000)
    assert len(deck.sockets) == 1 and embed.evaluate("window.nnplay.socket.open"), "a flick reconnected"

    deck.keyboard.press("ArrowRight")
    left = time.monotonic()
    wait_slide(deck, 2)
    embed.wait_for_function("window.nnplay.session.playing === false", timeout=10_000)
    embed.wait_for_function("window.nnplay.socket.status === 'suspended'", timeout=(SUSPEND_S + 6) * 1000)
    assert time.monotonic() - left >= SUSPEND_S - 0.5, "closed before the grace ended"
    epoch, rows = embed.evaluate("[window.nnplay.session.epoch, window.nnplay.chart.store.rows()]")
    assert epoch >= 5 and len(rows) >= 5
    deadline = time.monotonic() + 10
    while get_json(server.url + "/api/health")["sessions"] > before and time.monotonic() < deadline:
        time.sleep(0.2)  # <=: a session of an earlier test's closed page may still be ending on the shared server
    assert get_json(server.url + "/api/health")["sessions"] <= before, "the server still holds the embed's session"

    deck.keyboard.press("ArrowLeft")
    wait_slide(deck, 1)
    embed.wait_for_function("window.nnplay.socket.open", timeout=10_000)
    assert len(deck.sockets) == 2, "shown again, the embed reconnects"
    embed.wait_for_function("window.nnplay.session.synced", timeout=10_000)
    restored = embed.evaluate("window.nnplay.session.serverState.epoch")
    assert restored == epoch, "the run came back at its epoch, not from the start"
    wait_epoch(embed, epoch + 3)  # and plays on, as it did when it was left
    after = embed.evaluate("window.nnplay.chart.store.rows()")
    assert after[:len(rows)] == rows, "the loss chart keeps its history"
    embed.get_by_role("button", name="Pause").wait_for(timeout=5_000)
    ARTIFACTS.mkdir(exist_ok=True)
    deck.screenshot(path=str(ARTIFACTS / "embed_deck_back.png"))

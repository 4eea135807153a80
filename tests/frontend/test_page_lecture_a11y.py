"""axe-core (from the npm registry, cached by tests/npm_packages.py) on the playground with a lesson and every
insight open, on a phone, on the compare view and on embeds: no violation above minor impact (one banner
landmark on a page, an h1 on the embed, buttons whose names contain their visible text, headings in order)."""

from __future__ import annotations

import pytest
from npm_packages import npm_package
from page_helpers import wait_ready

pytestmark = pytest.mark.browser

AXE_VERSION = "4.10"
PAGES = [("/#preset=xor_hidden&insights=gradients,metrics,walkthrough,gradcheck", 1280, 800),
         ("/#preset=poly_fit", 390, 844), ("/#dataset=custom", 1024, 768),
         ("/compare#preset=optimizer_race", 1920, 1080),
         ("/embed#controls=play,reset,epoch,loss,chart,learningRate,network", 640, 360)]


@pytest.fixture(scope="module")
def axe_source() -> str:
    return (npm_package("axe-core", AXE_VERSION) / "axe.min.js").read_text()


@pytest.mark.parametrize("path,width,height", PAGES)
def test_no_accessibility_violation_above_minor(browser, server, axe_source, path, width, height):
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        page.goto(server.url + path)
        if path.startswith("/embed"):
            page.wait_for_function("document.body.dataset.ready === 'true'")
        else:
            wait_ready(page)
        page.add_script_tag(content=axe_source)
        violations = page.evaluate("""async () => (await axe.run()).violations
            .filter((v) => v.impact !== 'minor')
            .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`)""")
        assert violations == []
        if not path.startswith("/embed"):
            assert page.get_by_role("banner").count() == 1
        assert page.locator("h1").count() == 1
    finally:
        context.close()

"""Every option of the Embed dialog at every frame size it offers: the dialog either refuses the combination
with a reason, or the embed it gives is usable at that size (a plot of a good size, nothing cut off, the
network diagram whole and without edit buttons, text legible on a projector)."""

from __future__ import annotations

import pytest
from lesson_helpers import host_page, wait_frame_ready
from page_helpers import screenshot

pytestmark = pytest.mark.browser

# Drives the open dialog: for each size it offers and each option (every checkbox added to the default, and
# all of them), the link it gives or the reason it refuses.
COMBINATIONS = """() => {
    const dialog = document.querySelector('dialog.embed-dialog');
    const size = dialog.querySelector('select[aria-label="Frame size"]');
    const boxes = [...dialog.querySelectorAll('fieldset.keep input[type=checkbox]')];
    const defaults = boxes.filter((b) => b.checked).map((b) => b.value);
    const choices = [...boxes.map((b) => [...new Set([...defaults, b.value])]), boxes.map((b) => b.value)];
    const out = [];
    for (const option of [...size.options].filter((o) => o.value !== 'custom')) {
        size.value = option.value;
        size.dispatchEvent(new Event('change'));
        for (const keep of choices) {
            boxes.forEach((b) => { b.checked = keep.includes(b.value); });
            boxes[0].dispatchEvent(new Event('change'));
            const problem = dialog.querySelector('.embed-problem');
            out.push({ size: option.value, keep, link: dialog.querySelector('.embed-link').value,
                       problem: problem.hidden ? null : problem.textContent,
                       copy: !dialog.querySelector('[aria-label="Copy code"]').disabled });
        }
    }
    return out;
}"""

# Measured inside one embed: the plot's size, what is cut off (beyond the frame, or clipped in the controls'
# column), the network's nodes and buttons, the smallest text of the controls and the chart's height.
GEOMETRY = """() => {
    const box = (e) => e.getBoundingClientRect();
    const shown = (e) => { const r = box(e); return r.width > 0 && r.height > 0 && e.checkVisibility(); };
    const plot = box(document.querySelector('.embed-stage .plot'));
    const outside = [...document.querySelectorAll('.embed-root *')].filter((e) => shown(e)).filter((e) => {
        const r = box(e);
        return r.left < -0.5 || r.top < -0.5 || r.right > innerWidth + 0.5 || r.bottom > innerHeight + 0.5;
    }).map((e) => e.getAttribute('aria-label') || e.className || e.tagName);
    const side = document.querySelector('.embed-side');
    const clipped = !side.hidden
        && (side.scrollHeight > side.clientHeight + 1 || side.scrollWidth > side.clientWidth + 1);
    const net = document.querySelector('.embed-network');
    const nodes = [...document.querySelectorAll('.embed-network .node')].map(box);
    const inside = (r, b) => r.left >= b.left - 0.5 && r.top >= b.top - 0.5
        && r.right <= b.right + 0.5 && r.bottom <= b.bottom + 0.5;
    const texts = [];
    const walker = document.createTreeWalker(side, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
        const el = walker.currentNode.parentElement;
        if (walker.currentNode.textContent.trim() && el && shown(el)) {
            texts.push(parseFloat(getComputedStyle(el).fontSize));
        }
    }
    const chart = document.querySelector('.embed-side .chart');
    return {
        plot: Math.min(plot.width, plot.height), outside, clipped,
        nodes: nodes.length, smallestNode: Math.min(...nodes.map((r) => r.width)),
        nodesInside: net ? nodes.every((r) => inside(r, box(net))) : true,
        editButtons: [...document.querySelectorAll('.embed-root button.round')].filter(shown).length,
        smallestText: Math.min(...texts), chart: chart && shown(chart) ? box(chart).height : null,
    };
}"""


def test_every_dialog_option_is_usable_at_every_size_it_offers(page, browser):
    page.get_by_role("button", name="Embed", exact=True).click()
    combinations = page.evaluate(COMBINATIONS)
    page.get_by_role("button", name="Close").click()
    sizes = sorted({c["size"] for c in combinations}, key=lambda s: [int(v) for v in s.split("x")])
    assert {"320x240", "480x360", "640x360", "1024x768"} <= set(sizes)
    for c in combinations:
        assert (c["problem"] is None) == bool(c["link"]) == c["copy"], c
    refused = [c for c in combinations if c["problem"]]
    assert all("px" in c["problem"] for c in refused), "a refusal says what size it needs"
    network_alone = [c for c in combinations if c["keep"] == ["play", "reset", "epoch", "network"]]
    assert [c["size"] for c in network_alone if not c["problem"]] == [s for s in sizes if s != "320x240"]
    assert len(refused) < len(combinations) / 4, "most combinations are offered"
    for size in sizes:
        check_size(browser, size, [c for c in combinations if c["size"] == size and not c["problem"]])


def check_size(browser, size: str, offered: list[dict]) -> None:
    width, height = (int(v) for v in size.split("x"))
    frame = f'width="{width}" height="{height}" style="border:1px solid #ccc;margin:2px"'
    html = "".join(f'<iframe src="{c["link"]}" {frame}></iframe>' for c in offered)
    host = host_page(browser, f'<div style="display:flex;flex-wrap:wrap">{html}</div>', width=1600, height=900)
    try:
        frames = [host.locator("iframe").nth(i).element_handle().content_frame() for i in range(len(offered))]
        for c, frame in zip(offered, frames, strict=True):
            wait_frame_ready(frame)
            g = frame.evaluate(GEOMETRY)
            what = f"{size} keeping {','.join(c['keep'])}: {g}"
            assert g["plot"] >= 0.4 * min(width, height), f"the plot is too small at {what}"
            assert g["outside"] == [] and not g["clipped"], f"something is cut off at {what}"
            assert g["editButtons"] == 0, f"± buttons in a view-only embed at {what}"
            if "network" in c["keep"]:
                assert g["nodes"] >= 6 and g["nodesInside"], f"the network is cut off at {what}"
                assert g["smallestNode"] >= 20, f"the network's nodes are too small at {what}"
            assert g["smallestText"] >= (16 if min(width, height) >= 720 else 9), f"text too small at {what}"
            if g["chart"] is not None and min(width, height) >= 720:
                assert g["chart"] >= 60, f"the chart does not grow with the frame at {what}"
        # every frame on screen for the picture (Chromium paints no off-screen frame); they connect, not train
        host.set_viewport_size({"width": 1600, "height": host.evaluate("document.body.scrollHeight")})
        host.wait_for_timeout(1500)
        screenshot(host, f"embed_sizes_{size}.png")
        assert host.errors == []
    finally:
        host.context.close()

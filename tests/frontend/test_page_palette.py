"""The page's colours are the server's palette (GET /api/options `palette`, server/options.py PALETTE): colors.js
usePalette() sets the CSS custom properties the style sheets use, elements styled by them render those colours,
a different palette repaints them, and the page's own files write none of the palette's colours again."""

from __future__ import annotations

import io
import json
import re
import urllib.request
from pathlib import Path

import pytest
from page_helpers import wait_ready

pytestmark = pytest.mark.browser

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"

# the style sheets' names for the palette's colours (colors.js paletteProperties)
PROPERTIES = {"--negative": ("diverging", 0), "--positive": ("diverging", 2), "--ink": ("ink", None)}


def palette(server) -> dict:
    with urllib.request.urlopen(server.url + "/api/options", timeout=10) as response:
        return json.load(response)["palette"]


def colour_of(pal: dict, name: str) -> str:
    key, index = PROPERTIES[name]
    return pal[key] if index is None else pal[key][index]


def rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(bytes.fromhex(hex_colour[1:]))


def css_rgb(hex_colour: str) -> str:
    return "rgb({}, {}, {})".format(*rgb(hex_colour))


def drawn(page, selector: str, at: tuple[float, float] = (0.5, 0.5)) -> tuple[int, int, int]:
    """The colour the browser painted in the first `selector` element, `at` a fraction of its width and height
    (a screenshot's pixel)."""
    image = pytest.importorskip("PIL.Image")
    shot = page.locator(selector).first.screenshot()
    with image.open(io.BytesIO(shot)) as picture:
        return picture.convert("RGB").getpixel((int(picture.width * at[0]), int(picture.height * at[1])))


STYLED = """() => ({
    properties: Object.fromEntries(['--negative', '--positive', '--ink'].map((name) =>
        [name, getComputedStyle(document.documentElement).getPropertyValue(name).trim()])),
    negative: getComputedStyle(document.querySelector('.key.negative')).backgroundColor,
    positive: getComputedStyle(document.querySelector('.key.positive')).backgroundColor,
    header: getComputedStyle(document.querySelector('.site-header')).backgroundColor,
})"""


def test_css_properties_are_the_servers_palette_and_paint_the_page(page, server):
    pal = palette(server)
    styled = page.evaluate(STYLED)
    assert styled["properties"] == {name: colour_of(pal, name) for name in PROPERTIES}
    # the footer's colour key and the header are styled by those properties alone
    assert styled["negative"] == css_rgb(pal["diverging"][0])
    assert styled["positive"] == css_rgb(pal["diverging"][2])
    assert styled["header"] == css_rgb(pal["ink"])
    assert drawn(page, ".key.negative") == rgb(pal["diverging"][0])
    assert drawn(page, ".key.positive") == rgb(pal["diverging"][2])
    assert drawn(page, ".play-button", at=(0.2, 0.5)) == rgb(pal["ink"])  # beside its white icon


def test_another_palette_repaints_the_page(page, server):
    """A palette with other colours: the style sheets follow it (they hold no copy of the old one), and so does
    the multiclass heatmap's chance-level colour, the middle of the diverging scale."""
    pal = palette(server)
    other = {**pal, "diverging": ["#7b3294", "#f0f0f0", "#008837"], "ink": "#2d004b"}
    result = page.evaluate("""async (other) => {
        const colors = await import('/js/colors.js');
        const heatmap = await import('/js/output-heatmap.js');
        colors.usePalette(other);
        // one cell of 3 classes at chance level: every byte of an array with lo = hi = 1/3 means p = 1/3
        const image = new ImageData(1, 1);
        const probs = Object.assign(Uint8Array.of(0), {lo: 1 / 3, hi: 1 / 3});
        heatmap.paintClasses(image, probs, Uint8Array.of(0), 3);
        return {chance: Array.from(image.data.slice(0, 3)), middle: colors.overWhite(colors.NEUTRAL)};
    }""", other)
    styled = page.evaluate(STYLED)
    assert styled["properties"] == {name: colour_of(other, name) for name in PROPERTIES}
    assert drawn(page, ".key.negative") == rgb(other["diverging"][0])
    assert drawn(page, ".key.positive") == rgb(other["diverging"][2])
    assert styled["header"] == css_rgb(other["ink"])
    assert result["chance"] == result["middle"]
    faded = [round(255 + (c - 255) * pal["heatmap_alpha"] / 255) for c in rgb(other["diverging"][1])]
    assert result["middle"] == faded


def test_a_palette_without_a_named_colour_stops_the_page_with_a_message(make_page, server):
    """No fallback colour hides a palette the page cannot use: it says so instead."""
    def without_ink(route):
        response = route.fetch()
        options = response.json()
        options["palette"]["ink"] = None
        route.fulfill(response=response, json=options)

    page = make_page(server.url + "/")
    page.route("**/api/options", without_ink)
    page.reload()
    page.wait_for_function("document.body.dataset.ready === 'error'")
    assert "the palette has no colour for --ink" in page.locator("#fatal").inner_text()
    assert page.locator(".site-header").evaluate("h => getComputedStyle(h).visibility") == "hidden"


def test_no_palette_colour_is_written_twice_in_the_page(server):
    """The page's own files hold none of the palette's colours of page-wide meaning (the diverging scale, the
    ink, NaN grey, the 1-D view's background) as #rrggbb, #rgb or rgb(): they come from usePalette()."""
    pal = palette(server)
    colours = {*pal["diverging"], pal["ink"], pal["nan"], pal["curve"]["background"]}
    forms = []
    for colour in colours:
        r, g, b = rgb(colour)
        forms += [re.escape(colour), rf"rgba?\(\s*{r}\s*,\s*{g}\s*,\s*{b}\b"]
        if colour[1] == colour[2] and colour[3] == colour[4] and colour[5] == colour[6]:
            forms.append(re.escape("#" + colour[1::2]) + r"\b")
    pattern = re.compile("|".join(forms), re.IGNORECASE)
    found = [f"{path.relative_to(FRONTEND)}:{n}: {match.group(0)}"
             for path in sorted(FRONTEND.rglob("*")) if path.suffix in {".js", ".css", ".html"}
             for n, line in enumerate(path.read_text().splitlines(), 1) for match in pattern.finditer(line)]
    assert found == []


def test_the_compare_page_and_the_embed_take_the_palette_too(make_page, server):
    pal = palette(server)
    for path, selector in (("/compare", ".site-header"), ("/embed#controls=play", ".play-button")):
        page = make_page(server.url + path)
        wait_ready(page)
        assert page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--ink').trim()") == pal["ink"]
        assert drawn(page, selector, at=(0.2, 0.5)) == rgb(pal["ink"]), path

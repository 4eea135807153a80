// Colours of the page. The palette is the server's (server/options.py PALETTE, sent in GET /api/options as
// `palette`; its renderer draws PNGs and GIFs from the same values): usePalette() fills these live bindings
// once, before anything is drawn, and hands the colours the style sheets use to CSS as custom properties
// (paletteProperties), so no colour of the palette is written in the page a second time. The diverging scale is TensorFlow Playground's: `shades` (31) shades through
// the three `diverging` stops (orange −1, grey 0, blue +1); index = clamp(floor(31 (v + 1) / 2), 0, 30).
// Heatmaps are drawn with alpha `heatmap_alpha` (160) over white, as the playground does, so their opaque
// RGB is precomputed here.

export let NUM_SHADES = 0;
export let HEATMAP_ALPHA = 0;
export let NAN_GREY = [0, 0, 0];
/** The middle of the diverging scale (value 0, and a multiclass cell at chance level) as [r, g, b]. */
export let NEUTRAL = [0, 0, 0];
/** The page's dark ink (header, buttons, captions, the ring round a marked point). */
export let INK = '';
/** Multiclass colours, class k → CLASS_COLORS[k] (Okabe & Ito's colour-blind-safe palette). */
export let CLASS_COLORS = [];
/** Outlines of training and test points, and the 1-D view's colours (background, line, points, zero). */
export let POINT_OUTLINES = { train: '', test: '' };
export let CURVE = { background: '', line: '', points: '', zero: '' };
/** The shades as [r, g, b], and as CSS. */
export let SHADES = [];
export let SHADES_CSS = [];
let STOPS = [];

/** The CSS custom properties of a palette: the diverging scale's ends and the ink. The style sheets use
 *  these only; what they derive (hover shades, tints) they derive with color-mix(). */
export function paletteProperties(palette) {
  const [negative, , positive] = palette.diverging;
  const properties = { '--negative': negative, '--positive': positive, '--ink': palette.ink };
  for (const [name, value] of Object.entries(properties)) {
    if (!/^#[0-9a-f]{6}$/i.test(value)) throw new Error(`GET /api/options: the palette has no colour for ${name} (got ${value})`);
  }
  return properties;
}

/** Take the server's palette (GET /api/options `palette`): call once, before drawing. Sets the palette's
 *  CSS custom properties on <html> and marks it `data-palette`: the page is shown from then on (style.css). */
export function usePalette(palette) {
  STOPS = palette.diverging.map(hexRgb);
  NUM_SHADES = palette.shades;
  HEATMAP_ALPHA = palette.heatmap_alpha;
  NAN_GREY = hexRgb(palette.nan);
  NEUTRAL = STOPS[1];
  INK = palette.ink;
  CLASS_COLORS = [...palette.classes];
  POINT_OUTLINES = { train: palette.train_outline, test: palette.test_outline };
  CURVE = { ...palette.curve };
  SHADES = Array.from({ length: NUM_SHADES }, (_, i) => shadeAt(i / (NUM_SHADES - 1)));
  SHADES_CSS = SHADES.map(rgbCss);
  const root = document.documentElement;
  for (const [name, value] of Object.entries(paletteProperties(palette))) root.style.setProperty(name, value);
  root.dataset.palette = 'server';
}

function mix(a, b, t) {
  return a.map((v, i) => Math.round(v + (b[i] - v) * t));
}

function shadeAt(a) {
  // a in [0, 1] through the three stops, as d3.scale.linear().domain([0, .5, 1]) does
  return a <= 0.5 ? mix(STOPS[0], STOPS[1], a / 0.5) : mix(STOPS[1], STOPS[2], (a - 0.5) / 0.5);
}

/** Shade index of a value in [−1, 1] (clamped); −1 for NaN. */
export function shadeIndex(v) {
  if (Number.isNaN(v)) return -1;
  const i = Math.floor((NUM_SHADES * (v + 1)) / 2);
  return i < 0 ? 0 : i > NUM_SHADES - 1 ? NUM_SHADES - 1 : i;
}

export function rgbCss([r, g, b]) {
  return `rgb(${r},${g},${b})`;
}

export function hexRgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** A palette colour (#rrggbb) at opacity `alpha`, as CSS. */
export function withAlpha(hex, alpha) {
  return `rgba(${hexRgb(hex).join(',')},${alpha})`;
}

/** Colour (CSS) of a value on the diverging scale; grey for NaN. */
export function valueColor(v) {
  const i = shadeIndex(v);
  return i < 0 ? rgbCss(NAN_GREY) : SHADES_CSS[i];
}

/** An RGB colour drawn at alpha 160 over white, as an opaque colour. */
export function overWhite([r, g, b], alpha = HEATMAP_ALPHA) {
  const t = alpha / 255;
  return [r, g, b].map((c) => Math.round(255 + (c - 255) * t));
}

/** Lookup tables for heatmaps: for each quantised byte q (0..255) of an array with (lo, hi), the
 *  opaque RGB of its shade; q = 255 is NaN (grey). Built once per (lo, hi, discretize). */
export function byteLut(lo, hi, discretize = false) {
  const lut = new Uint8ClampedArray(256 * 3);
  const faded = SHADES.map((s) => overWhite(s));
  for (let q = 0; q < 256; q++) {
    let rgb;
    if (q === 255) rgb = NAN_GREY;
    else {
      let v = lo + (q * (hi - lo)) / 254;
      if (discretize) v = v > 0 ? 1 : v < 0 ? -1 : 0;
      rgb = faded[shadeIndex(v)];
    }
    lut.set(rgb, q * 3);
  }
  return lut;
}

// Viridis (perceptually uniform, colour-blind safe), stops at t = 0, .25, .5, .75, 1; its pale yellow end
// is left out (invisible on white), so layer lines run from dark purple to green.
const VIRIDIS = [[0x44, 0x01, 0x54], [0x3b, 0x52, 0x8b], [0x21, 0x91, 0x8c], [0x5e, 0xc9, 0x62], [0xfd, 0xe7, 0x25]];

/** Colour i of n on the sequential scale (first layer dark, last light). */
export function sequentialColor(i, n) {
  const t = n <= 1 ? 0 : (i / (n - 1)) * 0.8;
  const at = t * (VIRIDIS.length - 1);
  const k = Math.min(VIRIDIS.length - 2, Math.floor(at));
  return rgbCss(mix(VIRIDIS[k], VIRIDIS[k + 1], at - k));
}

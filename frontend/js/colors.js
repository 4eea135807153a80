// Colours of the page. The diverging scale is TensorFlow Playground's: 31 shades from #f59322 (−1, orange)
// through #e8eaeb (0) to #0877bd (+1, blue); index = clamp(floor(31 (v + 1) / 2), 0, 30). Heatmaps are drawn
// with alpha 160 over white, as the playground does, so their opaque RGB is precomputed here.

export const NUM_SHADES = 31;
export const HEATMAP_ALPHA = 160;
export const NAN_GREY = [170, 170, 170];
// Okabe & Ito's colour-blind-safe palette (yellow left out: invisible on white), for multiclass data.
export const CLASS_COLORS = ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#d55e00', '#56b4e9'];

const STOPS = [[0xf5, 0x93, 0x22], [0xe8, 0xea, 0xeb], [0x08, 0x77, 0xbd]];

function mix(a, b, t) {
  return a.map((v, i) => Math.round(v + (b[i] - v) * t));
}

function shadeAt(a) {
  // a in [0, 1] through the three stops, as d3.scale.linear().domain([0, .5, 1]) does
  return a <= 0.5 ? mix(STOPS[0], STOPS[1], a / 0.5) : mix(STOPS[1], STOPS[2], (a - 0.5) / 0.5);
}

/** The 31 shades as [r, g, b]. */
export const SHADES = Array.from({ length: NUM_SHADES }, (_, i) => shadeAt(i / (NUM_SHADES - 1)));
export const SHADES_CSS = SHADES.map(rgbCss);

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

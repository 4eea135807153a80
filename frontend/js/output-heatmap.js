// Drawing of grids and points on canvases. Grids arrive quantised (uint8, 255 = NaN) and are written
// straight into ImageData through a 256-entry colour lookup table, so a 100×100 heatmap costs one pass
// over 10,000 bytes and one putImageData, and the browser scales the small canvas up (as the playground).

import { byteLut, CLASS_COLORS, CURVE, hexRgb, NAN_GREY, NEUTRAL, overWhite, POINT_OUTLINES, valueColor } from './colors.js';


const lutCache = new Map();
function lutFor(lo, hi, discretize) {
  const key = `${lo}|${hi}|${discretize}`;
  let lut = lutCache.get(key);
  if (!lut) {
    if (lutCache.size > 64) lutCache.clear();
    lut = byteLut(lo, hi, discretize);
    lutCache.set(key, lut);
  }
  return lut;
}

const classLutCache = new Map();
/** Per class c and probability byte q: the class colour blended from the scale's neutral middle (chance
 *  level 1/k) to the full colour (certain), at alpha 160 over white. */
function classLut(k, lo, hi, discretize) {
  const key = `${k}|${lo}|${hi}|${discretize}`;
  let lut = classLutCache.get(key);
  if (lut) return lut;
  lut = new Uint8ClampedArray(k * 256 * 3);
  for (let c = 0; c < k; c++) {
    const full = hexRgb(CLASS_COLORS[c % CLASS_COLORS.length]);
    for (let q = 0; q < 256; q++) {
      let rgb = NAN_GREY;
      if (q !== 255) {
        const p = lo + (q * (hi - lo)) / 254;
        const t = discretize ? 1 : Math.max(0, Math.min(1, (p - 1 / k) / (1 - 1 / k)));
        rgb = overWhite(NEUTRAL.map((n, i) => n + (full[i] - n) * t));
      }
      lut.set(rgb, (c * 256 + q) * 3);
    }
  }
  if (classLutCache.size > 32) classLutCache.clear();
  classLutCache.set(key, lut);
  return lut;
}

/** Fill `image` (ImageData, w × h) from quantised bytes of an h × w grid. */
export function paintGrid(image, bytes, lo, hi, discretize = false, offset = 0) {
  const lut = lutFor(lo, hi, discretize);
  const data = image.data;
  const n = image.width * image.height;
  for (let i = 0, p = 0; i < n; i++, p += 4) {
    const q = bytes[offset + i] * 3;
    data[p] = lut[q];
    data[p + 1] = lut[q + 1];
    data[p + 2] = lut[q + 2];
    data[p + 3] = 255;
  }
}

/** Fill `image` (w × h) from a 1-D row of w quantised bytes, repeated on every row (a 1-D neuron's
 *  value depends on x1 only). */
export function paintStrip(image, bytes, lo, hi, discretize = false, offset = 0) {
  const lut = lutFor(lo, hi, discretize);
  const { data, width, height } = image;
  for (let x = 0; x < width; x++) {
    const q = bytes[offset + x] * 3;
    for (let y = 0, p = x * 4; y < height; y++, p += width * 4) {
      data[p] = lut[q];
      data[p + 1] = lut[q + 1];
      data[p + 2] = lut[q + 2];
      data[p + 3] = 255;
    }
  }
}

/** Multiclass: `probs` (winning probability, quantised lo..hi) and `classes` (argmax) -> palette colour. */
export function paintClasses(image, probs, classes, k, discretize = false) {
  const lut = classLut(k, probs.lo ?? 0, probs.hi ?? 1, discretize);
  const data = image.data;
  const n = image.width * image.height;
  for (let i = 0, p = 0; i < n; i++, p += 4) {
    const j = ((classes[i] % k) * 256 + probs[i]) * 3;
    data[p] = lut[j];
    data[p + 1] = lut[j + 1];
    data[p + 2] = lut[j + 2];
    data[p + 3] = 255;
  }
}

/** Fill `image` with f(x1, x2) over [−extent, extent]² on the diverging scale (feature thumbnails). */
export function paintFunction(image, fn, extent) {
  const { data, width, height } = image;
  for (let r = 0, p = 0; r < height; r++) {
    const x2 = extent - (2 * extent * (r + 0.5)) / height;
    for (let c = 0; c < width; c++, p += 4) {
      const x1 = -extent + (2 * extent * (c + 0.5)) / width;
      const rgb = overWhite(parseRgb(valueColor(fn(x1, x2))));
      data[p] = rgb[0];
      data[p + 1] = rgb[1];
      data[p + 2] = rgb[2];
      data[p + 3] = 255;
    }
  }
}

function parseRgb(css) {
  return css.match(/\d+/g).map(Number);
}

/** Colour of a data point's label: binary ±1 and regression on the diverging scale, classes from the
 *  palette. */
export function labelColor(label, task) {
  if (task === 'multiclass') return CLASS_COLORS[Math.round(label) % CLASS_COLORS.length];
  return valueColor(label);
}

/** Plot points (rows [x1, x2, label]) on a canvas covering [−extent, extent]²: train points with a white outline,
 *  test points with a black one (as the playground). `rows` is a Float32Array of n × 3. */
export function drawPoints(ctx, rows, { task, stroke = POINT_OUTLINES.train, radius = 3, size, extent, yRange = null }) {
  const scale = size / (2 * extent);
  ctx.lineWidth = 1;
  ctx.strokeStyle = stroke;
  for (let i = 0; i + 2 < rows.length; i += 3) {
    const x = (rows[i] + extent) * scale;
    const y = yRange ? yPixel(rows[i + 2], yRange, size) : (extent - rows[i + 1]) * scale;
    ctx.beginPath();
    ctx.arc(x, y, radius, 0, 2 * Math.PI);
    ctx.fillStyle = yRange ? CURVE.points : labelColor(rows[i + 2], task);
    ctx.fill();
    ctx.stroke();
  }
}

export function yPixel(value, [lo, hi], size) {
  return size - ((value - lo) / (hi - lo)) * size;
}

/** The y range of a 1-D plot: the labels and the curve, with a 10 % margin. */
export function curveRange(curve, ...pointSets) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of curve ?? []) if (Number.isFinite(v)) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
  for (const rows of pointSets) {
    for (let i = 2; i < (rows?.length ?? 0); i += 3) (lo = Math.min(lo, rows[i])), (hi = Math.max(hi, rows[i]));
  }
  if (!Number.isFinite(lo)) return [-1, 1];
  if (hi - lo < 1e-9) (lo -= 1), (hi += 1);
  const pad = (hi - lo) * 0.1;
  return [lo - pad, hi + pad];
}

/** The 1-D view: background, zero line and the fitted curve (float32, x1 from −extent to extent). */
export function drawCurve(ctx, curve, range, size) {
  ctx.fillStyle = CURVE.background;
  ctx.fillRect(0, 0, size, size);
  if (range[0] < 0 && range[1] > 0) {
    ctx.strokeStyle = CURVE.zero;
    ctx.beginPath();
    ctx.moveTo(0, yPixel(0, range, size));
    ctx.lineTo(size, yPixel(0, range, size));
    ctx.stroke();
  }
  if (!curve) return;
  ctx.strokeStyle = CURVE.line;
  ctx.lineWidth = 2;
  ctx.beginPath();
  let pen = false;
  for (let i = 0; i < curve.length; i++) {
    const v = curve[i];
    if (!Number.isFinite(v)) {
      pen = false;
      continue;
    }
    const x = ((i + 0.5) / curve.length) * size;
    const y = Math.max(-size, Math.min(2 * size, yPixel(v, range, size)));
    pen ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
    pen = true;
  }
  ctx.stroke();
  ctx.lineWidth = 1;
}

/** A canvas of w × h device pixels with a reusable ImageData. */
export function gridCanvas(width, height, className = '') {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  if (className) canvas.className = className;
  const ctx = canvas.getContext('2d');
  let image = ctx.createImageData(width, height);
  return {
    canvas,
    ctx,
    get image() {
      return image;
    },
    resize(w, h) {
      if (w === canvas.width && h === canvas.height) return;
      canvas.width = w;
      canvas.height = h;
      image = ctx.createImageData(w, h);
    },
    put() {
      ctx.putImageData(image, 0, 0);
    },
  };
}

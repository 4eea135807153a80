// Line charts on a canvas. A series store keeps rows [x, v1, v2, ...] (x = epoch, increasing); a chart
// draws any columns of any stores, each as a line (colour, dash, width), on a linear or log10 y scale,
// with x mapped by epoch so stores of different lengths line up. Drawing decimates to the pixel width.
// `createChart()` is the playground's loss chart: training loss (#777) and test loss (black), 55 px tall.
// A chart with nothing to draw is marked `data-empty` and takes no room (style.css): no blank strip before
// the first epoch.

import { el } from './ui.js';

/** Rows [x, ...values] with x increasing; a repeated or older x is skipped (a step re-sent). */
export function createStore(columns) {
  let xs = new Float64Array(1024);
  let values = Array.from({ length: columns }, () => new Float64Array(1024));
  let n = 0;
  function grow() {
    const double = (a) => {
      const b = new Float64Array(a.length * 2);
      b.set(a);
      return b;
    };
    xs = double(xs);
    values = values.map(double);
  }
  return {
    columns,
    push(x, row) {
      if (n && x <= xs[n - 1]) return;
      if (n === xs.length) grow();
      xs[n] = x;
      for (let k = 0; k < columns; k++) values[k][n] = row[k] ?? NaN;
      n++;
    },
    clear() {
      n = 0;
    },
    get length() {
      return n;
    },
    x: (i) => xs[i],
    value: (i, k) => values[k][i],
    /** Every row as a plain array [x, v1, ...]. */
    rows() {
      return Array.from({ length: n }, (_, i) => [xs[i], ...values.map((v) => v[i])]);
    },
  };
}

/** A chart of `lines` ([{store, column, color, dash?, width?}]). `log`: log10 y (values ≤ 0 are gaps). */
export function createLineChart({ label, height = 55, log = false, className = '', axis = false }) {
  let lines = [];
  let width = 0; // the canvas's width in CSS pixels when it was last sized
  let cssWidth = 260; // kept by a ResizeObserver, so drawing never forces a layout
  const canvas = el('canvas', { class: `line-chart ${className}`, role: 'img', 'aria-label': label, style: `height:${height}px` });
  const element = el('div', { class: 'chart', style: `height:${height}px`, 'data-empty': '' }, canvas);
  new ResizeObserver(([entry]) => {
    cssWidth = Math.max(40, Math.round(entry.contentRect.width));
    draw();
  }).observe(element);

  const transform = log ? (v) => (v > 0 ? Math.log10(v) : NaN) : (v) => v;

  function draw() {
    const ratio = window.devicePixelRatio || 1;
    if (width !== cssWidth) {
      width = cssWidth;
      canvas.width = Math.round(cssWidth * ratio);
      canvas.height = Math.round(height * ratio);
    }
    const ctx = canvas.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, cssWidth, height);
    let lo = Infinity;
    let hi = -Infinity;
    let x0 = Infinity;
    let x1 = -Infinity;
    for (const { store, column } of lines) {
      if (!store.length) continue;
      x0 = Math.min(x0, store.x(0));
      x1 = Math.max(x1, store.x(store.length - 1));
      for (let i = 0; i < store.length; i++) {
        const v = transform(store.value(i, column));
        if (Number.isFinite(v)) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
      }
    }
    const empty = !Number.isFinite(lo) || !Number.isFinite(x0);
    element.toggleAttribute('data-empty', empty);
    if (empty) return;
    if (hi - lo < 1e-12) (hi += log ? 0.5 : 1e-12), (lo -= log ? 0.5 : 0);
    const left = axis ? 34 : 0;
    const plotWidth = cssWidth - left;
    const x = (e) => left + (x1 === x0 ? 0 : ((e - x0) / (x1 - x0)) * (plotWidth - 1));
    const y = (v) => 2 + (1 - (v - lo) / (hi - lo)) * (height - 4);
    if (axis) drawAxis(ctx, lo, hi, y);
    for (const { store, column, color, dash = [], width: lineWidth = 1 } of lines) {
      const n = store.length;
      const stride = Math.max(1, Math.floor(n / (plotWidth * 2)));
      ctx.strokeStyle = color;
      ctx.lineWidth = lineWidth;
      ctx.setLineDash(dash);
      ctx.beginPath();
      let pen = false;
      const point = (i) => {
        const v = transform(store.value(i, column));
        if (!Number.isFinite(v)) return (pen = false);
        pen ? ctx.lineTo(x(store.x(i)), y(v)) : ctx.moveTo(x(store.x(i)), y(v));
        pen = true;
      };
      for (let i = 0; i < n; i += stride) point(i);
      if (n && (n - 1) % stride) point(n - 1);
      if (n === 1) ctx.lineTo(x(store.x(0)) + 2, y(transform(store.value(0, column))));
      ctx.stroke();
    }
    ctx.setLineDash([]);
  }

  /** Labels of the y range at the left (powers of ten on a log chart). */
  function drawAxis(ctx, lo, hi, y) {
    ctx.font = '10px Helvetica, Arial, sans-serif';
    ctx.fillStyle = '#666';
    ctx.strokeStyle = '#eee';
    ctx.lineWidth = 1;
    const label = (v) => (log ? `1e${Math.round(v)}` : String(+v.toPrecision(2)));
    const ticks = log ? range(Math.ceil(lo), Math.floor(hi)) : [hi, lo];
    const every = Math.max(1, Math.ceil(ticks.length / 4));
    ticks.forEach((t, k) => {
      if (k % every) return;
      const py = y(t);
      ctx.beginPath();
      ctx.moveTo(34, py);
      ctx.lineTo(cssWidth, py);
      ctx.stroke();
      ctx.fillText(label(t), 0, Math.max(9, Math.min(height - 2, py + 3)));
    });
  }

  return {
    element,
    canvas,
    draw,
    setLines(list) {
      lines = list;
    },
  };
}

function range(lo, hi) {
  return Array.from({ length: Math.max(0, hi - lo + 1) }, (_, i) => lo + i);
}

/** The loss chart: rows [epoch, train_loss, test_loss] from each frame's `history`. */
export function createChart() {
  const store = createStore(2);
  const chart = createLineChart({ label: 'Loss chart: training loss (grey) and test loss (black)', className: 'loss-chart' });
  chart.setLines([{ store, column: 1, color: 'black' }, { store, column: 0, color: '#777' }]);

  /** Append rows [epoch, train_loss, test_loss] (a Float32Array of m × 3). */
  function append(rows) {
    for (let i = 0; i + 2 < rows.length; i += 3) store.push(rows[i], [rows[i + 1], rows[i + 2]]);
  }

  return {
    element: chart.element,
    canvas: chart.canvas,
    append,
    clear: () => store.clear(),
    draw: chart.draw,
    store,
    get length() {
      return store.length;
    },
  };
}

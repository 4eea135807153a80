// The output plot: the heatmap (a small canvas scaled up), the data points on a canvas layer above it, the
// axis ticks, and an optional marked point. Used by the main page (where hovering a neuron shows that
// neuron's map instead), the embed and each variant of the compare view.

import { curveRange, drawCurve, drawPoints, gridCanvas, paintClasses, paintGrid, paintStrip } from './output-heatmap.js';
import { el } from './ui.js';
import { INK, POINT_OUTLINES } from './colors.js';


/** createPlot(hub, state, {primary}): `primary` plots follow neuron hovering and show the page's hints. */
export function createPlot(hub, state, { primary = true, label = 'Output heatmap with the data points' } = {}) {
  const extent = state.options.view.extent; // the input domain is [−extent, extent]²
  let frame = null;
  let data = null;
  let hover = null;
  let marker = null; // [x1, x2, label] drawn with a ring (the walk-through's point)
  let size = 260;
  let pointsDirty = true;
  let range = null; // 1-D y range
  const heat = gridCanvas(state.options.view.density, state.options.view.density, 'heatmap');
  const layer = el('canvas', { class: 'points' });
  const hoverLabel = el('div', { class: 'plot-label', hidden: true });
  const hint = el('div', { class: 'plot-hint', hidden: true });
  const xTicks = el('div', { class: 'ticks x-ticks', 'aria-hidden': 'true' });
  const yTicks = el('div', { class: 'ticks y-ticks', 'aria-hidden': 'true' });
  const plot = el('div', { class: 'plot', role: 'img', 'aria-label': label }, heat.canvas, layer, hoverLabel, hint);
  const element = el('div', { class: 'plot-wrap' }, plot, xTicks, yTicks);

  new ResizeObserver(([entry]) => {
    const next = Math.round(entry.contentRect.width);
    if (next && next !== size) {
      size = next;
      pointsDirty = true;
      drawFrame();
    }
  }).observe(plot);

  function oneD() {
    return (data?.header.dims ?? state.dims()) === 1;
  }

  /** Classes of a multiclass frame: its network's output units, whose argmax its `classes` array holds. */
  const frameClasses = (f) => f.header.sizes.at(-1);

  /** Paint the latest frame (or the hovered neuron) into the heatmap; redraw points if needed. */
  function drawFrame() {
    const out = frame?.arrays.output;
    const discrete = state.values.discretize;
    plot.classList.toggle('one-d', oneD());
    if (hover && frame?.arrays.neurons) {
      const thumbs = frame.arrays.neurons;
      const t = thumbs.shape[thumbs.shape.length - 1];
      heat.resize(t, t);
      if (thumbs.shape.length === 2) paintStrip(heat.image, thumbs, thumbs.lo, thumbs.hi, discrete, hover.index * t);
      else paintGrid(heat.image, thumbs, thumbs.lo, thumbs.hi, discrete, hover.index * t * t);
      heat.put();
      plot.classList.remove('one-d');
    } else if (out && !oneD() && out instanceof Uint8Array) {
      const [h, w] = out.shape;
      heat.resize(w, h);
      if (frame.arrays.classes) paintClasses(heat.image, out, frame.arrays.classes, frameClasses(frame), discrete);
      else paintGrid(heat.image, out, out.lo, out.hi, discrete);
      heat.put();
    }
    if (oneD() && !hover) drawOneD(out instanceof Float32Array ? out : null);
    else if (pointsDirty) drawPointLayer();
  }

  function prepareLayer() {
    const ratio = window.devicePixelRatio || 1;
    const px = Math.round(size * ratio);
    if (layer.width !== px) {
      layer.width = px;
      layer.height = px;
    }
    const ctx = layer.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, size, size);
    return ctx;
  }

  /** Test points are shown when asked for, and always for custom data (every point the user placed). */
  function showTestPoints() {
    return state.values.showTestData || state.datasetName() === 'custom';
  }

  function drawPointLayer() {
    pointsDirty = false;
    const ctx = prepareLayer();
    if (!data) return;
    const task = data.header.task;
    const radius = state.datasetName() === 'custom' ? 4.5 : 3; // hand-placed points: easier to hit
    drawPoints(ctx, data.arrays.train, { task, stroke: POINT_OUTLINES.train, size, radius, extent });
    if (showTestPoints()) drawPoints(ctx, data.arrays.test, { task, stroke: POINT_OUTLINES.test, size, radius, extent });
    drawMarker(ctx);
  }

  function drawOneD(curve) {
    const ctx = prepareLayer();
    if (!range || pointsDirty) range = curveRange(curve, data?.arrays.train, data?.arrays.test);
    pointsDirty = false;
    drawCurve(ctx, curve, range, size);
    if (data) {
      drawPoints(ctx, data.arrays.train, { stroke: POINT_OUTLINES.train, size, yRange: range, radius: 4, extent });
      if (showTestPoints()) drawPoints(ctx, data.arrays.test, { stroke: POINT_OUTLINES.test, size, yRange: range, radius: 4, extent });
    }
    drawMarker(ctx);
  }

  function drawMarker(ctx) {
    if (!marker) return;
    const [x, y] = toPixel(marker);
    ctx.lineWidth = 2.5;
    ctx.strokeStyle = INK;
    ctx.beginPath();
    ctx.arc(x, y, 8, 0, 2 * Math.PI);
    ctx.stroke();
    ctx.lineWidth = 1;
  }

  function toPixel([x1, x2, label]) {
    const scale = size / (2 * extent);
    const x = (x1 + extent) * scale;
    if (oneD() && range) return [x, size - ((label - range[0]) / (range[1] - range[0])) * size];
    return [x, (extent - x2) * scale];
  }

  /** The training point nearest to a click (within `radius` px): {index, row: [x1, x2, label]} or null. */
  function pickPoint(event, radius = 24) {
    const rows = data?.arrays.train;
    if (!rows) return null;
    const rect = plot.getBoundingClientRect();
    const px = event.clientX - rect.left;
    const py = event.clientY - rect.top;
    let best = null;
    let bestD = radius;
    for (let i = 0; i + 2 < rows.length; i += 3) {
      const row = [rows[i], rows[i + 1], rows[i + 2]];
      const [x, y] = toPixel(row);
      const d = Math.hypot(x - px, y - py);
      if (d <= bestD) (bestD = d), (best = { index: i / 3, row });
    }
    return best;
  }

  /** x1 of the network's inputs in the units of the x axis: the data's own units (x_units, the lecture's
   *  polynomial points) spread over [−extent, extent], or x1 itself. */
  function axisX(x1) {
    const units = data?.header.x_units;
    return units ? units[0] + ((x1 + extent) / (2 * extent)) * (units[1] - units[0]) : x1;
  }

  function updateTicks() {
    const xs = [-extent, 0, extent].map(axisX);
    xTicks.replaceChildren(...xs.map((v) => el('span', { text: String(+v.toFixed(2)) })));
    const ys = oneD() ? (range ? [range[1], (range[0] + range[1]) / 2, range[0]] : []) : [extent, 0, -extent];
    yTicks.replaceChildren(...ys.map((v) => el('span', { text: String(+v.toPrecision(3)) })));
  }

  function onFrame(next) {
    frame = next;
    drawFrame();
  }

  function onData(next) {
    data = next;
    range = null;
    pointsDirty = true;
    drawFrame();
    updateTicks();
  }

  if (primary) {
    hub.on('hover-neuron', (h) => {
      hover = h;
      hoverLabel.hidden = !h;
      hoverLabel.textContent = h ? h.label : '';
      pointsDirty = true;
      drawFrame();
    });
    hub.on('hint', (text) => {
      hint.hidden = !text;
      hint.textContent = text ?? '';
    });
  }
  hub.on('state:change', ({ changed }) => {
    if (changed.has('showTestData') || changed.has('discretize')) {
      pointsDirty = true;
      drawFrame();
    }
  });
  updateTicks();

  return {
    element,
    plot,
    onFrame,
    onData,
    drawFrame,
    pickPoint,
    axisX,
    /** Ring one point ([x1, x2, label]) or none (null). */
    setMarker(row) {
      marker = row;
      pointsDirty = true;
      drawFrame();
    },
    /** Show a line of text over the plot (null hides it). */
    setHint(text) {
      hint.hidden = !text;
      hint.textContent = text ?? '';
    },
    get size() {
      return size;
    },
    get data() {
      return data;
    },
    get frame() {
      return frame;
    },
    /** The canvases in drawing order (for a PNG of the view). */
    get canvases() {
      return [heat.canvas, layer];
    },
  };
}

// The network drawing: an SVG of links (colour and width by weight, bias squares) under absolutely placed
// HTML nodes (feature buttons and neuron thumbnails on small canvases), with the layer buttons above.
// This module lays it out, rebuilt only when the shape or the column's width changes: columns are spread
// over the width there is, and squeezed down to MIN_GAP before the drawing scrolls sideways, so a deep
// network never runs under the output column. network-paint.js draws frames on it; network-edit.js
// shows and edits weights. Emits 'network:layout' after each layout and 'hover-link' for the walk-through.

import { CLASS_COLORS } from './colors.js';
import { gridCanvas, paintFunction } from './output-heatmap.js';
import { addFeatureBox } from './network-add-feature.js';
import { createWeightEditor } from './network-edit.js';
import { paintNetwork } from './network-paint.js';
import { el, svg } from './ui.js';

export { linkWidth } from './network-paint.js';

const RECT = 30; // node size (playground RECT_SIZE)
const BIAS = 5; // bias square (playground BIAS_SIZE)
const ROW = 40; // vertical spacing of nodes
const ANIMATE_MAX_LINKS = 150;
const MIN_GAP = RECT + 20; // columns closer than this would touch; the drawing scrolls instead
const MAX_GAP = 280; // on a 1080p projector the drawing spreads over the room it has
const LEFT = 60; // room for the feature labels

/** f(x1, x2) of a feature, looked up in the thumbnail the server computed with the engine's own formula
 *  over [−extent, extent]² (GET /api/options, POST /api/feature): the page never writes or evaluates a
 *  feature's formula itself. With `fit` the values are divided by their largest magnitude, so a written
 *  feature such as sqrt(x1^2 + x2^2), beyond ±1 everywhere, still shows its shape on the ±1 colour scale. */
export function featureFunction(feature, extent, { fit = false } = {}) {
  const values = feature.thumbnail;
  if (!values || !values.length) return null;
  const n = Math.round(Math.sqrt(values.length));
  const top = fit ? Math.max(...values.map(Math.abs)) : 0;
  const scale = top > 1 ? 1 / top : 1;
  const cell = (v) => Math.min(n - 1, Math.max(0, Math.floor(((v + extent) / (2 * extent)) * n)));
  return (x1, x2) => values[cell(-x2) * n + cell(x1)] * scale;
}

/** Offsets of W and b of each layer in the flat weight vector (PyTorch layout: W row-major, then b). */
export function weightOffsets(sizes) {
  const out = [];
  let at = 0;
  for (let l = 0; l + 1 < sizes.length; l++) {
    out.push({ W: at, b: at + sizes[l] * sizes[l + 1], fanIn: sizes[l], fanOut: sizes[l + 1] });
    at += sizes[l] * sizes[l + 1] + sizes[l + 1];
  }
  return out;
}

/** Column x positions and the node positions (top-left) of a network shape in `width` pixels. */
function place(s, width) {
  const columns = s.hidden.length + 2;
  const gap = Math.max(MIN_GAP, Math.min(MAX_GAP, (width - LEFT - RECT - 20) / (columns - 1)));
  const colX = (c) => LEFT + c * gap;
  const nodes = []; // per column: [{x, y}]
  nodes.push(s.active.map((name) => ({ x: colX(0), y: s.features.findIndex((f) => f.name === name) * ROW + 5 })));
  s.hidden.forEach((n, l) => nodes.push(Array.from({ length: n }, (_, i) => ({ x: colX(l + 1), y: i * ROW + 5 }))));
  nodes.push(Array.from({ length: s.nOut }, (_, i) => ({ x: colX(columns - 1), y: i * ROW + 5 })));
  const rows = Math.max(s.features.length, ...s.hidden, s.nOut, 1);
  return { colX, gap, nodes, width: colX(columns - 1) + RECT + 20, height: rows * ROW + 10 };
}

/** The SVG of links and bias squares; items: {kind, layer, to, from, path, hit, label, index, cx, cy}. */
function drawLinks(sizes, nodes, nodeName, size) {
  const root = svg('svg', { width: size.width, height: size.height, class: 'links', 'aria-hidden': 'false' });
  const group = svg('g', { class: 'link-group', role: 'group', 'aria-label': 'Weights and biases' });
  root.append(group);
  const items = [];
  const offsets = weightOffsets(sizes);
  const button = (node, label) => {
    node.setAttribute('aria-label', label);
    group.append(node);
  };
  for (let l = 0; l + 1 < sizes.length; l++) {
    for (let j = 0; j < sizes[l + 1]; j++) {
      for (let i = 0; i < sizes[l]; i++) {
        const [a, b] = [nodes[l][i], nodes[l + 1][j]];
        const [x1, y1, x2, y2] = [a.x + RECT, a.y + RECT / 2, b.x, b.y + RECT / 2];
        const mx = (x1 + x2) / 2;
        const d = `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`;
        const path = svg('path', { d, class: 'link', 'data-k': items.length });
        const hit = svg('path', { d, class: 'link-hit', 'data-k': items.length, tabindex: -1, role: 'button' });
        const label = `Weight from ${nodeName(l, i)} to ${nodeName(l + 1, j)}`;
        group.append(path);
        button(hit, label);
        items.push({ kind: 'weight', layer: l, to: j, from: i, path, hit, label, index: offsets[l].W + j * sizes[l] + i, cx: mx, cy: (y1 + y2) / 2 });
      }
    }
  }
  for (let l = 0; l + 1 < sizes.length; l++) {
    for (let j = 0; j < sizes[l + 1]; j++) {
      const b = nodes[l + 1][j];
      const rect = svg('rect', { x: b.x - BIAS - 1, y: b.y + RECT - BIAS, width: BIAS, height: BIAS, class: 'bias', 'data-k': items.length, tabindex: -1, role: 'button' });
      const label = `Bias of ${nodeName(l + 1, j)}`;
      button(rect, label);
      items.push({ kind: 'bias', layer: l, to: j, path: rect, hit: rect, label, index: offsets[l].b + j, cx: b.x - BIAS, cy: b.y + RECT });
    }
  }
  if (items.length) items[0].hit.setAttribute('tabindex', '0');
  return { root, items };
}

/** Feature buttons (thumbnail of the feature, label at the left; a click toggles it). */
function featureNodes(s, colX, view, onToggle, state) {
  return s.features.flatMap((f, row) => {
    const on = s.active.includes(f.name);
    const written = state.formulas.isFormula(f.name);
    const thumb = gridCanvas(view.feature_thumb, view.feature_thumb);
    const fn = featureFunction(f, view.extent, { fit: written });
    if (fn) {
      paintFunction(thumb.image, fn, view.extent);
      thumb.put();
    }
    const last = on && s.active.length === 1;
    const title = last ? `${f.label}: the last input — add another before removing it` : `${f.label}: click to ${on ? 'remove' : 'add'}`;
    const button = el('button', {
      class: `node feature ${on ? 'on' : 'off'}`, type: 'button', 'aria-pressed': String(on), 'aria-label': `Feature ${f.label}`,
      title, style: `left:${colX(0)}px;top:${row * ROW + 5}px`, onclick: () => onToggle(f.name),
    }, thumb.canvas);
    // a long formula is cut short; its title shows it whole
    return [button, el('span', { class: `feature-label${written ? ' written' : ''}`, title: written ? f.label : undefined,
      style: `top:${row * ROW + 5}px;right:calc(100% - ${colX(0) - 6}px)`, text: f.label })];
  });
}

/** Hidden neurons (thumbnails; hover or focus shows one large in the output plot) and the outputs. */
function neuronNodes(hub, s, nodes, thumbSize) {
  const neurons = [];
  s.hidden.forEach((n, l) => {
    for (let i = 0; i < n; i++) {
      const p = nodes[l + 1][i];
      const thumb = gridCanvas(thumbSize, thumbSize);
      const index = neurons.length;
      const label = `Neuron ${i + 1} of layer ${l + 1}`;
      const node = el('div', { class: 'node neuron', tabindex: index === 0 ? 0 : -1, role: 'img', 'aria-label': label, title: label,
        'data-neuron': index, style: `left:${p.x}px;top:${p.y}px` }, thumb.canvas);
      const show = () => hub.emit('hover-neuron', { index, label });
      const hide = () => hub.emit('hover-neuron', null);
      for (const [type, fn] of [['mouseenter', show], ['focus', show], ['mouseleave', hide], ['blur', hide]]) node.addEventListener(type, fn);
      neurons.push({ node, thumb });
    }
  });
  const outputs = nodes.at(-1).map((p, i) => {
    const thumb = gridCanvas(thumbSize, thumbSize);
    const label = s.nOut > 1 ? `Output for class ${i}` : 'Output';
    const node = el('div', { class: 'node output', role: 'img', 'aria-label': label, title: label, style: `left:${p.x}px;top:${p.y}px` });
    if (s.nOut > 1) node.style.background = CLASS_COLORS[i % CLASS_COLORS.length];
    else node.append(thumb.canvas);
    return { node, thumb };
  });
  return { neurons, outputs };
}

/** createNetwork(hub, state, {compact}): `compact` (an embed) draws only the inputs in use, in less room. */
export function createNetwork(hub, state, { compact = false } = {}) {
  const options = state.options;
  let net = null; // the current layout
  let lastFrame = null;
  let resizeTimer = null;
  const area = el('div', { class: 'net-area' });
  const layerCount = el('div', { class: 'layers-count ui-numHiddenLayers' });
  const heads = el('div', { class: 'layer-heads' });
  const editor = createWeightEditor(hub, area, { layout: () => net, weights: () => lastFrame?.arrays.weights });
  const element = el('section', { class: 'column network-column', 'aria-label': 'Network' }, layerCount,
    el('div', { class: 'net-scroll' }, heads, el('div', { class: 'net-body' }, area, editor.card)),
    ...(compact ? [] : [addFeatureBox(state)]));

  /** The input column: the registry's features for this data (only those in use when compact), then the
   *  written ones in use (a written feature switched off is gone: it is added again with the box). */
  function shape() {
    const usable = options.features.filter((f) => f.dims === 0 || f.dims === state.dims());
    const registry = compact ? usable.filter((f) => state.values.features.includes(f.name)) : usable;
    const written = state.values.features.filter(state.formulas.isFormula).map(state.formulas.get);
    const nOut = state.outputs();
    return { features: [...registry, ...written], active: state.values.features, hidden: state.values.hidden, nOut };
  }

  function build() {
    const s = shape();
    const width = Math.max(compact ? 200 : 300, (element.clientWidth || 640) - 4);
    const key = JSON.stringify([s.features.map((f) => [f.name, Boolean(f.thumbnail)]), s.active, s.hidden, s.nOut, width]);
    if (net && net.key === key) return;
    editor.stopEditing();
    const sizes = [s.active.length, ...s.hidden, s.nOut];
    const size = place(s, width);
    const nodeName = (layer, i) => {
      if (layer === 0) return s.features.find((f) => f.name === s.active[i])?.label ?? `input ${i + 1}`;
      if (layer === s.hidden.length + 1) return s.nOut > 1 ? `output ${i}` : 'the output';
      return `neuron ${i + 1} of layer ${layer}`;
    };
    const { root, items } = drawLinks(sizes, size.nodes, nodeName, size);
    const { neurons, outputs } = neuronNodes(hub, s, size.nodes, options.view.thumb);
    area.style.width = `${size.width}px`;
    area.style.height = `${size.height}px`;
    const overlay = el('div', { class: 'net-overlay' }); // drawn on by the walk-through
    area.replaceChildren(root, ...featureNodes(s, size.colX, options.view, toggleFeature, state), ...neurons.map((n) => n.node), ...outputs.map((o) => o.node), overlay);
    net = { key, sizes, items, neurons, outputs, root, nodes: size.nodes, overlay, rect: RECT, focus: 0, styles: new Array(items.length).fill(-1) };
    // the playground's flowing dashes while training; left out on big networks, where repainting every link
    // every animation frame costs more than the frame budget in software rendering
    element.classList.toggle('animate-links', items.length <= ANIMATE_MAX_LINKS);
    buildLayerBar(size);
    if (lastFrame) update(lastFrame);
    hub.emit('network:layout', net);
  }

  function buildLayerBar({ colX, gap, width }) {
    const { max_layers: maxLayers, max_neurons: maxNeurons } = options.limits;
    const hidden = state.values.hidden;
    const setHidden = (list) => state.set({ hidden: list });
    const round = (label, disabled, onclick, text, small = false) =>
      el('button', { class: small ? 'round small' : 'round', type: 'button', 'aria-label': label, title: label, disabled, onclick }, text);
    layerCount.replaceChildren(
      round('Add layer', hidden.length >= maxLayers, () => setHidden([...hidden, 2]), '+'),
      round('Remove layer', hidden.length === 0, () => setHidden(hidden.slice(0, -1)), '−'),
      el('span', { class: 'count', text: `${hidden.length} hidden layer${hidden.length === 1 ? '' : 's'}` }));
    heads.style.width = `${width}px`;
    heads.replaceChildren(...hidden.map((n, l) => el('div', { class: 'layer-head', style: `left:${colX(l + 1) + RECT / 2}px;width:${Math.min(70, gap - 4)}px` },
      round(`Add neuron to layer ${l + 1}`, n >= maxNeurons, () => setHidden(hidden.map((w, k) => (k === l ? w + 1 : w))), '+', true),
      round(`Remove neuron from layer ${l + 1}`, n <= 1, () => setHidden(hidden.map((w, k) => (k === l ? w - 1 : w))), '−', true),
      el('div', { class: 'neurons-count', text: gap < 70 ? String(n) : `${n} neuron${n === 1 ? '' : 's'}`, title: `${n} neuron${n === 1 ? '' : 's'}` }))));
  }

  function toggleFeature(name) {
    const active = state.values.features;
    const next = active.includes(name) ? active.filter((f) => f !== name) : [...active, name];
    if (next.length) state.set({ features: next });
    else hub.emit('notice', 'The network needs at least one input: add another before removing this one.');
  }

  /** Repaint thumbnails and restyle links from a frame (skipped when its shape is not this layout's). */
  function update(frame) {
    lastFrame = frame;
    if (net && paintNetwork(net, frame)) editor.refresh();
  }

  hub.on('state:change', ({ changed }) => {
    if (['features', 'hidden', 'task', 'problem', 'dataset', 'reg_dataset', 'n_classes', 'custom_points'].some((k) => changed.has(k))) build();
  });
  hub.on('formulas:known', build);
  hub.on('playing', (playing) => element.classList.toggle('playing', playing));
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(build, 150);
  });

  return { element, build, update, valueOf: editor.valueOf, get layout() { return net; } };
}

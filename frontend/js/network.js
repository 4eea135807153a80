// The network drawing: an SVG of links (colour and width by weight, bias squares) under absolutely placed
// HTML nodes (feature buttons and neuron thumbnails on small canvases). Layout is rebuilt only when the
// shape changes; a frame only repaints thumbnails and restyles the links whose shade or width changed.
// Emits 'network:layout' after each layout and 'hover-link' (a link or bias, or null) for the walk-through.

import { CLASS_COLORS, shadeIndex, SHADES_CSS } from './colors.js';
import { gridCanvas, paintFunction, paintGrid, paintStrip } from './heatmap.js';
import { el, svg } from './ui.js';

const RECT = 30; // node size (playground RECT_SIZE)
const BIAS = 5; // bias square (playground BIAS_SIZE)
const ROW = 40; // vertical spacing of nodes
const ANIMATE_MAX_LINKS = 150;

/** f(x1, x2) of a feature, looked up in the 10×10 thumbnail the server computed with the engine's own
 *  formula (GET /api/options): the page never writes a feature's formula a second time. */
export function featureFunction(feature) {
  const values = feature.thumbnail;
  if (!values || !values.length) return null;
  const n = Math.round(Math.sqrt(values.length));
  const cell = (v) => Math.min(n - 1, Math.max(0, Math.floor(((v + 6) / 12) * n)));
  return (x1, x2) => values[cell(-x2) * n + cell(x1)];
}

/** Width of a link: 1–10 px for |w| from 0 to 5 (clamped), as the playground. */
export const linkWidth = (w) => (Number.isFinite(w) ? 1 + (9 * Math.min(Math.abs(w), 5)) / 5 : 1);

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

export function createNetwork(hub, state) {
  const options = state.options;
  const area = el('div', { class: 'net-area' });
  const layerBar = el('div', { class: 'layer-bar' });
  const card = el('div', { class: 'hovercard', role: 'tooltip', 'aria-label': 'Weight', hidden: true });
  const element = el('section', { class: 'column network-column', 'aria-label': 'Network' }, layerBar, el('div', { class: 'net-scroll' }, area, card));
  let net = null; // the current layout
  let lastFrame = null;
  let editing = null;

  // ---------------------------------------------------------------------------------------------- layout
  function shape() {
    const v = state.values;
    const features = options.features.filter((f) => f.dims === 0 || f.dims === state.dims());
    const nOut = state.task() === 'multiclass' ? state.config().n_classes : 1;
    return { features, active: v.features, hidden: v.hidden, nOut };
  }

  function build() {
    const s = shape();
    const key = JSON.stringify([s.features.map((f) => f.name), s.active, s.hidden, s.nOut]);
    if (net && net.key === key) return;
    stopEditing();
    const sizes = [s.active.length, ...s.hidden, s.nOut];
    const columns = s.hidden.length + 2;
    const width = Math.max(360, (element.clientWidth || 640) - 16);
    const gap = Math.max(70, Math.min(150, (width - 90 - RECT) / (columns - 1)));
    const colX = (c) => 60 + c * gap;
    const rows = Math.max(s.features.length, ...s.hidden, s.nOut, 1);
    const height = rows * ROW + 10;
    const widthPx = colX(columns - 1) + RECT + 20;
    const nodes = []; // per column: [{x, y}] (x, y: the node's top-left)
    nodes.push(s.active.map((name) => ({ x: colX(0), y: s.features.findIndex((f) => f.name === name) * ROW + 5 })));
    s.hidden.forEach((n, l) => nodes.push(Array.from({ length: n }, (_, i) => ({ x: colX(l + 1), y: i * ROW + 5 }))));
    nodes.push(Array.from({ length: s.nOut }, (_, i) => ({ x: colX(columns - 1), y: i * ROW + 5 })));

    const root = svg('svg', { width: widthPx, height, class: 'links', 'aria-hidden': 'false' });
    const linkGroup = svg('g', { class: 'link-group', role: 'group', 'aria-label': 'Weights and biases' });
    root.append(linkGroup);
    const items = []; // {kind, layer, to, from, path|rect, index, cx, cy}
    const offsets = weightOffsets(sizes);
    for (let l = 0; l + 1 < sizes.length; l++) {
      for (let j = 0; j < sizes[l + 1]; j++) {
        for (let i = 0; i < sizes[l]; i++) {
          const a = nodes[l][i];
          const b = nodes[l + 1][j];
          const x1 = a.x + RECT;
          const y1 = a.y + RECT / 2;
          const x2 = b.x;
          const y2 = b.y + RECT / 2;
          const mx = (x1 + x2) / 2;
          const d = `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`;
          const path = svg('path', { d, class: 'link', 'data-k': items.length });
          const hit = svg('path', { d, class: 'link-hit', 'data-k': items.length, tabindex: -1, role: 'button' });
          linkGroup.append(path, hit);
          const label = `Weight from ${nodeName(l, i, s)} to ${nodeName(l + 1, j, s)}`;
          hit.setAttribute('aria-label', label);
          items.push({ kind: 'weight', layer: l, to: j, from: i, path, hit, label, index: offsets[l].W + j * sizes[l] + i,
            cx: mx, cy: (y1 + y2) / 2 });
        }
      }
    }
    for (let l = 0; l + 1 < sizes.length; l++) {
      for (let j = 0; j < sizes[l + 1]; j++) {
        const b = nodes[l + 1][j];
        const rect = svg('rect', { x: b.x - BIAS - 1, y: b.y + RECT - BIAS, width: BIAS, height: BIAS, class: 'bias', 'data-k': items.length, tabindex: -1, role: 'button' });
        const label = `Bias of ${nodeName(l + 1, j, s)}`;
        rect.setAttribute('aria-label', label);
        linkGroup.append(rect);
        items.push({ kind: 'bias', layer: l, to: j, path: rect, hit: rect, label, index: offsets[l].b + j, cx: b.x - BIAS, cy: b.y + RECT });
      }
    }
    if (items.length) items[0].hit.setAttribute('tabindex', '0');

    // nodes: features (buttons), hidden neurons (thumbnails), outputs
    const featureNodes = s.features.map((f, row) => {
      const on = s.active.includes(f.name);
      const thumb = gridCanvas(10, 10);
      const fn = featureFunction(f);
      if (fn) {
        paintFunction(thumb.image, fn);
        thumb.put();
      }
      const button = el('button', {
        class: `node feature ${on ? 'on' : 'off'}`, type: 'button', 'aria-pressed': String(on),
        'aria-label': `Feature ${f.label}`, title: `${f.label}: click to ${on ? 'remove' : 'add'}`,
        style: `left:${colX(0)}px;top:${row * ROW + 5}px`,
        onclick: () => toggleFeature(f.name),
      }, thumb.canvas);
      const text = el('span', { class: 'feature-label', style: `top:${row * ROW + 5}px;right:calc(100% - ${colX(0) - 6}px)`, text: f.label });
      return [button, text];
    });
    const neurons = [];
    let flat = 0;
    s.hidden.forEach((n, l) => {
      for (let i = 0; i < n; i++) {
        const p = nodes[l + 1][i];
        const thumb = gridCanvas(10, 10);
        const index = flat++;
        const label = `Neuron ${i + 1} of layer ${l + 1}`;
        const node = el('div', {
          class: 'node neuron', tabindex: index === 0 ? 0 : -1, role: 'img', 'aria-label': label, title: label,
          'data-neuron': index,
          style: `left:${p.x}px;top:${p.y}px`,
        }, thumb.canvas);
        const show = () => hub.emit('hover-neuron', { index, label });
        const hide = () => hub.emit('hover-neuron', null);
        node.addEventListener('mouseenter', show);
        node.addEventListener('focus', show);
        node.addEventListener('mouseleave', hide);
        node.addEventListener('blur', hide);
        neurons.push({ node, thumb });
      }
    });
    const outputs = nodes[columns - 1].map((p, i) => {
      const thumb = gridCanvas(10, 10);
      const label = s.nOut > 1 ? `Output for class ${i}` : 'Output';
      const node = el('div', { class: 'node output', role: 'img', 'aria-label': label, title: label, style: `left:${p.x}px;top:${p.y}px` });
      if (s.nOut > 1) node.style.background = CLASS_COLORS[i % CLASS_COLORS.length];
      else node.append(thumb.canvas);
      return { node, thumb };
    });
    area.style.width = `${widthPx}px`;
    area.style.height = `${height}px`;
    const overlay = el('div', { class: 'net-overlay' }); // drawn on by the walk-through
    area.replaceChildren(root, ...featureNodes.flat(), ...neurons.map((n) => n.node), ...outputs.map((o) => o.node), overlay);
    net = { key, sizes, items, neurons, outputs, root, nodes, overlay, rect: RECT, focus: 0, styles: new Array(items.length).fill(-1) };
    // the playground's flowing dashes while training; left out on big networks, where repainting every link
    // every animation frame costs more than the frame budget in software rendering
    element.classList.toggle('animate-links', items.length <= ANIMATE_MAX_LINKS);
    buildLayerBar(s, colX);
    if (lastFrame) update(lastFrame);
    hub.emit('network:layout', net);
  }

  function nodeName(layer, i, s) {
    if (layer === 0) return options.features.find((f) => f.name === s.active[i])?.label ?? `input ${i + 1}`;
    if (layer === s.hidden.length + 1) return s.nOut > 1 ? `output ${i}` : 'the output';
    return `neuron ${i + 1} of layer ${layer}`;
  }

  function buildLayerBar(s, colX) {
    const { max_layers: maxLayers, max_neurons: maxNeurons } = options.limits;
    const hidden = state.values.hidden;
    const setHidden = (list) => state.set({ hidden: list });
    const top = el('div', { class: 'layers-count ui-numHiddenLayers' },
      el('button', { class: 'round', type: 'button', 'aria-label': 'Add layer', title: 'Add layer', disabled: hidden.length >= maxLayers,
        onclick: () => setHidden([...hidden, 2]) }, '+'),
      el('button', { class: 'round', type: 'button', 'aria-label': 'Remove layer', title: 'Remove layer', disabled: hidden.length === 0,
        onclick: () => setHidden(hidden.slice(0, -1)) }, '−'),
      el('span', { class: 'count', text: `${hidden.length} hidden layer${hidden.length === 1 ? '' : 's'}` }));
    const perLayer = hidden.map((n, l) => el('div', { class: 'layer-head', style: `left:${colX(l + 1) + RECT / 2}px` },
      el('button', { class: 'round small', type: 'button', 'aria-label': `Add neuron to layer ${l + 1}`, disabled: n >= maxNeurons,
        onclick: () => setHidden(hidden.map((w, k) => (k === l ? w + 1 : w))) }, '+'),
      el('button', { class: 'round small', type: 'button', 'aria-label': `Remove neuron from layer ${l + 1}`, disabled: n <= 1,
        onclick: () => setHidden(hidden.map((w, k) => (k === l ? w - 1 : w))) }, '−'),
      el('div', { class: 'neurons-count', text: `${n} neuron${n === 1 ? '' : 's'}` })));
    layerBar.replaceChildren(top, el('div', { class: 'layer-heads', style: `width:${area.style.width}` }, ...perLayer));
  }

  function toggleFeature(name) {
    const active = state.values.features;
    const next = active.includes(name) ? active.filter((f) => f !== name) : [...active, name];
    if (next.length) state.set({ features: next });
  }

  // ------------------------------------------------------------------------------------------- per frame
  /** Repaint thumbnails and restyle links from a frame (skipped when its shape is not this layout's). */
  function update(frame) {
    lastFrame = frame;
    if (!net) return;
    const { header, arrays } = frame;
    if (!header.sizes || header.sizes.join() !== net.sizes.join()) return;
    const weights = arrays.weights;
    if (weights) {
      const { items, styles } = net;
      for (let k = 0; k < items.length; k++) {
        const w = weights[items[k].index];
        const shade = shadeIndex(w);
        const width = Math.round(linkWidth(w) * 2);
        const style = items[k].kind === 'bias' ? shade : shade * 64 + width;
        if (style === styles[k]) continue;
        styles[k] = style;
        const color = shade < 0 ? '#aaa' : SHADES_CSS[shade];
        if (items[k].kind === 'bias') items[k].path.style.fill = color;
        else {
          items[k].path.style.stroke = color;
          items[k].path.style.strokeWidth = `${width / 2}px`;
        }
      }
      if (editing === null && card.dataset.k !== undefined && !card.hidden) showCard(Number(card.dataset.k));
    }
    const thumbs = arrays.neurons;
    if (thumbs && thumbs.shape) {
      const t = thumbs.shape[thumbs.shape.length - 1];
      const oneD = thumbs.shape.length === 2;
      net.neurons.forEach(({ thumb }, i) => {
        thumb.resize(t, t);
        if (oneD) paintStrip(thumb.image, thumbs, thumbs.lo, thumbs.hi, false, i * t);
        else paintGrid(thumb.image, thumbs, thumbs.lo, thumbs.hi, false, i * t * t);
        thumb.put();
      });
    }
    const out = arrays.output;
    if (out && net.outputs.length === 1 && out instanceof Uint8Array) {
      const d = out.shape[0];
      const t = 10;
      const small = new Uint8Array(t * t);
      for (let r = 0; r < t; r++) for (let c = 0; c < t; c++) small[r * t + c] = out[Math.floor(((r + 0.5) * d) / t) * d + Math.floor(((c + 0.5) * d) / t)];
      const { thumb } = net.outputs[0];
      paintGrid(thumb.image, small, out.lo, out.hi);
      thumb.put();
    }
  }

  // ------------------------------------------------------------------------------- hover card and editing
  function valueOf(k) {
    const w = lastFrame?.arrays.weights;
    return w && net.items[k] ? w[net.items[k].index] : NaN;
  }

  function showCard(k) {
    const item = net.items[k];
    if (!item) return;
    const fresh = card.hidden || card.dataset.k !== String(k);
    card.hidden = false;
    card.dataset.k = String(k);
    card.style.left = `${item.cx + 8}px`;
    card.style.top = `${item.cy - 12}px`;
    card.setAttribute('aria-label', item.label);
    if (fresh) hub.emit('hover-link', item);
    if (editing !== null) return;
    const v = valueOf(k);
    card.replaceChildren(el('span', { text: `${item.kind === 'bias' ? 'Bias' : 'Weight'} is ${Number.isFinite(v) ? v.toPrecision(2) : 'NaN'}` }));
  }

  function hideCard() {
    if (editing !== null || card.hidden) return;
    card.hidden = true;
    delete card.dataset.k;
    hub.emit('hover-link', null);
  }

  function startEditing(k) {
    const item = net.items[k];
    editing = null;
    showCard(k);
    editing = k;
    const v = valueOf(k);
    const input = el('input', {
      type: 'number', step: 'any', class: 'edit-weight', value: Number.isFinite(v) ? v.toPrecision(2) : '',
      'aria-label': `New value of ${item.label.charAt(0).toLowerCase()}${item.label.slice(1)}`,
    });
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') {
        const value = Number(input.value);
        if (input.value.trim() !== '' && Number.isFinite(value)) {
          const message = { layer: item.layer, to: item.to, value };
          if (item.kind === 'bias') message.bias = true;
          else message.from = item.from;
          hub.emit('set-weight', message);
          stopEditing(true);
        } else input.setAttribute('aria-invalid', 'true');
      } else if (event.key === 'Escape') stopEditing(true);
    });
    input.addEventListener('blur', () => setTimeout(() => editing === k && stopEditing(), 0));
    card.replaceChildren(el('span', { text: `${item.kind === 'bias' ? 'Bias' : 'Weight'}: ` }), input);
    input.focus();
    input.select();
  }

  function stopEditing(refocus = false) {
    if (editing === null) return;
    const k = editing;
    editing = null;
    hideCard();
    if (refocus) net?.items[k]?.hit.focus();
  }

  area.addEventListener('mouseover', (event) => {
    const k = event.target.dataset?.k;
    if (k !== undefined && event.target.closest('svg')) showCard(Number(k));
  });
  area.addEventListener('mouseout', (event) => {
    if (event.target.dataset?.k !== undefined) hideCard();
  });
  area.addEventListener('click', (event) => {
    const k = event.target.dataset?.k;
    if (k !== undefined && event.target.closest('svg')) startEditing(Number(k));
  });
  // one tab stop for all neurons and one for all weights: arrows move (roving tabindex), Enter edits
  area.addEventListener('keydown', (event) => {
    const neuron = event.target.dataset?.neuron;
    const move = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
    if (neuron !== undefined && move && net) {
      event.preventDefault();
      const next = net.neurons[(Number(neuron) + move + net.neurons.length) % net.neurons.length].node;
      event.target.setAttribute('tabindex', '-1');
      next.setAttribute('tabindex', '0');
      next.focus();
      return;
    }
    const k = event.target.dataset?.k;
    if (k === undefined || !event.target.closest('svg') || !net) return;
    const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
    if (step) {
      event.preventDefault();
      const next = (Number(k) + step + net.items.length) % net.items.length;
      event.target.setAttribute('tabindex', '-1');
      net.items[next].hit.setAttribute('tabindex', '0');
      net.items[next].hit.focus();
    } else if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      startEditing(Number(k));
    }
  });
  area.addEventListener('focusin', (event) => {
    const k = event.target.dataset?.k;
    if (k !== undefined && event.target.closest('svg')) showCard(Number(k));
  });
  area.addEventListener('focusout', (event) => {
    if (event.target.dataset?.k !== undefined) hideCard();
  });

  hub.on('state:change', ({ changed }) => {
    if (['features', 'hidden', 'task', 'problem', 'dataset', 'reg_dataset', 'n_classes', 'custom_points'].some((k) => changed.has(k))) build();
  });
  hub.on('playing', (playing) => element.classList.toggle('playing', playing));
  let resizeTimer = null;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      if (net) {
        net.key = null;
        build();
      }
    }, 150);
  });

  return { element, build, update, valueOf: (k) => valueOf(k), get layout() { return net; } };
}


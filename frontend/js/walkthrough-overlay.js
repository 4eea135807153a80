// Drawing a backprop trace (the session's `inspect` answer) on the network's overlay: each neuron's value
// a = f(z) and, once the backward pass has reached it, its δ = ∂L/∂z; the current column framed; ∂L/∂w on
// the links into the layer being back-propagated; and a link's chain-rule product with the numbers. The
// walk-through (walkthrough.js) decides what step is shown; this module only draws it.

import { el } from './ui.js';

const MAX_LINK_LABELS = 24; // more links than this: label the largest |∂L/∂w| only
const PLACES = [0.72, 0.55, 0.85, 0.4, 0.62, 0.78, 0.3, 0.9]; // where along a link its label may sit

const box = (x, y, w, h) => ({ x, y, w, h });
const overlaps = (a, b) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

/** A number for the diagram: three significant digits, exponent form for very small or large values. */
export function fmtValue(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(2) : String(+v.toPrecision(3));
}

/** True when `trace` was taken on a network of `net`'s shape. */
export const traceFits = (net, trace) => net.sizes.join() === [Object.keys(trace.features).length, ...trace.layers.map((t) => t.post.length)].join();

/** The value a of neuron i in column l (column 0: the inputs). */
const activation = (trace, l, i) => (l === 0 ? Object.values(trace.features)[i] : trace.layers[l - 1].post[i]);

/** Draw step `step` of `trace` on `net`'s overlay (step 0: inputs; 1..n forward; n+1..2n backward). */
export function drawTrace(net, trace, step) {
  const n = trace.layers.length;
  const current = step === 0 ? 0 : step <= n ? step : 2 * n - step + 1; // the column this step is about
  const frame = net.nodes[current];
  const top = Math.min(...frame.map((p) => p.y));
  const bottom = Math.max(...frame.map((p) => p.y));
  net.overlay.append(el('div', { class: 'wt-column', style: `left:${frame[0].x - 4}px;top:${top - 4}px;height:${bottom - top + net.rect + 8}px;width:${net.rect + 8}px` }));
  net.nodes.forEach((column, c) => column.forEach((p, i) => {
    const lines = []; // [class, text, title]: the value a = f(z) (blue), then δ = ∂L/∂z (orange)
    if (c === 0) lines.push(['act', fmtValue(activation(trace, 0, i)), 'input value']);
    else {
      const t = trace.layers[c - 1];
      // a normalized layer: z = W·a + b, x̂ its normalization, a = f(γ·x̂ + β) (the trace's `norm`, eval mode)
      const norm = t.norm ? `, ${t.norm.kind} norm: x̂ = ${fmtValue(t.norm.normalized[i])}, γ·x̂ + β = ${fmtValue(t.norm.out[i])}` : '';
      if (step >= c) lines.push(['act', fmtValue(t.post[i]), `a = ${fmtValue(t.post[i])}, z = ${fmtValue(t.pre[i])}${norm}`]);
      if (step >= 2 * n - c + 1) lines.push(['grad', fmtValue(t.grad_pre[i]), `∂L/∂z = ${fmtValue(t.grad_pre[i])}`]);
    }
    if (!lines.length) return;
    const y = p.y + (lines.length === 1 ? 8 : 3);
    net.overlay.append(el('div', {
      class: `wt-value${c === current ? ' current' : ''}`, style: `left:${p.x + net.rect / 2}px;top:${y}px`,
      'data-column': c, 'data-index': i,
    }, ...lines.map(([kind, text, title]) => el('span', { class: `wt-${kind}`, title, text }))));
  }));
  if (step > n) drawLinkLabels(net, trace, 2 * n - step);
}

/** ∂L/∂w on the links into the layer being back-propagated (layer index l: column l → l + 1). Labels go
 *  where they overlap neither the neuron values nor each other (largest |∂L/∂w| first, a few places
 *  along each link tried); a link with no free place keeps its value in the hover chain rule. */
function drawLinkLabels(net, trace, l) {
  const grads = trace.layers[l].grad_W;
  const links = net.items.filter((it) => it.kind === 'weight' && it.layer === l)
    .sort((a, b) => Math.abs(grads[b.to][b.from]) - Math.abs(grads[a.to][a.from]));
  const taken = [...net.overlay.querySelectorAll('.wt-value')].map((tag) => {
    const w = tag.offsetWidth;
    return box(tag.offsetLeft - w / 2, tag.offsetTop, w, tag.offsetHeight);
  });
  let placed = 0;
  for (const it of links) {
    if (placed >= MAX_LINK_LABELS) break;
    const value = grads[it.to][it.from];
    const text = fmtValue(value);
    const width = 6 * text.length + 6;
    const length = it.path.getTotalLength();
    const spot = PLACES.map((t) => it.path.getPointAtLength(length * t))
      .find((p) => !taken.some((b) => overlaps(b, box(p.x - width / 2, p.y - 7, width, 14))));
    if (!spot) continue;
    taken.push(box(spot.x - width / 2, spot.y - 7, width, 14));
    placed++;
    net.overlay.append(el('span', {
      class: 'wt-link', style: `left:${spot.x}px;top:${spot.y}px`, text,
      title: `∂L/∂w of the ${it.label.toLowerCase()}`,
      'data-layer': l, 'data-to': it.to, 'data-from': it.from, 'data-value': String(value),
    }));
  }
}

/** A neuron's short name in the chain rule: inputs by their label, hidden h<layer>.<i>, the output out. */
function nodeName(trace, column, i, featureLabel) {
  const layers = trace.layers.length;
  if (column === 0) return featureLabel(Object.keys(trace.features)[i]);
  if (column === layers) return layers > 1 || trace.output.length > 1 ? `out${trace.output.length > 1 ? i : ''}` : 'out';
  return `h${column}.${i + 1}`;
}

/** The chain-rule product of a link or bias with the numbers: ∂L/∂w = ∂L/∂z_to · a_from. */
export function chainText(trace, item, featureLabel) {
  const l = item.layer;
  const dz = trace.layers[l].grad_pre[item.to];
  const to = nodeName(trace, l + 1, item.to, featureLabel);
  if (item.kind === 'bias') return `∂L/∂b(${to}) = ∂L/∂z(${to}) · 1 = ${fmtValue(dz)}`;
  const from = nodeName(trace, l, item.from, featureLabel);
  const a = activation(trace, l, item.from);
  return `∂L/∂w(${from}→${to}) = ∂L/∂z(${to}) · a(${from}) = ${fmtValue(dz)} × ${fmtValue(a)} = ${fmtValue(trace.layers[l].grad_W[item.to][item.from])}`;
}

/** The chain rule of `item` as a tip under the deepest neuron (never over the values), centred on the link
 *  as far as the width allows; returns its text. */
export function showChainTip(net, trace, item, featureLabel) {
  net.overlay.querySelector('.wt-chain')?.remove();
  const text = chainText(trace, item, featureLabel);
  const tip = el('div', { class: 'wt-chain', text });
  net.overlay.append(tip);
  const room = net.overlay.clientWidth - tip.offsetWidth - 2;
  const below = Math.max(...net.nodes.slice(1).flat().map((p) => p.y)) + net.rect + 8;
  tip.style.left = `${Math.max(0, Math.min(item.cx - tip.offsetWidth / 2, room))}px`;
  tip.style.top = `${below}px`;
  return text;
}

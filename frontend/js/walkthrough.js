// The backprop walk-through: pick a training point (click it on the plot, or "Next point"); the session's
// `inspect` answers with the engine's trace, and the network diagram steps through it one layer per click
// (or animated): the inputs, the forward pass (each neuron's z and a = f(z)), the loss, then the backward
// pass from the output down (each neuron's ∂L/∂z, each link's ∂L/∂w written on the links). Hovering or
// focusing a link shows its chain-rule product with the numbers: ∂L/∂w = ∂L/∂z_to · a_from.

import { el } from './ui.js';

const ANIMATE_MS = 1100;
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

export function createWalkthrough(hub, state, session, network, plot) {
  const info = el('p', { class: 'wt-info', text: 'Click a training point on the plot, or press “Next point”.' });
  const key = el('p', { class: 'wt-key' }, el('span', { class: 'wt-act', text: 'blue' }), ': a neuron’s value a = f(z); ',
    el('span', { class: 'wt-grad', text: 'orange' }), ': its δ = ∂L/∂z, and ∂L/∂w on the links.');
  const stepText = el('p', { class: 'wt-step', role: 'status', 'aria-live': 'polite', 'aria-label': 'Walk-through step' });
  const chain = el('p', { class: 'wt-chain-text', 'aria-live': 'polite', 'aria-label': 'Chain rule', text: 'Hover a link for its chain rule.' });
  const button = (text, label, onclick) => el('button', { type: 'button', class: 'text-button', 'aria-label': label, onclick }, text);
  const prev = button('◀ Back', 'Previous step', () => go(step - 1));
  const next = button('Next ▶', 'Next step', () => go(step + 1));
  const animate = button('Animate', 'Animate the steps', () => toggleAnimation());
  const pickNext = button('Next point', 'Pick the next training point', () => pickIndex(pointIndex + 1));
  const element = el('section', { class: 'walkthrough', 'aria-label': 'Backprop walk-through', hidden: true },
    el('h3', { text: 'Backprop walk-through' }), info,
    el('div', { class: 'wt-buttons' }, pickNext, prev, next, animate), stepText, chain, key);
  let active = false;
  let trace = null;
  let traceId = null;
  let step = 0;
  let timer = null;
  let pointIndex = -1;
  let hovered = null;

  const layers = () => trace?.layers.length ?? 0;
  const lastStep = () => 2 * layers();

  // ------------------------------------------------------------------------------------------- choosing
  function inspect(row, index) {
    if (!active) return;
    if (session.playing) hub.emit('command', { type: 'pause' });
    pointIndex = index;
    traceId = session.send('inspect', { point: [row[0], row[1]], label: row[2] });
    plot.setMarker(row);
    info.textContent = `Tracing the point (${fmtValue(row[0])}, ${fmtValue(row[1])})…`;
  }

  function pickIndex(index) {
    const rows = plot.data?.arrays.train;
    if (!rows?.length) return;
    const n = rows.length / 3;
    const i = ((index % n) + n) % n;
    inspect([rows[3 * i], rows[3 * i + 1], rows[3 * i + 2]], i);
  }

  /** A click on the output plot while the walk-through is on. */
  function onPlotClick(event) {
    const pick = plot.pickPoint(event);
    if (!pick) return hub.emit('notice', 'Click on (or close to) a training point.');
    inspect(pick.row, pick.index);
  }

  hub.on('trace', (message) => {
    if (!active || message.id !== traceId) return;
    trace = message;
    const label = state.task() === 'multiclass' ? `class ${message.label}` : fmtValue(message.label);
    const out = message.output.map(fmtValue).join(', ');
    info.textContent = `Point (${message.point.map(fmtValue).join(', ')}), label ${label}: output ${out}, loss ${fmtValue(message.loss)}.`;
    go(0);
  });

  // ------------------------------------------------------------------------------------------- stepping
  function go(to) {
    if (!trace) return;
    step = Math.max(0, Math.min(lastStep(), to));
    prev.disabled = step === 0;
    next.disabled = step === lastStep();
    if (step === lastStep()) stopAnimation();
    stepText.textContent = describe();
    draw();
  }

  function toggleAnimation() {
    if (timer) return stopAnimation();
    if (!trace) return;
    if (step === lastStep()) go(0);
    animate.textContent = 'Stop';
    animate.setAttribute('aria-label', 'Stop the animation');
    timer = setInterval(() => go(step + 1), ANIMATE_MS);
  }

  function stopAnimation() {
    clearInterval(timer);
    timer = null;
    animate.textContent = 'Animate';
    animate.setAttribute('aria-label', 'Animate the steps');
  }

  /** Step 0: inputs; 1..n: forward through layer k; n+1..2n: backward through layer 2n − step. */
  function describe() {
    const n = layers();
    if (step === 0) {
      const f = Object.entries(trace.features).map(([k, v]) => `${featureLabel(k)} = ${fmtValue(v)}`).join(', ');
      return `Step 1 of ${lastStep() + 1} — input: ${f}.`;
    }
    const head = `Step ${step + 1} of ${lastStep() + 1} — `;
    if (step <= n) {
      const k = step;
      if (k === n) return `${head}forward, output layer: z = W·a + b, output ${trace.output.map(fmtValue).join(', ')}; loss L = ${fmtValue(trace.loss)}.`;
      return `${head}forward, hidden layer ${k}: each neuron computes z = Σ w·a + b and a = f(z) (a is written on it).`;
    }
    const l = 2 * n - step;
    const where = l === n - 1 ? 'output layer' : `hidden layer ${l + 1}`;
    const rule = l === n - 1 ? '∂L/∂z from the loss' : '∂L/∂z = (Σ w·∂L/∂z of the next layer) · f′(z)';
    return `${head}backward, ${where}: ${rule} (δ on each neuron); each link into it gets ∂L/∂w = ∂L/∂z_to · a_from.`;
  }

  // ---------------------------------------------------------------------------------------------- drawing
  function featureLabel(name) {
    return state.options.features.find((f) => f.name === name)?.label ?? name;
  }

  function activation(l, i) {
    return l === 0 ? Object.values(trace.features)[i] : trace.layers[l - 1].post[i];
  }

  function draw() {
    const net = network.layout;
    if (!net) return;
    net.overlay.replaceChildren();
    if (!trace || !active) return;
    if (net.sizes.join() !== [Object.keys(trace.features).length, ...trace.layers.map((t) => t.post.length)].join()) return;
    const n = layers();
    const current = step === 0 ? 0 : step <= n ? step : 2 * n - step + 1; // the column this step is about
    const frame = net.nodes[current];
    const top = Math.min(...frame.map((p) => p.y));
    const bottom = Math.max(...frame.map((p) => p.y));
    net.overlay.append(el('div', { class: 'wt-column', style: `left:${frame[0].x - 4}px;top:${top - 4}px;height:${bottom - top + net.rect + 8}px;width:${net.rect + 8}px` }));
    net.nodes.forEach((column, c) => column.forEach((p, i) => {
      const lines = []; // [class, text, title]: the value a = f(z) (blue), then δ = ∂L/∂z (orange)
      if (c === 0) lines.push(['act', fmtValue(activation(0, i)), 'input value']);
      else {
        const t = trace.layers[c - 1];
        if (step >= c) lines.push(['act', fmtValue(t.post[i]), `a = ${fmtValue(t.post[i])}, z = ${fmtValue(t.pre[i])}`]);
        if (step >= 2 * n - c + 1) lines.push(['grad', fmtValue(t.grad_pre[i]), `∂L/∂z = ${fmtValue(t.grad_pre[i])}`]);
      }
      if (!lines.length) return;
      const top = p.y + (lines.length === 1 ? 8 : 3);
      net.overlay.append(el('div', {
        class: `wt-value${c === current ? ' current' : ''}`, style: `left:${p.x + net.rect / 2}px;top:${top}px`,
        'data-column': c, 'data-index': i,
      }, ...lines.map(([kind, text, title]) => el('span', { class: `wt-${kind}`, title, text }))));
    }));
    if (step > n) drawLinkLabels(net, 2 * n - step);
    if (hovered) showChain(hovered);
  }

  /** ∂L/∂w on the links into the layer being back-propagated (layer index l: column l → l + 1). Labels go
   *  where they overlap neither the neuron values nor each other (largest |∂L/∂w| first, a few places
   *  along each link tried); a link with no free place keeps its value in the hover chain rule. */
  function drawLinkLabels(net, l) {
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

  // ------------------------------------------------------------------------------------------ chain rule
  function nodeName(column, i) {
    if (column === 0) return featureLabel(Object.keys(trace.features)[i]);
    if (column === layers()) return layers() > 1 || trace.output.length > 1 ? `out${trace.output.length > 1 ? i : ''}` : 'out';
    return `h${column}.${i + 1}`;
  }

  function chainText(item) {
    const l = item.layer;
    const dz = trace.layers[l].grad_pre[item.to];
    const to = nodeName(l + 1, item.to);
    if (item.kind === 'bias') return `∂L/∂b(${to}) = ∂L/∂z(${to}) · 1 = ${fmtValue(dz)}`;
    const from = nodeName(l, item.from);
    const a = activation(l, item.from);
    return `∂L/∂w(${from}→${to}) = ∂L/∂z(${to}) · a(${from}) = ${fmtValue(dz)} × ${fmtValue(a)} = ${fmtValue(trace.layers[l].grad_W[item.to][item.from])}`;
  }

  function showChain(item) {
    const net = network.layout;
    net?.overlay.querySelector('.wt-chain')?.remove();
    if (!item || !trace || !net) {
      chain.textContent = 'Hover a link for its chain rule.';
      return;
    }
    const text = chainText(item);
    chain.textContent = text;
    const tip = el('div', { class: 'wt-chain', text });
    net.overlay.append(tip);
    // under the deepest neuron (never over the values), centred on the link as far as the width allows
    const room = net.overlay.clientWidth - tip.offsetWidth - 2;
    const below = Math.max(...net.nodes.slice(1).flat().map((p) => p.y)) + net.rect + 8;
    tip.style.left = `${Math.max(0, Math.min(item.cx - tip.offsetWidth / 2, room))}px`;
    tip.style.top = `${below}px`;
  }

  hub.on('hover-link', (item) => {
    hovered = item;
    if (active) showChain(item);
  });
  hub.on('network:layout', () => {
    if (trace && network.layout.sizes.join() !== [Object.keys(trace.features).length, ...trace.layers.map((t) => t.post.length)].join()) clear();
    draw();
  });

  function clear() {
    trace = null;
    stopAnimation();
    plot.setMarker(null);
    network.layout?.overlay.replaceChildren();
    stepText.textContent = '';
    info.textContent = 'Click a training point on the plot, or press “Next point”.';
    prev.disabled = true;
    next.disabled = true;
  }

  function show(on) {
    active = on;
    element.hidden = !on;
    document.body.classList.toggle('walkthrough-on', on);
    if (!on) clear();
    else if (!trace) clear();
  }

  clear();
  return {
    element,
    show,
    onPlotClick,
    pickIndex,
    go,
    get active() {
      return active;
    },
    get trace() {
      return trace;
    },
    get step() {
      return step;
    },
  };
}

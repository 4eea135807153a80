// The backprop walk-through: pick a training point (click it on the plot, or "Next point"); the session's
// `inspect` answers with the engine's trace, and the network diagram steps through it one layer per click
// (or animated): the inputs, the forward pass (each neuron's z and a = f(z)), the loss, then the backward
// pass from the output down (each neuron's ∂L/∂z, each link's ∂L/∂w written on the links). Hovering or
// focusing a link shows its chain-rule product with the numbers: ∂L/∂w = ∂L/∂z_to · a_from. The drawing
// is walkthrough-overlay.js's.

import { el } from './ui.js';
import { drawTrace, fmtValue, showChainTip, traceFits } from './walkthrough-overlay.js';

export { fmtValue } from './walkthrough-overlay.js';

const ANIMATE_MS = 1100;

export function createWalkthrough(hub, state, session, network, plot) {
  let active = false;
  let trace = null; // the engine's trace of the chosen point (the `inspect` answer)
  let traceId = null;
  let step = 0;
  let timer = null; // the animation's interval
  let pointIndex = -1;
  let hovered = null; // the link under the pointer
  const info = el('p', { class: 'wt-info', text: 'Click a training point on the plot, or press “Next point”.' });
  const key = el('p', { class: 'wt-key' }, el('span', { class: 'wt-act', text: 'blue' }), ': a neuron’s value a = f(z); ',
    el('span', { class: 'wt-grad', text: 'orange' }), ': its δ = ∂L/∂z, and ∂L/∂w on the links.');
  const stepText = el('p', { class: 'wt-step', role: 'status', 'aria-live': 'polite', 'aria-label': 'Walk-through step' });
  const chain = el('p', { class: 'wt-chain-text', 'aria-live': 'polite', 'aria-label': 'Chain rule', text: 'Hover a link for its chain rule.' });
  const button = (text, label, onclick) => el('button', { type: 'button', class: 'text-button', 'aria-label': label, onclick }, text);
  const prev = button('◀ Back', 'Back: previous step', () => go(step - 1));
  const next = button('Next ▶', 'Next step', () => go(step + 1));
  const animate = button('Animate', 'Animate the steps', () => toggleAnimation());
  const pickNext = button('Next point', 'Next point: pick the next training point', () => pickIndex(pointIndex + 1));
  const element = el('section', { class: 'walkthrough', 'aria-label': 'Backprop walk-through', hidden: true },
    el('h3', { text: 'Backprop walk-through' }), info,
    el('div', { class: 'wt-buttons' }, pickNext, prev, next, animate), stepText, chain, key);

  const layers = () => trace?.layers.length ?? 0;
  const lastStep = () => 2 * layers();

  // ------------------------------------------------------------------------------------------- choosing
  function inspect(row, index) {
    if (!active) return;
    if (session.playing) hub.emit('command', { type: 'pause' });
    pointIndex = index;
    traceId = session.send('inspect', { point: [row[0], row[1]], label: row[2] });
    plot.setMarker(row);
    info.textContent = `Tracing: ${describePoint(row)}…`;
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
    info.textContent = `${describePoint(message.point)}, label ${label}: output ${out}, loss ${fmtValue(message.loss)}.`;
    go(0);
  });

  /** The point in the plot's units; where the x axis has units of its own (the lecture's polynomial), also
   *  the network's input x₁ they map to, so the input column's values are not a second, silent scale. */
  function describePoint([x1, x2]) {
    if (state.dims() !== 1) return `Point (${fmtValue(x1)}, ${fmtValue(x2)})`;
    const x = plot.axisX(x1);
    const e = state.options.view.extent;
    return x === x1 ? `Point x₁ = ${fmtValue(x1)}` : `Point x = ${fmtValue(x)} (on the axis; the network's input X₁ = ${fmtValue(x1)}, x mapped onto [−${e}, ${e}])`;
  }

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
      const scaled = state.values.standardize ? ' (standardized: (x − mean) / std of the training set)' : '';
      return `Step 1 of ${lastStep() + 1} — input${scaled}: ${f}.`;
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

  function draw() {
    const net = network.layout;
    if (!net) return;
    net.overlay.replaceChildren();
    if (!trace || !active || !traceFits(net, trace)) return;
    drawTrace(net, trace, step);
    if (hovered) showChain(hovered);
  }

  function showChain(item) {
    const net = network.layout;
    net?.overlay.querySelector('.wt-chain')?.remove();
    chain.textContent = item && trace && net ? showChainTip(net, trace, item, featureLabel) : 'Hover a link for its chain rule.';
  }

  hub.on('hover-link', (item) => {
    hovered = item;
    if (active) showChain(item);
  });
  hub.on('network:layout', () => {
    if (trace && !traceFits(network.layout, trace)) clear();
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
    const opened = on && !active && document.body.dataset.ready === 'true'; // by its toggle, not by the link
    active = on;
    element.hidden = !on;
    if (opened) element.scrollIntoView({ block: 'nearest' });
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

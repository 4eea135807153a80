// The gradient-norm chart: ‖∂L/∂W_l‖ of every layer over the epochs, on a log scale, from each frame's
// `grad_norms`, so vanishing (first layers orders of magnitude below the last) and exploding gradients
// show. Rows are collected from every frame; the chart is drawn only while it is shown.

import { createLineChart, createStore } from './chart.js';
import { sequentialColor } from './colors.js';
import { el } from './ui.js';

export const layerName = (l, n) => (l === n - 1 ? 'output' : `layer ${l + 1}`);

export function createGradChart(hub) {
  let store = createStore(0);
  let scheduled = false;
  const chart = createLineChart({ label: 'Gradient norm per layer, log scale', height: 90, log: true, axis: true, className: 'grad-chart' });
  const legend = el('div', { class: 'chart-legend', 'aria-label': 'Layers' });
  const element = el('div', { class: 'insight grad-norms', hidden: true },
    el('h3', { text: 'Gradient norm ‖∂L/∂W‖ per layer (log scale)' }), chart.element, legend);

  function reshape(n) {
    store = createStore(n);
    chart.setLines(Array.from({ length: n }, (_, l) => ({ store, column: l, color: sequentialColor(l, n), width: 1.5 })));
    legend.replaceChildren(...Array.from({ length: n }, (_, l) =>
      el('span', { class: 'swatch' }, el('i', { style: `background:${sequentialColor(l, n)}` }), layerName(l, n))));
  }

  function schedule() {
    if (scheduled || element.hidden) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      chart.draw();
    });
  }

  hub.on('frame', ({ header, arrays }) => {
    const norms = arrays.grad_norms;
    if (!norms || Number.isInteger(header.variant)) return;
    if (norms.length !== store.columns) reshape(norms.length);
    store.push(header.epoch, Array.from(norms));
    schedule();
  });
  hub.on('history:clear', () => store.clear());

  return {
    element,
    store: () => store,
    show(on) {
      element.hidden = !on;
      if (on) chart.draw();
    },
  };
}

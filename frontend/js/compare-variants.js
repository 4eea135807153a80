// The compare view: one card per variant (its name, the settings it overrides, its own plot, readouts and
// status), their loss curves overlaid on one chart (training solid, test dotted; one colour-blind-safe
// colour per variant, with a legend), and buttons to add or remove a variant (2–4). Frames and data of
// the comparison session are routed to the cards by their `variant` index.

import { createLineChart, createStore } from './chart.js';
import { CLASS_COLORS } from './colors.js';
import { createReadouts, statusMessage } from './output.js';
import { createPlot } from './output-plot.js';
import { el } from './ui.js';
import { createVariantEditor, describeOverrides } from './compare-variant-editor.js';


/** How many variants a comparison has: the engine's limits, sent in GET /api/options. */
export const variantLimits = (options) => ({ min: options.view.min_variants, max: options.view.max_variants });

/** Two optimisers from the server's registry: the first (plain SGD) against Adam (or the last one). */
export function defaultVariants(options) {
  const names = options.optimizers.map((o) => o.name);
  return [{ optimizer: names[0] }, { optimizer: names.includes('adam') ? 'adam' : names[names.length - 1] }];
}

export function createCompareView(hub, state) {
  let cards = [];
  let shapeKey = '';
  let scheduled = new Set();
  const chart = createLineChart({ label: 'Loss of every variant: training loss solid, test loss dotted', height: 110, axis: true, className: 'compare-chart' });
  const legend = el('div', { class: 'chart-legend compare-legend', 'aria-label': 'Variants' });
  const grid = el('div', { class: 'variant-grid' });
  const add = el('button', { type: 'button', class: 'text-button ui-variants', 'aria-label': 'Add a variant', onclick: () => addVariant() }, '+ Add a variant');
  const element = el('section', { class: 'compare-view', 'aria-label': 'Comparison' },
    el('div', { class: 'compare-chart-box ui-chart' }, el('h2', { text: 'Loss' }), chart.element, legend), grid, add);

  const variants = () => state.values.variants ?? [];
  const labelOf = (i) => state.values.labels?.[i] || describeOverrides(variants()[i] ?? {});

  function setVariants(list, labels = state.values.labels) {
    const fixed = labels ? list.map((_, i) => labels[i] ?? '') : null;
    state.set({ variants: list, labels: fixed && fixed.some(Boolean) ? fixed : null });
  }

  function addVariant() {
    const list = variants();
    if (list.length >= variantLimits(state.options).max) return;
    setVariants([...list, structuredClone(list[list.length - 1] ?? {})]);
  }

  function removeVariant(i) {
    const list = variants();
    if (list.length <= variantLimits(state.options).min) return;
    const labels = state.values.labels ? state.values.labels.filter((_, k) => k !== i) : null;
    setVariants(list.filter((_, k) => k !== i), labels);
  }

  function rename(i, text) {
    const labels = variants().map((_, k) => (k === i ? text.trim() : state.values.labels?.[k] ?? ''));
    state.set({ labels: labels.some(Boolean) ? labels : null });
  }

  function createCard(i) {
    const color = CLASS_COLORS[i];
    const name = el('input', { type: 'text', class: 'variant-name ui-variants', 'aria-label': `Name of variant ${i + 1}`, onchange: () => rename(i, name.value) });
    const remove = el('button', { type: 'button', class: 'round small ui-variants', 'aria-label': `Remove variant ${i + 1}`, title: 'Remove this variant', onclick: () => removeVariant(i) }, '×');
    const editor = createVariantEditor(state, i, { onChange: (overrides) => setVariants(variants().map((v, k) => (k === i ? overrides : v))) });
    editor.element.classList.add('ui-variants');
    const plot = createPlot(hub, state, { primary: false, label: `Output of variant ${i + 1}` });
    const readouts = createReadouts();
    const status = el('div', { class: 'message', role: 'alert', hidden: true });
    const title = el('h3', { class: 'variant-title' }, el('i', { class: 'variant-swatch', style: `background:${color}` }), el('span'));
    const element = el('article', { class: 'variant-card', style: `--variant:${color}`, 'aria-label': `Variant ${i + 1}`, 'data-variant': i },
      el('div', { class: 'variant-head' }, title, name, remove), editor.element,
      el('div', { class: 'variant-stage' }, plot.element), readouts.element, status);
    return { element, plot, readouts, status, name, title, editor, store: createStore(2), lastEpoch: -1, frame: null };
  }

  /** Rebuild the cards when the number of variants changes; otherwise refresh names and editors. */
  function build() {
    const list = variants();
    const key = String(list.length);
    if (key !== shapeKey) {
      shapeKey = key;
      cards = list.map((_, i) => createCard(i));
      grid.replaceChildren(...cards.map((c) => c.element));
      grid.dataset.count = String(list.length);
      chart.setLines(cards.flatMap((c, i) => [
        { store: c.store, column: 1, color: CLASS_COLORS[i], dash: [2, 3], width: 1.2 },
        { store: c.store, column: 0, color: CLASS_COLORS[i], width: 2 },
      ]));
    }
    cards.forEach((card, i) => {
      card.title.lastChild.textContent = labelOf(i);
      if (document.activeElement !== card.name) card.name.value = state.values.labels?.[i] ?? '';
      card.name.placeholder = describeOverrides(list[i]);
      card.editor.render(list[i]);
      card.element.querySelector('[aria-label^="Remove variant"]').disabled = list.length <= variantLimits(state.options).min;
    });
    add.disabled = list.length >= variantLimits(state.options).max;
    legend.replaceChildren(...cards.map((_, i) => el('span', { class: 'swatch' }, el('i', { class: 'line', style: `background:${CLASS_COLORS[i]}` }), labelOf(i))),
      el('span', { class: 'swatch' }, el('i', { class: 'line', style: 'background:#555' }), 'training'),
      el('span', { class: 'swatch' }, el('i', { class: 'line dotted' }), 'test'));
  }

  function showCard(card) {
    const h = card.frame.header;
    card.plot.onFrame(card.frame);
    card.readouts.show(h);
    const m = statusMessage(h.status, h.message);
    card.status.hidden = !m;
    if (m) {
      card.status.className = `message ${m.kind}`;
      card.status.textContent = `${m.strong}${m.text}`;
    }
  }

  function schedule(card) {
    if (scheduled.has(card)) return;
    scheduled.add(card);
    if (scheduled.size > 1) return;
    requestAnimationFrame(() => {
      for (const c of scheduled) if (c.frame) showCard(c);
      scheduled = new Set();
      chart.draw();
    });
  }

  const renderer = {
    frame(frame) {
      const card = cards[frame.header.variant];
      if (!card) return;
      const h = frame.header;
      if (h.epoch < card.lastEpoch) card.store.clear();
      card.lastEpoch = h.epoch;
      const rows = frame.arrays.history;
      if (rows) for (let r = 0; r + 2 < rows.length; r += 3) card.store.push(rows[r], [rows[r + 1], rows[r + 2]]);
      card.frame = frame;
      schedule(card);
    },
    data(data) {
      const v = data.header.variant;
      for (const [i, card] of cards.entries()) if (!Number.isInteger(v) || v === i) card.plot.onData(data);
    },
    clearHistory() {
      for (const card of cards) {
        card.store.clear();
        card.lastEpoch = -1;
      }
      chart.draw();
    },
  };

  hub.on('state:change', ({ changed }) => {
    if (['variants', 'labels', 'task', 'problem', 'optimizer'].some((k) => changed.has(k))) build();
  });
  build();
  return {
    element,
    renderer,
    chart,
    get cards() {
      return cards;
    },
    /** {variants, labels} for the comparison session's `configure`. */
    message() {
      const list = variants();
      return { variants: list, labels: list.map((_, i) => labelOf(i)) };
    },
  };
}

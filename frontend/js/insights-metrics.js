// Quality beyond the loss: the confusion matrices (train and test; rows = true class, columns = predicted)
// for classification, from the frame header's `confusion`; R² and RMSE for regression.

import { CLASS_COLORS, SHADES_CSS } from './colors.js';
import { el, fmt3 } from './ui.js';

function classLabel(c, task) {
  if (task === 'binary') return c > 0 ? '+1' : '−1';
  return String(c);
}

/** A table of counts; each cell shaded by its share of the row (the recall of that class). */
export function confusionTable(matrix, classes, task, caption) {
  const total = matrix.flat().reduce((a, b) => a + b, 0);
  const correct = matrix.reduce((a, row, i) => a + (row[i] ?? 0), 0);
  const swatch = (c, k) => el('i', { class: 'class-dot', style: `background:${task === 'binary' ? (c > 0 ? SHADES_CSS[SHADES_CSS.length - 1] : SHADES_CSS[0]) : CLASS_COLORS[k % CLASS_COLORS.length]}` });
  const head = el('tr', {}, el('th', { scope: 'col', text: 'true ↓ predicted →' }),
    ...classes.map((c, k) => el('th', { scope: 'col' }, swatch(c, k), classLabel(c, task))));
  const rows = matrix.map((row, i) => {
    const sum = row.reduce((a, b) => a + b, 0) || 1;
    return el('tr', {}, el('th', { scope: 'row' }, swatch(classes[i], i), classLabel(classes[i], task)),
      ...row.map((count, j) => el('td', {
        text: String(count), class: i === j ? 'hit' : 'miss',
        style: `--share:${(count / sum).toFixed(3)}`, title: `${count} of ${sum} points of class ${classLabel(classes[i], task)}`,
      })));
  });
  const accuracy = total ? ` — ${((100 * correct) / total).toFixed(1)}% right` : '';
  return el('table', { class: 'confusion', 'aria-label': `${caption} confusion matrix` },
    el('caption', { text: `${caption} (${total} points)${accuracy}` }), el('thead', {}, head), el('tbody', {}, ...rows));
}

export function createMetrics(hub) {
  let last = null; // the newest frame header
  let scheduled = false;
  const body = el('div', { class: 'metrics-body' });
  const element = el('div', { class: 'insight metrics', hidden: true }, el('h3', { text: 'Confusion matrix' }), body);
  const title = element.firstChild;

  function draw() {
    const h = last;
    if (!h) return;
    if (h.task === 'regression') {
      title.textContent = 'R² and RMSE';
      body.replaceChildren(el('table', { class: 'regression-metrics', 'aria-label': 'R² and RMSE' },
        el('thead', {}, el('tr', {}, el('th', { text: '' }), el('th', { scope: 'col', text: 'R²' }), el('th', { scope: 'col', text: 'RMSE' }))),
        el('tbody', {},
          el('tr', {}, el('th', { scope: 'row', text: 'training' }), el('td', { text: fmt3(h.train_r2) }), el('td', { text: fmt3(h.train_rmse) })),
          el('tr', {}, el('th', { scope: 'row', text: 'test' }), el('td', { text: fmt3(h.test_r2) }), el('td', { text: fmt3(h.test_rmse) })))));
      return;
    }
    title.textContent = 'Confusion matrix';
    const c = h.confusion;
    if (!c) {
      body.replaceChildren(el('p', { class: 'column-text', text: 'This server sends no confusion matrix with its frames.' }));
      return;
    }
    body.replaceChildren(confusionTable(c.train, c.classes, h.task, 'Training'),
      ...(c.test?.length ? [confusionTable(c.test, c.classes, h.task, 'Test')] : []));
  }

  hub.on('frame', ({ header }) => {
    if (Number.isInteger(header.variant)) return;
    last = header;
    if (element.hidden || scheduled) return;
    scheduled = true;
    setTimeout(() => {
      scheduled = false;
      draw();
    }, 200); // a table a few times a second is plenty
  });

  return {
    element,
    show(on) {
      element.hidden = !on;
      if (on) draw();
    },
  };
}

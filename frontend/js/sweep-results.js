// The Sweep view's results: a table with a row per run (its swept values, seed, status and metrics; a click
// opens that run in the playground through its link, seed included) and the server's figure of the sweep
// (GET /api/sweeps/{id}/plot.svg), or the server's reason when it cannot draw one.

import { el, fmt3 } from './ui.js';

const METRICS = [['train_loss', 'Train loss'], ['test_loss', 'Test loss'], ['accuracy', 'Accuracy'], ['r2', 'R²'], ['rmse', 'RMSE']];

const show = (value) => (Array.isArray(value) ? `[${value.join(', ')}]` : String(value));

/** createSweepResults({onOpen(link)}) -> {element, update(sweep), clear()} */
export function createSweepResults({ onOpen }) {
  const table = el('table', { class: 'sweep-table', 'aria-label': 'Sweep results' });
  const figure = el('figure', { class: 'sweep-figure', hidden: true });
  const element = el('div', { class: 'sweep-results' }, figure, el('div', { class: 'sweep-table-wrap' }, table));
  let drawnFor = null;

  function update(sweep) {
    const metrics = METRICS.filter(([key]) => key.endsWith('loss') || sweep.results.some((r) => r[key] !== null && r[key] !== undefined));
    const head = el('tr', {}, ...sweep.fields.map((f) => el('th', { scope: 'col', text: f })),
      ...['seed', 'status', 'epochs'].map((t) => el('th', { scope: 'col', text: t })),
      ...metrics.map(([, label]) => el('th', { scope: 'col', text: label })));
    const rows = sweep.results.map((r) => {
      const open = () => onOpen(r.link);
      const finished = !['pending', 'running'].includes(r.status);
      return el('tr', { class: `sweep-row ${r.status}`, 'data-index': r.index, tabindex: finished ? 0 : undefined,
        title: finished ? 'Open this run in the playground' : undefined,
        onclick: finished ? open : undefined, onkeydown: (e) => finished && e.key === 'Enter' && open() },
      ...sweep.fields.map((f) => el('td', { text: show(r.overrides[f]) })),
      el('td', { text: r.seed }), el('td', { text: r.status.replace('_', ' ') }), el('td', { text: r.epochs_run }),
      ...metrics.map(([key]) => el('td', { class: 'number', text: fmt3(r[key]) })));
    });
    table.replaceChildren(el('thead', {}, head), el('tbody', {}, ...rows));
    if (sweep.status === 'done' && drawnFor !== sweep.id) drawFigure(sweep.id);
  }

  async function drawFigure(id) {
    drawnFor = id;
    const response = await fetch(`api/sweeps/${encodeURIComponent(id)}/plot.svg`);
    if (drawnFor !== id) return;
    figure.hidden = false;
    if (response.ok) {
      const url = URL.createObjectURL(await response.blob());
      figure.replaceChildren(el('img', { src: url, alt: 'The sweep: its metric against the swept values, and the best learning curves', class: 'sweep-plot' }),
        el('figcaption', {}, el('a', { href: `api/sweeps/${encodeURIComponent(id)}/plot.png`, download: `sweep-${id}.png`, text: 'Download PNG' }), ' · ',
          el('a', { href: `api/sweeps/${encodeURIComponent(id)}/plot.svg`, download: `sweep-${id}.svg`, text: 'SVG' }), ' · ',
          el('a', { href: `api/sweeps/${encodeURIComponent(id)}?format=csv`, download: `sweep-${id}.csv`, text: 'CSV' })));
    } else {
      const detail = await response.json().then((j) => j.detail, () => response.statusText);
      figure.replaceChildren(el('p', { class: 'sweep-error', role: 'alert', text: `No figure: ${typeof detail === 'string' ? detail : JSON.stringify(detail)}` }));
    }
  }

  function clear() {
    drawnFor = null;
    table.replaceChildren();
    figure.replaceChildren();
    figure.hidden = true;
  }

  return { element, update, clear };
}

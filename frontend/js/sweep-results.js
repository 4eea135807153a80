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
  const metric = el('select', { 'aria-label': 'Figure metric', class: 'sweep-metric', onchange: () => drawFigure(drawnFor) });
  const element = el('div', { class: 'sweep-results' }, figure, el('div', { class: 'sweep-table-wrap' }, table));
  let drawnFor = null;
  let objectUrl = null; // the figure's blob: URL, freed when another replaces it

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
    if (sweep.status === 'done' && drawnFor !== sweep.id) {
      metric.replaceChildren(...metrics.map(([key, label]) => el('option', { value: key, text: label })));
      metric.value = 'test_loss';
      drawFigure(sweep.id);
    }
  }

  /** The server's figure of sweep `id` by the chosen metric, with links to its PNG, SVG and the CSV. */
  async function drawFigure(id) {
    drawnFor = id;
    const base = `api/sweeps/${encodeURIComponent(id)}`;
    const query = `?metric=${encodeURIComponent(metric.value)}`;
    const response = await fetch(`${base}/plot.svg${query}`);
    if (drawnFor !== id) return;
    figure.hidden = false;
    if (response.ok) {
      if (objectUrl) URL.revokeObjectURL(objectUrl);
      objectUrl = URL.createObjectURL(await response.blob());
      figure.replaceChildren(el('img', { src: objectUrl, alt: `The sweep's ${metric.selectedOptions[0]?.text ?? 'metric'} against the swept values, and the best learning curves`, class: 'sweep-plot' }),
        el('figcaption', {}, el('label', {}, 'Metric ', metric), ' · ',
          el('a', { href: `${base}/plot.png${query}`, download: `sweep-${id}.png`, text: 'Download PNG' }), ' · ',
          el('a', { href: `${base}/plot.svg${query}`, download: `sweep-${id}.svg`, text: 'SVG' }), ' · ',
          el('a', { href: `${base}?format=csv`, download: `sweep-${id}.csv`, text: 'CSV' })));
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

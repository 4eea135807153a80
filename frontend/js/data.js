// The data column: one thumbnail per dataset of the engine (those that fit the problem type, plus
// "custom"), the playground's sliders (ratio, noise, batch size), "Standardize inputs", number of samples,
// classes, Regenerate.
// Thumbnails are drawn from a sample of each dataset fetched once with POST /api/train (one epoch of a network without hidden layers).

import { drawPoints } from './output-heatmap.js';
import { fieldBounds } from './state.js';
import { checkControl, el, nextId } from './ui.js';
import { POINT_OUTLINES, withAlpha } from './colors.js';

const THUMB = 48;

/** A labelled range slider; `format` renders the value next to the label. */
function slider({ label, name, min, max, step, value, format = String, onChange }) {
  const id = nextId('rng');
  const shown = el('span', { class: 'slider-value', text: format(value) });
  const input = el('input', { id, type: 'range', min, max, step, value, 'aria-label': label });
  input.addEventListener('input', () => (shown.textContent = format(Number(input.value))));
  input.addEventListener('change', () => onChange(Number(input.value)));
  const element = el('div', { class: `control slider ui-${name}` }, el('label', { for: id }, `${label}: `, shown), input);
  return {
    element,
    setValue(v) {
      if (Number(input.max) < v) input.max = v;
      input.value = v;
      shown.textContent = format(v);
    },
  };
}

export function createDataPanel(hub, state, customPanel) {
  const { options } = state;
  const thumbs = new Map(); // dataset name -> canvas
  const samples = new Map(); // dataset name -> {train, task} | 'loading'
  const grid = el('div', { class: 'dataset-grid ui-dataset', role: 'group', 'aria-label': 'Datasets' });
  const v = state.values;
  const ratio = slider({ label: 'Ratio of training to test data', name: 'percTrainData', min: 10, max: 90, step: 10, value: Math.round(v.train_ratio * 100), format: (x) => `${x}%`, onChange: (x) => state.set({ train_ratio: x / 100 }) });
  const noiseBounds = fieldBounds(options, 'noise');
  const noise = slider({ label: 'Noise', name: 'noise', min: noiseBounds.min, max: noiseBounds.max, step: 5, value: v.noise, onChange: (x) => state.set({ noise: x }) });
  const batch = slider({ label: 'Batch size', name: 'batchSize', min: 1, max: 30, step: 1, value: v.batch_size, onChange: (x) => state.set({ batch_size: x }) });
  // the engine's `standardize`: every input feature scaled by the training set's mean and standard deviation
  const standardize = checkControl({ label: 'Standardize inputs', name: 'standardize', checked: v.standardize, onChange: (on) => state.set({ standardize: on }) });
  standardize.element.title = options.fields.standardize?.description ?? '';
  const samplesId = nextId('num');
  const nSamples = el('input', { id: samplesId, type: 'number', min: options.limits.min_samples, max: options.limits.max_samples, step: 1, 'aria-label': 'Number of samples' });
  nSamples.addEventListener('change', () => {
    const text = nSamples.value.trim();
    const n = Number(text);
    const ok = text === '' || (Number.isInteger(n) && n >= options.limits.min_samples && n <= options.limits.max_samples);
    nSamples.setAttribute('aria-invalid', String(!ok));
    nSamples.title = ok ? '' : `allowed: ${options.limits.min_samples} to ${options.limits.max_samples}`;
    // the dataset's own count stays the default (null), so the link does not name it
    if (ok) state.set({ n_samples: text === '' || n === state.spec()?.default_samples ? null : n });
  });
  const samplesRow = el('div', { class: 'control number ui-nSamples' }, el('label', { for: samplesId, text: 'Number of samples' }), nSamples);
  const classBounds = fieldBounds(options, 'n_classes');
  const classesId = nextId('sel');
  const classes = el('select', { id: classesId, 'aria-label': 'Number of classes', onchange: () => state.set({ n_classes: Number(classes.value) }) },
    ...range(classBounds.min, classBounds.max).map((k) => el('option', { value: k, text: String(k) })));
  const classesRow = el('div', { class: 'control ui-nClasses' }, el('label', { for: classesId, text: 'Classes' }), classes);
  const regenerate = el('button', { type: 'button', class: 'text-button ui-regenerate', 'aria-label': 'Regenerate', onclick: () => hub.emit('command', { type: 'regenerate' }) }, 'Regenerate');
  const element = el('section', { class: 'column data-column', 'aria-label': 'Data' },
    el('h2', { text: 'Data' }), el('p', { class: 'column-text ui-dataset', text: 'Which dataset do you want to use?' }),
    grid, customPanel.element, ratio.element, noise.element, batch.element, standardize.element, samplesRow, classesRow,
    regenerate);

  function fits(d) {
    return d.task === null || (d.task === 'regression') === (state.values.problem === 'regression');
  }

  function buildGrid() {
    const list = options.datasets.filter(fits);
    grid.replaceChildren(...list.map((d) => {
      let canvas = thumbs.get(d.name);
      if (!canvas) {
        canvas = el('canvas', { width: THUMB * 2, height: THUMB * 2 });
        thumbs.set(d.name, canvas);
      }
      return el('button', {
        type: 'button', class: 'dataset', 'data-dataset': d.name, 'aria-label': `Dataset: ${d.label}`, title: `${d.label}: ${d.description}`,
        onclick: () => state.set(state.values.problem === 'regression' ? { reg_dataset: d.name } : { dataset: d.name }),
      }, canvas, el('span', { class: 'dataset-name', text: d.label }));
    }));
    list.forEach((d) => loadThumb(d));
    mark();
  }

  function mark() {
    const current = state.datasetName();
    for (const button of grid.children) {
      const on = button.dataset.dataset === current;
      button.classList.toggle('selected', on);
      button.setAttribute('aria-pressed', String(on));
    }
  }

  async function loadThumb(d) {
    if (d.name === 'custom') return paintThumb(d.name, customRows(), state.task());
    if (samples.has(d.name)) return;
    samples.set(d.name, 'loading');
    const problem = d.task === 'regression' ? 'regression' : 'classification';
    const config = { ...options.defaults, problem, dataset: d.name, seed: 1, hidden: [], features: [options.features[0].name], device: undefined };
    delete config.device;
    try {
      const response = await fetch('api/train', {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ config, epochs: 1, include: ['data'] }),
      });
      if (!response.ok) throw new Error(`${response.status}`);
      const body = await response.json();
      const rows = [...(body.data?.train ?? []), ...(body.data?.test ?? [])].flat();
      samples.set(d.name, { rows: Float32Array.from(rows), task: d.task });
      paintThumb(d.name, Float32Array.from(rows), d.task);
    } catch (error) {
      console.warn(`nnplay: no thumbnail for ${d.name} (${error.message})`);
    }
  }

  function customRows() {
    return Float32Array.from(state.customPoints().flat());
  }

  function paintThumb(name, rows, task) {
    const canvas = thumbs.get(name);
    if (!canvas) return;
    const ctx = canvas.getContext('2d');
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = '#f2f2f2';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    const isOneD = options.datasets.find((d) => d.name === name)?.dims === 1;
    if (isOneD) {
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = 2; i < rows.length; i += 3) (lo = Math.min(lo, rows[i])), (hi = Math.max(hi, rows[i]));
      drawPoints(ctx, rows, { size: canvas.width, extent: options.view.extent, yRange: [lo - (hi - lo) * 0.2 - 1e-9, hi + (hi - lo) * 0.2 + 1e-9], radius: 4, stroke: POINT_OUTLINES.train });
    } else drawPoints(ctx, rows, { task, size: canvas.width, extent: options.view.extent, radius: 2.5, stroke: withAlpha(POINT_OUTLINES.train, 0.6) });
  }

  function sync() {
    const values = state.values;
    ratio.setValue(Math.round(values.train_ratio * 100));
    noise.setValue(values.noise);
    batch.setValue(values.batch_size);
    standardize.setValue(values.standardize);
    if (document.activeElement !== nSamples) nSamples.value = values.n_samples ?? state.spec()?.default_samples ?? '';
    nSamples.placeholder = String(state.spec()?.default_samples ?? '');
    classes.value = String(values.n_classes);
    const spec = state.spec();
    samplesRow.hidden = spec?.name === 'custom' || spec?.dims === 1;
    classesRow.hidden = spec?.task !== 'multiclass';
    noise.element.hidden = spec?.name === 'custom' || spec?.dims === 1;
    regenerate.hidden = spec?.name === 'custom' || spec?.dims === 1;
  }

  hub.on('state:change', ({ changed }) => {
    if (changed.has('problem')) buildGrid();
    if (changed.has('custom_points')) paintThumb('custom', customRows(), state.task());
    mark();
    sync();
  });
  buildGrid();
  sync();
  return { element };
}

function range(lo, hi) {
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}

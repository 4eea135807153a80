// The "Sweep" button and its view: from the current setup, pick one or two config fields and their values
// (sweep-fields.js, from GET /api/options) and the seeds, run them as one sweep (POST /api/sweeps), follow it
// with a progress bar (polling GET /api/sweeps/{id}, every page of its results), see the table and the figure (sweep-results.js); a
// row opens that run in the playground. Stop cancels the sweep on the server (DELETE).

import { createSweepResults } from './sweep-results.js';
import { formatValues, parseValues, suggestValues, sweepableFields } from './sweep-fields.js';
import { el, nextId } from './ui.js';

const POLL_MS = 400;
const FINAL = new Set(['done', 'cancelled', 'interrupted', 'failed']);
const DEFAULT_FIELDS = ['learning_rate', 'reg_rate']; // what the view starts with, when the server has them
const DEFAULT_EPOCHS = 100;

/** One axis of the sweep: a field <select> (the second may be "none") and its values input. */
function createAxis(fields, state, { label, optional, initial }) {
  const id = nextId('sweep-field');
  const select = el('select', { id, 'aria-label': `${label} field`, onchange: () => fill() },
    optional ? el('option', { value: '', text: '— none —' }) : null,
    ...fields.map((f) => el('option', { value: f.name, text: f.name })));
  select.value = initial ?? '';
  const values = el('div', { class: 'sweep-values' });
  const element = el('div', { class: 'sweep-axis' }, el('label', { for: id, text: label }), select, values);
  let input = null;
  let boxes = [];

  function fill() {
    const field = fields.find((f) => f.name === select.value);
    input = null;
    boxes = [];
    if (!field) return values.replaceChildren();
    const suggested = suggestValues(field, state.values[field.name]);
    if (field.kind === 'choice') {
      boxes = field.choices.map((choice) => el('input', { type: 'checkbox', value: String(choice), checked: suggested.includes(choice), 'aria-label': `${field.name} ${choice}` }));
      values.replaceChildren(...boxes.map((box, i) => el('label', { class: 'control check' }, box, el('span', { text: String(field.choices[i]) }))));
    } else {
      input = el('input', { type: 'text', class: 'sweep-list', value: formatValues(field, suggested), 'aria-label': `${field.name} values`,
        title: field.kind === 'layers' ? 'layer sizes, one network per ";" (e.g. 4,2; 8,8)' : 'values separated by commas' });
      values.replaceChildren(input);
    }
  }

  /** {field, values} | {error} | null (no field chosen). */
  function read() {
    const field = fields.find((f) => f.name === select.value);
    if (!field) return null;
    if (field.kind !== 'choice') return { field: field.name, ...parseValues(field, input.value) };
    const chosen = field.choices.filter((_, i) => boxes[i].checked);
    return chosen.length ? { field: field.name, values: chosen } : { error: `${field.name}: tick at least one value` };
  }

  fill();
  return { element, select, read, fill };
}

export function createSweepView(hub, state, options) {
  const fields = sweepableFields(options);
  const starts = DEFAULT_FIELDS.map((name) => (fields.some((f) => f.name === name) ? name : fields[0]?.name));
  const first = createAxis(fields, state, { label: 'Sweep', initial: starts[0] });
  const second = createAxis(fields, state, { label: 'and', optional: true, initial: starts[1] });
  const seeds = el('input', { type: 'number', min: 1, step: 1, value: 3, 'aria-label': 'Sweep seeds', class: 'sweep-seeds' });
  const epochs = el('input', { type: 'number', min: 1, max: options.server_limits.max_epochs, step: 1, value: DEFAULT_EPOCHS, 'aria-label': 'Sweep epochs', class: 'sweep-epochs' });
  const run = el('button', { type: 'button', class: 'text-button sweep-run', onclick: () => start() }, 'Run sweep');
  const stop = el('button', { type: 'button', class: 'text-button sweep-stop', hidden: true, onclick: () => cancel() }, 'Stop');
  const progress = el('progress', { class: 'sweep-progress', max: 1, value: 0, 'aria-label': 'Sweep progress' });
  const status = el('p', { class: 'sweep-status', role: 'status', 'aria-live': 'polite' });
  const results = createSweepResults({ onOpen: openRun });
  const dialog = el('dialog', { class: 'sweep-dialog', 'aria-label': 'Sweep' },
    el('h2', { text: 'Sweep this setup' }),
    el('p', { class: 'column-text', text: 'Train this setup over the values of one or two settings, each with several seeds, as one stacked run on the server. Click a row to open that run in the playground.' }),
    el('div', { class: 'sweep-form' }, first.element, second.element,
      el('div', { class: 'sweep-numbers' },
        el('label', { class: 'control number' }, el('span', { text: 'Seeds' }), seeds),
        el('label', { class: 'control number' }, el('span', { text: 'Epochs' }), epochs), run, stop)),
    el('div', { class: 'sweep-progress-row' }, progress, status),
    results.element,
    el('div', { class: 'dialog-buttons' }, el('button', { type: 'button', class: 'text-button', 'aria-label': 'Close', onclick: () => dialog.close() }, 'Close')));
  const button = el('button', { type: 'button', class: 'tool-button ui-sweep', 'aria-label': 'Sweep', title: 'Train this setup over several values and seeds at once', onclick: () => show() }, 'Sweep');
  let current = null; // the id of the sweep being followed
  let timer = null;

  /** The POST /api/sweeps body, or {error}. */
  function request() {
    const axes = [first.read(), second.read()].filter(Boolean);
    const bad = axes.find((a) => a.error);
    if (bad) return { error: bad.error };
    if (axes.length === 2 && axes[0].field === axes[1].field) return { error: `sweep two different settings, not ${axes[0].field} twice` };
    const grid = Object.fromEntries(axes.map((a) => [a.field, a.values]));
    return { body: { config: state.config(), grid, seeds: Number(seeds.value), epochs: Number(epochs.value) } };
  }

  async function start() {
    const { body, error } = request();
    if (error) return say(error, true);
    results.clear();
    const response = await fetch('api/sweeps', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) return say(problemText(answer.detail) || `the server refused the sweep (${response.status})`, true);
    current = answer.id;
    running(true);
    progress.max = answer.total;
    progress.value = 0;
    say(`0 of ${answer.total} runs`);
    poll(answer.id);
  }

  async function poll(id) {
    if (id !== current) return;
    const sweep = await readAll(id);
    if (id !== current) return;
    if (sweep.error_status) {
      running(false);
      return say(`the sweep is gone (${sweep.error_status})`, true);
    }
    progress.max = sweep.total;
    progress.value = sweep.done;
    results.update(sweep);
    if (!FINAL.has(sweep.status)) {
      say(`${sweep.done} of ${sweep.total} runs`);
      timer = setTimeout(() => poll(id), POLL_MS);
      return;
    }
    running(false);
    say(`${sweep.status}: ${sweep.done} of ${sweep.total} runs${sweep.error ? ` (${sweep.error})` : ''}`, sweep.status !== 'done');
  }

  /** Sweep `id` with the results of every page (GET /api/sweeps/{id}, then each page's `next`), or {error_status}. */
  async function readAll(id) {
    const base = `api/sweeps/${encodeURIComponent(id)}`;
    let response = await fetch(base);
    if (!response.ok) return { error_status: response.status };
    const sweep = await response.json();
    let next = sweep.next;
    while (next && id === current) {
      response = await fetch(`${base}?${next.split('?')[1]}`); // relative: the page may be served under a prefix
      if (!response.ok) return { error_status: response.status };
      const page = await response.json();
      sweep.results.push(...page.results);
      next = page.next;
    }
    return sweep;
  }

  async function cancel() {
    if (!current) return;
    await fetch(`api/sweeps/${encodeURIComponent(current)}`, { method: 'DELETE' });
  }

  function running(on) {
    run.disabled = on;
    stop.hidden = !on;
    dialog.dataset.running = String(on);
    if (!on) clearTimeout(timer);
  }

  function say(text, isError = false) {
    status.textContent = text;
    status.classList.toggle('sweep-error', isError);
  }

  /** Open a run's link here: the same page takes its setup from the new hash (state.js listens). */
  function openRun(link) {
    const url = new URL(link, location.href);
    if (url.origin === location.origin && url.pathname === location.pathname) {
      dialog.close();
      location.hash = url.hash;
    } else location.assign(url.href);
  }

  function show() {
    for (const axis of [first, second]) axis.fill(); // the values around the setup as it is now
    if (!dialog.isConnected) document.body.append(dialog);
    dialog.showModal();
  }

  return { button, dialog, show };
}

/** A 4xx answer's detail as one line (a text, or the problems' messages). */
function problemText(detail) {
  if (typeof detail === 'string') return detail;
  if (Array.isArray(detail)) return detail.map((d) => d.message ?? d.msg ?? JSON.stringify(d)).join('; ');
  return '';
}

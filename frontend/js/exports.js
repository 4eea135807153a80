// The "Export" menu: a PNG of the view (composed in the page) or of the plot (server-rendered,
// POST /api/render, of the current weights at the current epoch), an animated GIF of this setup
// (POST /api/render/gif: from the weights and epoch the current run started at, a frame every k epochs, at
// the width chosen; the fields are exports-gif.js's),
// the network as JSON (config + weights + epoch; importing it sends `configure` with both, so the exact
// network comes back) or as a link (the same JSON kept by the server: POST /api/networks -> /n/ID, which
// network-link.js opens), the loss history and the data as CSV.

import { composeView } from './exports-compose.js';
import { download, fileName, toCsv } from './exports-files.js';
import { createGifFields } from './exports-gif.js';
import { copy } from './share.js';
import { fmt3, el, nextId } from './ui.js';

const FORMAT = 'nnplay-network';

/** POST JSON, answer the Response (throws with the server's message on an error status). */
export async function post(path, body) {
  const response = await fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok) {
    let detail = `${response.status}`;
    try {
      const json = await response.json();
      detail = typeof json.detail === 'string' ? json.detail : json.detail?.map?.((d) => d.msg ?? d.message).join('; ') ?? JSON.stringify(json);
    } catch {
      /* not JSON */
    }
    throw new Error(`${path}: ${detail}`);
  }
  return response;
}

/** Parse and check an exported network file: {config, weights, epoch}. Throws a readable error. */
export function parseNetworkFile(text) {
  let data;
  try {
    data = JSON.parse(text);
  } catch {
    throw new Error('not a JSON file');
  }
  if (!data || typeof data.config !== 'object' || data.config === null) throw new Error('no "config" object in the file');
  const layers = data.weights;
  const ok = Array.isArray(layers) && layers.every((l) => Array.isArray(l?.W) && Array.isArray(l?.b));
  if (!ok) throw new Error('"weights" must be a list of {W, b} layers');
  return { config: data.config, weights: layers, epoch: Number.isInteger(data.epoch) ? data.epoch : 0 };
}

export function createExports(hub, state, session, { output, network, chart, presets = [] }) {
  // Where the current run started: the weights and epoch of its first frame after a new setup, a Reset
  // or an import (the session clears the history just before that frame reaches us).
  let start = null;
  const item = (text, label, onclick) => el('button', { type: 'button', class: 'menu-item', 'aria-label': label, onclick }, text);
  const gifFields = createGifFields(state, (values) => run(() => gif(values)));
  const fileId = nextId('file');
  const file = el('input', { id: fileId, type: 'file', accept: '.json,application/json', class: 'visually-hidden', 'aria-label': 'Import network (JSON)' });
  const linkField = el('input', { class: 'share-link network-link', readOnly: true, hidden: true, 'aria-label': 'Link to this network',
    onfocus: () => linkField.select() });
  const panel = el('div', { class: 'menu-panel' },
    item('Picture of this view (PNG)', 'Export a PNG of the view', () => run(viewPng)),
    item('Plot, server-rendered (PNG)', 'Export a server-rendered PNG of the plot', () => run(plotPng)),
    gifFields.element,
    item('Network (JSON)', 'Export the network as JSON', () => run(networkJson)),
    item('Share network (link)', 'Share the network as a link, kept by this server', () => run(networkLink)),
    linkField,
    el('label', { class: 'menu-item file-item', for: fileId }, 'Import network (JSON)…', file),
    item('Loss history (CSV)', 'Export the loss history as CSV', () => run(lossCsv)),
    item('Data (CSV)', 'Export the data as CSV', () => run(dataCsv)));
  const summary = el('summary', { text: 'Export' });
  const element = el('details', { class: 'menu exports ui-exports' }, summary, panel);
  element.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape' || !element.open) return;
    element.open = false;
    summary.focus();
  });

  async function run(task) {
    try {
      await task();
    } catch (error) {
      hub.emit('notice', error.message);
      console.warn(error);
    }
  }

  const weights = () => session.currentWeights();
  const name = (ext) => fileName(state, session.epoch, ext);

  hub.on('history:clear', () => (start = null));
  hub.on('frame', () => {
    if (!start && !session.compare) start = { weights: weights(), epoch: session.epoch };
  });

  /** What every server picture needs: the setup and how the page draws it. */
  const pictureBody = () => ({ config: state.config(), density: state.values.density, show_test: state.values.showTestData, discretize: state.values.discretize });

  async function viewPng() {
    const h = session.lastFrame?.header;
    const caption = `nnplay · ${state.datasetName()} · epoch ${session.epoch} · test loss ${fmt3(h?.test_loss)} · training loss ${fmt3(h?.train_loss)}`;
    download(name('view.png'), await composeView({ network, plot: output.plot, chart, caption }));
  }

  async function plotPng() {
    const body = { ...pictureBody(), epochs: 0, size: 800, caption: true };
    const now = weights();
    if (now) Object.assign(body, { weights: now, start_epoch: session.epoch });
    download(name('png'), await (await post('api/render', body)).blob());
  }

  async function gif({ epochs, frame_step, size }) {
    const info = gifFields.info;
    info.textContent = 'rendering…';
    const body = { ...pictureBody(), epochs, frame_step, size, frame_ms: 100 };
    if (start?.weights) Object.assign(body, { weights: start.weights, start_epoch: start.epoch });
    try {
      const response = await post('api/render/gif', body);
      const frames = response.headers.get('X-Frame-Count');
      download(`nnplay-${state.datasetName()}-${epochs}epochs.gif`, await response.blob());
      info.textContent = `${frames ?? '?'} frames`;
    } catch (error) {
      info.textContent = 'failed';
      throw error;
    }
  }

  /** The network as the Import reads it: {format, version, epoch, config, weights}. */
  function networkData() {
    const w = weights();
    if (!w) throw new Error('no weights to export yet (connect, or Reset a diverged run)');
    return { format: FORMAT, version: state.options.version, epoch: session.epoch, config: state.config(), weights: w };
  }

  function networkJson() {
    download(name('json'), JSON.stringify(networkData(), null, 1), 'application/json');
  }

  /** Keep the network on the server and show its link (/n/ID), selected and copied where the page may. */
  async function networkLink() {
    const data = networkData();
    const made = await (await post('api/networks', data)).json();
    const link = new URL(made.url, location.href).href;
    linkField.value = link;
    linkField.hidden = false;
    linkField.size = Math.min(link.length, 40);
    const copied = await copy(link);
    linkField.focus();
    hub.emit('notice', `Link to this network (epoch ${data.epoch}) ${copied ? 'copied' : 'is selected: copy it'}: ${link}`);
  }
  hub.on('state:change', () => (linkField.hidden = true)); // the shown link is of the network before the change

  /** Load an exported network: its config into the page state, then `configure` with its weights. */
  function importNetwork(text) {
    const { config, weights: layers, epoch } = parseNetworkFile(text);
    hub.emit('command', { type: 'pause' });
    state.load(config, {}, { source: 'import' });
    if (session.configure({ weights: layers, epoch }) === null) throw new Error('not connected: try the import again once connected');
    hub.emit('notice', `network loaded (epoch ${epoch})`);
  }

  file.addEventListener('change', async () => {
    const chosen = file.files?.[0];
    file.value = '';
    if (chosen) run(async () => importNetwork(await chosen.text()));
  });

  function lossCsv() {
    download(name('loss.csv'), toCsv(['epoch', 'train_loss', 'test_loss'], chart.store.rows()), 'text/csv');
  }

  function dataCsv() {
    const data = output.data;
    if (!data) throw new Error('no data yet');
    const rows = [];
    for (const [split, array] of [['train', data.arrays.train], ['test', data.arrays.test]]) {
      // float32 values with 7 significant digits: 3.3, not 3.299999952316284
      for (let i = 0; i + 2 < array.length; i += 3) rows.push([...array.slice(i, i + 3)].map((v) => +v.toPrecision(7)).concat(split));
    }
    download(`nnplay-${state.datasetName()}-data.csv`, toCsv(['x1', 'x2', 'label', 'split'], rows), 'text/csv');
  }

  // a lesson preset suggests how long its GIF should run
  function suggestEpochs() {
    const preset = presets.find((p) => p.name === state.values.preset);
    if (preset?.epochs) gifFields.suggest(preset.epochs);
  }
  hub.on('state:change', ({ changed }) => changed.has('preset') && suggestEpochs());
  suggestEpochs();

  return { element, importNetwork };
}

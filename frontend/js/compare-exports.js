// The compare page's Export menu: a picture of the comparison (every variant's plot, titled, in the grid
// the page shows: 2×2 for four), an animated GIF of it (POST /api/render/compare-gif: the variants trained
// side by side from their shared initial weights, the fields exports-gif.js's, as the playground's) and the
// loss histories of all variants as one CSV (a row per epoch).

import { INK } from './colors.js';
import { CAPTION, PAD, pictureCanvas } from './exports-compose.js';
import { post } from './exports.js';
import { download, toCsv } from './exports-files.js';
import { createGifFields } from './exports-gif.js';
import { el } from './ui.js';

const TITLE = 22; // a panel's title line

/** A PNG Blob of the variants' plots: [{title, color, canvases}] laid out `columns` across. */
export async function composeComparison(panels, caption, columns) {
  const size = 320;
  const rows = Math.ceil(panels.length / columns);
  const width = PAD + columns * (size + PAD);
  const height = CAPTION + PAD + rows * (TITLE + size + PAD);
  const { canvas, ctx } = pictureCanvas(width, height, caption);
  panels.forEach(({ title, color, canvases }, i) => {
    const x = PAD + (i % columns) * (size + PAD);
    const y = CAPTION + PAD + Math.floor(i / columns) * (TITLE + size + PAD);
    ctx.fillStyle = color;
    ctx.fillRect(x, y + 5, 12, 12);
    ctx.fillStyle = INK;
    ctx.fillText(title, x + 18, y + 11);
    for (const c of canvases) ctx.drawImage(c, x, y + TITLE, size, size);
    ctx.strokeStyle = '#ccc';
    ctx.strokeRect(x + 0.5, y + TITLE + 0.5, size - 1, size - 1);
  });
  return new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
}

/** createCompareExports(hub, state, session, view, presets) -> {element}: the menu. */
export function createCompareExports(hub, state, session, view, presets = []) {
  const labels = () => view.message().labels;
  const name = (ext) => `nnplay-compare-${state.datasetName()}-epoch${session.epoch}.${ext}`;

  async function picture() {
    const panels = view.cards.map((card, i) => ({ title: labels()[i], color: card.element.style.getPropertyValue('--variant'),
      canvases: [...card.plot.element.querySelectorAll('.plot canvas')] }));
    const columns = panels.length === 4 ? 2 : panels.length;
    download(name('png'), await composeComparison(panels, `nnplay · ${state.datasetName()} · epoch ${session.epoch}`, columns));
  }

  function losses() {
    const byEpoch = new Map();
    view.cards.forEach((card, i) => {
      for (const [epoch, train, test] of card.store.rows()) {
        if (!byEpoch.has(epoch)) byEpoch.set(epoch, new Array(2 * view.cards.length).fill(null));
        byEpoch.get(epoch).splice(2 * i, 2, train, test);
      }
    });
    const header = ['epoch', ...labels().flatMap((l) => [`${l} train_loss`, `${l} test_loss`])];
    const rows = [...byEpoch].sort((a, b) => a[0] - b[0]).map(([epoch, values]) => [epoch, ...values]);
    download(name('loss.csv'), toCsv(header, rows), 'text/csv');
  }

  async function gif({ epochs, frame_step, size }) {
    const { variants, labels: names } = view.message();
    const body = { config: state.config(), variants, labels: names, epochs, frame_step, size, frame_ms: 100,
      density: state.values.density, show_test: state.values.showTestData, discretize: state.values.discretize };
    gifFields.info.textContent = 'rendering…';
    try {
      const response = await post('api/render/compare-gif', body);
      download(`nnplay-compare-${state.datasetName()}-${epochs}epochs.gif`, await response.blob());
      gifFields.info.textContent = `${response.headers.get('X-Frame-Count') ?? '?'} frames`;
    } catch (error) {
      gifFields.info.textContent = 'failed';
      hub.emit('notice', error.message);
    }
  }

  const gifFields = createGifFields(state, gif);
  const suggest = () => {
    const preset = presets.find((p) => p.name === state.values.preset);
    if (preset?.epochs) gifFields.suggest(preset.epochs);
  };
  hub.on('state:change', ({ changed }) => changed.has('preset') && suggest());
  suggest();

  const item = (text, label, task) => el('button', { type: 'button', class: 'menu-item', 'aria-label': label, onclick: () => task() }, text);
  const summary = el('summary', { text: 'Export' });
  const element = el('details', { class: 'menu exports ui-exports' }, summary, el('div', { class: 'menu-panel' },
    item('Picture of the comparison (PNG)', 'Export a PNG of the comparison', picture),
    gifFields.element,
    item('Loss histories (CSV)', 'Export the loss histories as CSV', losses)));
  element.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape' || !element.open) return;
    element.open = false;
    summary.focus();
  });
  return { element };
}

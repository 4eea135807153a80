// The output column: readouts (loss three decimals, accuracy), the loss chart, the output plot (output-plot.js),
// the colour legend, "Show test data", "Discretize output" and the divergence message. Each part carries
// its `ui-<name>` class, so a link (or an embed's `controls=`) can hide or keep it.

import { CLASS_COLORS, SHADES_CSS } from './colors.js';
import { createPlot } from './output-plot.js';
import { checkControl, el, fmt3 } from './ui.js';


/** The readouts of a frame: test/training loss and accuracy (R² for regression). */
export function createReadouts() {
  const readout = (label) => el('output', { class: 'value', 'aria-label': label, text: '–' });
  const testLoss = readout('Test loss');
  const trainLoss = readout('Training loss');
  const testAcc = readout('Test accuracy');
  const trainAcc = readout('Training accuracy');
  const accLabels = [el('span', { text: 'Test accuracy' }), el('span', { text: 'Training accuracy' })];
  const element = el('div', { class: 'readouts ui-loss' },
    el('div', { class: 'readout' }, el('span', { text: 'Test loss' }), testLoss),
    el('div', { class: 'readout' }, el('span', { text: 'Training loss' }), trainLoss),
    el('div', { class: 'readout metric' }, accLabels[0], testAcc),
    el('div', { class: 'readout metric' }, accLabels[1], trainAcc));

  function show(h) {
    testLoss.textContent = fmt3(h.test_loss);
    trainLoss.textContent = fmt3(h.train_loss);
    const regression = h.task === 'regression';
    accLabels[0].textContent = regression ? 'Test R²' : 'Test accuracy';
    accLabels[1].textContent = regression ? 'Training R²' : 'Training accuracy';
    testAcc.setAttribute('aria-label', accLabels[0].textContent);
    trainAcc.setAttribute('aria-label', accLabels[1].textContent);
    const pct = (v) => (v === null || v === undefined ? '–' : `${(v * 100).toFixed(1)}%`);
    testAcc.textContent = regression ? fmt3(h.test_r2) : pct(h.test_accuracy);
    trainAcc.textContent = regression ? fmt3(h.train_r2) : pct(h.train_accuracy);
  }
  /** No run: every readout '–'. */
  const clear = () => [testLoss, trainLoss, testAcc, trainAcc].forEach((r) => (r.textContent = '–'));
  return { element, show, clear };
}

/** The message under the plot for a diverged or early-stopped run ('' when all is well). */
export function statusMessage(status, text) {
  if (status === 'diverged') {
    // the engine's message says where and what to do ("training diverged at epoch 42 (...); weights restored
    // to epoch 41. Try a smaller learning rate, or Reset."): shown once, its first words in bold
    const rest = (text || 'training diverged').replace(/^training diverged/i, '');
    return { kind: 'diverged', strong: 'Training diverged', text: rest };
  }
  if (status === 'early_stopped') return { kind: 'info', strong: '', text: text || 'stopped early: the test loss stopped improving' };
  if (text && /^no gradient flows/i.test(text)) return { kind: 'diverged', strong: 'No gradient flows', text: text.replace(/^no gradient flows/i, '') };
  return null;
}

export function createOutput(hub, state, chart) {
  let connected = false; // the socket has been open once: only then is a closed one news
  const readouts = createReadouts();
  const plot = createPlot(hub, state, { primary: true });
  const legend = el('div', { class: 'legend ui-legend', 'aria-label': 'Colour legend' });
  const message = el('div', { class: 'message', role: 'alert', hidden: true });
  const offline = el('div', { class: 'message offline', role: 'alert', hidden: true },
    el('strong', { text: 'Connection lost' }), ' — reconnecting… Training is paused; it goes on where it was once the server answers.');
  const showTest = checkControl({ label: 'Show test data', name: 'showTestData', checked: state.values.showTestData, onChange: (v) => state.set({ showTestData: v }) });
  const discretize = checkControl({ label: 'Discretize output', name: 'discretize', checked: state.values.discretize, onChange: (v) => state.set({ discretize: v }) });
  const after = el('div', { class: 'output-extras' }); // lesson note, insights: added by their modules
  const chartSlot = el('div', { class: 'chart-slot' }, chart.element); // the loss chart and what sits next to it
  const element = el('section', { class: 'column output-column', 'aria-label': 'Output' },
    el('h2', { text: 'Output' }), offline, readouts.element, chartSlot, plot.element, legend,
    el('div', { class: 'toggles' }, showTest.element, discretize.element), message, after);
  chart.element.classList.add('ui-chart');

  function showStatus(status, text) {
    const m = statusMessage(status, text);
    message.hidden = !m;
    if (!m) return;
    message.className = `message ${m.kind}`;
    message.replaceChildren(...(m.strong ? [el('strong', { text: m.strong })] : []), el('span', { text: m.text }));
  }

  /** The legend of `task`; `classes`: how many (multiclass). */
  function updateLegend(task, classes) {
    if (task === 'multiclass') {
      legend.replaceChildren(...Array.from({ length: classes }, (_, c) =>
        el('span', { class: 'swatch' }, el('i', { style: `background:${CLASS_COLORS[c % CLASS_COLORS.length]}` }), `class ${c}`)));
      legend.title = 'Colour: the most likely class; paler where the network is less sure.';
    } else {
      const gradient = `linear-gradient(to right, ${SHADES_CSS.join(',')})`;
      const ends = ['−1', '0', '1'];
      legend.replaceChildren(el('span', { class: 'legend-text', text: 'Colours show data, neuron and weight values.' }),
        el('div', { class: 'gradient', style: `background:${gradient}` }),
        el('div', { class: 'gradient-labels' }, ...ends.map((t) => el('span', { text: t }))));
      legend.title = '';
    }
  }

  function onFrame(frame) {
    readouts.show(frame.header);
    showStatus(frame.header.status, frame.header.message);
    plot.onFrame(frame);
  }

  function onData(data) {
    plot.onData(data);
    updateLegend(data.header.task, data.header.n_classes);
  }

  /** No run to show (see plot.clear): no readouts, no status, only the page's own `points`. */
  function clear(points) {
    readouts.clear();
    showStatus(null, '');
    plot.clear(points);
  }

  hub.on('state:change', ({ values }) => {
    showTest.setValue(values.showTestData);
    discretize.setValue(values.discretize);
  });
  hub.on('server-status', ({ status, message: text }) => showStatus(status, text));
  hub.on('socket:status', ({ status }) => {
    connected ||= status === 'open';
    offline.hidden = !connected || status === 'open' || status === 'idle' || status === 'suspended'; // only once it had been connected
  });
  updateLegend(state.task(), state.config().n_classes); // until the server's data says

  return {
    element,
    plot,
    chartSlot,
    after,
    onFrame,
    onData,
    clear,
    drawFrame: () => plot.drawFrame(),
    get size() {
      return plot.size;
    },
    get data() {
      return plot.data;
    },
  };
}

// One student's network drawn full-size on the lecturer's page: the playground's own output plot, network
// drawing and readouts, each view with its own hub and an unlinked page state holding that student's
// config (the lecturer's page and its link keep theirs). Read-only: the lecturer watches, the student trains.

import { createHub } from './events.js';
import { createState } from './state.js';
import { createPlot } from './output-plot.js';
import { createNetwork } from './network.js';
import { createReadouts } from './output.js';
import { el } from './ui.js';

/** Storage that keeps nothing: a watched student's custom points must not replace the lecturer's. */
const NO_STORAGE = { getItem: () => null, setItem: () => {}, removeItem: () => {} };

/** The points of a config's data, as a `data` message for the plot: the live frames carry no points, so they
 *  are drawn from POST /api/train's `data` (one epoch; the data follow from the config's seed alone). */
async function fetchPoints(config, state) {
  const response = await fetch('api/train', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ config, epochs: 1, include: ['data'] }) });
  if (!response.ok) return null;
  const body = await response.json();
  const rows = (list) => Float32Array.from((list ?? []).flat());
  return { header: { type: 'data', task: state.task(), dims: state.dims() }, arrays: { train: rows(body.data?.train), test: rows(body.data?.test) } };
}

/** createNetworkView(options, {label}) -> {element, show(config), frame(frame), data(data), layout()}. */
export function createNetworkView(options, { label = 'Output of the student\'s network' } = {}) {
  const hub = createHub();
  const state = createState(hub, options, { linked: false, storage: NO_STORAGE });
  const plot = createPlot(hub, state, { primary: false, label });
  const network = createNetwork(hub, state, { compact: true });
  const readouts = createReadouts();
  const element = el('div', { class: 'network-view' },
    el('div', { class: 'network-view-plot' }, plot.element, readouts.element), network.element);
  let configKey = '';

  return {
    element,
    /** Take the student's config (the network's shape, features and data); nothing is redrawn when it is the same. */
    show(config) {
      const key = JSON.stringify(config);
      if (key === configKey) return;
      configKey = key;
      state.load(config, {}, { source: 'server' });
      fetchPoints(config, state).then((data) => data && key === configKey && plot.onData(data)).catch(() => {});
    },
    frame(frame) {
      plot.onFrame(frame);
      network.update(frame);
      readouts.show(frame.header);
    },
    data(data) {
      plot.onData(data);
    },
    /** Lay the drawing out again for the room it has now (after it was put on screen). */
    layout: () => network.build(),
    get lastFrame() {
      return plot.frame;
    },
  };
}

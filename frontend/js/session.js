// The live session: turns page-state changes and button presses into protocol messages
// (docs/protocol.md), and server messages into hub events for the panels. Live fields go out with `set`
// (no reset, as the playground's learning rate); anything else rebuilds the run with `configure`. On
// every (re)connect the server session is restored from the page state (config, view, weights, epoch,
// playing; what is shown until the server answers is session-restore.js's). With `compare` the session trains
// 2–4 variants of the page's config side by side.

import { createRestore } from './session-restore.js';
import { FRESH_SOURCES } from './state.js';

const VIEW = new Set(['speed', 'density']);
const PAGE_CONFIG = new Set(['reg_dataset', 'custom_points']); // page values that change the config

/** Weights in PyTorch layout ([{W, b}]) from a flat float32 vector and the layer sizes. */
export function unflattenWeights(w, sizes, norms = []) {
  const layers = [];
  let at = 0;
  const take = (n) => Array.from(w.subarray(at, (at += n)));
  for (let l = 0; l + 1 < sizes.length; l++) {
    const [fanIn, fanOut] = [sizes[l], sizes[l + 1]];
    const W = Array.from({ length: fanOut }, () => take(fanIn));
    layers.push({ W, b: take(fanOut) });
  }
  // then per normalized hidden layer γ, β (batch norm: running mean and variance), docs/protocol.md
  norms.forEach((kind, l) => {
    if (!kind || kind === 'none') return;
    const width = sizes[l + 1];
    const norm = { kind, gamma: take(width), beta: take(width) };
    if (kind === 'batch') Object.assign(norm, { running_mean: take(width), running_var: take(width) });
    layers[l].norm = norm;
  });
  return at === w.length ? layers : undefined;
}

/** A hovered neuron is drawn large in the output panel: finer thumbnails are asked for while hovering, and
 *  the coarse ones again a moment after (moving between neurons keeps the fine ones). `reset()`: a fresh
 *  server session sends the default size. */
function followHover(hub, state, socket) {
  const small = state.options.view.thumb;
  const large = Math.min(4 * small, state.options.server_limits.max_thumb);
  let now = small;
  let timer = null;

  hub.on('hover-neuron', (hover) => {
    clearTimeout(timer);
    const want = hover ? large : small;
    const apply = () => {
      if (now === want || !socket.open) return;
      now = want;
      socket.send('view', { thumb: want });
    };
    if (hover) apply();
    else timer = setTimeout(apply, 1500);
  });
  return { reset: () => (now = small) };
}

/** createSession(hub, state, socket, render, {compare, serverSetup, network}): `compare()` returns {variants, labels}
 *  for a comparison session (the page state's config is the base every variant overrides). While
 *  `serverSetup()` is true (a room's student) the server sets the session up on (re)connect, so the page
 *  sends nothing then. `network` ({weights, epoch}, a shared network's) goes with the first configure. */
export function createSession(hub, state, socket, render, { compare = null, serverSetup = () => false, network = null } = {}) {
  const live = new Set(state.options.live_fields);
  const configFields = (k) => k in state.options.defaults || PAGE_CONFIG.has(k) || (compare && k === 'variants');
  const restore = createRestore();
  const thumbs = followHover(hub, state, socket);
  let connectedOnce = false;
  let playing = false;
  let wantPlay = false; // what the user asked for last: restored on (re)connect, even before the first
  let status = 'ok';
  let epoch = 0;
  let lastFrame = null;
  let variantFrames = []; // compare mode: the newest frame of each variant
  let configureId = null;
  let serverState = null; // the newest `state` message
  let synced = false; // the server has answered the last configure and sent a frame of it
  let blank = false; // the page's setup cannot run (custom data with under 2 points): nothing of the server's is drawn

  /** Weights of the last frame in PyTorch layout ([{W, b}]) when they fit the page's current shape. */
  function currentWeights() {
    const w = lastFrame?.arrays.weights;
    const sizes = lastFrame?.header.sizes;
    if (!w || !sizes || status === 'diverged' || !w.every(Number.isFinite)) return undefined;
    const config = state.config();
    const expected = [config.features.length, ...config.hidden];
    if (sizes.slice(0, -1).join() !== expected.join()) return undefined;
    if (sizes.at(-1) !== state.outputs()) return undefined;
    const norms = Array.isArray(config.normalization) ? config.normalization : config.hidden.map(() => config.normalization ?? 'none');
    return unflattenWeights(w, sizes, norms); // undefined when the frame's normalization is not the page's
  }

  /** Send `configure` for the page's config. `keepWeights`: the last frame's weights and epoch go along
   *  (a reconnect); `weights`/`epoch`: given ones (an imported network). */
  function configure({ play = false, keepWeights = false, weights = undefined, epoch: atEpoch = undefined } = {}) {
    const config = state.config();
    if (config.dataset === 'custom' && (config.custom_points?.length ?? 0) < 2) {
      blank = true; // the server's run is not this setup: it is not drawn (see the frame and data handlers)
      lastFrame = null;
      render.blank?.(config.custom_points ?? []);
      return null;
    }
    blank = false;
    const message = { config };
    if (compare) Object.assign(message, compare());
    if (play) message.play = true;
    if (!compare && keepWeights) {
      const kept = currentWeights();
      if (kept) {
        message.weights = kept;
        if (epoch > 0) message.epoch = epoch;
      }
    }
    if (weights) message.weights = weights;
    if (atEpoch > 0) message.epoch = atEpoch;
    configureId = socket.send('configure', message);
    synced = false;
    restore.cancel(); // a newer run replaces the one being restored (a reconnect begins its restore after)
    return configureId;
  }

  function sendView() {
    const { speed, density } = state.values;
    socket.send('view', { speed, density });
  }

  function clearHistory() {
    render.clearHistory();
    hub.emit('history:clear');
  }

  hub.on('socket:open', () => {
    const reconnect = connectedOnce;
    connectedOnce = true;
    thumbs.reset();
    if (serverSetup()) return;
    sendView();
    const given = !reconnect && network ? { weights: network.weights, epoch: network.epoch } : {};
    const id = configure({ play: wantPlay, keepWeights: reconnect, ...given });
    restore.begin(reconnect && epoch > 0 ? id : null); // a run under way comes back with its chart
  });
  // while the connection is down nothing trains: the button says so (what the user wants is kept in
  // `wantPlay` and sent again on reconnect)
  hub.on('socket:status', ({ status: s }) => connectedOnce && s !== 'open' && setPlaying(false));

  /** A variant overrides this field, so `set` (which applies to all) would undo the override. */
  const overridden = (field) => compare && compare().variants.some((v) => field in v);

  hub.on('state:change', ({ changed, source }) => {
    if (source === 'server' || source === 'import') return;
    if (FRESH_SOURCES.has(source)) {
      // a lesson or a link is a new setup: new weights from epoch 0, even where only live fields differ
      sendView();
      configure();
      return;
    }
    const fields = [...changed].filter((k) => configFields(k) || VIEW.has(k));
    if (!fields.length) return;
    if (fields.some((k) => VIEW.has(k))) sendView();
    const config = fields.filter((k) => !VIEW.has(k));
    if (!config.length) return;
    if (config.every((k) => live.has(k) && !overridden(k))) { // after a divergence too: training carries on
      socket.send('set', { values: Object.fromEntries(config.map((k) => [k, state.values[k]])) });
    } else if (config.length === 1 && config[0] === 'custom_points' && !compare) {
      configure({ play: playing, keepWeights: true });
    } else {
      configure();
    }
  });

  hub.on('command', ({ type, n }) => {
    if (type === 'play' || type === 'pause') wantPlay = type === 'play';
    if (!socket.open) {
      if (type === 'play' || type === 'pause') setPlaying(wantPlay); // sent with the configure on connect
      return;
    }
    if (type === 'regenerate') {
      const seed = Math.floor(Math.random() * 1e6);
      state.set({ seed }, { source: 'server' }); // the link now names the new data
      socket.send('regenerate', { seed });
    } else if (type === 'reset' && status === 'diverged') {
      configure();
    } else if (type === 'step') {
      socket.send('step', { n: n ?? 1 });
    } else socket.send(type);
  });

  hub.on('error', (message) => {
    if (message.id !== undefined && message.id === configureId) configureId = null; // the old run goes on
    const data = restore.refused(message); // a refused restore: the greeting's run is the page's
    if (data) render.data(data);
  });

  hub.on('set-weight', (message) => socket.send('set_weight', message));

  hub.on('state', (message) => {
    if (restore.ignores(message)) return;
    serverState = message;
    wantPlay = message.playing;
    setPlaying(message.playing);
    if (message.epoch < epoch) variantFrames = [];
    setEpoch(message.epoch);
    if (!compare) setStatus(message.status, message.message);
    if (message.id !== undefined && message.id === configureId) {
      configureId = null;
      variantFrames = [];
      if (!restore.pending) clearHistory();
      else {
        const data = restore.settle(); // the restored run: its chart stays, its data is drawn now
        if (data) render.data(data);
      }
    }
  });

  hub.on('frame', (frame) => {
    const h = frame.header;
    if (restore.pending || blank) return;
    if (compare) {
      if (!Number.isInteger(h.variant)) return; // a compare page draws variants only
      variantFrames[h.variant] = frame;
      variantFrames.length = Math.max(h.variants ?? 0, h.variant + 1);
      lastFrame = frame;
      if (configureId === null) synced = true;
      const newest = Math.max(...variantFrames.filter(Boolean).map((f) => f.header.epoch));
      if (newest > epoch) setEpoch(newest);
      render.frame(frame);
      return;
    }
    if (h.epoch < epoch || (h.epoch === 0 && epoch === 0)) clearHistory();
    lastFrame = frame;
    if (configureId === null) synced = true;
    setEpoch(h.epoch);
    // `playing` comes from `state` messages only: a frame built just before a pause may arrive after it
    setStatus(h.status, h.message);
    render.frame(frame);
  });

  hub.on('data', (data) => {
    if (blank) return;
    const now = restore.hold(data);
    if (now) render.data(now);
  });

  function setPlaying(value) {
    if (value === playing) return;
    playing = value;
    hub.emit('playing', value);
  }
  function setEpoch(value) {
    if (value === epoch) return;
    if (value < epoch) clearHistory();
    epoch = value;
    hub.emit('epoch', value);
  }
  function setStatus(value, message) {
    if (value === status) return;
    status = value;
    hub.emit('server-status', { status: value, message });
  }

  return {
    get playing() {
      return playing;
    },
    get epoch() {
      return epoch;
    },
    get status() {
      return status;
    },
    get lastFrame() {
      return lastFrame;
    },
    /** Compare mode: the newest frame of each variant. */
    get variantFrames() {
      return variantFrames;
    },
    get serverState() {
      return serverState;
    },
    /** True once the server runs the page's latest configuration and has sent a frame of it. */
    get synced() {
      return synced && configureId === null;
    },
    get compare() {
      return Boolean(compare);
    },
    configure,
    currentWeights,
    /** Send a command; its id (for matching a `trace` or `gradcheck` reply), or null when offline. */
    send: (type, fields) => socket.send(type, fields),
  };
}

/** Draw frames at most once per animation frame; history rows are kept from every frame. `network` is
 *  left out where the page shows no network (the embed). */
export function createRenderer({ output, network = null, chart }) {
  let pending = null;
  let scheduled = false;

  function draw(frame) {
    output.onFrame(frame);
    network?.update(frame);
    chart.draw();
  }

  return {
    draw,
    frame(frame) {
      if (frame.arrays.history) chart.append(frame.arrays.history);
      pending = frame;
      if (scheduled) return;
      scheduled = true;
      requestAnimationFrame(() => {
        scheduled = false;
        const next = pending;
        pending = null;
        if (next) draw(next);
      });
    },
    data(data) {
      output.onData(data);
    },
    /** No run to draw: the page's own custom `points` only (output.clear). */
    blank(points) {
      pending = null;
      output.clear(points);
    },
    clearHistory() {
      chart.clear();
    },
  };
}

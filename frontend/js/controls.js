// The top bar (Play/Pause, Step, Reset, epoch counter, the playground's drop-downs, Optimizer, Speed,
// connection state) and the "Advanced" panel with every other setting. Every choice list comes from
// GET /api/options; buttons emit 'command' on the hub, settings go through state.set.

import { fieldSpec } from './state.js';
import { checkControl, el, formatEpoch, numberControl, selectControl, svg } from './ui.js';

// Material Design icons (Apache 2.0): replay and skip_next.
const ICONS = {
  reset: 'M12 5V1L7 6l5 5V7c3.31 0 6 2.69 6 6s-2.69 6-6 6-6-2.69-6-6H4c0 4.42 3.58 8 8 8s8-3.58 8-8-3.58-8-8-8z',
  step: 'M6 18l8.5-6L6 6v12zM16 6v12h2V6h-2z',
};
function icon(name) {
  const root = svg('svg', { viewBox: '0 0 24 24', width: 20, height: 20, 'aria-hidden': 'true', class: 'icon' });
  root.append(svg('path', { d: ICONS[name], fill: 'currentColor' }));
  return root;
}

// Friendlier names than the schema's titles for the advanced fields (fallback: the schema's title).
const FIELD_LABELS = {
  loss: 'Loss', momentum: 'Momentum', beta1: 'β₁', beta2: 'β₂', alpha: 'RMSprop α', eps: 'ε (empty = default)',
  weight_decay: 'Weight decay (empty = default)', lr_schedule: 'Learning-rate schedule', lr_step_size: 'Step size (epochs)',
  lr_gamma: 'Decay factor γ', lr_t_max: 'Half period (epochs)', lr_eta_min: 'Lowest rate', init: 'Initialiser',
  dropout: 'Dropout', l1_ratio: 'L1 ratio (elastic net)', early_stopping: 'Early stopping patience (empty = off)',
  shuffle: 'Shuffle every epoch', seed: 'Seed', normalization: 'Normalization',
};
export const fieldLabel = (options, name) => FIELD_LABELS[name] ?? options.fields[name]?.title ?? name;

/** The speed menu: 1-3-10 steps between the server's limits, the default pace among them, plus "max". */
function speedItems(limits, defaultSpeed) {
  const speeds = new Set([defaultSpeed]);
  for (let v = 1; v <= limits.max_speed; v *= 10) {
    for (const m of [1, 3]) if (v * m >= limits.min_speed && v * m <= limits.max_speed) speeds.add(v * m);
  }
  const items = [...speeds].sort((a, b) => a - b).map((v) => ({ value: v, label: `${v} epochs/s` }));
  items.push({ value: 'max', label: 'max' });
  return items;
}

export function createTopBar(hub, state) {
  const { options, values } = state;
  let playing = false;
  const command = (type) => () => hub.emit('command', { type });
  const reset = el('button', { class: 'icon-button ui-resetButton', type: 'button', 'aria-label': 'Reset', title: 'Reset the network', onclick: command('reset') }, icon('reset'));
  const play = el('button', { class: 'play-button ui-playButton', type: 'button', 'aria-label': 'Play', title: 'Run/Pause', onclick: () => hub.emit('command', { type: playing ? 'pause' : 'play' }) }, el('span', { class: 'icon' }));
  const step = el('button', { class: 'icon-button ui-stepButton', type: 'button', 'aria-label': 'Step', title: 'Train one epoch', onclick: command('step') }, icon('step'));
  const epoch = el('output', { class: 'epoch-number', 'aria-label': 'Epoch', text: formatEpoch(0) });
  const connection = el('div', { class: 'connection ui-connection', role: 'status', 'aria-label': 'Connection', 'data-status': 'connecting' }, el('i'), el('span', { text: 'connecting…' }));

  const rateItems = (list) => list.map((v) => ({ value: v, label: String(v) }));
  const lr = selectControl({ label: 'Learning rate', name: 'learningRate', items: rateItems(options.menus.learning_rate), value: values.learning_rate, onChange: (v) => state.set({ learning_rate: Number(v) }) });
  // under a schedule the rate changes while training: show the one the last epoch used (frame header)
  const lrNow = el('output', { class: 'lr-now', 'aria-label': 'Current learning rate', hidden: true });
  lr.element.append(lrNow);
  const showRate = (rate) => {
    lrNow.hidden = values.lr_schedule === 'constant' || !Number.isFinite(rate);
    if (!lrNow.hidden) lrNow.textContent = `now ${Number(rate.toPrecision(2))}`;
  };
  const activationItems = options.activations.map((a) => ({ value: a.name, label: a.label }));
  const activation = selectControl({ label: 'Activation', name: 'activation', items: activationItems, value: values.activation, onChange: (v) => state.set({ activation: v }) });
  const regularization = selectControl({ label: 'Regularization', name: 'regularization', items: options.regularizations.map((r) => ({ value: r.name, label: r.label })), value: values.regularization, onChange: (v) => state.set({ regularization: v }) });
  const regRate = selectControl({ label: 'Regularization rate', name: 'regularizationRate', items: rateItems(options.menus.reg_rate), value: values.reg_rate, onChange: (v) => state.set({ reg_rate: Number(v) }) });
  const problems = (fieldSpec(options.fields.problem).enum ?? ['classification', 'regression']).map((p) => ({ value: p, label: p[0].toUpperCase() + p.slice(1) }));
  const problem = selectControl({ label: 'Problem type', name: 'problem', items: problems, value: values.problem, onChange: (v) => state.set({ problem: v }) });
  const optimizer = selectControl({ label: 'Optimizer', name: 'optimizer', items: options.optimizers.map((o) => ({ value: o.name, label: o.label })), value: values.optimizer, onChange: (v) => state.set({ optimizer: v }) });
  const speed = selectControl({ label: 'Speed', name: 'speed', items: speedItems(options.server_limits, options.view.speed), value: values.speed, onChange: (v) => state.set({ speed: v === 'max' ? 'max' : Number(v) }) });

  // a section, not a <header>: the page's one banner landmark is its site header
  const element = el('section', { class: 'top-bar', 'aria-label': 'Training controls' },
    el('div', { class: 'buttons' }, reset, play, step),
    el('div', { class: 'control epoch ui-epoch' }, el('span', { class: 'label', text: 'Epoch', 'aria-hidden': 'true' }), epoch),
    lr.element, activation.element, regularization.element, regRate.element, problem.element, optimizer.element, speed.element,
    connection);

  function sync(v) {
    lr.setValue(v.learning_rate);
    const mixed = Array.isArray(v.activation);
    activation.setItems(mixed ? [{ value: '', label: 'per layer' }, ...activationItems] : activationItems, mixed ? '' : v.activation);
    regularization.setValue(v.regularization);
    regRate.setValue(v.reg_rate);
    problem.setValue(v.problem);
    optimizer.setValue(v.optimizer);
    speed.setValue(v.speed);
  }

  function setPlaying(value) {
    playing = value;
    play.classList.toggle('playing', value);
    play.setAttribute('aria-label', value ? 'Pause' : 'Play');
  }

  hub.on('state:change', ({ values: v }) => sync(v));
  hub.on('frame', (frame) => showRate(frame.header.learning_rate));
  hub.on('epoch', (n) => (epoch.textContent = formatEpoch(n)));
  hub.on('playing', setPlaying);
  hub.on('socket:status', ({ status, detail }) => {
    connection.dataset.status = status;
    const text = { waiting: 'waiting', connecting: 'connecting…', open: 'connected', reconnecting: 'reconnecting…', idle: 'idle', suspended: 'suspended', closed: 'disconnected' }[status] ?? status;
    connection.lastChild.textContent = text;
    connection.title = detail ? `${text} (${detail})` : text;
  });
  sync(values);
  return { element };
}

/** The "Advanced" panel: everything beyond the playground's top bar. */
export function createAdvanced(hub, state) {
  const { options } = state;
  let bound = []; // [field, control] pairs refreshed on every change
  let shownKey = '';
  const body = el('div', { class: 'advanced-body' });
  const element = el('details', { class: 'advanced ui-advanced' }, el('summary', { text: 'Advanced' }), body);
  const spec = (name) => fieldSpec(options.fields[name]);
  const camel = (name) => name.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());

  const bind = (field, control) => {
    bound.push([field, control]);
    return control.element;
  };
  const number = (name) => bind(name, numberControl({
    label: fieldLabel(options, name), name: camel(name), spec: spec(name), value: state.values[name],
    placeholder: String(options.fields[name]?.default ?? ''), onChange: (v) => state.set({ [name]: v }),
  }));
  const choice = (name, items) => bind(name, selectControl({
    label: fieldLabel(options, name), name: camel(name), items, value: state.values[name], onChange: (v) => state.set({ [name]: v }),
  }));

  function build() {
    const v = state.values;
    const task = state.task();
    const key = JSON.stringify([task, v.optimizer, v.lr_schedule, v.hidden.length]);
    if (key === shownKey) return sync();
    shownKey = key;
    bound = [];
    const optimizer = options.optimizers.find((o) => o.name === v.optimizer);
    const schedule = options.schedules.find((s) => s.name === v.lr_schedule);
    const layerChoices = (field, what, choices) => v.hidden.map((_, l) => {
      const control = selectControl({
        label: `${what} of layer ${l + 1}`, items: choices.map((a) => ({ value: a.name, label: a.label })),
        value: layerValue(field, l),
        onChange: (name) => state.set({ [field]: v.hidden.map((__, k) => (k === l ? name : layerValue(field, k))) }),
      });
      bound.push([null, { setValue: () => control.setValue(layerValue(field, l)) }]);
      return control.element;
    });
    const perLayer = layerChoices('activation', 'Activation', options.activations);
    const normalizations = options.normalizations.map((n) => ({ value: n.name, label: n.label }));
    // one choice for every hidden layer (Linear → norm → activation), "per layer" when they differ
    const normalization = selectControl({
      label: fieldLabel(options, 'normalization'), name: 'normalization', items: normalizations, value: v.normalization,
      onChange: (name) => name && state.set({ normalization: name }),
    });
    const showNormalization = () => {
      const mixed = Array.isArray(state.values.normalization);
      normalization.setItems(mixed ? [{ value: '', label: 'per layer' }, ...normalizations] : normalizations, mixed ? '' : state.values.normalization);
    };
    showNormalization();
    bound.push([null, { setValue: showNormalization }]);
    const perLayerNorm = layerChoices('normalization', 'Normalization', options.normalizations);
    body.replaceChildren(
      group('Loss and optimiser',
        choice('loss', options.losses.filter((l) => l.tasks.includes(task)).map((l) => ({ value: l.name, label: l.label }))),
        ...Object.keys(optimizer?.params ?? {}).map(number)),
      group('Learning-rate schedule',
        choice('lr_schedule', options.schedules.map((s) => ({ value: s.name, label: s.label }))),
        ...(schedule?.params ?? []).map(number)),
      group('Network',
        choice('init', options.initializers.map((i) => ({ value: i.name, label: i.label, title: i.description }))),
        number('dropout'), number('l1_ratio'), ...perLayer, normalization.element, ...perLayerNorm),
      group('Training',
        number('early_stopping'),
        bind('shuffle', checkControl({ label: fieldLabel(options, 'shuffle'), name: 'shuffle', checked: v.shuffle, onChange: (on) => state.set({ shuffle: on }) })),
        bind('seed', numberControl({ label: 'Seed', name: 'seed', spec: spec('seed'), value: v.seed, onChange: (s) => s !== null && state.set({ seed: s }) })),
        bind('density', numberControl({
          label: 'Grid density', name: 'density', value: v.density, onChange: (d) => d !== null && state.set({ density: d }),
          spec: { kind: 'integer', min: options.limits.min_grid_density, max: options.limits.max_grid_density, step: 1 },
        }))),
    );
  }

  function layerValue(field, l) {
    const a = state.values[field];
    return Array.isArray(a) ? a[l] : a;
  }

  function sync() {
    for (const [field, control] of bound) control.setValue(field ? state.values[field] : undefined);
  }

  function group(title, ...controls) {
    return el('fieldset', { class: 'group' }, el('legend', { text: title }), ...controls);
  }

  hub.on('state:change', build);
  build();
  return { element };
}

// The page state: one table of every setting, read from and written to the URL hash on every change, so
// any setup is a link. Keys are TensorFlow Playground's where the concept is the same (a playground link
// opened here reproduces its setup); every other config field gets its camelCase name, derived from the
// server's option list, so no field or choice is listed here twice. `<name>_hide=true` hides the
// controls marked `ui-<name>`; custom points live in localStorage (too long for a link). Each page adds
// its own keys (`pageKeys`: the lesson preset, the embed's controls, the compare view's variants, ...).

const PLAYGROUND_DATASETS = { 'reg-plane': 'plane', 'reg-gauss': 'multi_gauss' }; // URL alias -> name
const STORAGE_KEY = 'nnplay.custom';

// Config fields stored under playground keys, or handled specially.
const SPECIAL_FIELDS = new Set([
  'problem', 'dataset', 'seed', 'custom_points', 'features', 'hidden', 'activation', 'regularization',
  'reg_rate', 'learning_rate', 'batch_size', 'noise', 'train_ratio', 'init', 'device',
]);

export const camelCase = (name) => name.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());

/** A playground seed string (e.g. "0.12345") as an integer seed: integers stay, anything else is hashed
 *  (FNV-1a, 32 bit) so the same string always gives the same seed. */
export function seedFromString(text) {
  const s = String(text).trim();
  if (/^\d+$/.test(s) && Number(s) < 2 ** 32) return Number(s);
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** What a pydantic JSON-schema property accepts: {kind, nullable, min, max, exclusiveMin, enum}. */
export function fieldSpec(schema = {}) {
  const variants = schema.anyOf ?? [schema];
  const main = variants.find((v) => v.type && v.type !== 'null') ?? variants[0] ?? {};
  return {
    kind: main.enum ? 'enum' : main.type ?? 'string',
    nullable: variants.some((v) => v.type === 'null'),
    min: main.minimum ?? main.exclusiveMinimum,
    max: main.maximum ?? main.exclusiveMaximum,
    exclusiveMin: main.exclusiveMinimum !== undefined,
    exclusiveMax: main.exclusiveMaximum !== undefined,
    enum: main.enum,
    step: main.type === 'integer' ? 1 : 'any',
  };
}

function parseValue(spec, text) {
  if (spec.nullable && (text === '' || text === 'null' || text === 'none' || text === 'off')) return null;
  if (spec.kind === 'boolean') return text === 'true' ? true : text === 'false' ? false : undefined;
  if (spec.kind === 'integer' || spec.kind === 'number') {
    const n = Number(text);
    if (text === '' || !Number.isFinite(n) || (spec.kind === 'integer' && !Number.isInteger(n))) return undefined;
    if (spec.min !== undefined && (n < spec.min || (spec.exclusiveMin && n === spec.min))) return undefined;
    if (spec.max !== undefined && (n > spec.max || (spec.exclusiveMax && n === spec.max))) return undefined;
    return n;
  }
  if (spec.enum && !spec.enum.includes(text)) return undefined;
  return text;
}

const formatValue = (v) => (v === null || v === undefined ? '' : Array.isArray(v) ? v.join(',') : String(v));

/** Page keys by kind: [empty value, read(text) -> value | undefined, write(value) -> text | undefined]. */
const PAGE_KINDS = {
  flag: [false, (t) => (t === 'true' ? true : t === 'false' ? false : undefined), (v) => (v ? 'true' : undefined)],
  list: [[], (t) => t.split(',').map((x) => x.trim()).filter(Boolean), (v) => (v.length ? v.join(',') : undefined)],
  text: ['', (t) => (/^[\w.-]*$/.test(t) ? t : undefined), (v) => v || undefined],
  json: [null, (t) => {
    try {
      return JSON.parse(t);
    } catch {
      return undefined;
    }
  }, (v) => (v === null || v === undefined ? undefined : JSON.stringify(v))],
};

/** createState(hub, options, {pageKeys: {name: 'flag' | 'list' | 'text' | 'json'}, storage}) */
export function createState(hub, options, { pageKeys = {}, storage = safeStorage() } = {}) {
  const datasets = Object.fromEntries(options.datasets.map((d) => [d.name, d]));
  const defaults = options.defaults;
  const view = options.view_defaults; // a new session's speed and density, as the server starts one
  const firstOf = (task) => options.datasets.find((d) => d.task !== null && (d.task === 'regression') === (task === 'regression'))?.name;
  const values = {
    ...structuredClone(defaults),
    dataset: datasets[defaults.dataset]?.task === 'regression' ? firstOf('binary') : defaults.dataset,
    reg_dataset: datasets[defaults.dataset]?.task === 'regression' ? defaults.dataset : firstOf('regression'),
    seed: defaults.seed ?? randomSeed(),
    showTestData: false,
    discretize: false,
    hideText: false,
    speed: view.speed,
    density: view.density,
  };
  delete values.custom_points;
  const initialDatasets = { dataset: values.dataset, reg_dataset: values.reg_dataset };
  for (const [name, kind] of Object.entries(pageKeys)) values[name] = structuredClone(PAGE_KINDS[kind][0]);
  const hidden = new Set(); // names from `<name>_hide=true`
  const custom = loadCustom(storage);

  // ---- the key table: [hash key, read(text) -> partial values, write() -> text | undefined] ----------
  const specOf = (field) => fieldSpec(options.fields[field]);
  const simple = (key, field, { scale = 1 } = {}) => [
    key,
    (text) => {
      const v = parseValue(specOf(field), scale === 1 ? text : String(Number(text) / scale));
      return v === undefined ? undefined : { [field]: v };
    },
    () => formatValue(scale === 1 ? values[field] : Math.round(values[field] * scale * 1000) / 1000),
  ];
  const flag = (key) => [key, (t) => (t === 'true' || t === 'false' ? { [key]: t === 'true' } : undefined), () => String(values[key])];
  const datasetKey = (key, field, regression) => [
    key,
    (text) => {
      const name = PLAYGROUND_DATASETS[text] ?? text;
      const spec = datasets[name];
      if (!spec || (spec.task !== null && (spec.task === 'regression') !== regression)) return undefined;
      return { [field]: name };
    },
    () => Object.entries(PLAYGROUND_DATASETS).find(([, n]) => n === values[field])?.[0] ?? values[field],
  ];
  const table = [
    ['activation', (t) => (options.activations.some((a) => a.name === t) ? { activation: t } : undefined),
      () => (Array.isArray(values.activation) ? values.activation[0] ?? defaults.activation : values.activation)],
    ['activations', (t) => {
      const list = t.split(',').filter(Boolean);
      return list.length && list.every((n) => options.activations.some((a) => a.name === n)) ? { activation: list } : undefined;
    }, () => (Array.isArray(values.activation) && new Set(values.activation).size > 1 ? values.activation.join(',') : undefined)],
    ['regularization', (t) => {
      const name = t.toLowerCase();
      return options.regularizations.some((r) => r.name === name) ? { regularization: name } : undefined;
    }, () => (/^l[12]$/.test(values.regularization) ? values.regularization.toUpperCase() : values.regularization)],
    simple('batchSize', 'batch_size'),
    datasetKey('dataset', 'dataset', false),
    datasetKey('regDataset', 'reg_dataset', true),
    simple('learningRate', 'learning_rate'),
    simple('regularizationRate', 'reg_rate'),
    simple('noise', 'noise'),
    ['networkShape', (t) => {
      const list = t === '' ? [] : t.split(',').map(Number);
      return list.every((n) => Number.isInteger(n) && n >= 1) ? { hidden: list } : undefined;
    }, () => values.hidden.join(',')],
    ['seed', (t) => (t === '' ? undefined : { seed: seedFromString(t) }), () => String(values.seed)],
    flag('showTestData'),
    flag('discretize'),
    simple('percTrainData', 'train_ratio', { scale: 100 }),
    ...options.features.map((f) => [f.url_key, (t) => (t === 'true' || t === 'false' ? { [`feature:${f.name}`]: t === 'true' } : undefined),
      () => (applies(f) ? String(values.features.includes(f.name)) : undefined)]),
    ['problem', (t) => (t === 'classification' || t === 'regression' ? { problem: t } : undefined), () => values.problem],
    ['initZero', (t) => (t === 'true' ? { init: 'zeros' } : t === 'false' ? { 'init:notZero': true } : undefined),
      () => String(values.init === 'zeros')],
    ['init', (t) => (options.initializers.some((i) => i.name === t) ? { init: t } : undefined),
      () => (values.init !== defaults.init && values.init !== 'zeros' ? values.init : undefined)],
    flag('hideText'),
    // nnplay's own keys: every remaining config field under its camelCase name, written when not default
    ...Object.keys(defaults).filter((f) => !SPECIAL_FIELDS.has(f)).map((field) => {
      const [key, read] = simple(camelCase(field), field);
      return [key, read, () => (same(values[field], defaults[field]) ? undefined : formatValue(values[field]))];
    }),
    ['speed', (t) => (t === 'max' ? { speed: 'max' } : Number(t) > 0 ? { speed: Number(t) } : undefined),
      () => (values.speed === view.speed ? undefined : String(values.speed))],
    ['density', (t) => {
      const n = Number(t);
      return Number.isInteger(n) && n >= options.limits.min_grid_density && n <= options.limits.max_grid_density ? { density: n } : undefined;
    }, () => (values.density === view.density ? undefined : String(values.density))],
    ...Object.entries(pageKeys).map(([name, kind]) => {
      const [, read, write] = PAGE_KINDS[kind];
      return [name, (t) => {
        const v = read(t);
        return v === undefined ? undefined : { [name]: v };
      }, () => write(values[name])];
    }),
  ];
  const keys = new Map(table.map((row) => [row[0], row]));

  // ---- derived facts ----------------------------------------------------------------------------------
  function datasetName() {
    return values.problem === 'regression' ? values.reg_dataset : values.dataset;
  }
  function spec() {
    return datasets[datasetName()];
  }
  function dims() {
    return spec()?.dims ?? 2;
  }
  function applies(feature) {
    return feature.dims === 0 || feature.dims === dims();
  }
  function customPoints() {
    return custom[values.problem] ?? [];
  }
  /** 'binary' | 'multiclass' | 'regression' as the server will decide it. */
  function task() {
    const s = spec();
    if (s?.task) return s.task;
    if (values.problem === 'regression') return 'regression';
    return customPoints().every((p) => p[2] === 1 || p[2] === -1) ? 'binary' : 'multiclass';
  }

  /** Make the values consistent after a change: features for the data's dimension, a loss for the task,
   *  one activation per layer, sizes within the limits. */
  function normalise() {
    const { max_layers: maxLayers, max_neurons: maxNeurons } = options.limits;
    values.hidden = values.hidden.slice(0, maxLayers).map((n) => Math.max(1, Math.min(maxNeurons, n)));
    const usable = options.features.filter(applies).map((f) => f.name);
    values.features = usable.filter((f) => values.features.includes(f));
    if (!values.features.length) values.features = [usable[0]];
    const t = task();
    const lossOk = (name) => options.losses.find((l) => l.name === name)?.tasks.includes(t);
    if (!lossOk(values.loss)) values.loss = lossOk(defaults.loss) ? defaults.loss : options.losses.find((l) => lossOk(l.name)).name;
    if (Array.isArray(values.activation)) {
      const list = values.activation.slice(0, values.hidden.length);
      while (list.length < values.hidden.length) list.push(list[list.length - 1] ?? defaults.activation);
      values.activation = list.length && new Set(list).size > 1 ? list : list[0] ?? values.activation[0] ?? defaults.activation;
    }
  }

  // ---- hash ------------------------------------------------------------------------------------------
  /** The keys of a hash, without their values. */
  function hashKeys(hash) {
    return hash.replace(/^#/, '').split('&').filter(Boolean).map((part) => {
      try {
        return decodeURIComponent(part.split('=')[0]);
      } catch {
        return '';
      }
    });
  }

  function readHash(hash = location.hash) {
    const changes = {};
    hidden.clear();
    let notZero = false;
    for (const part of hash.replace(/^#/, '').split('&')) {
      if (!part) continue;
      const eq = part.indexOf('=');
      const key = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
      let text;
      try {
        text = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1));
      } catch {
        console.warn(`nnplay: ignoring ${key} in the link (bad %-encoding)`);
        continue;
      }
      if (key.endsWith('_hide')) {
        if (text === 'true') hidden.add(key.slice(0, -5));
        continue;
      }
      const row = keys.get(key);
      if (!row) continue; // collectStats, tutorial and unknown keys are ignored
      const read = row[1](text);
      if (read === undefined) {
        console.warn(`nnplay: ignoring ${key}=${text} in the link`);
        continue;
      }
      if (read['init:notZero']) notZero = true;
      else Object.assign(changes, read);
    }
    const featureKeys = Object.keys(changes).filter((k) => k.startsWith('feature:'));
    if (featureKeys.length) {
      changes.features = options.features.filter((f) => changes[`feature:${f.name}`]).map((f) => f.name);
      featureKeys.forEach((k) => delete changes[k]);
    }
    if (notZero && !('init' in changes) && values.init === 'zeros') changes.init = defaults.init;
    return changes;
  }

  /** The hash of the current state; `drop` leaves out page keys another page does not use. */
  function hashText(drop = []) {
    const parts = [];
    for (const [key, , write] of table) {
      if (drop.includes(key)) continue;
      const text = write();
      if (text !== undefined) parts.push(`${key}=${encodeURIComponent(text).replace(/%2C/g, ',')}`);
    }
    for (const name of hidden) parts.push(`${name}_hide=true`);
    return '#' + parts.join('&');
  }

  function writeHash() {
    const text = hashText();
    if (location.hash !== text) history.replaceState(null, '', text);
  }

  function applyHidden() {
    let style = document.getElementById('nnplay-hide-style');
    if (!style) {
      style = document.createElement('style');
      style.id = 'nnplay-hide-style';
      document.head.append(style);
    }
    style.textContent = [...hidden].filter((n) => /^[\w-]+$/.test(n)).map((n) => `.ui-${n}{display:none !important}`).join('\n');
    document.body.classList.toggle('hide-text', values.hideText);
  }

  // ---- changes ---------------------------------------------------------------------------------------
  /** Apply `changes` (field -> value), normalise, write the hash and emit 'state:change' with the set of
   *  fields that really changed. */
  function set(changes, { source = 'ui' } = {}) {
    const before = structuredClone(values);
    const beforeTask = task();
    Object.assign(values, changes);
    normalise();
    const changed = new Set(Object.keys(values).filter((k) => !same(values[k], before[k])));
    if (task() !== beforeTask) changed.add('task');
    applyHidden();
    writeHash();
    if (changed.size) hub.emit('state:change', { changed, source, values });
    return changed;
  }

  function setCustomPoints(points, { binary = custom.binary } = {}) {
    custom[values.problem] = points;
    custom.binary = binary;
    saveCustom(storage, custom);
    const changed = new Set(['custom_points']);
    if (datasetName() === 'custom') {
      normalise();
      changed.add('task');
    }
    hub.emit('state:change', { changed, source: 'custom', values });
  }

  /** Replace the setup by `config` (a full or partial engine config, e.g. a lesson preset's): fields it
   *  leaves out go back to their defaults; the seed stays unless given; view settings and `extra` (page
   *  keys) are kept or set. Emits one 'state:change'. */
  function load(config, extra = {}, { source = 'load' } = {}) {
    const next = structuredClone(defaults);
    delete next.custom_points;
    delete next.device;
    Object.assign(next, initialDatasets, structuredClone(config));
    delete next.custom_points;
    delete next.device;
    if (config.dataset && datasets[config.dataset]?.task === 'regression') {
      next.reg_dataset = config.dataset;
      next.dataset = initialDatasets.dataset;
    } else if (!config.dataset) next.dataset = initialDatasets.dataset;
    next.seed = config.seed ?? values.seed;
    if (next.dataset === 'custom' && Array.isArray(config.custom_points)) {
      custom[next.problem] = validPoints(config.custom_points);
      if (next.problem !== 'regression') custom.binary = custom[next.problem].every((p) => p[2] === 1 || p[2] === -1);
      saveCustom(storage, custom);
    }
    return set({ ...next, ...extra }, { source });
  }

  /** The full config for `configure` (docs/protocol.md). */
  function config() {
    const c = {};
    for (const field of Object.keys(defaults)) if (field in values) c[field] = structuredClone(values[field]);
    c.dataset = datasetName();
    c.custom_points = c.dataset === 'custom' ? customPoints() : null;
    if (c.dataset === 'custom' && task() === 'multiclass') {
      const top = Math.max(...customPoints().map((p) => p[2])) + 1;
      c.n_classes = Math.max(values.n_classes, top);
    }
    delete c.device;
    return c;
  }

  const linkKeys = hashKeys(location.hash);
  Object.assign(values, readHash());
  normalise();
  applyHidden();
  writeHash();
  window.addEventListener('hashchange', () => set(readHash(), { source: 'hash' }));

  return {
    values,
    options,
    set,
    config,
    task,
    dims,
    spec,
    datasetName,
    customPoints,
    setCustomPoints,
    get customBinary() {
      return custom.binary !== false;
    },
    hidden,
    hashText,
    readHash,
    load,
    /** True when the page's link named a setup (any key but page keys and `_hide` flags). */
    linkHasSetup: linkKeys.some((k) => keys.has(k) && !(k in pageKeys)),
  };
}

function same(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

function randomSeed() {
  return Math.floor(Math.random() * 1e6);
}

function safeStorage() {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

function loadCustom(storage) {
  try {
    const data = JSON.parse(storage?.getItem(STORAGE_KEY) ?? 'null');
    if (data && typeof data === 'object') {
      return { classification: validPoints(data.classification), regression: validPoints(data.regression), binary: data.binary !== false };
    }
  } catch {
    /* a broken entry is replaced */
  }
  return { classification: [], regression: [], binary: true };
}

function validPoints(list) {
  return Array.isArray(list) ? list.filter((p) => Array.isArray(p) && p.length === 3 && p.every(Number.isFinite)) : [];
}

function saveCustom(storage, custom) {
  try {
    storage?.setItem(STORAGE_KEY, JSON.stringify(custom));
  } catch {
    /* storage full or disabled: the points still live in this page */
  }
}

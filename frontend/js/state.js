// The page state: one table of every setting, written to the URL hash on every change, so any setup is a
// link (the codec is state-link.js; custom points travel in it as `points=` (state-points.js) and are kept by
// state-storage.js for a fresh tab; `_hide` flags applied by state-hiding.js).
// Each page adds its own keys (`pageKeys`: the lesson preset, the embed's controls, the compare view's
// variants, ...). A link — the page's own or one pasted into the address bar later — is a whole setup:
// what it does not name is the default, exactly as in a fresh tab.

import { createFormulaStore } from './formulas.js';
import { applyHidden } from './state-hiding.js';
import { createLinkCodec, PAGE_KINDS } from './state-link.js';
import { loadCustom, safeStorage, saveCustom, validPoints } from './state-storage.js';

/** Sources of a change that replace the whole setup: the run starts again from new weights at epoch 0. */
export const FRESH_SOURCES = new Set(['load', 'hash']);

export { camelCase, fieldBounds, fieldSpec, seedFromString } from './state-link.js';

/** createState(hub, options, {pageKeys: {name: 'flag' | 'list' | 'text' | 'json'}, storage, linked}): with
 *  `linked: false` the state neither reads nor writes the page's URL hash (a second network on one page). */
export function createState(hub, options, { pageKeys = {}, storage = safeStorage(), linked = true } = {}) {
  const datasets = Object.fromEntries(options.datasets.map((d) => [d.name, d]));
  const defaults = options.defaults;
  const view = { speed: options.view.speed, density: options.view.density };
  const firstOf = (regression) => options.datasets.find((d) => d.task !== null && (d.task === 'regression') === regression)?.name;
  const defaultIsRegression = datasets[defaults.dataset]?.task === 'regression';
  const initialDatasets = {
    dataset: defaultIsRegression ? firstOf(false) : defaults.dataset,
    reg_dataset: defaultIsRegression ? defaults.dataset : firstOf(true),
  };

  /** The values of a fresh tab: the engine's defaults, a random seed, the view's defaults, empty page keys. */
  function freshValues() {
    const fresh = { ...structuredClone(defaults), ...initialDatasets, seed: defaults.seed ?? randomSeed(),
      showTestData: false, discretize: false, hideText: false, ...view };
    delete fresh.custom_points;
    for (const [name, kind] of Object.entries(pageKeys)) fresh[name] = structuredClone(PAGE_KINDS[kind][0]);
    return fresh;
  }

  const values = freshValues();
  let hidden = new Set(); // names from `<name>_hide=true`
  let linkHasSetup = false; // the page's link names a setting (see the getter below)
  let missingData = null; // why the link's custom points are not here (see takeLinkData), or null
  const custom = loadCustom(storage);

  // ---- derived facts ----------------------------------------------------------------------------------
  const datasetName = () => (values.problem === 'regression' ? values.reg_dataset : values.dataset);
  const spec = () => datasets[datasetName()];
  const dims = () => spec()?.dims ?? 2;
  const applies = (feature) => feature.dims === 0 || feature.dims === dims();
  const customPoints = () => custom[values.problem] ?? [];
  /** 'binary' | 'multiclass' | 'regression' as the server will decide it. */
  function task() {
    const s = spec();
    if (s?.task) return s.task;
    if (values.problem === 'regression') return 'regression';
    return customPoints().every((p) => p[2] === 1 || p[2] === -1) ? 'binary' : 'multiclass';
  }

  /** Output units of the network: the engine's rule per task (GET /api/options: a number, or the config
   *  field that gives it). */
  const outputs = () => outputsOf(options.output_units[task()], config());

  const formulas = createFormulaStore(hub, options);
  const customData = () => (datasetName() === 'custom' ? { points: customPoints(), binary: custom.binary } : null);
  const codec = createLinkCodec(options, values, { pageKeys, applies, view, isFormula: formulas.isFormula, customData });

  /** Take a link's custom points (`changes.custom_points`, removed from `changes`) for the values `next` it
   *  opens. A link naming the custom dataset brings its own points: without them (a link cut short, or made
   *  before links carried points) the page holds none and says why, rather than showing this browser's. */
  function takeLinkData(changes, next) {
    const data = changes.custom_points;
    delete changes.custom_points;
    const problem = next.problem;
    if ((problem === 'regression' ? next.reg_dataset : next.dataset) !== 'custom') return (missingData = null);
    if (data && !data.error) {
      custom[problem] = validPoints(data.points);
      if (problem !== 'regression') custom.binary = data.binary;
      saveCustom(storage, custom);
      return (missingData = null);
    }
    custom[problem] = [];
    missingData = data?.error
      ? `The custom points in this link cannot be read (${data.error}): ask for the link again.`
      : 'This link names custom data but carries none of its points: ask for the link again.';
    hub.emit('notice', missingData);
  }

  /** Make the values consistent after a change: features for the data's dimension (the registry's in its
   *  order, then the formulas in theirs), a loss for the task, one activation and
   *  normalization per layer, sizes within the
   *  limits. A formula not described by the server yet is kept; its description is fetched. */
  function normalise() {
    const { max_layers: maxLayers, max_neurons: maxNeurons } = options.limits;
    values.hidden = values.hidden.slice(0, maxLayers).map((n) => Math.max(1, Math.min(maxNeurons, n)));
    const usable = options.features.filter(applies).map((f) => f.name);
    const written = values.features.filter((f) => formulas.isFormula(f) && applies(formulas.get(f)));
    values.features = [...usable.filter((f) => values.features.includes(f)), ...new Set(written)];
    if (!values.features.length) values.features = [usable[0]];
    formulas.ensure(values.features);
    const t = task();
    const lossOk = (name) => options.losses.find((l) => l.name === name)?.tasks.includes(t);
    if (!lossOk(values.loss)) values.loss = lossOk(defaults.loss) ? defaults.loss : options.losses.find((l) => lossOk(l.name)).name;
    for (const field of ['activation', 'normalization']) { // one name, or one per layer when they differ
      if (!Array.isArray(values[field])) continue;
      const list = values[field].slice(0, values.hidden.length);
      while (list.length < values.hidden.length) list.push(list[list.length - 1] ?? defaults[field]);
      values[field] = list.length && new Set(list).size > 1 ? list : list[0] ?? values[field][0] ?? defaults[field];
    }
  }

  function writeHash() {
    if (!linked) return;
    const text = codec.hashText(hidden);
    if (location.hash !== text) history.replaceState(null, '', text);
  }

  // ---- changes ---------------------------------------------------------------------------------------
  /** Apply `changes` (field -> value), normalise, write the hash and emit 'state:change' with the set of
   *  fields that really changed. Data of another dimension (the 1-D polynomial and back) starts from the
   *  default features, since the ones chosen for the old data may not exist for the new. A new setup
   *  (source 'load' or 'hash') is announced even when nothing changed: it means a fresh start. */
  function set(changes, { source = 'ui' } = {}) {
    const before = structuredClone(values);
    const [beforeTask, beforeDims] = [task(), dims()];
    Object.assign(values, changes);
    if (dims() !== beforeDims && !('features' in changes)) values.features = [...defaults.features];
    normalise();
    const changed = new Set(Object.keys(values).filter((k) => !same(values[k], before[k])));
    if (task() !== beforeTask) changed.add('task');
    applyHidden(hidden, values.hideText);
    writeHash();
    if (changed.size || FRESH_SOURCES.has(source)) hub.emit('state:change', { changed, source, values });
    return changed;
  }

  function setCustomPoints(points, { binary = custom.binary } = {}) {
    custom[values.problem] = points;
    custom.binary = binary;
    missingData = null;
    saveCustom(storage, custom);
    writeHash();
    const changed = new Set(['custom_points']);
    if (datasetName() === 'custom') {
      normalise();
      changed.add('task');
    }
    hub.emit('state:change', { changed, source: 'custom', values });
  }

  /** Replace the setup by `config` (a full or partial engine config, e.g. a lesson preset's): fields it
   *  leaves out go back to their defaults; the seed stays unless given; view settings and `extra` (page
   *  keys) are kept or set. Emits one 'state:change' with source 'load' (a fresh start). */
  function load(config, extra = {}, { source = 'load' } = {}) {
    const next = setupOf(config, defaults, datasets, initialDatasets);
    next.seed = config.seed ?? values.seed;
    if (next.dataset === 'custom' && Array.isArray(config.custom_points)) {
      custom[next.problem] = validPoints(config.custom_points);
      if (next.problem !== 'regression') custom.binary = custom[next.problem].every((p) => p[2] === 1 || p[2] === -1);
      saveCustom(storage, custom);
    }
    return set({ ...next, ...extra }, { source });
  }

  /** Open `hash` as a fresh tab would: the defaults, overridden by what the link names. Returns what
   *  the link said ({changes, hidden, hasSetup}). */
  function openLink(hash, { source = 'hash' } = {}) {
    const link = codec.readLink(hash);
    hidden = link.hidden;
    const next = { ...freshValues(), ...link.changes };
    takeLinkData(link.changes, next);
    delete next.custom_points;
    set(next, { source });
    return link;
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

  const first = codec.readLink(linked ? location.hash : '');
  hidden = first.hidden;
  takeLinkData(first.changes, { ...values, ...first.changes });
  Object.assign(values, first.changes);
  normalise();
  applyHidden(hidden, values.hideText);
  writeHash();
  linkHasSetup = first.hasSetup;
  // a formula from a link or a preset, described now: dropped if it reads x2 and the data are 1-D
  hub.on('formulas:known', () => set({}, { source: 'formulas' }));
  if (linked) window.addEventListener('hashchange', () => {
    linkHasSetup = openLink(location.hash).hasSetup;
    hub.emit('link', { hasSetup: linkHasSetup });
  });

  return {
    values, options, set, config, task, outputs, dims, spec, datasetName, customPoints, setCustomPoints, load, formulas,
    get customBinary() {
      return custom.binary !== false;
    },
    get hidden() {
      return hidden;
    },
    hashText: (drop = []) => codec.hashText(hidden, drop),
    /** Why the custom points the link names are missing (a sentence for the user), or null. */
    get missingData() {
      return missingData;
    },
    /** True when the page's link named a setup (any key but page keys and `_hide` flags). */
    get linkHasSetup() {
      return linkHasSetup;
    },
  };
}

/** The page values of an engine config: its fields over the defaults, a regression dataset under
 *  `reg_dataset` (the classification one stays the page's first), no custom points or device. */
function setupOf(config, defaults, datasets, initialDatasets) {
  const next = { ...structuredClone(defaults), ...initialDatasets, ...structuredClone(config) };
  delete next.custom_points;
  delete next.device;
  if (config.dataset && datasets[config.dataset]?.task === 'regression') {
    next.reg_dataset = config.dataset;
    next.dataset = initialDatasets.dataset;
  } else if (!config.dataset) next.dataset = initialDatasets.dataset;
  return next;
}

const outputsOf = (rule, config) => (typeof rule === 'string' ? config[rule] : rule);

function same(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

function randomSeed() {
  return Math.floor(Math.random() * 1e6);
}

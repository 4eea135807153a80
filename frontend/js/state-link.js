// The URL codec: one table of every setting's hash key, how to read it and how to write it. Keys are
// TensorFlow Playground's where the concept is the same (a playground link opened here reproduces its
// setup); every other config field gets its camelCase name, derived from the server's option list, so no
// field or choice is listed here twice. A link is a whole setup: `readLink` starts from the defaults and
// overrides only the keys the link names, exactly as a fresh tab (and as the playground's
// State.deserializeState), so `#sinX=true` means X₁, X₂ and sin(X₁).

import { decodePoints, encodePoints } from './state-points.js';

const PLAYGROUND_DATASETS = { 'reg-plane': 'plane', 'reg-gauss': 'multi_gauss' }; // URL alias -> name

// Config fields stored under playground keys, or handled specially.
const SPECIAL_FIELDS = new Set([
  'problem', 'dataset', 'seed', 'custom_points', 'features', 'hidden', 'activation', 'normalization', 'regularization',
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

/** {min, max} of a numeric config field: the bounds of its schema in GET /api/options. The page has none of
 *  its own, so a field sent without both is an error, not a silent default. */
export function fieldBounds(options, field) {
  const { min, max } = fieldSpec(options.fields[field]);
  if (min === undefined || max === undefined) throw new Error(`GET /api/options gives no bounds for ${field}`);
  return { min, max };
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
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** Page keys by kind: [empty value, read(text) -> value | undefined, write(value) -> text | undefined]. */
export const PAGE_KINDS = {
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

/** Features written as formulas travel as one JSON list of strings (`formulas=["x1*x2"]`, %-encoded): a
 *  formula may hold commas, so the comma lists of the other keys cannot carry it. The server checks each. */
function readFormulas(text, maxLength) {
  try {
    const list = JSON.parse(text);
    const ok = Array.isArray(list) && list.length && list.every((f) => typeof f === 'string' && f.trim() && f.length <= maxLength);
    return ok ? { formulas: list.map((f) => f.trim()) } : undefined;
  } catch {
    return undefined;
  }
}

/** `points=…`: the custom points ({points, binary}, state-points.js), or {error} saying why text that should
 *  hold them cannot be read (a link cut short), so the page can say so instead of drawing other points. */
function readPoints(text) {
  try {
    return { custom_points: decodePoints(text) };
  } catch (error) {
    return { custom_points: { error: error.message } };
  }
}

/** createLinkCodec(options, values, {pageKeys, applies, view, isFormula, customData}): `values` is the live
 *  state table the writers read; `applies(feature)` says whether a feature fits the current data; `view`
 *  holds the defaults of the view keys (speed, density), written only when they differ; `isFormula(name)`
 *  tells a feature written as a formula from a registry name; `customData()` gives the custom points
 *  ({points, binary}) while the custom dataset is chosen, else null. */
export function createLinkCodec(options, values, { pageKeys = {}, applies, view, isFormula = () => false, customData = () => null }) {
  const defaults = options.defaults;
  const datasets = Object.fromEntries(options.datasets.map((d) => [d.name, d]));
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
  const viewKey = (key, read) => [key, read, () => (values[key] === view[key] ? undefined : String(values[key]))];
  // a field of one name or one per hidden layer: `key=name`, and `<key>s=a,b,…` when the layers differ;
  // `always`: the single key is written even at its default (the playground's activation is)
  const perLayer = (key, field, choices, always) => [
    [key, (t) => (choices.some((c) => c.name === t) ? { [field]: t } : undefined), () => {
      const v = Array.isArray(values[field]) ? values[field][0] ?? defaults[field] : values[field];
      return always || Array.isArray(values[field]) || v !== defaults[field] ? v : undefined;
    }],
    [`${key}s`, (t) => {
      const list = t.split(',').filter(Boolean);
      return list.length && list.every((n) => choices.some((c) => c.name === n)) ? { [field]: list } : undefined;
    }, () => (Array.isArray(values[field]) && new Set(values[field]).size > 1 ? values[field].join(',') : undefined)],
  ];
  const table = [
    ...perLayer('activation', 'activation', options.activations, true),
    ...perLayer('normalization', 'normalization', options.normalizations ?? [], false),
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
    ['formulas', (t) => readFormulas(t, options.limits.max_formula_length), () => {
      const written = values.features.filter(isFormula);
      return written.length ? JSON.stringify(written) : undefined;
    }],
    ['problem', (t) => (t === 'classification' || t === 'regression' ? { problem: t } : undefined), () => values.problem],
    ['initZero', (t) => (t === 'true' ? { init: 'zeros' } : t === 'false' ? {} : undefined),
      () => String(values.init === 'zeros')],
    ['init', (t) => (options.initializers.some((i) => i.name === t) ? { init: t } : undefined),
      () => (values.init !== defaults.init && values.init !== 'zeros' ? values.init : undefined)],
    flag('hideText'),
    // nnplay's own keys: every remaining config field under its camelCase name, written when not default
    ...Object.keys(defaults).filter((f) => !SPECIAL_FIELDS.has(f)).map((field) => {
      const [key, read] = simple(camelCase(field), field);
      return [key, read, () => (same(values[field], defaults[field]) ? undefined : formatValue(values[field]))];
    }),
    viewKey('speed', (t) => (t === 'max' ? { speed: 'max' } : Number(t) > 0 ? { speed: Number(t) } : undefined)),
    viewKey('density', (t) => {
      const n = Number(t);
      return Number.isInteger(n) && n >= options.limits.min_grid_density && n <= options.limits.max_grid_density ? { density: n } : undefined;
    }),
    ...Object.entries(pageKeys).map(([name, kind]) => {
      const [, read, write] = PAGE_KINDS[kind];
      return [name, (t) => {
        const v = read(t);
        return v === undefined ? undefined : { [name]: v };
      }, () => write(values[name])];
    }),
    // last: the one key that may be long (about 4 characters a hand-drawn point)
    ['points', readPoints, () => {
      const data = customData();
      return data ? encodePoints(data.points, data.binary) : undefined;
    }],
  ];
  const keys = new Map(table.map((row) => [row[0], row]));

  /** The (key, text) pairs of a hash; a part with bad %-encoding is skipped with a warning. */
  function* parts(hash) {
    for (const part of hash.replace(/^#/, '').split('&')) {
      if (!part) continue;
      const eq = part.indexOf('=');
      try {
        yield [decodeURIComponent(eq < 0 ? part : part.slice(0, eq)), eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1))];
      } catch {
        console.warn(`nnplay: ignoring ${part} in the link (bad %-encoding)`);
      }
    }
  }

  /** What a link says: {changes (field -> value, features as a full list), hidden (names from
   *  `<name>_hide=true`), hasSetup (it names a setting, not only page keys and `_hide` flags)}. Feature
   *  keys switch features of the default list on or off; `formulas` adds written features after them. */
  function readLink(hash) {
    const changes = {};
    const hidden = new Set();
    const toggles = {};
    let hasSetup = false;
    for (const [key, text] of parts(hash)) {
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
      if (!(key in pageKeys)) hasSetup = true;
      for (const [k, v] of Object.entries(read)) {
        if (k.startsWith('feature:')) toggles[k.slice(8)] = v;
        else changes[k] = v;
      }
    }
    if (Object.keys(toggles).length) {
      const on = (f) => toggles[f.name] ?? defaults.features.includes(f.name);
      changes.features = options.features.filter(on).map((f) => f.name);
    }
    if (changes.formulas) { // written features follow the named ones (the defaults when the link names none)
      changes.features = [...(changes.features ?? defaults.features), ...changes.formulas];
      delete changes.formulas;
    }
    return { changes, hidden, hasSetup };
  }

  /** The hash of the current state; `drop` leaves out page keys another page does not use. */
  function hashText(hidden, drop = []) {
    const out = [];
    for (const [key, , write] of table) {
      if (drop.includes(key)) continue;
      const text = write();
      if (text !== undefined) out.push(`${key}=${encodeURIComponent(text).replace(/%2C/g, ',')}`);
    }
    for (const name of hidden) out.push(`${name}_hide=true`);
    return '#' + out.join('&');
  }

  return { readLink, hashText };
}

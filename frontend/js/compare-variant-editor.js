// The editor of one compare variant: its name and the settings it overrides, each with a control built
// from the server's option lists and field schemas (a menu for registry fields, a number box for numbers,
// a list box for layer sizes and features), a remove button each, and "Add a setting".

import { fieldLabel } from './controls.js';
import { fieldSpec } from './state.js';
import { el, nextId, numberControl, selectControl } from './ui.js';

// Variants share the data (the server refuses data fields in a variant) and the seed.
const NOT_VARIED = new Set(['seed', 'device', 'custom_points', 'problem', 'dataset', 'n_classes', 'n_samples', 'noise', 'train_ratio']);

/** A short label for overrides, as the engine's: "optimizer=adam, learning_rate=0.01". */
export function describeOverrides(overrides) {
  return Object.entries(overrides).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : v}`).join(', ') || 'base';
}

/** The items of a comma list; a comma inside parentheses belongs to its item (a feature such as atan2(x2, x1)). */
export function splitList(text) {
  const items = [];
  let [depth, start] = [0, 0];
  for (let i = 0; i <= text.length; i++) {
    const c = text[i];
    if (c === '(') depth += 1;
    else if (c === ')') depth -= 1;
    else if (i === text.length || (c === ',' && depth <= 0)) {
      items.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  return items.filter(Boolean);
}

/** The choices of a registry-backed field, or null for plain fields. */
function registryItems(options, field, task) {
  const lists = {
    optimizer: options.optimizers, init: options.initializers, regularization: options.regularizations,
    lr_schedule: options.schedules, activation: options.activations, normalization: options.normalizations,
    loss: options.losses.filter((l) => l.tasks.includes(task)),
  };
  return lists[field]?.map((x) => ({ value: x.name, label: x.label })) ?? null;
}

/** The fields a variant may override, in the options' order. */
export function variableFields(options) {
  return Object.keys(options.defaults).filter((f) => !NOT_VARIED.has(f));
}

export function createVariantEditor(state, index, { onChange }) {
  const { options } = state;
  const element = el('div', { class: 'variant-editor', role: 'group', 'aria-label': `Settings of variant ${index + 1}` });

  /** A control whose visible label is the field's and whose accessible name names the variant too. */
  function control(field, value, set) {
    const element = plainControl(field, value, set);
    element.querySelector('label').textContent = fieldLabel(options, field);
    return element;
  }

  function plainControl(field, value, set) {
    const label = `${fieldLabel(options, field)} (variant ${index + 1})`;
    const items = registryItems(options, field, state.task());
    if (items && !Array.isArray(value)) return selectControl({ label, items, value, onChange: set }).element;
    const spec = fieldSpec(options.fields[field]);
    if (spec.kind === 'boolean') {
      return selectControl({ label, items: [{ value: 'true', label: 'on' }, { value: 'false', label: 'off' }], value: String(value), onChange: (v) => set(v === 'true') }).element;
    }
    if (spec.kind === 'integer' || spec.kind === 'number') {
      return numberControl({ label, spec, value, onChange: set, placeholder: spec.nullable ? 'default' : '' }).element;
    }
    const id = nextId('txt');
    const input = el('input', { id, type: 'text', value: Array.isArray(value) ? value.join(',') : String(value ?? ''), 'aria-label': label });
    input.addEventListener('change', () => {
      const list = splitList(input.value);
      set(field === 'hidden' ? list.map(Number) : list);
    });
    return el('div', { class: 'control' }, el('label', { for: id, text: label }), input);
  }

  function render(overrides) {
    const rows = Object.entries(overrides).map(([field, value]) => el('div', { class: 'override' },
      control(field, value, (v) => onChange({ ...overrides, [field]: v })),
      el('button', { type: 'button', class: 'round small', 'aria-label': `Remove ${fieldLabel(options, field)} from variant ${index + 1}`, title: 'Remove',
        onclick: () => {
          const next = { ...overrides };
          delete next[field];
          onChange(next);
        } }, '×')));
    const free = variableFields(options).filter((f) => !(f in overrides));
    const add = selectControl({
      label: `Add a setting to variant ${index + 1}`,
      items: [{ value: '', label: 'Add a setting…' }, ...free.map((f) => ({ value: f, label: fieldLabel(options, f) }))],
      value: '',
      onChange: (field) => field && onChange({ ...overrides, [field]: structuredClone(state.values[field] ?? options.defaults[field]) }),
    });
    add.element.classList.add('add-setting');
    element.replaceChildren(...rows, add.element);
  }

  return { element, render };
}

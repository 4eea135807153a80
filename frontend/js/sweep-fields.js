// What the Sweep view can sweep and how a field's values are written: derived from GET /api/options (each
// config field's JSON schema), so no field or choice is listed here. Pure functions, no DOM.
//   numbers:  "0.01, 0.03, 0.1"           -> [0.01, 0.03, 0.1]
//   choices:  a checkbox per enum value   -> ['relu', 'tanh']
//   layers:   "4,2; 8,8; 8"               -> [[4, 2], [8, 8], [8]]  (the `hidden` field: lists of integers)

import { fieldSpec } from './state.js';

const NOT_SWEPT = new Set(['seed']); // the server sweeps seeds under their own key ('seeds')

/** The kind of values input a config field's schema calls for, or null when the view cannot take values
 *  for it (free-form lists such as custom points or feature formulas). */
export function valueKind(schema = {}) {
  const spec = fieldSpec(schema);
  if (spec.kind === 'enum' || spec.kind === 'boolean') return 'choice';
  if (spec.kind === 'number' || spec.kind === 'integer') return spec.kind;
  if (spec.kind === 'array' && (schema.items?.type === 'integer')) return 'layers';
  return null;
}

/** The fields the view offers, in the server's order: [{name, label, kind, spec, choices?}]. */
export function sweepableFields(options) {
  return Object.entries(options.fields)
    .filter(([name, schema]) => !NOT_SWEPT.has(name) && valueKind(schema))
    .map(([name, schema]) => {
      const kind = valueKind(schema);
      const spec = fieldSpec(schema);
      const choices = kind === 'choice' ? (spec.kind === 'boolean' ? [true, false] : spec.enum) : undefined;
      return { name, label: schema.title ?? name, kind, spec, choices };
    });
}

const round3 = (v) => Number(v.toPrecision(3));

/** Values to start from, around the current one: a number ÷3, itself, ×3 (0 gets 0, 0.001, 0.01), an
 *  integer halved and doubled, layers as they are and twice as wide, the current choice with the next; none
 *  for a number left unset (the server's default), which the user types. */
export function suggestValues(field, current) {
  const within = (v) => (field.spec.min === undefined || v > field.spec.min || (!field.spec.exclusiveMin && v === field.spec.min))
    && (field.spec.max === undefined || v < field.spec.max || (!field.spec.exclusiveMax && v === field.spec.max));
  if ((field.kind === 'number' || field.kind === 'integer') && typeof current !== 'number') return []; // unset: typed in
  if (field.kind === 'number') {
    const base = current;
    const list = base === 0 ? [0, 0.001, 0.01] : [round3(base / 3), base, round3(base * 3)];
    return [...new Set(list.filter(within))];
  }
  if (field.kind === 'integer') {
    const base = current;
    return [...new Set([Math.max(1, Math.round(base / 2)), base, base * 2].filter(within))];
  }
  if (field.kind === 'layers') {
    const layers = Array.isArray(current) ? current : [];
    return [layers, layers.map((n) => n * 2)];
  }
  const index = Math.max(0, field.choices.indexOf(current));
  return [...new Set([field.choices[index], field.choices[(index + 1) % field.choices.length]])];
}

/** A typed list as text for the field's input. */
export function formatValues(field, values) {
  return field.kind === 'layers' ? values.map((v) => v.join(',')).join('; ') : values.join(', ');
}

/** The text of a field's input as its values, or {error} naming what is wrong (the server checks ranges). */
export function parseValues(field, text) {
  const parts = text.split(field.kind === 'layers' ? ';' : /[,\s]+/).map((s) => s.trim()).filter(Boolean);
  if (!parts.length) return { error: `${field.name}: give at least one value` };
  const values = [];
  for (const part of parts) {
    const value = field.kind === 'layers' ? part.split(',').map((s) => Number(s.trim())) : Number(part);
    const numbers = Array.isArray(value) ? value : [value];
    const integer = field.kind !== 'number';
    if (numbers.some((n) => !Number.isFinite(n) || (integer && !Number.isInteger(n)))) {
      return { error: `${field.name}: ${JSON.stringify(part)} is not ${field.kind === 'layers' ? 'a list of layer sizes such as 8,8' : `a${integer ? 'n integer' : ' number'}`}` };
    }
    values.push(value);
  }
  return { values };
}

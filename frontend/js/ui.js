// Small DOM helpers shared by the panels.

/** A label's text with Greek letters wrapped in <span class="symbol">, so an upper-cased label keeps β₁ and ε
 *  (text-transform would turn them into Β₁ and Ε). */
export function labelText(text) {
  return String(text).split(/([\u0370-\u03ff]+)/).filter(Boolean)
    .map((part) => (/[\u0370-\u03ff]/.test(part) ? el('span', { class: 'symbol', text: part }) : part));
}

/** el('button', {class: 'x', 'aria-label': 'Play', onclick: fn}, 'text', child, ...) */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key in node && typeof value !== 'string') node[key] = value;
    else node.setAttribute(key, value === true ? '' : value);
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

export function svg(tag, attrs = {}) {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  return node;
}

let uid = 0;
export const nextId = (prefix) => `${prefix}-${++uid}`;

/** A labelled <select>. items: [{value, label, title?}]. Returns {element, select, setItems, setValue}. */
export function selectControl({ label, items, value, onChange, name, className = '' }) {
  const id = nextId('sel');
  const select = el('select', { id, 'aria-label': label, onchange: () => onChange(select.value) });
  const element = el('div', { class: `control ${className} ${name ? `ui-${name}` : ''}` }, el('label', { for: id }, labelText(label)), select);
  function setItems(list, current = select.value) {
    select.replaceChildren(...list.map((it) => el('option', { value: String(it.value), text: it.label, title: it.title })));
    setValue(current);
  }
  function setValue(v) {
    const text = String(v);
    if (![...select.options].some((o) => o.value === text) && v !== undefined) {
      select.append(el('option', { value: text, text: text }));
    }
    select.value = text;
  }
  setItems(items, value);
  return { element, select, setItems, setValue };
}

/** A labelled number input bounded by a field spec (see state.fieldSpec); empty means null where the
 *  field allows it. onChange gets the parsed value and is not called for invalid text. */
export function numberControl({ label, spec, value, onChange, name, placeholder = '', className = '' }) {
  const id = nextId('num');
  const input = el('input', {
    id, type: 'number', 'aria-label': label, placeholder,
    min: spec.min ?? undefined, max: spec.max ?? undefined, step: spec.step,
  });
  const element = el('div', { class: `control number ${className} ${name ? `ui-${name}` : ''}` }, el('label', { for: id }, labelText(label)), input);
  let committed = null; // the text last shown or sent: a control removed while focused fires `change`
  // again on blur, which must not send a stale value over a newer setup
  input.addEventListener('change', () => {
    const text = input.value.trim();
    if (text === committed) return;
    let v = text === '' ? null : Number(text);
    let ok = text === '' ? spec.nullable : Number.isFinite(v);
    if (ok && v !== null) {
      if (spec.kind === 'integer' && !Number.isInteger(v)) ok = false;
      if (spec.min !== undefined && (v < spec.min || (spec.exclusiveMin && v === spec.min))) ok = false;
      if (spec.max !== undefined && (v > spec.max || (spec.exclusiveMax && v === spec.max))) ok = false;
    }
    input.setAttribute('aria-invalid', String(!ok));
    input.title = ok ? '' : describeRange(spec);
    if (!ok) return;
    committed = text;
    onChange(v);
  });
  const setValue = (v) => {
    if (document.activeElement !== input) {
      input.value = v === null || v === undefined ? '' : String(v);
      committed = input.value;
    }
    input.removeAttribute('aria-invalid');
  };
  setValue(value);
  return { element, input, setValue };
}

export function describeRange(spec) {
  const lo = spec.min === undefined ? '' : `${spec.exclusiveMin ? '>' : '≥'} ${spec.min}`;
  const hi = spec.max === undefined ? '' : `${spec.exclusiveMax ? '<' : '≤'} ${spec.max}`;
  return `allowed: ${[lo, hi].filter(Boolean).join(' and ') || 'a number'}${spec.nullable ? ' (empty = default)' : ''}`;
}

/** A labelled checkbox. */
export function checkControl({ label, checked, onChange, name, className = '' }) {
  const input = el('input', { type: 'checkbox', 'aria-label': label, checked: Boolean(checked), onchange: () => onChange(input.checked) });
  const element = el('label', { class: `control check ${className} ${name ? `ui-${name}` : ''}` }, input, el('span', {}, labelText(label)));
  return { element, input, setValue: (v) => (input.checked = Boolean(v)) };
}

/** 1234 -> "001,234" (the playground's epoch counter). */
export function formatEpoch(n) {
  const padded = String(Math.max(0, Math.floor(n))).padStart(6, '0');
  return padded.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A loss or metric with three decimals, as the playground; huge values in exponent form. */
export function fmt3(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  return Math.abs(v) >= 1e4 ? v.toExponential(2) : v.toFixed(3);
}

/** Keep `element` at the end of `narrowParent` while the media `query` matches, else of `wideParent`. */
export function placeByWidth(element, query, narrowParent, wideParent) {
  const media = window.matchMedia(query);
  const place = () => (media.matches ? narrowParent : wideParent).append(element);
  media.addEventListener('change', place);
  place();
}

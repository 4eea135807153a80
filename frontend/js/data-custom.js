// Custom data: click or tap the output plot to add a point (class from the selector, which data-draw.js
// mirrors as a toggle by the plot; shift-click for the other class), click a point to remove it, or upload
// a CSV of x1,x2,label rows. The points are kept by the
// state module (localStorage), so a reload keeps them.

import { CLASS_COLORS } from './colors.js';
import { fieldBounds } from './state.js';
import { el, nextId } from './ui.js';

const PICK_PX = 7; // clicking within this many pixels of a point removes it

const SPLITS = new Set(['', 'train', 'test']);

/** The factor that brings every x1, x2 of `text`'s numeric rows into [−extent, extent] (1 when they fit). */
export function fitScale(text, extent) {
  let top = 0;
  for (const line of text.split(/\r?\n/)) {
    const [x1, x2] = line.split(/[,;\t]/).map(Number);
    if (Number.isFinite(x1) && Number.isFinite(x2)) top = Math.max(top, Math.abs(x1), Math.abs(x2));
  }
  return top > extent ? extent / top : 1;
}

/** Parse CSV text of x1,x2,label rows (a fourth column train/test, as "Data (CSV)" exports, is allowed and
 *  ignored: the server splits the points). Returns {points, errors: ["row 3: ..."], binary, outside: rows
 *  off the plot [−extent, extent]², extent being GET /api/options `view.extent`}. `scale` multiplies x1 and
 *  x2 first (see fitScale). A first row that is not numeric is
 *  taken as a header. Classification labels are ±1 (binary) or integers 0..maxClasses−1 (multiclass; 0/1
 *  alone are read as −1/+1); regression labels are any finite number. */
export function parseCsv(text, { problem, maxPoints, maxClasses, extent, scale = 1 }) {
  if (!(extent > 0)) throw new Error(`parseCsv needs the plot's extent (got ${extent})`);
  const points = [];
  const errors = [];
  let outside = 0;
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((line, i) => {
    const row = i + 1;
    if (!line.trim() || line.trim().startsWith('#')) return;
    const cells = line.split(/[,;\t]/).map((c) => c.trim());
    if (i === 0 && cells.slice(0, 3).some((c) => c !== '' && !Number.isFinite(Number(c)))) return; // header
    if (cells.length === 4 && !SPLITS.has(cells[3])) return errors.push(`row ${row}: the 4th value must be train or test, got "${cells[3]}"`);
    if (cells.length !== 3 && cells.length !== 4) return errors.push(`row ${row}: expected 3 values x1,x2,label, got ${cells.length}`);
    const [x1, x2, label] = cells.slice(0, 3).map((c) => (c === '' ? NaN : Number(c)));
    const bad = [['x1', x1, cells[0]], ['x2', x2, cells[1]], ['label', label, cells[2]]].find(([, v]) => !Number.isFinite(v));
    if (bad) return errors.push(`row ${row}: ${bad[0]} "${bad[2]}" is not a number`);
    for (const [name, v] of [['x1', x1 * scale], ['x2', x2 * scale]]) {
      if (Math.abs(v) > extent) {
        outside += 1;
        return errors.push(`row ${row}: ${name} = ${v} is outside the plot [−${extent}, ${extent}]`);
      }
    }
    if (problem !== 'regression' && !(label === 1 || label === -1 || (Number.isInteger(label) && label >= 0 && label < maxClasses))) {
      return errors.push(`row ${row}: label ${cells[2]} must be +1/−1 or a class 0 to ${maxClasses - 1}`);
    }
    points.push([+(x1 * scale).toPrecision(7), +(x2 * scale).toPrecision(7), label]);
  });
  let binary = true;
  if (problem !== 'regression') {
    const labels = new Set(points.map((p) => p[2]));
    if ([...labels].every((l) => l === 0 || l === 1)) points.forEach((p) => (p[2] = p[2] === 1 ? 1 : -1));
    else if ([...labels].some((l) => l !== 1 && l !== -1)) {
      binary = false;
      const wrong = points.filter((p) => p[2] < 0);
      if (wrong.length) {
        errors.push(`labels mix −1 with classes 0..k: ${wrong.length} rows with −1 left out`);
        for (const p of wrong) points.splice(points.indexOf(p), 1);
      }
    }
  }
  if (points.length > maxPoints) {
    errors.push(`only the first ${maxPoints} points are kept (the server's limit)`);
    points.length = maxPoints;
  }
  return { points, errors, binary, outside };
}

export function createCustomPanel(hub, state) {
  const { options } = state;
  const classBounds = fieldBounds(options, 'n_classes');
  const labelId = nextId('sel');
  const labelSelect = el('select', { id: labelId, 'aria-label': 'Class of new points' });
  const valueId = nextId('num');
  const valueInput = el('input', { id: valueId, type: 'number', step: 'any', value: '1', 'aria-label': 'Value of new points' });
  const kindId = nextId('sel');
  const kind = el('select', { id: kindId, 'aria-label': 'Classes of the custom data' },
    el('option', { value: '2', text: '2 (labels ±1)' }),
    ...Array.from({ length: classBounds.max - classBounds.min + 1 }, (_, i) => {
      const k = classBounds.min + i;
      return el('option', { value: String(k), text: `${k} (labels 0–${k - 1})` });
    }));
  const fileId = nextId('file');
  const file = el('input', { id: fileId, type: 'file', accept: '.csv,text/csv,text/plain', 'aria-label': 'Upload CSV' });
  const errors = el('ul', { class: 'csv-errors', role: 'alert', 'aria-label': 'CSV errors' });
  const count = el('output', { class: 'point-count', 'aria-label': 'Number of custom points' });
  const clear = el('button', { type: 'button', class: 'text-button', 'aria-label': 'Clear points', onclick: () => {
    errors.replaceChildren();
    setPoints([]);
  } }, 'Clear');
  const labelRow = el('div', { class: 'control' }, el('label', { for: labelId, text: 'New points' }), labelSelect);
  const valueRow = el('div', { class: 'control' }, el('label', { for: valueId, text: 'Value of new points' }), valueInput);
  const kindRow = el('div', { class: 'control' }, el('label', { for: kindId, text: 'Classes' }), kind);
  const element = el('div', { class: 'custom-panel ui-custom', hidden: true },
    el('p', { class: 'column-text', text: 'Tap or click the plot to add a point (of the class pressed above the plot, or the value below); tap a point to remove it. Keyboard: focus the plot, arrows move a cross, Enter adds.' }),
    kindRow, labelRow, valueRow,
    el('div', { class: 'control file' }, el('label', { for: fileId, text: 'CSV x1,x2,label' }), file),
    el('div', { class: 'custom-row' }, count, clear), errors);

  const regression = () => state.values.problem === 'regression';
  const classesNow = () => (state.customBinary ? 2 : state.values.n_classes);

  function syncLabels() {
    const k = classesNow();
    const items = k === 2 ? [['1', '+1 (blue)'], ['-1', '−1 (orange)']] : Array.from({ length: k }, (_, c) => [String(c), `class ${c}`]);
    const keep = labelSelect.value;
    labelSelect.replaceChildren(...items.map(([value, text], c) => el('option', { value, text, style: k === 2 ? '' : `color:${CLASS_COLORS[c % CLASS_COLORS.length]}` })));
    if (items.some(([value]) => value === keep)) labelSelect.value = keep;
    kind.value = String(k);
  }

  function setPoints(points, binary = state.customBinary) {
    state.setCustomPoints(points, { binary });
    sync();
  }

  kind.addEventListener('change', () => {
    const k = Number(kind.value);
    const binary = k === 2;
    let points = state.customPoints();
    if (binary && !state.customBinary) points = points.map(([a, b, l]) => [a, b, l === 0 ? -1 : 1]);
    if (!binary && state.customBinary) points = points.map(([a, b, l]) => [a, b, l === -1 ? 0 : 1]);
    if (!binary) points = points.map(([a, b, l]) => [a, b, Math.min(l, k - 1)]);
    if (!binary) state.set({ n_classes: k });
    setPoints(points, binary);
  });

  /** Read an uploaded file's text into the custom points; points off the plot are refused, with a button
   *  that reads the file again scaled into the plot. */
  function readCsv(text, name, scale = 1) {
    const extent = options.view.extent;
    const result = parseCsv(text, { problem: state.values.problem, maxPoints: options.limits.max_samples, maxClasses: classBounds.max, extent, scale });
    const factor = result.outside ? fitScale(text, extent) : 1;
    const rescale = el('button', { type: 'button', class: 'text-button', onclick: () => readCsv(text, name, factor) },
      `Rescale every point by ${+factor.toPrecision(3)} to fit [−${extent}, ${extent}]`);
    errors.replaceChildren(...result.errors.slice(0, 12).map((e) => el('li', { text: e })),
      ...(result.errors.length > 12 ? [el('li', { text: `… and ${result.errors.length - 12} more` })] : []),
      ...(result.outside ? [el('li', {}, rescale)] : []));
    if (result.points.length) {
      if (!result.binary) state.set({ n_classes: Math.max(classBounds.min, ...result.points.map((p) => p[2] + 1)) });
      setPoints(result.points, result.binary);
      const scaled = scale === 1 ? '' : ` (scaled by ${+scale.toPrecision(3)})`;
      errors.prepend(el('li', { class: 'ok', text: `${result.points.length} points read from ${name}${scaled}` }));
    }
  }

  file.addEventListener('change', async () => {
    const chosen = file.files?.[0];
    if (!chosen) return;
    readCsv(await chosen.text(), chosen.name);
    file.value = '';
  });

  /** A click or tap on the output plot (only while the custom dataset is shown). */
  function onPlotClick(event, size) {
    const rect = event.currentTarget.getBoundingClientRect();
    editAt(event.clientX - rect.left, event.clientY - rect.top, size, { otherClass: event.shiftKey });
  }

  /** At pixel (px, py) of a size-pixel plot: remove the point there, or add one of the chosen class (the
   *  other class with `otherClass`). The pointer and the keyboard (data-draw.js) both edit through here. */
  function editAt(px, py, size, { otherClass = false } = {}) {
    if (state.datasetName() !== 'custom') return;
    const extent = options.view.extent;
    const scale = size / (2 * extent);
    const points = state.customPoints();
    const oneD = state.dims() === 1;
    let nearest = -1;
    let best = PICK_PX;
    points.forEach(([x1, x2], i) => {
      const d = Math.hypot((x1 + extent) * scale - px, (extent - x2) * scale - py);
      if (d <= best) (best = d), (nearest = i);
    });
    if (nearest >= 0 && !oneD) return setPoints(points.filter((_, i) => i !== nearest));
    if (points.length >= options.limits.max_samples) return hub.emit('notice', `at most ${options.limits.max_samples} points`);
    const x1 = +(px / scale - extent).toFixed(3);
    const x2 = +(extent - py / scale).toFixed(3);
    let label;
    if (regression()) label = Number(valueInput.value) || 0;
    else {
      label = Number(labelSelect.value);
      if (otherClass) label = classesNow() === 2 ? -label : (label + 1) % classesNow();
    }
    setPoints([...points, [x1, x2, label]]);
  }

  function sync() {
    const custom = state.datasetName() === 'custom';
    element.hidden = !custom;
    document.body.classList.toggle('custom-data', custom);
    valueRow.hidden = !regression();
    labelRow.hidden = regression();
    kindRow.hidden = regression();
    syncLabels();
    const n = state.customPoints().length;
    count.textContent = `${n} point${n === 1 ? '' : 's'}`;
    hub.emit('hint', custom && n < 2 ? 'Click to add points: at least 2 are needed' : null);
  }

  hub.on('state:change', ({ changed }) => {
    if (changed.has('problem')) errors.replaceChildren(); // a CSV's errors belong to the problem it was read for
    if (['dataset', 'reg_dataset', 'problem', 'n_classes', 'custom_points'].some((k) => changed.has(k))) sync();
  });
  sync();
  return { element, onPlotClick, editAt, labelSelect, sync };
}

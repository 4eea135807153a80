// The lecturer's dashboard: one tile per student (nickname, the live decision boundary the server cut down
// from the student's own frame, epoch, test loss, accuracy or R², network size), ordered as a leaderboard
// by test loss, or by network size among those whose test loss is under a threshold. Names can be
// anonymised for the projector ("Student 3": numbered in the order they joined). Nicknames are text
// (textContent), never HTML.

import { CLASS_COLORS } from './colors.js';
import { curveRange, drawCurve, gridCanvas, paintClasses, paintGrid } from './output-heatmap.js';
import { dequantize } from './session-socket.js';
import { checkControl, el, fmt3, nextId, numberControl, selectControl } from './ui.js';

export const SORTS = [
  { value: 'joined', label: 'Order of joining' },
  { value: 'loss', label: 'Lowest test loss' },
  { value: 'size', label: 'Smallest network under the loss threshold' },
];

/** "2-4-1 · 25 weights": the layer sizes and the trainable parameter count. */
export function sizeText(student) {
  const hidden = student.hidden?.length ? student.hidden.join('-') : 'no hidden layer';
  return `${hidden} · ${student.params} weights`;
}

/** The students in leaderboard order. `size`: those with a test loss ≤ threshold first, fewest weights first
 *  (ties: lower loss), then the rest by test loss. A student without a loss yet comes last. */
export function rank(students, sort, threshold) {
  const loss = (s) => (Number.isFinite(s.test_loss) ? s.test_loss : Infinity);
  const byLoss = (a, b) => loss(a) - loss(b);
  if (sort === 'loss') return [...students].sort(byLoss);
  if (sort === 'size') {
    const under = (s) => loss(s) <= threshold;
    return [...students].sort((a, b) => (under(b) - under(a)) || (under(a) ? a.params - b.params || byLoss(a, b) : byLoss(a, b)));
  }
  return [...students];
}

/** The tile's picture (docs/protocol.md, "Rooms", `tiles`), drawn with the playground's own painters: `output`
 *  codes on [lo, hi] (255 = NaN); `classes` the class index per cell; `curve` (1-D data) the fitted curve in
 *  row 0, drawn as the playground's 1-D view. */
export function paintTile(thumb, bytes, size, student) {
  if (student.kind === 'curve') {
    const px = 4 * size; // a line needs more pixels than a map
    thumb.resize(px, px);
    const curve = Float32Array.from(bytes.subarray(0, size), (q) => dequantize(q, student.lo, student.hi));
    drawCurve(thumb.ctx, curve, curveRange(curve), px);
    return;
  }
  thumb.resize(size, size);
  if (student.kind === 'classes') {
    const certain = new Uint8Array(size * size).fill(254); // tiles carry the class, not how sure it is
    certain.lo = 0;
    certain.hi = 1;
    paintClasses(thumb.image, certain, bytes, CLASS_COLORS.length);
  } else paintGrid(thumb.image, bytes, student.lo ?? -1, student.hi ?? 1);
  thumb.put();
}

/** createDashboard(hub, {onSpotlight}) -> {element, toolbar, update(tiles), names, ...}. */
export function createDashboard(hub, { onSpotlight }) {
  const tiles = new Map(); // student id -> {element, thumb, ...}
  const joined = new Map(); // student id -> number in the order they joined
  let students = [];
  let anonymous = false;
  let sort = 'loss';
  let threshold = 0.1;
  let order = '';

  const sortControl = selectControl({ label: 'Leaderboard', name: 'roomSort', items: SORTS, value: sort, onChange: (v) => ((sort = v), arrange()) });
  const thresholdControl = numberControl({
    label: 'Loss threshold', name: 'roomThreshold', value: threshold, spec: { kind: 'number', min: 0, step: 'any' },
    onChange: (v) => v !== null && ((threshold = v), arrange()),
  });
  const anonymise = checkControl({ label: 'Anonymise names', name: 'roomAnonymise', checked: false, onChange: (on) => setAnonymous(on) });
  const count = el('div', { class: 'room-count', role: 'status', 'aria-label': 'Students', text: 'No students yet' });
  const toolbar = el('div', { class: 'room-toolbar' }, count, sortControl.element, thresholdControl.element, anonymise.element);
  const grid = el('ul', { class: 'tile-grid', 'aria-label': 'Students' });
  const empty = el('p', { class: 'room-empty', text: 'Students who join appear here, one tile each.' });
  const element = el('section', { class: 'dashboard', 'aria-label': 'Dashboard' }, toolbar, empty, grid);

  /** The name shown for a student (a tile's entry or its id): the nickname, or "Student n" while anonymised. */
  function nameOf(student) {
    const entry = typeof student === 'string' ? students.find((s) => s.student === student) : student;
    if (!entry) return 'a student who left';
    return anonymous ? `Student ${joined.get(entry.student)}` : entry.nickname;
  }

  function createTile(student) {
    const thumb = gridCanvas(1, 1, 'tile-map');
    const nameId = nextId('tile');
    const parts = {
      rank: el('span', { class: 'tile-rank' }),
      name: el('span', { class: 'tile-name', id: nameId }),
      epoch: el('span', { class: 'tile-epoch' }),
      loss: el('span', { class: 'tile-loss' }),
      metric: el('span', { class: 'tile-metric' }),
      size: el('span', { class: 'tile-size' }),
    };
    const button = el('button', { type: 'button', class: 'tile', 'aria-labelledby': nameId, title: 'Spotlight this student',
      onclick: () => onSpotlight(student.student) },
    el('span', { class: 'tile-head' }, parts.rank, parts.name), thumb.canvas,
    el('span', { class: 'tile-numbers' },
      el('span', { class: 'tile-label', text: 'test loss' }), parts.loss,
      el('span', { class: 'tile-label', text: 'epoch' }), parts.epoch),
    el('span', { class: 'tile-foot' }, parts.metric, parts.size));
    const element = el('li', { class: 'tile-item', 'data-student': student.student }, button);
    return { element, button, thumb, parts };
  }

  function showTile(tile, student, bytes, size) {
    const p = tile.parts;
    p.name.textContent = nameOf(student);
    p.epoch.textContent = String(student.epoch ?? 0);
    p.loss.textContent = fmt3(student.test_loss);
    const regression = student.task === 'regression';
    const metric = regression ? student.r2 : student.accuracy;
    p.metric.textContent = metric === null || metric === undefined ? '' : regression ? `R² ${fmt3(metric)}` : `${(metric * 100).toFixed(1)}% right`;
    p.size.textContent = sizeText(student);
    tile.element.dataset.status = student.connected === false ? 'away' : student.status ?? 'ok';
    tile.button.title = student.connected === false ? 'Disconnected: the tile shows the last frame' : 'Spotlight this student';
    if (bytes) paintTile(tile.thumb, bytes, size, student);
  }

  /** Show a `tiles` message: {header: {students, size}, arrays}. */
  function update({ header, arrays }) {
    const size = header.size;
    const all = arrays.tiles;
    students = header.students;
    const seen = new Set();
    for (const student of students) {
      if (!joined.has(student.student)) joined.set(student.student, joined.size + 1);
      seen.add(student.student);
      let tile = tiles.get(student.student);
      if (!tile) tiles.set(student.student, (tile = createTile(student)));
      const bytes = all && Number.isInteger(student.tile) ? all.subarray(student.tile * size * size, (student.tile + 1) * size * size) : null;
      showTile(tile, student, bytes, size);
    }
    for (const id of [...tiles.keys()]) if (!seen.has(id)) tiles.delete(id);
    const online = students.filter((s) => s.connected !== false).length;
    count.textContent = students.length ? `${students.length} student${students.length === 1 ? '' : 's'}${online < students.length ? ` (${online} connected)` : ''}` : 'No students yet';
    empty.hidden = students.length > 0;
    arrange();
  }

  // tiles stay where they are for a moment after the pointer moves over them (a tile that moves between press
  // and release would miss the lecturer's click); a pointer parked on the grid holds nothing
  const HOLD_MS = 1500;
  let heldUntil = 0;
  let release = null;
  const hold = () => {
    heldUntil = performance.now() + HOLD_MS;
    clearTimeout(release);
    release = setTimeout(arrange, HOLD_MS);
  };
  for (const type of ['pointermove', 'pointerdown']) grid.addEventListener(type, hold);

  /** Put the tiles in leaderboard order (moved only when the order changed) and number them; held for a moment
   *  after the pointer moves over the grid, unless a newcomer's tile must come in. */
  function arrange() {
    const held = performance.now() < heldUntil;
    if (held && students.every((s) => tiles.get(s.student).element.isConnected)) return;
    const ranked = rank(students, sort, threshold);
    ranked.forEach((s, i) => {
      const tile = tiles.get(s.student);
      const under = sort !== 'size' || (Number.isFinite(s.test_loss) && s.test_loss <= threshold);
      tile.parts.rank.textContent = sort === 'joined' ? '' : under ? `#${i + 1}` : '–';
      tile.element.classList.toggle('over-threshold', !under);
    });
    thresholdControl.element.hidden = sort !== 'size';
    const next = ranked.map((s) => s.student).join('|');
    if (next === order) return;
    order = next;
    grid.replaceChildren(...ranked.map((s) => tiles.get(s.student).element));
  }

  function setAnonymous(on) {
    anonymous = on;
    for (const s of students) tiles.get(s.student).parts.name.textContent = nameOf(s);
    hub.emit('room:anonymous', on);
  }

  return {
    element,
    update,
    nameOf,
    student: (id) => students.find((s) => s.student === id),
    get anonymous() {
      return anonymous;
    },
    get order() {
      return rank(students, sort, threshold).map((s) => s.student);
    },
  };
}

// Starting a room (POST /api/rooms) from the page's setup — the playground's, when its "Room" link opened this
// page with the setup in the hash, or a lesson chosen here — and finding the lecturer's open room again after
// a reload. The room's key is kept in this browser's localStorage only (never in a link).

import { describeSetup } from './room-controls.js';
import { el, nextId } from './ui.js';

const STORE = 'nnplay-room';

/** The room this browser opened last ({code, key, join_url}), or null. */
export function savedRoom() {
  try {
    const room = JSON.parse(localStorage.getItem(STORE) ?? 'null');
    return room && typeof room.code === 'string' && typeof room.key === 'string' ? room : null;
  } catch {
    return null;
  }
}

export function saveRoom(room) {
  localStorage.setItem(STORE, JSON.stringify({ code: room.code, key: room.key, join_url: room.join_url }));
}

export function forgetRoom() {
  localStorage.removeItem(STORE);
}

/** The saved room when it is still open on the server (and is the one the link names, if it names one). */
export async function resumableRoom(linked) {
  const room = savedRoom();
  if (!room || (linked && linked !== room.code)) return null;
  const response = await fetch(`api/rooms/${encodeURIComponent(room.code)}`);
  if (response.ok) return room;
  if (response.status === 404) forgetRoom();
  return null;
}

/** The server's reason for a refused request: FastAPI's `detail` (a text, or a list of field errors). */
async function reason(response) {
  try {
    const body = await response.json();
    if (typeof body.detail === 'string') return body.detail;
    if (Array.isArray(body.detail)) return body.detail.map((d) => `${(d.loc ?? []).slice(1).join('.')}: ${d.msg}`).join('; ');
  } catch {
    // not JSON: the status says it
  }
  return `the server answered ${response.status}`;
}

/** A menu of the server's single-network lessons; picking one makes it the setup (page state). */
export function lessonMenu(state, presets) {
  const id = nextId('sel');
  const single = presets.filter((p) => !(Array.isArray(p.variants) && p.variants.length));
  const select = el('select', { id, 'aria-label': 'Lesson', onchange: () => {
    const preset = single.find((p) => p.name === select.value);
    if (preset) state.load(preset.config, { preset: preset.name });
  } }, el('option', { value: '', text: single.length ? 'the setup above, or a lesson…' : 'no lessons on this server' }),
  ...single.map((p) => el('option', { value: p.name, text: p.title })));
  select.value = single.some((p) => p.name === state.values.preset) ? state.values.preset : '';
  return el('div', { class: 'control lesson-menu' }, el('label', { for: id, text: 'Lesson' }), select);
}

/** createStart(hub, state, lessons, {onRoom}): the "Start a room" panel. */
export function createStart(hub, state, lessons, { onRoom }) {
  const titleId = nextId('txt');
  const title = el('input', { id: titleId, type: 'text', maxlength: 80, placeholder: 'e.g. Week 3: the spiral', 'aria-label': 'Title' });
  const setup = el('p', { class: 'setup-line', 'aria-label': 'Setup' });
  const error = el('p', { class: 'message diverged', role: 'alert', hidden: true });
  const start = el('button', { type: 'button', class: 'room-button primary big', text: 'Start a room', onclick: () => create() });
  const element = el('section', { class: 'room-start', 'aria-label': 'Start a room' },
    el('h2', { text: 'Start a room' }),
    el('p', { class: 'room-hint', text: 'Your class joins with a short code; everyone starts from this setup, and you see every network live.' }),
    el('div', { class: 'control' }, el('label', { for: titleId, text: 'Title (optional)' }), title),
    el('div', { class: 'control' }, el('span', { text: 'Setup' }), setup), lessons, start, error);
  const showSetup = () => (setup.textContent = describeSetup(state));
  hub.on('state:change', showSetup);
  showSetup();

  async function create() {
    start.disabled = true;
    error.hidden = true;
    try {
      const response = await fetch('api/rooms', { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ config: state.config(), title: title.value.trim() }) });
      if (!response.ok) throw new Error(await reason(response));
      const room = await response.json();
      saveRoom(room);
      onRoom(room);
    } catch (failure) {
      error.hidden = false;
      error.textContent = `No room was started: ${failure.message}`;
    } finally {
      start.disabled = false;
    }
  }
  return { element };
}

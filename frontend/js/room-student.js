// A student in a room (the playground at /r/CODE, docs/protocol.md "Rooms"): a nickname prompt (no account),
// `join` on the live socket (with the token of an earlier join, kept in sessionStorage, so a reload or a lost
// connection rejoins as the same student with their network), the room's setup loaded into the page, and a
// banner: the room, the challenge, the locked fields, the class paused, the room ended. Locked controls and,
// while the class is paused, Play and Step are disabled with a title saying why; the server enforces both.

import { camelCase } from './state.js';
import { fieldLabel } from './controls.js';
import { el, nextId } from './ui.js';

/** The room code of the page's address (`/r/CODE`, or `?room=CODE`), or null. */
export function roomCode(where = location) {
  const path = where.pathname.match(/\/r\/([A-Za-z0-9-]{4,20})\/?$/);
  const code = path ? path[1] : new URLSearchParams(where.search).get('room');
  return code ? code.toUpperCase() : null;
}

// The page's controls of a config field where its `ui-<name>` class is not the field's camelCase name.
const CONTROLS = {
  learning_rate: '.ui-learningRate', reg_rate: '.ui-regularizationRate', batch_size: '.ui-batchSize',
  train_ratio: '.ui-percTrainData', hidden: '.ui-numHiddenLayers, .layer-heads', problem: '.ui-problem',
  features: '.node.feature, .add-feature-input', dataset: '.ui-dataset, .ui-custom', reg_dataset: '.ui-dataset, .ui-custom',
  seed: '.ui-seed, .ui-regenerate', activation: '.ui-activation, select[aria-label^="Activation of layer"]',
  normalization: '.ui-normalization, select[aria-label^="Normalization of layer"]',
};
const controlsOf = (field) => CONTROLS[field] ?? `.ui-${camelCase(field)}`;
const FORM = 'button, input, select, textarea';
const PAUSED = 'The lecturer has paused the class';

/** Disable (or give back) every form control under the elements `selector` finds, with `why` as its title. */
function hold(selector, why) {
  for (const box of document.querySelectorAll(selector)) {
    box.classList.add('room-locked');
    box.title = why;
    for (const control of box.matches(FORM) ? [box] : box.querySelectorAll(FORM)) {
      if (!control.hasAttribute('data-room-held')) control.dataset.roomHeld = String(control.disabled);
      control.disabled = true;
      control.title = why;
    }
  }
}

function releaseAll() {
  for (const control of document.querySelectorAll('[data-room-held]')) {
    control.disabled = control.dataset.roomHeld === 'true';
    control.removeAttribute('data-room-held');
    control.removeAttribute('title');
  }
  for (const box of document.querySelectorAll('.room-locked')) {
    box.classList.remove('room-locked');
    box.removeAttribute('title');
  }
}

/** createRoomStudent(hub, state, socket, code): call before the socket starts; `active` says whether the
 *  page is (still) in the room. */
export function createRoomStudent(hub, state, socket, code) {
  const { options } = state;
  const tokenKey = `nnplay-room-student:${code}`;
  let token = sessionStorage.getItem(tokenKey);
  let nickname = '';
  let room = null; // the newest `room` message
  let active = true;
  let configKey = '';

  const name = el('span', { class: 'room-name' });
  const challenge = el('span', { class: 'room-challenge', 'aria-label': 'Challenge' });
  const locks = el('span', { class: 'room-locks' });
  const paused = el('span', { class: 'room-paused', role: 'status', text: `${PAUSED}.`, hidden: true });
  const banner = el('div', { class: 'room-banner', role: 'region', 'aria-label': 'Room' }, name, challenge, locks, paused);

  const inputId = nextId('txt');
  const input = el('input', { id: inputId, type: 'text', autocomplete: 'nickname', required: true,
    maxlength: options.server_limits.room_nickname_length ?? 24, 'aria-label': 'Nickname' });
  const about = el('p', { class: 'room-hint' });
  const error = el('p', { class: 'message diverged', role: 'alert' });
  const form = el('form', { method: 'dialog', onsubmit: (event) => {
    event.preventDefault();
    join(input.value.trim());
  } }, el('h2', { text: `Join room ${code}` }), about, el('label', { for: inputId, text: 'Your nickname (no account needed)' }), input, error,
  el('div', { class: 'room-row' }, el('button', { type: 'submit', class: 'room-button primary', text: 'Join' }),
    el('a', { class: 'room-button quiet', href: './', text: 'Play on your own instead' })));
  const dialog = el('dialog', { class: 'room-join', 'aria-label': 'Join the room' }, form);
  dialog.addEventListener('cancel', (event) => event.preventDefault()); // Esc does not skip the nickname

  function join(text) {
    if (!text) return;
    nickname = text;
    error.textContent = '';
    if (!socket.started) socket.start();
    else socket.send('join', { nickname });
  }

  // -- the socket ----------------------------------------------------------------------------------------
  hub.on('socket:connected', () => {
    if (!active) return;
    const message = token ? { student: token } : {};
    if (nickname) message.nickname = nickname;
    socket.send('join', message);
  });
  hub.on('socket:open', () => active && socket.send('view', { speed: state.values.speed, density: state.values.density }));
  hub.on('room', (message) => (message.ended ? leave(message) : enter(message)));
  hub.on('error', (message) => {
    if (!room && active) { // refused before the room answered: a bad or taken nickname
      error.textContent = message.message ?? 'the room refused that nickname';
      if (!dialog.open) dialog.showModal();
      return;
    }
    if (message.field && message.allowed !== undefined && room?.locked?.includes(message.field)) {
      state.set({ [message.field]: message.allowed }, { source: 'server' }); // the page shows what the server kept
    }
  });
  hub.on('socket:status', ({ status, detail }) => {
    if (status !== 'reconnecting' || !active) return;
    if (/another page/.test(detail)) {
      socket.stop();
      active = false;
      showEnded('You joined this room from another page; this one is no longer in it');
    } else if (!room) { // refused at the door (room full, too many attempts): say so while it tries again
      error.textContent = `Not in yet: ${detail}. Trying again…`;
      if (!dialog.open) dialog.showModal();
    }
  });

  function enter(message) {
    const first = !room;
    room = message;
    if (message.student) {
      token = message.student;
      sessionStorage.setItem(tokenKey, token);
    }
    if (dialog.open) dialog.close();
    const key = JSON.stringify(message.config ?? null);
    if (message.config && key !== configKey) {
      configKey = key;
      state.load(message.config, {}, { source: 'server' }); // the server has configured the session already
    }
    if (message.notice && !first) hub.emit('notice', message.notice);
    show();
  }

  function leave(message) {
    room = { ...(room ?? {}), ...message };
    active = false;
    sessionStorage.removeItem(tokenKey);
    showEnded(`${(message.notice ?? 'The room has ended').replace(/\.$/, '')}. Your network stays here: keep playing on your own`);
  }

  function showEnded(text) {
    banner.dataset.ended = 'true';
    name.textContent = `Room ${code}`;
    challenge.textContent = `${text}.`;
    locks.textContent = '';
    paused.hidden = true;
    if (dialog.open) dialog.close();
    releaseAll();
  }

  /** The banner and the held controls, from the newest `room` message. */
  function show() {
    name.textContent = `Room ${room.code ?? code}${room.title ? ` · ${room.title}` : ''} · you are ${room.nickname ?? nickname}`;
    challenge.textContent = room.challenge ?? '';
    const locked = room.locked ?? [];
    locks.textContent = locked.length ? `Locked by the lecturer: ${locked.map((f) => fieldLabel(options, f)).join(', ')}` : '';
    paused.hidden = !room.paused;
    apply();
  }

  function apply() {
    releaseAll();
    if (!active || !room) return;
    for (const field of room.locked ?? []) hold(controlsOf(field), `${fieldLabel(options, field)} is locked by the lecturer`);
    if (room.paused) hold('.ui-playButton, .ui-stepButton', PAUSED);
  }

  // panels rebuild their controls (the Advanced panel, the layer buttons): hold the new ones too
  let scheduled = false;
  new MutationObserver(() => {
    if (scheduled || !active || !room) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      apply();
    });
  }).observe(document.body, { childList: true, subtree: true });

  /** Ask the server about the room first: a code that is not open is said plainly, not as a failed socket. */
  async function begin() {
    const answer = await fetch(`api/rooms/${encodeURIComponent(code)}`);
    if (!answer.ok) {
      active = false;
      const detail = await answer.json().catch(() => ({}));
      showEnded(`${detail.detail ?? `Room ${code} cannot be joined now (${answer.status})`}. You can play on your own meanwhile`);
      socket.start();
      return;
    }
    const info = await answer.json();
    about.textContent = `${info.title ? `${info.title}. ` : ''}${info.students} of ${info.max_students} students are in.`;
    if (info.challenge) about.textContent += ` Challenge: ${info.challenge}`;
    name.textContent = `Room ${info.code}`;
    if (token) socket.start(); // rejoin as the same student
    else dialog.showModal();
  }

  return {
    banner, dialog, begin,
    get active() {
      return active;
    },
    get room() {
      return room;
    },
    /** The socket's URL: the room's while in it (nginx routes by the code), else the plain one. */
    url: (plain) => (active ? `${plain}?room=${encodeURIComponent(code)}` : plain),
  };
}

// A student in a room (the playground at /r/CODE, docs/protocol.md "Rooms"): a nickname prompt (no account),
// `join` on the live socket (with the token of an earlier join, kept in sessionStorage, so a reload or a lost
// connection rejoins as the same student with their network), the room's setup loaded into the page, and a
// banner: the room, the challenge, the locked fields, the class paused, the room ended. Locked controls and,
// while the class is paused, Play and Step are disabled with a title saying why; the server enforces both.

import { controlsOf, fieldName, spaced } from './room-fields.js';
import { el, nextId } from './ui.js';

/** The room code of the page's address (`/r/CODE`, or `?room=CODE`), or null. */
export function roomCode(where = location) {
  const path = where.pathname.match(/\/r\/([A-Za-z0-9-]{4,20})\/?$/);
  const code = path ? path[1] : new URLSearchParams(where.search).get('room');
  return code ? spaced(code) : null;
}

const FORM = 'button, input, select, textarea';
const PAUSED = 'The lecturer has paused the class';

/** Disable (or give back) every form control under the elements `selector` finds, with `why` as its title. */
function hold(selector, why) {
  for (const box of document.querySelectorAll(selector)) {
    for (const node of [box, ...(box.matches(FORM) ? [] : box.querySelectorAll(FORM))]) {
      if (!node.hasAttribute('data-room-held')) node.dataset.roomHeld = JSON.stringify([node.disabled ?? false, node.getAttribute('title')]);
      if (node.matches(FORM)) node.disabled = true;
      node.title = why;
    }
    box.classList.add('room-locked');
  }
}

/** Give every held control back its own state and title. */
function releaseAll() {
  for (const node of document.querySelectorAll('[data-room-held]')) {
    const [disabled, title] = JSON.parse(node.dataset.roomHeld);
    if (node.matches(FORM)) node.disabled = disabled;
    if (title === null) node.removeAttribute('title');
    else node.title = title;
    node.removeAttribute('data-room-held');
  }
  for (const box of document.querySelectorAll('.room-locked')) box.classList.remove('room-locked');
}

/** The nickname prompt (a modal dialog; Esc does not skip it): `onJoin(nickname)` on submit; `say(text)` shows
 *  why a join was refused (and the prompt again), `about(text)` what the room is. */
function createJoinPrompt(code, options, onJoin) {
  const inputId = nextId('txt');
  const input = el('input', { id: inputId, type: 'text', autocomplete: 'nickname', required: true,
    maxlength: options.server_limits.room_nickname_length ?? 24, 'aria-label': 'Nickname' });
  const about = el('p', { class: 'room-hint' });
  const error = el('p', { class: 'message diverged', role: 'alert' });
  const form = el('form', { method: 'dialog', onsubmit: (event) => {
    event.preventDefault();
    onJoin(input.value.trim());
  } }, el('h2', { text: `Join room ${code}` }), about, el('label', { for: inputId, text: 'Your nickname (no account needed)' }), input, error,
  el('div', { class: 'room-row' }, el('button', { type: 'submit', class: 'room-button primary', text: 'Join' }),
    el('a', { class: 'room-button quiet', href: './', text: 'Play on your own instead' })));
  const dialog = el('dialog', { class: 'room-join', 'aria-label': 'Join the room' }, form);
  dialog.addEventListener('cancel', (event) => event.preventDefault());
  return {
    dialog,
    about: (text) => (about.textContent = text),
    say(text) {
      error.textContent = text;
      if (text && !dialog.open) dialog.showModal();
    },
  };
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

  const name = el('span', { class: 'room-name' });
  const challenge = el('span', { class: 'room-challenge', 'aria-label': 'Challenge' });
  const locks = el('span', { class: 'room-locks' });
  const paused = el('span', { class: 'room-paused', role: 'status', text: `${PAUSED}.`, hidden: true });
  const banner = el('div', { class: 'room-banner', role: 'region', 'aria-label': 'Room' }, name, challenge, locks, paused);

  const prompt = createJoinPrompt(code, options, (text) => join(text));
  const { dialog } = prompt;

  function join(text) {
    if (!text) return;
    nickname = text;
    prompt.say('');
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
  // the server sets the session up (a join: the room's setup, a rejoin: the student's own; a push, maybe
  // between a change of the student's and its answer): the page shows the config of the newest `state`, so
  // it ends where the server is (loading the config the page has already changes nothing)
  let serverConfig = null;
  hub.on('state', (message) => {
    serverConfig = message.config ?? serverConfig;
    if (active && message.config) state.load(message.config, {}, { source: 'server' });
  });
  hub.on('room', (message) => (message.ended ? leave(message) : enter(message)));
  hub.on('error', (message) => {
    if (!room && active) { // refused before the room answered: a bad or taken nickname
      prompt.say(message.message ?? 'the room refused that nickname');
      return;
    }
    if (room?.locked?.includes(message.field) && serverConfig && message.field in serverConfig) {
      state.set({ [message.field]: serverConfig[message.field] }, { source: 'server' }); // show what the server kept
    }
  });
  hub.on('socket:status', ({ status, detail }) => {
    if (status !== 'reconnecting' || !active) return;
    if (/another page/.test(detail)) {
      socket.stop();
      active = false;
      showEnded('You joined this room from another page; this one is no longer in it');
    } else if (!room) { // refused at the door (room full, too many attempts): say so while it tries again
      prompt.say(`Not in yet: ${detail}. Trying again…`);
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
    locks.textContent = locked.length ? `Locked by the lecturer: ${locked.map((f) => fieldName(options, f)).join(', ')}` : '';
    paused.hidden = !room.paused;
    apply();
  }

  function apply() {
    releaseAll();
    if (!active || !room) return;
    for (const field of room.locked ?? []) hold(controlsOf(field), `${fieldName(options, field)} is locked by the lecturer`);
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
    prompt.about(`${info.title ? `${info.title}. ` : ''}${info.students} of ${info.max_students} students are in.${info.challenge ? ` Challenge: ${info.challenge}` : ''}`);
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

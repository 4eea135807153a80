// The lecturer's controls of an open room: the join code read aloud, its QR code and link; push the setup,
// write a challenge, lock fields (one checkbox per config field of GET /api/options), pause / play / reset
// the class, download the results, end the room. Each control sends one lecturer command (docs/protocol.md,
// "Rooms"); what the room is now comes back in `room` messages and is shown from those only.

import { fieldName, lockableFields, spaced } from './room-fields.js';
import { checkControl, el } from './ui.js';

/** One line about a setup: data, hidden layers, activation, learning rate, optimiser. */
export function describeSetup(state) {
  const c = state.config();
  const data = state.spec()?.label ?? c.dataset;
  const hidden = c.hidden.length ? `hidden ${c.hidden.join('-')}` : 'no hidden layer';
  const activation = Array.isArray(c.activation) ? c.activation.join('/') : c.activation;
  return `${data} · ${hidden} · ${activation} · learning rate ${c.learning_rate} · ${c.optimizer}`;
}

/** createRoomControls(hub, state, socket, room: {code, key, join_url}, {onEnd}). */
export function createRoomControls(hub, state, socket, room, { onEnd }) {
  const { options } = state;
  const base = `api/rooms/${encodeURIComponent(room.code)}`;

  const join = el('section', { class: 'join-panel', 'aria-label': 'How to join' },
    el('p', { class: 'join-how', text: 'Join at' }),
    el('a', { class: 'join-link', href: room.join_url, target: '_blank', rel: 'noopener', text: room.join_url.replace(/^https?:\/\//, '') }),
    el('p', { class: 'join-how', text: 'with the code' }),
    el('output', { class: 'join-code', 'aria-label': 'Join code', text: spaced(room.code) }),
    el('img', { class: 'join-qr', src: `${base}/qr.svg`, alt: `QR code of ${room.join_url}` }));

  const setup = el('p', { class: 'setup-line', 'aria-label': 'Setup to push' });
  const showSetup = () => (setup.textContent = describeSetup(state));
  hub.on('state:change', showSetup);
  showSetup();
  const playToo = checkControl({ label: 'and start training', name: 'roomPushPlay', checked: false, onChange: () => {} });
  const push = el('button', { type: 'button', class: 'room-button primary', text: 'Push this setup to everyone',
    onclick: () => socket.send('push', { config: state.config(), play: playToo.input.checked }) });
  const edit = el('a', { class: 'room-button quiet', target: '_blank', rel: 'noopener', text: 'Edit in the playground',
    title: 'Change the setup in the playground, then use its "Room" link to bring it here' });
  const linkEdit = () => (edit.href = `./${state.hashText(['room'])}`);
  hub.on('state:change', linkEdit);
  linkEdit();

  const maxChallenge = options.server_limits.room_challenge_length ?? 500;
  const challenge = el('textarea', { class: 'challenge-text', rows: 2, maxlength: maxChallenge, 'aria-label': 'Challenge',
    placeholder: 'e.g. Who can fit the spiral with the fewest neurons?' });
  const sendChallenge = el('button', { type: 'button', class: 'room-button', text: 'Show to everyone',
    onclick: () => socket.send('challenge', { text: challenge.value.trim() }) });

  const locks = new Map(lockableFields(options).map((name) => [name, checkControl({
    label: fieldName(options, name), name: `lock-${name}`, checked: false,
    onChange: () => socket.send('lock', { fields: [...locks].filter(([, c]) => c.input.checked).map(([n]) => n) }),
  })]));
  const lockList = el('details', { class: 'lock-list' }, el('summary', { text: 'Lock fields' }),
    el('div', { class: 'lock-grid' }, ...[...locks.values()].map((c) => c.element)));

  const classState = el('output', { class: 'class-state', 'aria-label': 'Class' });
  const pause = el('button', { type: 'button', class: 'room-button', text: 'Pause the class', onclick: () => socket.send('pause_all') });
  const play = el('button', { type: 'button', class: 'room-button', text: 'Play everyone', onclick: () => socket.send('play_all') });
  const reset = el('button', { type: 'button', class: 'room-button', text: 'Reset everyone', onclick: () => socket.send('reset_all') });
  const results = el('a', { class: 'room-button', text: 'Download results (CSV)', download: `room-${room.code}.csv`,
    href: `${base}/results.csv?key=${encodeURIComponent(room.key)}` });
  const end = el('button', { type: 'button', class: 'room-button danger', text: 'End the room', onclick: () => {
    if (confirm('End the room? Students keep their networks but leave the room.')) socket.send('end');
  } });

  const group = (title, ...children) => el('div', { class: 'room-group' }, el('h2', { text: title }), ...children);
  const panel = el('section', { class: 'room-controls', 'aria-label': 'Room controls' },
    group('Setup', setup, el('div', { class: 'room-row' }, push, playToo.element, edit)),
    group('Challenge', challenge, el('div', { class: 'room-row' }, sendChallenge)),
    group('Class', el('div', { class: 'room-row' }, pause, play, reset, classState), lockList),
    group('Room', el('div', { class: 'room-row' }, results, end)));

  /** Show the room as the server says it is (`room` messages). */
  function show(message) {
    if (document.activeElement !== challenge) challenge.value = message.challenge ?? '';
    const locked = new Set(message.locked ?? []);
    for (const [name, control] of locks) control.setValue(locked.has(name));
    lockList.querySelector('summary').textContent = locked.size ? `Locked: ${[...locked].map((n) => fieldName(options, n)).join(', ')}` : 'Lock fields';
    classState.textContent = message.paused ? 'paused: students cannot play' : 'running';
    classState.dataset.paused = String(Boolean(message.paused));
    pause.disabled = Boolean(message.paused);
    if (message.ended) onEnd(message);
  }
  hub.on('room:room', show);

  return { join, panel, show };
}

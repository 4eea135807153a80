// Wires the lecturer's page (/room, docs/protocol.md "Rooms"): the setup (a page state read from the link,
// as the playground's, so the playground's "Room" link brings its setup here) -> "Start a room" -> the
// join code, the controls, the dashboard of tiles, the spotlight and snapshots. No logic of its own.

import { bootPage } from './page-boot.js';
import { createState } from './state.js';
import { fetchPresets, resolvePresetLink } from './presets.js';
import { createLecturerSocket } from './room-socket.js';
import { createRoomControls } from './room-controls.js';
import { createDashboard } from './room-tiles.js';
import { createSpotlight } from './room-spotlight.js';
import { createStart, forgetRoom, lessonMenu, resumableRoom } from './room-start.js';
import { el } from './ui.js';

export const ROOM_KEYS = { preset: 'text', room: 'text' };

async function main() {
  const { hub, notices, options } = await bootPage();

  const state = createState(hub, options, { pageKeys: ROOM_KEYS });
  const presets = await fetchPresets();
  resolvePresetLink(state, presets);
  const lessons = lessonMenu(state, presets);
  const root = document.getElementById('main');
  const status = el('div', { class: 'connection', role: 'status', 'aria-label': 'Connection', 'data-status': 'idle' }, el('i'), el('span', { text: 'no room yet' }));
  document.getElementById('tools').append(status);
  const page = { hub, state, options, notices };
  window.nnplay = page; // for tests and the console

  function openRoom(room) {
    state.set({ room: room.code });
    const socket = createLecturerSocket(hub, room.code, room.key);
    const fetchNetwork = async (student) => {
      const url = `api/rooms/${encodeURIComponent(room.code)}/students/${encodeURIComponent(student)}.json`;
      const answer = await fetch(url, { headers: { Authorization: `Bearer ${room.key}` } });
      return answer.ok ? answer.json() : null;
    };
    const dashboard = createDashboard(hub, { onSpotlight: (id) => spotlight.open(id) });
    const spotlight = createSpotlight(hub, socket, options, { nameOf: dashboard.nameOf, fetchNetwork });
    const controls = createRoomControls(hub, state, socket, room, { onEnd: () => ended() });
    controls.panel.querySelector('.room-row').after(lessons);
    hub.on('room:tiles', dashboard.update);
    hub.on('room:error', (message) => notices.show(message.message ?? 'the server refused that', 'error'));
    hub.on('room:status', ({ status: s, detail }) => {
      status.dataset.status = s;
      status.lastChild.textContent = { open: `room ${room.code}`, connecting: 'connecting…', reconnecting: 'reconnecting…', closed: 'disconnected' }[s] ?? s;
      status.title = detail;
      if (s === 'closed' && /ended|expired|wrong room key/.test(detail)) ended(detail);
    });
    root.replaceChildren(el('div', { class: 'room-top' }, controls.join, controls.panel), dashboard.element, spotlight.element,
      spotlight.dialog, spotlight.compare);
    // for the projector once everyone is in: the code in one line, the controls out of the way, the tiles up
    const projector = el('button', { type: 'button', class: 'tool-button', 'aria-pressed': 'false', text: 'Projector view',
      title: 'Show the tiles with the join code in one line; press again for the controls', onclick: () => {
        const on = document.body.classList.toggle('projector');
        projector.setAttribute('aria-pressed', String(on));
      } });
    status.before(projector);
    document.body.dataset.room = 'open';

    function ended(detail = 'the room ended') {
      if (document.body.dataset.room === 'ended') return;
      document.body.dataset.room = 'ended';
      forgetRoom();
      socket.stop();
      if (spotlight.dialog.open) spotlight.dialog.close();
      const again = el('a', { class: 'room-button primary', href: `room${state.hashText(['room'])}`, text: 'Start another room' });
      root.prepend(el('div', { class: 'message info room-ended', role: 'alert' }, el('strong', { text: 'The room has ended' }),
        ` (${detail}). The tiles show where everyone was when it ended. `, again));
      hub.emit('room:ended');
    }
    Object.assign(page, { room, socket, dashboard, spotlight, controls });
  }

  const resumed = await resumableRoom(state.values.room);
  if (resumed) openRoom(resumed);
  else {
    if (state.values.room) state.set({ room: '' });
    root.replaceChildren(createStart(hub, state, lessons, { onRoom: openRoom }).element);
  }
  document.body.dataset.ready = 'true';
}

main().catch((error) => {
  document.body.dataset.ready = 'error';
  const box = document.getElementById('fatal');
  box.hidden = false;
  box.textContent = `The page could not start: ${error.message}. Is the nnplay server running?`;
  console.error(error);
});

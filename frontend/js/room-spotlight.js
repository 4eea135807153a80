// Spotlight and snapshots on the lecturer's page. A click on a tile watches that student (`watch`): their
// frames come exactly as the student gets them and are drawn full-size with the network
// (room-network-view.js); Esc or Close stops watching (`unwatch`). "Snapshot" keeps the student's network
// as it is now (`snapshot`); two snapshots are shown side by side to compare later in the class. "Open in
// playground" keeps the watched student's network as it is now (POST /api/networks) and opens its /n/ID link
// in a new tab.

import { post } from './exports.js';
import { createNetworkView } from './room-network-view.js';
import { el, fmt3 } from './ui.js';

const MAX_SNAPSHOTS = 12; // the tray keeps the newest; older ones drop off

/** createSpotlight(hub, socket, options, {nameOf, fetchNetwork}): nameOf(student id) gives the name to show
 *  (anonymised or not); fetchNetwork(student id) resolves to the student's {config, weights, epoch} (or null),
 *  asked only when an answer carries no config. */
export function createSpotlight(hub, socket, options, { nameOf, fetchNetwork }) {
  let watching = null; // the student id on the spotlight
  let view = null;
  const snapshots = [];
  let chosen = []; // snapshots shown side by side (at most two)

  const title = el('h2', { class: 'spot-name' });
  const facts = el('p', { class: 'spot-facts' });
  const body = el('div', { class: 'spot-body' });
  const snap = el('button', { type: 'button', class: 'room-button', text: 'Snapshot', title: 'Keep this network as it is now, to compare later',
    onclick: () => watching && socket.send('snapshot', { student: watching }) });
  const kick = el('button', { type: 'button', class: 'room-button danger', text: 'Remove from the room',
    title: 'The student leaves the room (their network stays with them) and cannot rejoin with this name', onclick: () => {
      if (watching && confirm(`Remove ${nameOf(watching)} from the room?`)) {
        socket.send('kick', { student: watching });
        dialog.close();
      }
    } });
  const playground = el('button', { type: 'button', class: 'room-button', text: 'Open in playground',
    title: 'Open this network, as it is now, in the playground in a new tab (a link that outlives the room)',
    onclick: () => watching && openInPlayground(watching) });
  const close = el('button', { type: 'button', class: 'room-button quiet', text: 'Close', onclick: () => dialog.close() });
  const dialog = el('dialog', { class: 'spotlight', 'aria-label': 'Spotlight' },
    el('header', { class: 'spot-head' }, title, facts, snap, playground, kick, close), body);

  /** Keep the student's network now and open its /n/ID link in a new tab. */
  async function openInPlayground(student) {
    const tab = window.open('', '_blank'); // opened within the click: a tab opened after an await is a blocked pop-up
    try {
      const network = await fetchNetwork(student);
      if (!network) throw new Error('the student has no network yet');
      const { config, weights, epoch } = network;
      const made = await (await post('api/networks', { config, weights, epoch })).json();
      const link = new URL(made.url, location.href).href;
      if (!tab) return hub.emit('notice', `The network's link: ${link}`);
      tab.opener = null;
      tab.location.href = link;
    } catch (error) {
      tab?.close();
      hub.emit('notice', `Could not open the network: ${error.message}`);
    }
  }
  dialog.addEventListener('close', () => {
    if (watching) socket.send('unwatch');
    watching = null;
    view = null;
    body.replaceChildren();
  });

  const tray = el('div', { class: 'snapshot-list', role: 'list', 'aria-label': 'Snapshots' });
  const trayNote = el('p', { class: 'room-hint', text: 'Spotlight a student and take a snapshot; pick two snapshots to see them side by side.' });
  const pair = el('div', { class: 'snapshot-pair', 'aria-label': 'Snapshots side by side' });
  const pairClose = el('button', { type: 'button', class: 'room-button quiet', text: 'Close', onclick: () => compare.close() });
  const compare = el('dialog', { class: 'spotlight compare-snapshots', 'aria-label': 'Snapshots side by side' },
    el('header', { class: 'spot-head' }, el('h2', { class: 'spot-name', text: 'Side by side' }), pairClose), pair);
  const element = el('section', { class: 'snapshots', 'aria-label': 'Snapshots' }, el('h2', { text: 'Snapshots' }), trayNote, tray);

  function open(student) {
    if (watching === student && dialog.open) return;
    if (watching) socket.send('unwatch');
    watching = student;
    view = createNetworkView(options, { label: `Output of ${nameOf(student)}'s network` });
    body.replaceChildren(view.element);
    title.textContent = nameOf(student);
    facts.textContent = 'waiting for the student\'s network…';
    if (!dialog.open) dialog.showModal();
    socket.send('watch', { student });
  }

  const factsOf = (h) => `epoch ${h.epoch} · test loss ${fmt3(h.test_loss)} · training loss ${fmt3(h.train_loss)}`;

  /** The config a `watch` or `snapshot` answer was taken with: its `state`'s, else the student's network now. */
  async function configOf(message) {
    return message.state?.config ?? (await fetchNetwork(message.student))?.config ?? null;
  }

  hub.on('room:watch', async (message) => {
    if (!view || message.student !== watching) return;
    const shown = view;
    const config = await configOf(message);
    if (view !== shown || !config) return;
    view.show(config);
    requestAnimationFrame(() => {
      view?.layout();
      if (view?.lastFrame) view.frame(view.lastFrame);
    });
  });
  hub.on('room:frame', (frame) => {
    const h = frame.header;
    if (h.purpose !== 'watch' || !view || h.student !== watching) return;
    view.frame(frame);
    facts.textContent = factsOf(h);
  });

  // a `snapshot` (JSON: the student and their state) is followed by its one frame
  let pending = null;
  hub.on('room:snapshot', (message) => (pending = { ...message, config: configOf(message) }));
  hub.on('room:frame', async (frame) => {
    const h = frame.header;
    if (h.purpose !== 'snapshot' || !pending || h.student !== pending.student) return;
    const taken = pending;
    pending = null;
    const config = await taken.config;
    if (config) keep({ student: taken.student, config, frame, taken: new Date() });
  });
  hub.on('room:anonymous', () => {
    if (watching) title.textContent = nameOf(watching);
    for (const s of snapshots) s.label.textContent = labelOf(s);
  });

  const labelOf = (s) => `${nameOf(s.student)}, epoch ${s.frame.header.epoch} (${s.taken.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })})`;

  function keep(snapshot) {
    snapshot.label = el('span', { class: 'snapshot-label' });
    snapshot.button = el('button', { type: 'button', class: 'snapshot', 'aria-pressed': 'false', title: 'Show side by side',
      onclick: () => choose(snapshot) }, snapshot.label, el('span', { class: 'snapshot-loss', text: `test loss ${fmt3(snapshot.frame.header.test_loss)}` }));
    snapshot.label.textContent = labelOf(snapshot);
    snapshots.unshift(snapshot);
    while (snapshots.length > MAX_SNAPSHOTS) snapshots.pop();
    chosen = chosen.filter((s) => snapshots.includes(s));
    tray.replaceChildren(...snapshots.map((s) => el('div', { role: 'listitem' }, s.button)));
    hub.emit('notice', `Snapshot of ${nameOf(snapshot.student)} kept`);
  }

  function choose(snapshot) {
    chosen = chosen.includes(snapshot) ? chosen.filter((s) => s !== snapshot) : [...chosen, snapshot].slice(-2);
    for (const s of snapshots) s.button.setAttribute('aria-pressed', String(chosen.includes(s)));
    if (chosen.length < 2) return;
    if (dialog.open) dialog.close();
    const views = chosen.map((s) => {
      const v = createNetworkView(options, { label: `Output of ${labelOf(s)}` });
      v.show(s.config);
      v.frame(s.frame);
      return [s, v];
    });
    pair.replaceChildren(...views.map(([s, v]) => el('figure', { class: 'snapshot-card' }, el('figcaption', { text: labelOf(s) }), v.element)));
    compare.showModal();
    requestAnimationFrame(() => views.forEach(([s, v]) => (v.layout(), v.frame(s.frame))));
  }

  return {
    element, dialog, compare, open,
    get watching() {
      return watching;
    },
    get snapshots() {
      return snapshots;
    },
  };
}

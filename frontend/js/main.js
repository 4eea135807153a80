// Wires the playground page together: options -> state -> socket -> panels. No logic of its own.

import { bootPage } from './page-boot.js';
import { createState } from './state.js';
import { createSocket, defaultUrl } from './session-socket.js';
import { createTopBar, createAdvanced } from './controls.js';
import { createCustomPanel } from './data-custom.js';
import { createDataPanel } from './data.js';
import { createNetwork } from './network.js';
import { createChart } from './chart.js';
import { createOutput } from './output.js';
import { createSession, createRenderer } from './session.js';
import { createPresets, fetchPresets, resolvePresetLink } from './presets.js';
import { createGradChart } from './insights-gradients.js';
import { createMetrics } from './insights-metrics.js';
import { createWalkthrough } from './walkthrough.js';
import { createGradCheck } from './insights-gradcheck.js';
import { createInsights } from './insights.js';
import { createExports } from './exports.js';
import { createEmbedDialog } from './embed-dialog.js';
import { createShare } from './share.js';
import { createSweepView } from './sweep-view.js';
import { createEpochRun } from './presets-epoch-run.js';
import { createDrawTools } from './data-draw.js';
import { createRoomStudent, roomCode } from './room-student.js';
import { fetchNetwork, networkId } from './network-link.js';
import { el, placeByWidth } from './ui.js';

export const PAGE_KEYS = { preset: 'text', insights: 'list' };

async function main() {
  const { hub, options } = await bootPage();

  // a short link of the compare page (/s/ID opens `/#…`) names its variants: that page opens it
  if (new URLSearchParams(location.hash.slice(1)).has('variants')) return location.replace(`compare${location.hash}`);
  const state = createState(hub, options, { pageKeys: PAGE_KEYS });
  const presetList = await fetchPresets();
  const linked = resolvePresetLink(state, presetList);
  if (linked?.variants) return location.replace(`compare#preset=${encodeURIComponent(linked.name)}`);
  const code = roomCode(); // a student's page (/r/CODE): the room's setup, a banner, a nickname first
  const shared = code ? null : await sharedNetwork(hub, state);
  const chart = createChart();
  const output = createOutput(hub, state, chart);
  const network = createNetwork(hub, state);
  const custom = createCustomPanel(hub, state);
  const data = createDataPanel(hub, state, custom);
  const topBar = createTopBar(hub, state);
  const advanced = createAdvanced(hub, state);
  const presets = createPresets(hub, state, presetList, { page: 'main' });

  // the lesson note above Play: its "Train N epochs" and the epoch counter on the first screen of a projector
  document.getElementById('top').append(presets.note, topBar.element, advanced.element);
  document.getElementById('main').append(data.element, network.element, output.element);
  network.build();

  const render = createRenderer({ output, network, chart });
  let room = null;
  const socket = createSocket(hub, code ? { url: () => room.url(defaultUrl()), lazy: true } : {});
  if (code) room = createRoomStudent(hub, state, socket, code);
  const session = createSession(hub, state, socket, render, { serverSetup: () => Boolean(room?.active), network: shared });
  createEpochRun(hub, state, session);

  const gradients = createGradChart(hub);
  const metrics = createMetrics(hub);
  const walkthrough = createWalkthrough(hub, state, session, network, output.plot);
  const gradcheck = createGradCheck(hub, session);
  const insights = createInsights(hub, state, [
    { name: 'gradients', label: 'Gradient norms', title: 'Per-layer gradient norms (log scale)', view: gradients },
    { name: 'metrics', label: 'Confusion matrix', title: 'Confusion matrix (classification) or R² and RMSE (regression)', view: metrics },
    { name: 'walkthrough', label: 'Backprop walk-through', title: 'Step through forward and backward pass for one point', view: walkthrough },
    { name: 'gradcheck', label: 'Gradient check', title: 'Compare backprop with numerical gradients', view: gradcheck },
  ]);
  output.chartSlot.append(gradients.element);
  output.after.append(insights.element, metrics.element, gradcheck.element);
  // on a phone (the output column above the network) the walk-through opens under its toggle, not a screen below
  placeByWidth(walkthrough.element, '(max-width: 720px)', output.after, network.element);
  const draw = createDrawTools(hub, state, custom, output.plot);
  output.plot.element.before(draw.element);
  output.plot.plot.addEventListener('click', (event) => (walkthrough.active ? walkthrough.onPlotClick(event) : custom.onPlotClick(event, output.size)));

  const exports = createExports(hub, state, session, { output, network, chart, presets: presetList });
  const embed = createEmbedDialog(hub, state, { target: 'embed' });
  const share = createShare(hub, state);
  const compareLink = el('a', { class: 'tool-button ui-compare', href: 'compare', text: 'Compare', title: 'Train variants of this setup side by side' });
  const linkCompare = () => (compareLink.href = `compare${state.hashText(['preset', 'insights'])}`);
  hub.on('state:change', linkCompare);
  linkCompare();
  const roomLink = el('a', { class: 'tool-button ui-room', href: 'room', text: 'Room', title: 'Start a room for your class with this setup' });
  const linkRoom = () => (roomLink.href = `room${state.hashText(['insights'])}`);
  hub.on('state:change', linkRoom);
  linkRoom();
  const sweep = createSweepView(hub, state, options);
  const tools = document.getElementById('tools');
  // the lesson menu last: the lesson note's Train button follows it in Tab order (the next key press after choosing)
  tools.append(compareLink, ...(code ? [] : [roomLink]), sweep.button, embed.button, exports.element, presets.menu);
  tools.before(share.element); // the header's top right; before the lessons in Tab order, so Train stays near them
  if (room) {
    document.getElementById('top').before(room.banner);
    document.body.append(room.dialog);
    room.begin();
  }

  window.nnplay = { hub, state, socket, session, render, chart, output, network, options, presets, walkthrough, gradients, exports, embed, insights, room, sweep }; // for tests
  document.body.dataset.ready = 'true';
}

/** The network of a /n/ID link (/?network=ID), its config loaded into the page before the session starts; null
 *  (and a notice saying why) when the link names none: the page never shows a network it was not given. */
async function sharedNetwork(hub, state) {
  const id = networkId();
  if (!id) return null;
  try {
    const network = await fetchNetwork(id);
    state.load(network.config, {}, { source: 'import' });
    // from here the page's link is its setup's, as after an Import: "Copy link" and a reload never bring the
    // shared network back over the changes made since
    history.replaceState(null, '', `${location.pathname}${location.hash}`);
    hub.emit('notice', `network loaded (epoch ${network.epoch})`);
    return network;
  } catch (error) {
    hub.emit('notice', error.message);
    return null;
  }
}

main().catch((error) => {
  document.body.dataset.ready = 'error';
  const box = document.getElementById('fatal');
  box.hidden = false;
  box.textContent = `The page could not start: ${error.message}. Is the nnplay server running?`;
  console.error(error);
});

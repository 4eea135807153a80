// Wires the page together: options -> state -> socket -> panels. No logic of its own.

import { createHub } from './events.js';
import { createState } from './state.js';
import { createSocket } from './socket.js';
import { createTopBar, createAdvanced } from './controls.js';
import { createCustomPanel } from './custom.js';
import { createDataPanel } from './data.js';
import { createNetwork } from './network.js';
import { createChart } from './chart.js';
import { createOutput } from './output.js';
import { createSession, createRenderer } from './session.js';
import { createNotices } from './notices.js';

async function main() {
  const hub = createHub();
  const notices = createNotices(hub);
  document.body.append(notices.element);
  const response = await fetch('api/options');
  if (!response.ok) throw new Error(`GET /api/options failed: ${response.status}`);
  const options = await response.json();

  const state = createState(hub, options);
  const chart = createChart();
  const output = createOutput(hub, state, chart);
  const network = createNetwork(hub, state);
  const custom = createCustomPanel(hub, state);
  const data = createDataPanel(hub, state, custom);
  const topBar = createTopBar(hub, state);
  const advanced = createAdvanced(hub, state);
  output.plot.plot.addEventListener('click', (event) => custom.onPlotClick(event, output.size));

  document.getElementById('top').append(topBar.element, advanced.element);
  document.getElementById('main').append(data.element, network.element, output.element);
  network.build();

  const render = createRenderer({ output, network, chart });
  const socket = createSocket(hub);
  const session = createSession(hub, state, socket, render);
  window.nnplay = { hub, state, socket, session, render, chart, options }; // for tests and the console
  document.body.dataset.ready = 'true';
}

main().catch((error) => {
  document.body.dataset.ready = 'error';
  const box = document.getElementById('fatal');
  box.hidden = false;
  box.textContent = `The page could not start: ${error.message}. Is the nnplay server running?`;
  console.error(error);
});

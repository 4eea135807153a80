// Wires the embed page (/embed#<state>): the output plot sized to its frame and the controls the link keeps
// (`controls=`, default Play, Reset and the epoch); no header. The socket opens only once the frame is
// on screen (and never in a speaker view's preview), `autoplay=true` then starts training, and training
// pauses while the frame is off screen or its slide is left; hidden for a few seconds it closes its socket (the
// server session ends) and reconnects, restoring its run, when shown again. A deck's keys pressed inside go
// to the deck.

import { bootPage } from './page-boot.js';
import { createState } from './state.js';
import { createSocket } from './session-socket.js';
import { createTopBar } from './controls.js';
import { createChart } from './chart.js';
import { createNetwork } from './network.js';
import { createOutput } from './output.js';
import { createSession, createRenderer } from './session.js';
import { fetchPresets, resolvePresetLink } from './presets.js';
import { keepOnly, keptNames } from './embed-keep.js';
import { startWhenVisible, SUSPEND_MS } from './embed-visibility.js';
import { fitNetwork } from './embed-fit.js';
import { listenToHost } from './embed-host.js';
import { handKeysToHost } from './embed-keys.js';
import { el } from './ui.js';

export const EMBED_KEYS = { preset: 'text', controls: 'list', autoplay: 'flag' };

async function main() {
  const host = listenToHost(); // first: the host's answer comes while the page loads
  handKeysToHost();
  const { hub, options } = await bootPage();

  const state = createState(hub, options, { pageKeys: EMBED_KEYS });
  if (state.values.preset && !state.linkHasSetup) resolvePresetLink(state, await fetchPresets());
  const hasControls = /[#&]controls=/.test(location.hash);
  const chart = createChart();
  const output = createOutput(hub, state, chart);
  const topBar = createTopBar(hub, state);
  const open = el('a', { class: 'embed-open', href: `./${state.hashText(['controls', 'autoplay'])}`, target: '_blank', rel: 'noopener', 'aria-label': 'Open in nnplay', title: 'Open this setup in the full playground' }, 'nnplay ↗');
  const kept = keptNames(state.values, state.hidden, hasControls);
  // `controls=...,network` keeps the network diagram beside the plot (the lecture's "what each neuron does")
  const network = kept.includes('network') ? createNetwork(hub, state, { compact: true }) : null;
  const stage = el('div', { class: 'embed-stage' }, output.plot.element, open);
  const side = el('div', { class: 'embed-side' }, topBar.element, output.element);
  const root = document.getElementById('embed');
  if (network) {
    // with the diagram: the controls in a row on top, the diagram and the plot side by side below them
    const box = el('div', { class: 'embed-network ui-network' }, network.element);
    root.classList.add('with-network');
    root.append(side, el('div', { class: 'embed-body' }, box, stage));
    fitNetwork(hub, box, network);
  } else {
    root.append(stage, side);
  }
  keepOnly(root, kept);
  side.hidden = !side.querySelector('[class*="ui-"]');
  network?.build();

  const render = createRenderer({ output, network, chart });
  const socket = createSocket(hub, { lazy: true });
  const session = createSession(hub, state, socket, render);
  const hint = () => (host.preview ? 'nnplay — preview: trains on the slide itself' : state.values.autoplay ? 'nnplay — starts when shown' : 'nnplay — loads when shown');
  output.plot.setHint(hint());
  hub.on('socket:open', () => output.plot.setHint(null));
  const visibility = startWhenVisible(root, {
    hub, socket, session, autoplay: state.values.autoplay, allowed: () => host.allowsShow, suspendAfterMs: SUSPEND_MS,
  });
  host.onChange(() => {
    if (!socket.started) output.plot.setHint(hint());
    visibility.update();
  });

  window.nnplay = { hub, state, socket, session, render, chart, options, visibility, network, host }; // for tests and the console
  document.body.dataset.ready = 'true';
}

main().catch((error) => {
  document.body.dataset.ready = 'error';
  const box = document.getElementById('fatal');
  box.hidden = false;
  box.textContent = `nnplay could not start: ${error.message}.`;
  console.error(error);
});

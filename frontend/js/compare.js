// Wires the compare page (/compare#<state>&variants=<JSON>&labels=<JSON>): the playground's top bar and
// data column for the base setup, and the compare view of its 2–4 variants, trained in one comparison
// session on the server. With `controls=` (an embed) only the plots, the chart and the kept controls show.

import { bootPage } from './page-boot.js';
import { createState } from './state.js';
import { createSocket } from './session-socket.js';
import { createTopBar, createAdvanced } from './controls.js';
import { createDataPanel } from './data.js';
import { createSession } from './session.js';
import { createPresets, fetchPresets, resolvePresetLink } from './presets.js';
import { createCompareView, defaultVariants, variantLimits } from './compare-variants.js';
import { createEmbedDialog } from './embed-dialog.js';
import { createShare } from './share.js';
import { createEpochRun } from './presets-epoch-run.js';
import { createCompareExports } from './compare-exports.js';
import { keepOnly, keptNames } from './embed-keep.js';
import { startWhenVisible } from './embed-visibility.js';
import { listenToHost } from './embed-host.js';
import { handKeysToHost } from './embed-keys.js';
import { el } from './ui.js';

export const COMPARE_KEYS = { preset: 'text', variants: 'json', labels: 'json', controls: 'list', autoplay: 'flag' };

const isVariantList = (v, { min, max }) => Array.isArray(v) && v.length >= min && v.length <= max
  && v.every((o) => o && typeof o === 'object' && !Array.isArray(o));

async function main() {
  const { hub, options } = await bootPage();

  const state = createState(hub, options, { pageKeys: COMPARE_KEYS });
  const presetList = await fetchPresets();
  resolvePresetLink(state, presetList);
  if (!isVariantList(state.values.variants, variantLimits(options))) state.set({ variants: defaultVariants(options), labels: null }, { source: 'load' });
  if (state.values.labels && !(Array.isArray(state.values.labels) && state.values.labels.length === state.values.variants.length)) {
    state.set({ labels: null }, { source: 'load' });
  }
  const embedded = /[#&]controls=/.test(location.hash);

  const topBar = createTopBar(hub, state);
  const advanced = createAdvanced(hub, state);
  const data = createDataPanel(hub, state, { element: null });
  const view = createCompareView(hub, state);
  const presets = createPresets(hub, state, presetList, { page: 'compare' });
  const main = document.getElementById('main');
  document.getElementById('top').append(topBar.element, advanced.element);
  main.append(data.element, el('div', { class: 'compare-column' }, presets.note, view.element));

  const embed = createEmbedDialog(hub, state, { target: 'compare' });
  const back = el('a', { class: 'tool-button ui-playground', text: 'Playground', title: 'Open the base setup in the playground' });
  const linkBack = () => (back.href = `./${state.hashText(['variants', 'labels', 'controls', 'autoplay', 'preset'])}`);
  hub.on('state:change', linkBack);
  linkBack();
  document.getElementById('tools').append(presets.menu, back, embed.button);
  // "Copy link" and "Short link", as on the playground (its /s/ID comes back here; slides take the Embed dialog's link)
  const share = createShare(hub, state, { slides: false });
  document.getElementById('tools').before(share.element);
  if (embedded) {
    document.body.classList.add('embedded');
    keepOnly(document.body, keptNames(state.values, state.hidden, true));
  }

  const socket = createSocket(hub, { lazy: true });
  const session = createSession(hub, state, socket, view.renderer, { compare: () => view.message() });
  createEpochRun(hub, state, session);
  const exports = createCompareExports(hub, state, session, view, presetList);
  document.getElementById('tools').append(exports.element);
  const host = embedded ? listenToHost() : null; // on a slide: the deck's keys and its speaker view (as /embed)
  if (embedded) handKeysToHost();
  const visibility = startWhenVisible(document.documentElement, { hub, socket, session, autoplay: state.values.autoplay, allowed: host ? () => host.allowsShow : undefined });
  host?.onChange(visibility.update);

  window.nnplay = { hub, state, socket, session, view, options, presets, embed, visibility, exports, share }; // for tests and the console
  document.body.dataset.ready = 'true';
}

main().catch((error) => {
  document.body.dataset.ready = 'error';
  const box = document.getElementById('fatal');
  box.hidden = false;
  box.textContent = `The page could not start: ${error.message}. Is the nnplay server running?`;
  console.error(error);
});

// Lesson presets (GET /api/presets): a menu that loads one (its config into the page state; a comparison
// preset opens the compare view, a single-network one the playground) and its note above the controls, with
// the suggested number of epochs and a way to dismiss it. A link with only `preset=<name>` loads it.

import { el, nextId } from './ui.js';

/** The server's presets, or [] when it has none (an older server). */
export async function fetchPresets() {
  try {
    const response = await fetch('api/presets');
    if (!response.ok) throw new Error(`GET /api/presets failed: ${response.status}`);
    return (await response.json()).presets ?? [];
  } catch (error) {
    console.warn(`nnplay: no lesson presets (${error.message})`);
    return [];
  }
}

const isCompare = (preset) => Array.isArray(preset.variants) && preset.variants.length > 0;

/** What loading `preset` sets in the page state (the config and, on the compare page, its variants). */
function presetValues(state, preset) {
  const extra = { preset: preset.name };
  if ('variants' in state.values) Object.assign(extra, { variants: preset.variants ?? null, labels: preset.labels ?? null });
  return extra;
}

/** A link naming only a preset (`#preset=xor_hidden`, maybe with page keys) loads it; returns it. */
export function resolvePresetLink(state, presets) {
  const name = state.values.preset;
  if (!name || state.linkHasSetup) return null;
  const preset = presets.find((p) => p.name === name);
  if (!preset) return null;
  state.load(preset.config, presetValues(state, preset));
  return preset;
}

/** Arrow keys on a closed <select> change its value and fire `change` at every press: browsing the lessons
 *  that way must not load each one (nor leave for the compare page). Values picked with the keyboard load
 *  on Enter; leaving the menu without Enter puts the current lesson back. A pick from the opened list (mouse,
 *  or Space/Alt+↓ then Enter) loads at once. */
function keyboardSafe(select, onPick, onRevert) {
  let browsing = false;
  select.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault();
      browsing = false;
      onPick(select.value);
    } else if ([' ', 'F4'].includes(event.key) || event.altKey) browsing = false; // opens the list
    else if (/^(Arrow|Page|Home|End)/.test(event.key) || event.key.length === 1) browsing = true;
  });
  select.addEventListener('change', () => browsing || onPick(select.value));
  select.addEventListener('blur', () => {
    if (browsing) onRevert();
    browsing = false;
  });
}

/** The menu and the note. `page`: 'main' or 'compare' — presets of the other kind open the other page. */
export function createPresets(hub, state, presets, { page = 'main' } = {}) {
  let running = false; // a "Train N epochs" run is under way
  const id = nextId('sel');
  const select = el('select', { id, 'aria-label': 'Lessons' });
  keyboardSafe(select, (name) => choose(name), () => sync());
  const groups = new Map();
  for (const p of presets) {
    const tag = p.tags?.[0] ?? 'other';
    if (!groups.has(tag)) groups.set(tag, []);
    groups.get(tag).push(p);
  }
  select.append(el('option', { value: '', text: presets.length ? 'Choose a lesson…' : 'no lessons on this server' }),
    ...[...groups].map(([tag, list]) => el('optgroup', { label: tag[0].toUpperCase() + tag.slice(1) },
      ...list.map((p) => el('option', { value: p.name, text: isCompare(p) ? `${p.title} (comparison)` : p.title })))));
  const menu = el('div', { class: 'control lessons ui-lessons' }, el('label', { for: id, text: 'Lessons' }), select);

  const title = el('h2'); // the page's second level: the note sits under the h1, above the columns' h2s
  const text = el('p');
  const epochs = el('p', { class: 'lesson-epochs' });
  const close = el('button', { type: 'button', class: 'close', 'aria-label': 'Dismiss the lesson note', title: 'Dismiss', onclick: () => state.set({ preset: '' }) }, '×');
  // Train comes before × in the tab order: from the lesson menu it is a few Tab presses away
  const note = el('aside', { class: 'lesson-note ui-note', 'aria-label': 'Lesson note', hidden: true }, title, text, epochs, close);

  // "Train N epochs" plays the suggested run at the session's pace (presets-epoch-run.js); while it runs it stops it
  const trainButton = el('button', { type: 'button', class: 'text-button' });
  hub.on('epoch-run', (on) => {
    running = on;
    trainButton.textContent = on ? 'Stop' : `Train ${find(state.values.preset)?.epochs ?? ''} epochs`;
  });

  function find(name) {
    return presets.find((p) => p.name === name);
  }

  function choose(name) {
    const preset = find(name);
    if (!preset) return;
    const here = (page === 'compare') === isCompare(preset);
    if (!here) {
      location.href = `${page === 'compare' ? './' : 'compare'}#preset=${encodeURIComponent(name)}`;
      return;
    }
    hub.emit('command', { type: 'pause' });
    state.load(preset.config, presetValues(state, preset));
  }

  function sync() {
    const preset = find(state.values.preset);
    select.value = preset ? preset.name : '';
    note.hidden = !preset;
    if (!preset) return;
    title.textContent = preset.title;
    text.textContent = preset.note;
    const n = preset.epochs ?? 0;
    trainButton.textContent = `Train ${n} epochs`;
    trainButton.setAttribute('aria-label', `Train ${n} epochs`);
    trainButton.onclick = () => hub.emit(running ? 'epoch-run:stop' : 'train-epochs', { n });
    epochs.replaceChildren(...(n > 0 ? [el('span', { text: `Suggested: about ${n} epochs. ` }), trainButton] : []));
  }

  hub.on('state:change', ({ changed }) => {
    if (changed.has('preset')) sync();
  });
  hub.on('link', () => resolvePresetLink(state, presets)); // a pasted `#preset=name` loads the lesson
  sync();
  return { menu, note, choose, presets };
}

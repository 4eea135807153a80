// Drawing custom points without a mouse: a class toggle beside the plot (a tap adds a point of the pressed
// class, so touch reaches every class without shift-click) and a keyboard cross on the plot (arrows move
// it by a grid step, Shift+arrows by a finer one, Enter or Space adds a point there or removes the one
// under it). Both edit through the custom panel (data-custom.js), whose class selector stays the one
// place the chosen class is kept: the toggle shows and sets it.

import { el } from './ui.js';

const STEP = 0.5; // the cross moves this far in input units per arrow press (Shift: STEP / 5)
const KEYS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };

/** createDrawTools(hub, state, custom, plot): plot is output-plot.js's {plot, size}; returns {element}. */
export function createDrawTools(hub, state, custom, plot) {
  const extent = state.options.view.extent;
  const cursor = [0, 0]; // the keyboard cross, in input units
  const cross = el('div', { class: 'draw-cross', 'aria-hidden': 'true', hidden: true });
  const status = el('p', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite' });
  const buttons = el('div', { class: 'class-buttons' });
  const element = el('div', { class: 'class-toggle', role: 'group', 'aria-label': 'Class of new points', hidden: true },
    el('span', { class: 'class-toggle-label', text: 'Add' }), buttons, status);
  plot.plot.append(cross);

  const drawing = () => state.datasetName() === 'custom';
  const pixel = ([x1, x2]) => [((x1 + extent) / (2 * extent)) * plot.size, ((extent - x2) / (2 * extent)) * plot.size];

  /** One pressed button per option of the panel's class selector (its text and colour). */
  function syncButtons() {
    const select = custom.labelSelect;
    buttons.replaceChildren(...[...select.options].map((option) => el('button', {
      type: 'button', class: 'toggle-button', 'aria-pressed': String(option.value === select.value), style: option.getAttribute('style'),
      onclick: () => {
        select.value = option.value;
        select.dispatchEvent(new Event('change'));
        syncButtons();
      },
    }, option.textContent)));
  }

  function sync() {
    const on = drawing() && state.values.problem !== 'regression';
    element.hidden = !on;
    if (on) syncButtons();
    plot.plot.tabIndex = drawing() ? 0 : -1;
    if (drawing()) {
      plot.plot.setAttribute('aria-label', 'Output plot: the arrow keys move a cross, Enter adds a point there (or removes the point under it)');
      plot.plot.setAttribute('aria-keyshortcuts', 'ArrowLeft ArrowRight ArrowUp ArrowDown Enter Space');
    } else plot.plot.removeAttribute('aria-keyshortcuts');
    cross.hidden = true;
  }

  function showCross() {
    const [px, py] = pixel(cursor);
    cross.style.left = `${px}px`;
    cross.style.top = `${py}px`;
    cross.hidden = false;
    status.textContent = `cross at (${cursor[0]}, ${cursor[1]})`;
  }

  plot.plot.addEventListener('keydown', (event) => {
    if (!drawing()) return;
    const move = KEYS[event.key];
    if (move) {
      const step = event.shiftKey ? STEP / 5 : STEP;
      cursor.forEach((v, i) => (cursor[i] = +Math.max(-extent, Math.min(extent, v + move[i] * step)).toFixed(3)));
      showCross();
    } else if (event.key === 'Enter' || event.key === ' ') {
      custom.editAt(...pixel(cursor), plot.size);
      showCross();
      status.textContent = `${state.customPoints().length} points`;
    } else return;
    event.preventDefault();
  });
  plot.plot.addEventListener('focus', () => drawing() && showCross());
  plot.plot.addEventListener('blur', () => (cross.hidden = true));
  custom.labelSelect.addEventListener('change', syncButtons);
  hub.on('state:change', ({ changed }) => {
    if (['dataset', 'reg_dataset', 'problem', 'n_classes', 'custom_points'].some((k) => changed.has(k))) sync();
  });
  sync();
  return { element };
}

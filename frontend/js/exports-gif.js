// The GIF fields of an Export menu (the playground's and the compare page's): how many epochs, a frame every
// how many, and the width (the server's choices, GET /api/options menus.gif_size). The fields refuse, before
// any request, what the server would refuse: epochs from 1 to server_limits.max_epochs, and a frame step
// that keeps the GIF within server_limits.max_gif_frames frames.

import { el, nextId } from './ui.js';

/** Frames of a GIF of `epochs` epochs, a frame every `step`: epoch 0, every step-th and the last (the
 *  server's gif_frame_count in server/jobs/pictures.py). */
export const gifFrameCount = (epochs, step) => Math.floor(epochs / step) + 1 + (epochs % step ? 1 : 0);

/** The smallest frame step that keeps `epochs` epochs within `cap` frames (what the server says it allows). */
const smallestStep = (epochs, cap) => Math.ceil(epochs / (cap - 2));

/** createGifFields(state, onExport) -> {element, values(), suggest(epochs), info}: `onExport(values)` on a click. */
export function createGifFields(state, onExport) {
  const { max_epochs: maxEpochs, max_gif_frames: maxFrames } = state.options.server_limits;
  const sizes = state.options.menus.gif_size;
  const number = (label, value, max) => {
    const id = nextId('num');
    const input = el('input', { id, type: 'number', min: 1, max, step: 1, value, 'aria-label': label });
    return { input, element: el('div', { class: 'control number' }, el('label', { for: id, text: label }), input) };
  };
  const epochs = number('GIF epochs', Math.min(200, maxEpochs), maxEpochs);
  const step = number('Frame every (epochs)', 10, maxEpochs);
  const sizeId = nextId('sel');
  const size = el('select', { id: sizeId, 'aria-label': 'GIF width (pixels)' },
    ...sizes.map((s) => el('option', { value: String(s), text: `${s} px` })));
  size.value = String(sizes[0]);
  const info = el('output', { class: 'gif-info', 'aria-label': 'GIF status' });
  const button = el('button', { type: 'button', class: 'menu-item', 'aria-label': 'Export an animated GIF',
    onclick: () => onExport(values()) }, 'Animated GIF');
  const element = el('div', { class: 'menu-group', role: 'group', 'aria-label': 'Animated GIF' }, epochs.element, step.element,
    el('div', { class: 'control' }, el('label', { for: sizeId, text: 'Width' }), size), button, info);

  const whole = (input) => (/^\d+$/.test(input.value.trim()) ? Number(input.value) : NaN);

  /** What is wrong with the fields ('' when the server would take them), marking the field at fault. */
  function problem() {
    const e = whole(epochs.input);
    const s = whole(step.input);
    const wrong = (field, text) => ({ field, text });
    if (!(e >= 1 && e <= maxEpochs)) return wrong(epochs, `GIF epochs: a whole number from 1 to ${maxEpochs}`);
    if (!(s >= 1)) return wrong(step, 'Frame every: a whole number of epochs, at least 1');
    if (gifFrameCount(e, s) > maxFrames) {
      return wrong(step, `Frame every: at least ${smallestStep(e, maxFrames)} for ${e} epochs (at most ${maxFrames} frames)`);
    }
    return null;
  }

  function check() {
    const bad = problem();
    for (const field of [epochs, step]) field.input.setAttribute('aria-invalid', String(bad?.field === field));
    button.disabled = Boolean(bad);
    info.textContent = bad ? bad.text : '';
  }

  function values() {
    return { epochs: whole(epochs.input), frame_step: whole(step.input), size: Number(size.value) };
  }

  /** A lesson's suggested run: its epochs, and a frame step that fits them into the frame cap. */
  function suggest(n) {
    epochs.input.value = String(Math.min(n, maxEpochs));
    step.input.value = String(Math.max(whole(step.input) || 1, smallestStep(Math.min(n, maxEpochs), maxFrames)));
    check();
  }

  for (const { input } of [epochs, step]) input.addEventListener('input', check);
  check();
  return { element, values, suggest, info };
}

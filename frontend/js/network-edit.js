// Reading and editing weights on the network drawing: a hover card shows a link's or bias's value
// (toPrecision(2), as the playground); a click or Enter edits it and sends 'set-weight'. One tab stop for
// all neurons and one for all weights: arrow keys move between them (roving tabindex).

import { el } from './ui.js';

/** createWeightEditor(hub, area, {layout, weights}): `layout()` is the network's current layout,
 *  `weights()` the newest frame's flat weights. Returns {card, refresh, stopEditing, valueOf}. */
export function createWeightEditor(hub, area, { layout, weights }) {
  let editing = null; // the item being edited (its index), while its input is open
  const card = el('div', { class: 'hovercard', role: 'tooltip', 'aria-label': 'Weight', hidden: true });

  function valueOf(k) {
    const w = weights();
    return w && layout()?.items[k] ? w[layout().items[k].index] : NaN;
  }

  function showCard(k) {
    const item = layout().items[k];
    if (!item) return;
    const fresh = card.hidden || card.dataset.k !== String(k);
    card.hidden = false;
    card.dataset.k = String(k);
    card.style.left = `${item.cx + 8}px`;
    card.style.top = `${item.cy - 12}px`;
    card.setAttribute('aria-label', item.label);
    if (fresh) hub.emit('hover-link', item);
    if (editing !== null) return;
    const v = valueOf(k);
    card.replaceChildren(el('span', { text: `${item.kind === 'bias' ? 'Bias' : 'Weight'} is ${Number.isFinite(v) ? v.toPrecision(2) : 'NaN'}` }));
  }

  function hideCard() {
    if (editing !== null || card.hidden) return;
    card.hidden = true;
    delete card.dataset.k;
    hub.emit('hover-link', null);
  }

  function startEditing(k) {
    const item = layout().items[k];
    editing = null;
    showCard(k);
    editing = k;
    const v = valueOf(k);
    const input = el('input', {
      type: 'number', step: 'any', class: 'edit-weight', value: Number.isFinite(v) ? v.toPrecision(2) : '',
      'aria-label': `New value of ${item.label.charAt(0).toLowerCase()}${item.label.slice(1)}`,
    });
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') {
        const value = Number(input.value);
        if (input.value.trim() !== '' && Number.isFinite(value)) {
          const message = { layer: item.layer, to: item.to, value };
          if (item.kind === 'bias') message.bias = true;
          else message.from = item.from;
          hub.emit('set-weight', message);
          stopEditing(true);
        } else input.setAttribute('aria-invalid', 'true');
      } else if (event.key === 'Escape') stopEditing(true);
    });
    input.addEventListener('blur', () => setTimeout(() => editing === k && stopEditing(), 0));
    card.replaceChildren(el('span', { text: `${item.kind === 'bias' ? 'Bias' : 'Weight'}: ` }), input);
    input.focus();
    input.select();
  }

  function stopEditing(refocus = false) {
    if (editing === null) return;
    const k = editing;
    editing = null;
    hideCard();
    if (refocus) layout()?.items[k]?.hit.focus();
  }

  area.addEventListener('mouseover', (event) => {
    const k = event.target.dataset?.k;
    if (k !== undefined && event.target.closest('svg')) showCard(Number(k));
  });
  area.addEventListener('mouseout', (event) => {
    if (event.target.dataset?.k !== undefined) hideCard();
  });
  area.addEventListener('click', (event) => {
    const k = event.target.dataset?.k;
    if (k !== undefined && event.target.closest('svg')) startEditing(Number(k));
  });
  // one tab stop for all neurons and one for all weights: arrows move (roving tabindex), Enter edits
  area.addEventListener('keydown', (event) => {
    const neuron = event.target.dataset?.neuron;
    const move = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
    if (neuron !== undefined && move && layout()) {
      event.preventDefault();
      const next = layout().neurons[(Number(neuron) + move + layout().neurons.length) % layout().neurons.length].node;
      event.target.setAttribute('tabindex', '-1');
      next.setAttribute('tabindex', '0');
      next.focus();
      return;
    }
    const k = event.target.dataset?.k;
    if (k === undefined || !event.target.closest('svg') || !layout()) return;
    const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
    if (step) {
      event.preventDefault();
      const next = (Number(k) + step + layout().items.length) % layout().items.length;
      event.target.setAttribute('tabindex', '-1');
      layout().items[next].hit.setAttribute('tabindex', '0');
      layout().items[next].hit.focus();
    } else if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      startEditing(Number(k));
    }
  });
  area.addEventListener('focusin', (event) => {
    const k = event.target.dataset?.k;
    if (k !== undefined && event.target.closest('svg')) showCard(Number(k));
  });
  area.addEventListener('focusout', (event) => {
    if (event.target.dataset?.k !== undefined) hideCard();
  });


  /** A new frame: the shown value follows the weights (not while editing). */
  function refresh() {
    if (editing === null && card.dataset.k !== undefined && !card.hidden) showCard(Number(card.dataset.k));
  }

  return { card, refresh, stopEditing, valueOf };
}

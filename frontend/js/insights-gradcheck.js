// The gradient check: sends `gradcheck` (the engine compares backprop with central differences
// (F(w + ε) − F(w − ε)) / 2ε on the current network) and shows the worst relative error with a verdict.

import { el } from './ui.js';

/** The verdict for a worst relative error (CS231n's rule of thumb; kinks such as ReLU's allow ~1e-4). */
export function verdict(error) {
  if (error === null || error === undefined || !Number.isFinite(error)) return ['bad', 'could not be measured (the loss is not finite)'];
  if (error < 1e-7) return ['good', 'backprop agrees with the numerical gradient'];
  if (error < 1e-4) return ['good', 'agrees (small differences, e.g. near a kink of ReLU)'];
  if (error < 1e-2) return ['warn', 'suspicious: larger differences than rounding explains'];
  return ['bad', 'the gradient is probably wrong'];
}

export function createGradCheck(hub, session) {
  let pending = null; // the id of the check in flight
  const result = el('output', { class: 'gradcheck-result', 'aria-label': 'Gradient check result', 'aria-live': 'polite' });
  const run = el('button', { type: 'button', class: 'text-button', 'aria-label': 'Check gradients: run the gradient check', onclick: () => start() }, 'Check gradients');
  const element = el('div', { class: 'insight gradcheck', hidden: true },
    el('h3', { text: 'Gradient check' }),
    el('p', { class: 'column-text', text: 'Compares every backprop gradient (up to 1,000) with the central difference (F(w + ε) − F(w − ε)) / 2ε.' }),
    run, result);

  function start() {
    pending = session.send('gradcheck', {});
    if (pending === null) return (result.textContent = 'not connected');
    run.disabled = true;
    result.dataset.verdict = '';
    result.textContent = 'checking…';
  }

  hub.on('gradcheck', (message) => {
    if (message.id !== pending) return;
    pending = null;
    run.disabled = false;
    const [kind, text] = verdict(message.max_relative_error);
    const worst = message.max_relative_error === null ? '–' : message.max_relative_error.toExponential(2);
    result.dataset.verdict = kind;
    result.replaceChildren(
      el('strong', { text: `worst relative error ${worst}` }),
      el('span', { text: ` (${message.checked} of ${message.total_params} parameters): ${text}.` }));
  });
  hub.on('error', (message) => {
    if (message.id !== pending) return;
    pending = null;
    run.disabled = false;
    result.textContent = message.message;
  });

  return {
    element,
    start,
    show(on) {
      element.hidden = !on;
    },
  };
}

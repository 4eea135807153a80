// The "Insights" toggles: gradient norms, confusion matrix (R²/RMSE for regression), backprop walk-through
// and gradient check. Each view stays hidden (and cheap) until its toggle is on; the open ones are kept
// in the link (`insights=gradients,metrics,...`).

import { el } from './ui.js';

/** views: [{name, label, title, view: {element, show(on)}}] */
export function createInsights(hub, state, views) {
  const buttons = views.map(({ name, label, title }) => el('button', {
    type: 'button', class: 'toggle-button', 'aria-pressed': 'false', 'data-insight': name, title,
    onclick: () => toggle(name),
  }, label));
  const element = el('div', { class: 'insights ui-insights', role: 'group', 'aria-label': 'Insights' },
    el('span', { class: 'insights-label', text: 'Insights' }), ...buttons);

  function open() {
    return new Set(state.values.insights);
  }

  function toggle(name) {
    const now = open();
    if (now.has(name)) now.delete(name);
    else now.add(name);
    state.set({ insights: views.map((v) => v.name).filter((n) => now.has(n)) });
  }

  function sync() {
    const now = open();
    views.forEach(({ name, view }, i) => {
      const on = now.has(name);
      buttons[i].setAttribute('aria-pressed', String(on));
      view.show(on);
    });
  }

  /** The metrics toggle names what it shows for the task. */
  function nameMetrics() {
    const metrics = buttons.find((b) => b.dataset.insight === 'metrics');
    if (metrics) metrics.textContent = state.task() === 'regression' ? 'R² / RMSE' : 'Confusion matrix';
  }

  hub.on('state:change', ({ changed }) => {
    if (changed.has('insights')) sync();
    if (changed.has('task') || changed.has('problem')) nameMetrics();
  });
  nameMetrics();
  sync();
  return { element, toggle };
}

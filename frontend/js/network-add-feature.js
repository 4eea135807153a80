// The "add a feature" box under the network's inputs: a formula over x1 and x2 typed here is checked and
// described by the server (formulas.js, POST /api/feature) and added to the run's features; the input node
// and its thumbnail are drawn by network.js like any other feature's.

import { el } from './ui.js';

/** The "add a feature" box under the inputs: Enter sends the formula to the server (POST /api/feature) and adds
 *  it as an input; the server's message (naming the column of the problem) shows beside the box. */
export function addFeatureBox(state) {
  const { max_features: maxFeatures, max_formula_length: maxLength } = state.options.limits;
  const grammar = state.options.formulas;
  const hint = `A formula over ${grammar.variables.join(' and ')} with ${grammar.operators.join(' ')}, parentheses and `
    + `${grammar.functions.map((f) => f.name).join(', ')}`;
  const input = el('input', { type: 'text', class: 'add-feature-input', maxlength: maxLength, spellcheck: 'false',
    placeholder: `add a feature, e.g. ${grammar.example}`, 'aria-label': 'Add a feature', title: hint });
  const message = el('span', { class: 'add-feature-error', role: 'status', 'aria-live': 'polite' });
  const show = (text) => { // the problem and its column beside the box; what is allowed in its title
    message.textContent = text.split('; allowed: ')[0];
    message.title = text;
    input.setAttribute('aria-invalid', String(Boolean(text)));
  };
  async function add(event) {
    event.preventDefault();
    const typed = input.value;
    const text = typed.trim();
    if (!text) return;
    try {
      const feature = await state.formulas.describe(text);
      const active = state.values.features; // read after the answer: another formula may have been added meanwhile
      if (active.includes(feature.name)) return show(`${feature.label} is already an input.`);
      if (active.length >= maxFeatures) return show(`At most ${maxFeatures} inputs: remove one first.`);
      if (feature.dims !== 0 && feature.dims !== state.dims()) return show(`${feature.label} needs x2; this data has only x1.`);
      if (input.value === typed) { // not when the next formula is being typed
        show('');
        input.value = '';
      }
      state.set({ features: [...active, feature.name] });
    } catch (error) {
      if (input.value === typed) show(error.message);
    }
  }
  input.addEventListener('input', () => show(''));
  return el('form', { class: 'add-feature', onsubmit: add }, input, message);
}

// The "Embed" button and its dialog: the <iframe> snippet and the plain link for the current state, with
// checkboxes for the controls to keep, autoplay and the frame's size, and Copy buttons. `target` is the
// page the link opens: 'embed' (the playground's plot) or 'compare' (the compare view).

import { KEEPABLE, DEFAULT_KEEP } from './embed-keep.js';
import { el, nextId } from './ui.js';

const DROP = ['insights', 'controls', 'autoplay']; // page keys an embed link does not carry (or sets anew)

/** The state's link for `target` with `controls=` and `autoplay=`. */
export function embedUrl(state, target, { controls, autoplay }) {
  const parts = state.hashText(DROP).replace(/^#/, '').split('&').filter(Boolean);
  parts.push(`controls=${controls.join(',')}`);
  if (autoplay) parts.push('autoplay=true');
  return new URL(`${target}#${parts.join('&')}`, location.href).href;
}

export function iframeSnippet(url, width, height, title) {
  const escape = (s) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
  return `<iframe src="${escape(url)}" width="${width}" height="${height}" title="${escape(title)}" style="border:0" loading="lazy"></iframe>`;
}

export function createEmbedDialog(hub, state, { target = 'embed' } = {}) {
  const checks = KEEPABLE.map(([name, label]) => {
    const input = el('input', { type: 'checkbox', value: name, checked: DEFAULT_KEEP.includes(name), 'aria-label': `Keep ${label}`, onchange: () => update() });
    return { name, input, element: el('label', { class: 'control check' }, input, el('span', { text: label })) };
  });
  const autoplay = el('input', { type: 'checkbox', 'aria-label': 'Autoplay when shown', onchange: () => update() });
  const size = (label, value) => {
    const id = nextId('num');
    const input = el('input', { id, type: 'number', min: 240, max: 2000, step: 10, value, 'aria-label': label, onchange: () => update() });
    return { input, element: el('div', { class: 'control number' }, el('label', { for: id, text: label }), input) };
  };
  const width = size('Frame width', 480);
  const height = size('Frame height', 360);
  const code = el('textarea', { class: 'embed-code', readOnly: true, rows: 4, 'aria-label': 'Embed code' });
  const link = el('input', { class: 'embed-link', readOnly: true, 'aria-label': 'Embed link' });
  const open = el('a', { class: 'text-button', target: '_blank', rel: 'noopener', text: 'Open' });
  const copy = (field, what) => el('button', { type: 'button', class: 'text-button', 'aria-label': `Copy ${what}`, onclick: () => copyText(field, what) }, `Copy ${what}`);
  const dialog = el('dialog', { class: 'embed-dialog', 'aria-label': 'Embed this setup' },
    el('h2', { text: 'Embed this setup' }),
    el('p', { class: 'column-text', text: 'Paste the code into slides or any HTML page. The frame connects only once it is on screen; where iframes are not allowed, export an animated GIF instead.' }),
    el('fieldset', { class: 'keep' }, el('legend', { text: 'Controls to keep' }), ...checks.map((c) => c.element)),
    el('div', { class: 'embed-options' }, el('label', { class: 'control check' }, autoplay, el('span', { text: 'Start training when shown (autoplay)' })), width.element, height.element),
    el('label', { class: 'embed-field' }, el('span', { text: 'Code' }), code), copy(code, 'code'),
    el('label', { class: 'embed-field' }, el('span', { text: 'Link' }), link), copy(link, 'link'), open,
    el('div', { class: 'dialog-buttons' }, el('button', { type: 'button', class: 'text-button', 'aria-label': 'Close', onclick: () => dialog.close() }, 'Close')));
  const button = el('button', { type: 'button', class: 'tool-button ui-embed', 'aria-label': 'Embed', title: 'Embed this setup in slides or a web page', onclick: () => show() }, 'Embed');

  function update() {
    const controls = checks.filter((c) => c.input.checked).map((c) => c.name);
    const url = embedUrl(state, target, { controls, autoplay: autoplay.checked });
    link.value = url;
    open.href = url;
    code.value = iframeSnippet(url, width.input.value, height.input.value, `nnplay: ${state.datasetName()}`);
  }

  async function copyText(field, what) {
    try {
      await navigator.clipboard.writeText(field.value);
    } catch {
      field.select();
      document.execCommand('copy');
    }
    hub.emit('notice', `${what} copied`);
  }

  function show() {
    update();
    if (!dialog.isConnected) document.body.append(dialog);
    dialog.showModal();
  }

  hub.on('state:change', () => dialog.open && update());
  return { button, dialog, show, update };
}

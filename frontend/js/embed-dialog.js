// The "Embed" button and its dialog: the <iframe> snippet and the plain link for the current state, with
// checkboxes for the controls to keep, autoplay and the frame's size, and Copy buttons. `target` is the
// page the link opens: 'embed' (the playground's plot) or 'compare' (the compare view). A size too small for
// the controls kept is refused with the reason (embed-sizes.js); the snippet carries the host listener
// (embed-host.js) that lets a deck's keys work after a click inside the embed.

import { KEEPABLE, DEFAULT_KEEP } from './embed-keep.js';
import { SIZES, DEFAULT_SIZE, MIN_WIDTH, MIN_HEIGHT, sizeProblem } from './embed-sizes.js';
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

/** The host page's side of embed-keys.js and embed-host.js (once per page and nnplay server, however many
 *  embeds):
 *  - a key the embed hands over is given back to the page: focus leaves the frame, and the key is dispatched on
 *    the document, where reveal.js and other decks listen; a plain page scrolls as the key would have, unless a
 *    handler took it;
 *  - each embed is told whether its frame is shown (checkVisibility: a deck's hidden slide is often in place,
 *    only transparent; checked four times a second) and whether the page is a speaker view's preview
 *    (`?receiver`, reveal.js): it runs only while shown, and never in a preview. */
export function hostListener(origin) {
  return `<script>/* nnplay embeds: slide keys pressed inside an embed drive this page; an embed runs only while shown */
(function (origin) { var hosts = window.nnplayHosts = window.nnplayHosts || {}; if (hosts[origin]) return; hosts[origin] = true;
  var frames = [], preview = /[?&]receiver/.test(location.search);
  function tell(f) {
    var shown = !f.el.checkVisibility || f.el.checkVisibility({ opacityProperty: true, visibilityProperty: true });
    var win = f.el.contentWindow; // null once the frame is removed
    if (win && shown !== f.shown) win.postMessage({ nnplay: 'host', preview: preview, shown: f.shown = shown }, origin);
  }
  setInterval(function () { frames.forEach(tell); }, 250);
  addEventListener('message', function (e) {
    var d = e.data || {}; if (e.origin !== origin) return;
    if (d.nnplay === 'hello') [].forEach.call(document.querySelectorAll('iframe'), function (el) {
      if (el.contentWindow !== e.source) return;
      var f = frames.filter(function (g) { return g.el === el; })[0] || frames[frames.push({ el: el }) - 1];
      f.shown = null; tell(f);
    });
    if (d.nnplay !== 'key') return;
    if (document.activeElement) document.activeElement.blur();
    var k = new KeyboardEvent('keydown', { key: d.key, code: d.code, keyCode: d.keyCode, which: d.keyCode, shiftKey: d.shiftKey, bubbles: true, cancelable: true });
    var by = { ' ': 0.9, PageDown: 0.9, PageUp: -0.9, ArrowDown: 0.06, ArrowUp: -0.06 }[d.key] || 0;
    if (document.dispatchEvent(k) && d.scroll) scrollBy(0, by * (d.shiftKey ? -1 : 1) * innerHeight);
  });
})(${JSON.stringify(origin)});
</script>`;
}

export function createEmbedDialog(hub, state, { target = 'embed' } = {}) {
  const checks = KEEPABLE.map(([name, label]) => {
    const input = el('input', { type: 'checkbox', value: name, checked: DEFAULT_KEEP.includes(name), 'aria-label': `Keep ${label}`, onchange: () => update() });
    return { name, input, element: el('label', { class: 'control check' }, input, el('span', { text: label })) };
  });
  const autoplay = el('input', { type: 'checkbox', 'aria-label': 'Autoplay when shown', onchange: () => update() });
  const size = (label, value, min) => {
    const id = nextId('num');
    const input = el('input', { id, type: 'number', min, max: 2000, step: 10, value, 'aria-label': label, onchange: () => update() });
    return { input, element: el('div', { class: 'control number' }, el('label', { for: id, text: label }), input) };
  };
  const width = size('Frame width', DEFAULT_SIZE[0], MIN_WIDTH);
  const height = size('Frame height', DEFAULT_SIZE[1], MIN_HEIGHT);
  const presetId = nextId('sel');
  const presets = el('select', { id: presetId, 'aria-label': 'Frame size', onchange: () => choosePreset() },
    ...SIZES.map(([w, h]) => el('option', { value: `${w}x${h}`, text: `${w}×${h}`, selected: w === DEFAULT_SIZE[0] && h === DEFAULT_SIZE[1] })),
    el('option', { value: 'custom', text: 'Custom' }));
  const problem = el('p', { class: 'message offline embed-problem', role: 'alert', hidden: true });
  const code = el('textarea', { class: 'embed-code', readOnly: true, rows: 4, 'aria-label': 'Embed code' });
  const link = el('input', { class: 'embed-link', readOnly: true, 'aria-label': 'Embed link' });
  const open = el('a', { class: 'text-button', target: '_blank', rel: 'noopener', text: 'Open' });
  const copy = (field, what) => el('button', { type: 'button', class: 'text-button', 'aria-label': `Copy ${what}`, onclick: () => copyText(field, what) }, `Copy ${what}`);
  const copyCode = copy(code, 'code');
  const copyLink = copy(link, 'link');
  const dialog = el('dialog', { class: 'embed-dialog', 'aria-label': 'Embed this setup' },
    el('h2', { text: 'Embed this setup' }),
    el('p', { class: 'column-text', text: 'Paste the code into slides or any HTML page. The frame connects only once it is on screen; where iframes are not allowed, export an animated GIF instead.' }),
    el('fieldset', { class: 'keep' }, el('legend', { text: 'Controls to keep' }), ...checks.map((c) => c.element)),
    el('div', { class: 'embed-options' }, el('label', { class: 'control check' }, autoplay, el('span', { text: 'Start training when shown (autoplay)' })),
      el('div', { class: 'control' }, el('label', { for: presetId, text: 'Frame size' }), presets), width.element, height.element),
    problem,
    el('label', { class: 'embed-field' }, el('span', { text: 'Code' }), code), copyCode,
    el('label', { class: 'embed-field' }, el('span', { text: 'Link' }), link), copyLink, open,
    el('div', { class: 'dialog-buttons' }, el('button', { type: 'button', class: 'text-button', 'aria-label': 'Close', onclick: () => dialog.close() }, 'Close')));
  const button = el('button', { type: 'button', class: 'tool-button ui-embed', 'aria-label': 'Embed', title: 'Embed this setup in slides or a web page', onclick: () => show() }, 'Embed');

  function choosePreset() {
    if (presets.value === 'custom') return width.input.focus();
    [width.input.value, height.input.value] = presets.value.split('x');
    update();
  }

  /** The code and link for the choices, or none and the reason when the frame is too small for them. */
  function update() {
    const controls = checks.filter((c) => c.input.checked).map((c) => c.name);
    const [w, h] = [Number(width.input.value), Number(height.input.value)];
    presets.value = SIZES.some(([a, b]) => a === w && b === h) ? `${w}x${h}` : 'custom';
    const refused = sizeProblem(controls, w, h);
    problem.hidden = !refused;
    problem.textContent = refused ?? '';
    for (const button of [copyCode, copyLink]) button.disabled = Boolean(refused);
    const url = embedUrl(state, target, { controls, autoplay: autoplay.checked });
    link.value = refused ? '' : url;
    if (refused) open.removeAttribute('href');
    else open.href = url;
    code.value = refused ? '' : `${iframeSnippet(url, w, h, `nnplay: ${state.datasetName()}`)}\n${hostListener(location.origin)}`;
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

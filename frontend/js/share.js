// "Copy link" and "Short link": the setup as a link to paste, and as a short one kept by the server
// (POST /api/setups -> /s/ID, read aloud in a lecture; /s/ID/embed opens it in the embed). Every setup
// travels in its link, drawn points included (state-points.js); a link longer than LONG_LINK characters is
// shared as a short link instead, since mail, chat and slide tools cut or mangle long URLs.

import { el } from './ui.js';

export const LONG_LINK = 2000; // characters: the longest URL every common tool passes on whole

/** POST the setup's link (`hash`); resolves to the server's answer {id, url, embed_url, link}. */
export async function makeShortLink(hash) {
  const response = await fetch('api/setups', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ link: hash }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = Array.isArray(body.detail) ? body.detail.map((d) => d.msg).join('; ') : body.detail;
    throw new Error(detail || `the server answered ${response.status}`);
  }
  return body;
}

/** Copy `text` to the clipboard; false where the page may not (an insecure page, a test browser): the caller
 *  shows the text selected instead. */
export async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/** createShare(hub, state, {slides}): `slides` false where /s/ID/embed is not this page's embed (the compare
 *  page, whose embed is itself: its Embed dialog gives the link for slides). */
export function createShare(hub, state, { slides = true } = {}) {
  const field = el('input', { class: 'share-link', readOnly: true, hidden: true, 'aria-label': 'Link to share',
    onfocus: () => field.select() });
  const copyLink = el('button', { type: 'button', class: 'tool-button ui-share', title: 'Copy a link that opens this setup',
    onclick: () => share(false) }, 'Copy link');
  const shortLink = el('button', { type: 'button', class: 'tool-button ui-share', title: 'A short link, kept by this server, to read aloud',
    onclick: () => share(true) }, 'Short link');
  const element = el('div', { class: 'share' }, copyLink, shortLink, field);

  /** Show and copy the setup's link: the short one when asked, or when the long one is too long. */
  async function share(short) {
    const hash = state.hashText();
    const long = new URL(hash, location.href).href;
    let text = long;
    let what = 'Link';
    let embed = '';
    if (short || long.length > LONG_LINK) {
      try {
        const made = await makeShortLink(hash);
        text = new URL(made.url, location.href).href;
        if (slides) embed = ` (in slides: ${new URL(made.embed_url, location.href).href})`;
        what = short ? 'Short link' : `This link is ${long.length} characters long, so its short link`;
      } catch (error) {
        return hub.emit('notice', `No short link: ${error.message}`);
      }
    }
    field.value = text;
    field.hidden = false;
    field.size = Math.min(text.length, 48);
    const copied = await copy(text);
    field.focus();
    hub.emit('notice', `${what} ${copied ? 'copied' : 'is selected: copy it'}: ${text}${embed}`);
  }

  hub.on('state:change', () => (field.hidden = true)); // the shown link is of the setup before the change
  return { element, share };
}

// A small toast area for the server's `error` replies and other notices (role=status, polite).

import { el } from './ui.js';

export function createNotices(hub) {
  const element = el('div', { class: 'notices', role: 'status', 'aria-live': 'polite', 'aria-label': 'Notices' });
  function show(text, kind = 'info') {
    const item = el('div', { class: `notice ${kind}` }, el('span', { text }),
      el('button', { type: 'button', class: 'close', 'aria-label': 'Dismiss', onclick: () => item.remove() }, '×'));
    element.append(item);
    while (element.children.length > 3) element.firstChild.remove();
    setTimeout(() => item.remove(), 8000);
  }
  hub.on('notice', (text) => show(text));
  hub.on('error', (message) => show(message.message ?? 'the server refused that', 'error'));
  return { element, show };
}

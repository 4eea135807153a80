// Keys in an embed on a slide: the deck's navigation keys pressed inside the frame go to the host page
// (posted to the parent; the snippet's listener dispatches them there), so a click on Play, the plot or a
// menu never takes the presenter's keys away. The embed keeps only what the focused control needs while it
// is being used: every key while typing in a field (Esc ends the typing), and, for a control reached with
// the keyboard (Tab), the keys that operate it (Space presses a button, arrows change a menu or a slider).
// A control focused by a click keeps none, so Space never re-presses the button just clicked.

export const HOST_KEYS = new Set(['ArrowRight', 'ArrowLeft', 'ArrowUp', 'ArrowDown', 'PageDown', 'PageUp', 'Home', 'End',
  ' ', 'n', 'p', 'N', 'P', 'Escape', 'b', 'B', '.']);
const ARROWS = ['ArrowRight', 'ArrowLeft', 'ArrowUp', 'ArrowDown', 'PageDown', 'PageUp', 'Home', 'End'];
const TYPED = /^(text|number|search|email|url|tel|password)$/;

/** The host keys `element` uses itself: all of them while text is typed in it; when reached by keyboard,
 *  those that operate it (a menu uses letters and arrows too). */
export function keysUsedBy(element, byKeyboard) {
  const tag = element?.tagName;
  const type = element?.type ?? '';
  if (tag === 'TEXTAREA' || element?.isContentEditable || (tag === 'INPUT' && TYPED.test(type))) return 'all';
  if (!byKeyboard || !element || element === document.body) return new Set();
  if (tag === 'SELECT') return 'all';
  if (tag === 'INPUT' && type === 'range') return new Set(ARROWS);
  if (tag === 'BUTTON' || tag === 'INPUT' || element.getAttribute('role') === 'button') return new Set([' ']);
  return new Set(); // a focusable picture (a neuron, the plot): nothing of the deck's
}

/** Hand the deck's keys to the parent page; returns nothing when the embed is not in a frame. */
export function handKeysToHost() {
  if (window.parent === window) return;
  let byKeyboard = false; // how the focused element got its focus
  window.addEventListener('pointerdown', () => (byKeyboard = false), true);
  window.addEventListener('keydown', (event) => {
    if (event.key === 'Tab') byKeyboard = true;
    if (!HOST_KEYS.has(event.key) || event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    const focused = document.activeElement;
    const used = keysUsedBy(focused, byKeyboard);
    if (used === 'all' || used.has(event.key)) {
      if (event.key === 'Escape' && used === 'all') focused.blur(); // Esc ends the typing; the next Esc is the deck's
      return;
    }
    event.preventDefault();
    event.stopPropagation();
    const { key, code, keyCode, shiftKey } = event;
    window.parent.postMessage({ nnplay: 'key', key, code, keyCode, shiftKey }, '*');
  }, true);
}

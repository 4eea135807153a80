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

const ALL = { has: () => true };
const NONE = new Set();
const typing = (element) => element?.tagName === 'TEXTAREA' || element?.isContentEditable === true
  || (element?.tagName === 'INPUT' && TYPED.test(element.type));

/** The host keys a focused `element` acts on itself (its default action): every key while text is typed in
 *  it or a menu is focused (arrows, Space and letters choose), arrows on a slider, Space on a button or a box,
 *  and the keys an element declares in `aria-keyshortcuts`. */
export function keysActedOn(element) {
  const tag = element?.tagName;
  if (typing(element) || tag === 'SELECT') return ALL;
  if (tag === 'INPUT' && element.type === 'range') return new Set(ARROWS);
  if (tag === 'BUTTON' || tag === 'INPUT' || element?.getAttribute?.('role') === 'button') return new Set([' ']);
  const shortcuts = element?.getAttribute?.('aria-keyshortcuts'); // the plot while points are drawn by keyboard
  if (shortcuts) return new Set(shortcuts.split(/\s+/).map((key) => (key === 'Space' ? ' ' : key)));
  return NONE; // the page itself, or a focusable picture (a neuron, the plot): nothing of the deck's
}

/** Hand the deck's keys to the parent page; does nothing when the embed is not in a frame. */
export function handKeysToHost() {
  if (window.parent === window) return;
  let byKeyboard = false; // how the focused element got its focus
  window.addEventListener('pointerdown', () => (byKeyboard = false), true);
  window.addEventListener('keydown', (event) => {
    if (event.key === 'Tab') byKeyboard = true;
    if (!HOST_KEYS.has(event.key) || event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    const focused = document.activeElement;
    const acts = keysActedOn(focused);
    if ((byKeyboard || typing(focused)) && acts.has(event.key)) {
      if (event.key === 'Escape') focused.blur(); // Esc ends the typing or the menu; the next Esc is the deck's
      return;
    }
    // a control focused by a click would act on the key (Space would press the button again): the key is
    // the host's, which scrolls in its place; other keys keep their default (scrolling carries on into the host)
    const taken = acts.has(event.key);
    if (taken) event.preventDefault();
    event.stopPropagation();
    const { key, code, keyCode, shiftKey } = event;
    window.parent.postMessage({ nnplay: 'key', key, code, keyCode, shiftKey, scroll: taken }, '*');
  }, true);
}

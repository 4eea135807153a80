// What an embed learns from the page around it (postMessage; nothing when it is not in a frame):
// - the snippet's host listener (embed-dialog.js hostListener) answers a 'hello', and tells again on every
//   change, whether the frame is shown (a deck's hidden slide may sit in view, transparent) and whether the
//   page is a speaker view's preview (reveal.js `?receiver`): a preview never opens a session;
// - reveal.js posts 'slide:start' and 'slide:stop' to the iframes of a slide it shows and leaves: leaving a
//   slide pauses its embed at once, also where the host has no listener.
// Until the host answers (or ANSWER_MS passes: a page without the listener) the embed waits to start.

const ANSWER_MS = 400;

/** `{allowsShow, preview, onChange(fn)}`: allowsShow is false in a preview, while the host says the frame is
 *  hidden, after 'slide:stop' until 'slide:start', and while the host may still answer. */
export function listenToHost() {
  const framed = window.parent !== window;
  let waiting = framed;
  let preview = false;
  let slideLeft = false;
  let hidden = false;
  const listeners = [];
  const changed = () => listeners.forEach((fn) => fn());
  window.addEventListener('message', (event) => {
    if (event.source !== window.parent) return;
    const data = event.data;
    if (data === 'slide:stop' || data === 'slide:start') slideLeft = data === 'slide:stop';
    else if (data?.nnplay === 'host') (preview = data.preview === true), (hidden = data.shown === false), (waiting = false);
    else return;
    changed();
  });
  if (framed) {
    window.parent.postMessage({ nnplay: 'hello' }, '*');
    setTimeout(() => {
      waiting = false;
      changed();
    }, ANSWER_MS);
  }
  return {
    get allowsShow() {
      return !waiting && !preview && !hidden && !slideLeft;
    },
    get preview() {
      return preview;
    },
    onChange(fn) {
      listeners.push(fn);
    },
  };
}

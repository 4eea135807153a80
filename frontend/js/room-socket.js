// The lecturer's socket of a room (docs/protocol.md, "Rooms"): `/ws/rooms/{code}`, first message
// `{"type": "lecturer", "key"}`. JSON messages go on the hub as 'room:<type>' ('room:room', 'room:error',
// 'room:watch', 'room:snapshot', ...); binary ones are decoded by the playground's own decoder
// (session-socket.js) and go out as 'room:<header type>' ('room:tiles', 'room:frame', 'room:data').
// Reconnects with backoff, except after a refused key (1008) or a room that is gone.

import { decode } from './session-socket.js';

/** The URL of a room's lecturer socket, beside the page (a prefix the server is served under is kept). */
export function lecturerUrl(code) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const base = new URL('.', document.baseURI).pathname;
  return `${scheme}//${location.host}${base}ws/rooms/${encodeURIComponent(code)}`;
}

/** createLecturerSocket(hub, code, key). Emits 'room:status' ('connecting' | 'open' | 'reconnecting' |
 *  'closed', detail) besides the messages. */
export function createLecturerSocket(hub, code, key, { url = lecturerUrl(code) } = {}) {
  let ws = null;
  let attempt = 0;
  let timer = null;
  let nextId = 1;
  let stopped = false;
  let open = false;

  const status = (value, detail = '') => hub.emit('room:status', { status: value, detail });

  function connect() {
    clearTimeout(timer);
    status(attempt ? 'reconnecting' : 'connecting');
    const current = new WebSocket(url);
    ws = current;
    current.binaryType = 'arraybuffer';
    current.onopen = () => current.send(JSON.stringify({ type: 'lecturer', key }));
    current.onmessage = (event) => {
      if (current !== ws) return;
      if (typeof event.data !== 'string') {
        const message = decode(event.data);
        hub.emit(`room:${message.header.type}`, message);
        return;
      }
      const message = JSON.parse(event.data);
      if (message.type === 'room' && !open) {
        open = true;
        attempt = 0;
        status('open');
      }
      hub.emit(`room:${message.type}`, message);
    };
    current.onclose = (event) => {
      if (current !== ws) return;
      ws = null;
      open = false;
      // a wrong key, or a room that ended or expired: trying again cannot help
      if (stopped || [1000, 1008, 4000, 4404].includes(event.code)) {
        return status('closed', event.reason || `code ${event.code}`);
      }
      const delay = Math.min(8000, 250 * 2 ** attempt) * (0.8 + 0.4 * Math.random());
      attempt += 1;
      status('reconnecting', event.reason || `code ${event.code}`);
      timer = setTimeout(connect, delay);
    };
  }

  /** Send a command; its id, or null while the socket is not open (nothing is queued). */
  function send(type, fields = {}) {
    if (!ws || !open || ws.readyState !== WebSocket.OPEN) return null;
    const id = nextId++;
    ws.send(JSON.stringify({ type, id, ...fields }));
    return id;
  }

  connect();
  return {
    send,
    get open() {
      return open;
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
      ws?.close(1000, 'page closed');
    },
  };
}

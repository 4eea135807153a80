// The live session's WebSocket (docs/protocol.md): JSON commands out; JSON replies and packed binary
// `frame` / `data` messages in. Reconnects with exponential backoff; on every (re)connect it emits
// 'socket:open' so the session layer can restore the page's setup on the fresh server session.

const MAGIC = 'NNP1';
const TYPES = { uint8: Uint8Array, float32: Float32Array, int32: Int32Array, uint32: Uint32Array };
const decoder = new TextDecoder();

/** Unpack a binary message: 'NNP1', uint32 LE header length H, H bytes of JSON header, then arrays at
 *  8-byte aligned offsets. Returns {header, arrays}; each array is a typed view (no copy) with
 *  .shape, and quantised uint8 arrays also carry .lo and .hi (value = lo + q (hi − lo) / 254, 255 = NaN). */
export function decode(buffer) {
  const bytes = new Uint8Array(buffer);
  if (bytes.length < 8 || String.fromCharCode(...bytes.subarray(0, 4)) !== MAGIC) {
    throw new Error('not an NNP1 message');
  }
  const headerLength = new DataView(buffer).getUint32(4, true);
  const header = JSON.parse(decoder.decode(bytes.subarray(8, 8 + headerLength)));
  const arrays = {};
  for (const spec of header.arrays ?? []) {
    const Type = TYPES[spec.dtype];
    if (!Type) throw new Error(`unknown dtype ${spec.dtype}`);
    const view = new Type(buffer, spec.offset, spec.nbytes / Type.BYTES_PER_ELEMENT);
    view.shape = spec.shape;
    if ('lo' in spec) {
      view.lo = spec.lo;
      view.hi = spec.hi;
    }
    arrays[spec.name] = view;
  }
  return { header, arrays };
}

/** Value of byte q of a quantised array. */
export function dequantize(q, lo, hi) {
  return q === 255 ? NaN : lo + (q * (hi - lo)) / 254;
}

/** The connection. Emits on the hub: 'socket:status' ('waiting' | 'connecting' | 'open' | 'reconnecting' |
 *  'idle' | 'suspended' | 'closed'), 'socket:connected' (the socket is open, before the server's `hello`: a
 *  room's student sends `join` then), 'socket:open' (hello message), 'socket:message' (every JSON message),
 *  'frame' and 'data' (decoded), and per JSON type: 'hello', 'state', 'error', 'trace', 'gradcheck', 'room'.
 *  With `lazy: true` nothing is opened until `start()` (an embed connects only once it is on screen). `url`
 *  may be a function, asked at every (re)connect. `suspend()` / `resume()`: closed by the page's choice. */
export function createSocket(hub, { url = defaultUrl(), lazy = false } = {}) {
  let ws = null;
  let started = false;
  let attempt = 0;
  let timer = null;
  let nextId = 1;
  let stopped = false;
  let suspended = false; // closed by the page (suspend) until resume()
  let status = 'connecting';

  function setStatus(value, detail = '') {
    status = value;
    hub.emit('socket:status', { status: value, detail });
  }

  function connect() {
    clearTimeout(timer);
    setStatus(attempt ? 'reconnecting' : 'connecting');
    ws = new WebSocket(typeof url === 'function' ? url() : url);
    ws.binaryType = 'arraybuffer';
    const current = ws;
    ws.onopen = () => current === ws && hub.emit('socket:connected');
    ws.onmessage = (event) => {
      if (current !== ws) return;
      if (typeof event.data === 'string') onJson(JSON.parse(event.data));
      else onBinary(event.data);
    };
    ws.onclose = (event) => {
      if (current !== ws) return;
      ws = null;
      if (stopped) return setStatus('closed');
      if (event.code === 1000 && /idle/.test(event.reason)) {
        // the server closed a quiet session: come back when the user does
        setStatus('idle', 'closed after a long pause; any click or key reconnects');
        const wake = () => {
          for (const name of ['pointerdown', 'keydown']) window.removeEventListener(name, wake, true);
          attempt = 0;
          if (!suspended) connect(); // resume() connects a suspended one
        };
        for (const name of ['pointerdown', 'keydown']) window.addEventListener(name, wake, true);
        return;
      }
      const delay = Math.min(8000, 250 * 2 ** attempt) * (0.8 + 0.4 * Math.random());
      attempt += 1;
      setStatus('reconnecting', event.reason || `code ${event.code}`);
      timer = setTimeout(connect, delay);
    };
  }

  function onJson(message) {
    if (message.type === 'hello') {
      attempt = 0;
      setStatus('open');
      hub.emit('socket:open', message);
    }
    hub.emit('socket:message', message);
    hub.emit(message.type, message);
  }

  function onBinary(buffer) {
    const message = decode(buffer);
    hub.emit(message.header.type, message);
  }

  /** Send a command; returns its id, or null when the socket is not open (the session layer
   *  restores everything on reconnect, so a lost command is not retried). */
  function send(type, fields = {}) {
    if (!ws || ws.readyState !== WebSocket.OPEN) return null;
    const id = nextId++;
    ws.send(JSON.stringify({ type, id, ...fields }));
    return id;
  }

  function start() {
    if (started) return;
    started = true;
    connect();
  }

  if (lazy) setStatus('waiting', 'connects when the frame is on screen');
  else start();
  return {
    send,
    start,
    get started() {
      return started;
    },
    get status() {
      return status;
    },
    get open() {
      return status === 'open';
    },
    /** Close the connection by the page's choice (code 1000, reason "suspended") and stay closed: the server
     *  ends its session. `resume()` connects again; the session layer restores the run as on any reconnect. */
    suspend() {
      if (!started || stopped || suspended) return;
      suspended = true;
      clearTimeout(timer);
      const current = ws;
      ws = null; // its close event is not a drop: nothing reconnects
      current?.close(1000, 'suspended');
      setStatus('suspended', 'closed while not shown; reconnects when shown');
    },
    resume() {
      if (!suspended || stopped) return;
      suspended = false;
      attempt = 0;
      connect();
    },
    get suspended() {
      return suspended;
    },
    /** Drop the connection as a network failure would (from the console or a test). */
    drop() {
      ws?.close(4000, 'dropped by client');
    },
    stop() {
      stopped = true;
      ws?.close(1000, 'page closed');
    },
  };
}

/** The live-session socket beside the page (`query`: e.g. `?room=K7QM-X3PA`). */
export function defaultUrl(query = '') {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const base = new URL('.', document.baseURI).pathname; // served under a prefix? keep it
  return `${scheme}//${location.host}${base}ws${query}`;
}

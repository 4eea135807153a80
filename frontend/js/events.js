// The page's one event hub: modules talk through named events, never through each other's internals.
//   hub.on('frame', fn)  hub.emit('frame', payload)  hub.off('frame', fn)

export function createHub() {
  const listeners = new Map();
  return {
    on(name, fn) {
      if (!listeners.has(name)) listeners.set(name, new Set());
      listeners.get(name).add(fn);
      return () => listeners.get(name).delete(fn);
    },
    off(name, fn) {
      listeners.get(name)?.delete(fn);
    },
    emit(name, payload) {
      for (const fn of listeners.get(name) ?? []) {
        try {
          fn(payload);
        } catch (error) {
          console.error(`listener of '${name}' failed`, error);
        }
      }
    },
  };
}

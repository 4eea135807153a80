// Custom points live in localStorage (too long for a link): one list per problem type, and whether the
// classification points are binary. A broken entry is replaced; a full or disabled storage only means the
// points live in this page.

const STORAGE_KEY = 'nnplay.custom';

export function safeStorage() {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

/** Keep only [x1, x2, label] triples of finite numbers. */
export function validPoints(list) {
  return Array.isArray(list) ? list.filter((p) => Array.isArray(p) && p.length === 3 && p.every(Number.isFinite)) : [];
}

export function loadCustom(storage) {
  try {
    const data = JSON.parse(storage?.getItem(STORAGE_KEY) ?? 'null');
    if (data && typeof data === 'object') {
      return { classification: validPoints(data.classification), regression: validPoints(data.regression), binary: data.binary !== false };
    }
  } catch {
    /* a broken entry is replaced */
  }
  return { classification: [], regression: [], binary: true };
}

export function saveCustom(storage, custom) {
  try {
    storage?.setItem(STORAGE_KEY, JSON.stringify(custom));
  } catch {
    /* storage full or disabled: the points still live in this page */
  }
}

// Files the page hands out or reads: downloads of a Blob or text, CSV text, reading a chosen file.

import { el } from './ui.js';

/** Save `content` (Blob or string) as `name`. */
export function download(name, content, type = 'text/plain') {
  const blob = content instanceof Blob ? content : new Blob([content], { type });
  const url = URL.createObjectURL(blob);
  const link = el('a', { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

const cell = (v) => (v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v)) ? '' : String(v));

/** CSV text: a header row and one line per row (non-finite numbers as empty cells). */
export function toCsv(header, rows) {
  return [header.join(','), ...rows.map((row) => row.map(cell).join(','))].join('\n') + '\n';
}

/** A file name for the current setup, e.g. "nnplay-spiral-epoch120.png". */
export function fileName(state, epoch, extension) {
  return `nnplay-${state.datasetName()}-epoch${epoch}.${extension}`;
}

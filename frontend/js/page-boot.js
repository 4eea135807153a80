// What every page (playground, compare, embed, room) does first: the event hub, the notices, the server's
// options (GET /api/options, the one source of limits, defaults and palette) and its palette.
import { createHub } from './events.js';
import { createNotices } from './notices.js';
import { usePalette } from './colors.js';

/** bootPage(): `{ hub, notices, options }` once GET /api/options has answered, with the server's palette in use
 *  (before anything is drawn). */
export async function bootPage() {
  const hub = createHub();
  const notices = createNotices(hub);
  document.body.append(notices.element);
  const response = await fetch('api/options');
  if (!response.ok) throw new Error(`GET /api/options failed: ${response.status}`);
  const options = await response.json();
  usePalette(options.palette);
  return { hub, notices, options };
}

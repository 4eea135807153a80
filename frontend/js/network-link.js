// A trained network as a link: "Share network (link)" keeps the network (the Export menu's JSON) on the
// server (POST /api/networks -> /n/ID), and /n/ID opens the playground as /?network=ID, which loads it
// before the session starts (config applied, weights and epoch restored, paused).

import { parseNetworkFile } from './exports.js';

/** The id of the network this page was opened with (/?network=ID), or null. */
export function networkId(where = location) {
  return new URLSearchParams(where.search).get('network');
}

/** The network stored under `id` as {config, weights, epoch}; throws with a readable message (an unknown or
 *  expired id: the server's 404 says so). */
export async function fetchNetwork(id) {
  const response = await fetch(`api/networks/${encodeURIComponent(id)}`);
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Error(`No network loaded: ${body.detail ?? `the server answered ${response.status}`}`);
  }
  return parseNetworkFile(await response.text());
}

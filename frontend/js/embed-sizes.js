// The frame sizes the Embed dialog offers, and which combinations of size and kept controls it refuses: below
// these the plot or the network diagram would be too small to read (tests/frontend/test_embed_sizes.py loads
// every option at every size here and checks the plot's size, that nothing is cut off and the text size).

export const SIZES = [[320, 240], [480, 360], [640, 360], [640, 480], [800, 450], [800, 600], [960, 540], [1024, 768], [1280, 720]];
export const DEFAULT_SIZE = [480, 360];
export const MIN_WIDTH = 320;
export const MIN_HEIGHT = 240;
const NETWORK_MIN = [480, 360]; // the diagram beside the plot, both still readable
const MANY = 6; // kept controls (besides the diagram) that fit beside any plot from 320×240 up
const MANY_MIN = [800, 600]; // more than MANY: rows of controls above the plot need this room
const CROWDED_MIN = [1024, 768]; // the diagram and more than MANY controls

const atLeast = (width, height, [w, h]) => width >= w && height >= h;

/** Why `controls` cannot be kept in a `width`×`height` frame, or null when they can. */
export function sizeProblem(controls, width, height) {
  if (!(width >= MIN_WIDTH && height >= MIN_HEIGHT)) return `An embed needs at least ${MIN_WIDTH}×${MIN_HEIGHT} px.`;
  const network = controls.includes('network');
  const others = controls.filter((name) => name !== 'network').length;
  if (network && others > MANY && !atLeast(width, height, CROWDED_MIN)) {
    return `The network diagram with ${others} controls needs at least ${CROWDED_MIN.join('×')} px: keep fewer controls or choose a larger frame.`;
  }
  if (network && !atLeast(width, height, NETWORK_MIN)) {
    return `The network diagram needs at least ${NETWORK_MIN.join('×')} px to stay readable beside the plot.`;
  }
  if (others > MANY && !atLeast(width, height, MANY_MIN)) {
    return `${others} controls need at least ${MANY_MIN.join('×')} px (up to ${MANY} fit in any size): keep fewer or choose a larger frame.`;
  }
  return null;
}

// Drawing a frame onto the network's layout (network.js): link colours and widths by weight, bias
// squares, the neurons' thumbnails and the output's. Only links whose shade or width changed are restyled.

import { shadeIndex, valueColor } from './colors.js';
import { paintGrid, paintStrip } from './output-heatmap.js';

/** Width of a link: 1–10 px for |w| from 0 to 5 (clamped), as the playground. */
export const linkWidth = (w) => (Number.isFinite(w) ? 1 + (9 * Math.min(Math.abs(w), 5)) / 5 : 1);

/** Repaint `net` (a layout) from `frame`; false when the frame's shape is not the layout's. */
export function paintNetwork(net, frame) {
  const { header, arrays } = frame;
  if (!header.sizes || header.sizes.join() !== net.sizes.join()) return false;
  if (arrays.weights) paintLinks(net, arrays.weights);
  const thumbs = arrays.neurons;
  if (thumbs && thumbs.shape) {
    const t = thumbs.shape[thumbs.shape.length - 1];
    const oneD = thumbs.shape.length === 2;
    net.neurons.forEach(({ thumb }, i) => {
      thumb.resize(t, t);
      if (oneD) paintStrip(thumb.image, thumbs, thumbs.lo, thumbs.hi, false, i * t);
      else paintGrid(thumb.image, thumbs, thumbs.lo, thumbs.hi, false, i * t * t);
      thumb.put();
    });
  }
  const out = arrays.output;
  if (out && net.outputs.length === 1 && out instanceof Uint8Array) paintOutput(net.outputs[0].thumb, out);
  return true;
}

function paintLinks({ items, styles }, weights) {
  for (let k = 0; k < items.length; k++) {
    const w = weights[items[k].index];
    const shade = shadeIndex(w);
    const width = Math.round(linkWidth(w) * 2);
    const style = items[k].kind === 'bias' ? shade : shade * 64 + width;
    if (style === styles[k]) continue;
    styles[k] = style;
    const color = valueColor(w); // the palette's grey for NaN
    if (items[k].kind === 'bias') items[k].path.style.fill = color;
    else {
      items[k].path.style.stroke = color;
      items[k].path.style.strokeWidth = `${width / 2}px`;
    }
  }
}

/** The output node's thumbnail: the plot's grid sampled at the centres of the thumbnail's cells. */
function paintOutput(thumb, out) {
  const d = out.shape[0];
  const t = thumb.image.width;
  const small = new Uint8Array(t * t);
  for (let r = 0; r < t; r++) for (let c = 0; c < t; c++) small[r * t + c] = out[Math.floor(((r + 0.5) * d) / t) * d + Math.floor(((c + 0.5) * d) / t)];
  paintGrid(thumb.image, small, out.lo, out.hi);
  thumb.put();
}

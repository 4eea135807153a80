// A picture of the page's view: the network diagram (links from its SVG, then every node's canvas) and the
// output (loss chart and plot), composed on one canvas, with a caption line. Returns a PNG Blob.

import { INK } from './colors.js';

export const PAD = 16;
export const CAPTION = 24;

/** The links' SVG as an image: the page's CSS (no fill, dashed links, grey bias outline) is inlined. */
async function svgImage(svg) {
  const copy = svg.cloneNode(true);
  copy.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  copy.querySelectorAll('.link-hit').forEach((n) => n.remove());
  copy.querySelectorAll('.link').forEach((n) => {
    n.setAttribute('fill', 'none');
    if (!n.style.stroke) n.style.stroke = '#ccc';
  });
  copy.querySelectorAll('.bias').forEach((n) => {
    n.setAttribute('stroke', '#999');
    n.setAttribute('stroke-width', '0.5');
  });
  const image = new Image();
  image.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(new XMLSerializer().serializeToString(copy))}`;
  await image.decode();
  return image;
}

function drawNetwork(ctx, area, image, x0, y0) {
  ctx.drawImage(image, x0, y0);
  ctx.font = '12px Helvetica, Arial, sans-serif';
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  ctx.fillStyle = '#555';
  for (const label of area.querySelectorAll('.feature-label')) {
    const right = parseFloat(label.style.right.match(/- ([\d.]+)px/)?.[1] ?? 0);
    const at = [x0 + right - 4, y0 + parseFloat(label.style.top) + 15];
    if (label.classList.contains('written')) ctx.fillText(label.textContent, ...at, 52); // a formula, squeezed to fit
    else ctx.fillText(label.textContent, ...at);
  }
  ctx.textAlign = 'left';
  for (const node of area.querySelectorAll('.node')) {
    const x = x0 + parseFloat(node.style.left);
    const y = y0 + parseFloat(node.style.top);
    ctx.globalAlpha = node.classList.contains('off') ? 0.3 : 1;
    const canvas = node.querySelector('canvas');
    if (canvas) {
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(canvas, x, y, 30, 30);
    } else {
      ctx.fillStyle = node.style.background || '#fff';
      ctx.fillRect(x, y, 30, 30);
    }
    ctx.strokeStyle = '#999';
    ctx.strokeRect(x + 0.5, y + 0.5, 29, 29);
  }
  ctx.globalAlpha = 1;
}

/** A white canvas of width × height CSS pixels at 2× resolution, with `caption` on its first line (CAPTION
 *  pixels tall, then PAD); the context's font is left at 14 px for more text. */
export function pictureCanvas(width, height, caption) {
  const ratio = 2;
  const canvas = document.createElement('canvas');
  canvas.width = width * ratio;
  canvas.height = height * ratio;
  const ctx = canvas.getContext('2d');
  ctx.scale(ratio, ratio);
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = INK;
  ctx.font = '14px Helvetica, Arial, sans-serif';
  ctx.textBaseline = 'middle';
  ctx.fillText(caption, PAD, PAD / 2 + CAPTION / 2);
  return { canvas, ctx };
}

/** compose({network, plot, chart, caption}) -> PNG Blob. `network` may be null (no diagram). */
export async function composeView({ network, plot, chart, caption }) {
  const layout = network?.layout;
  const area = layout?.root.parentElement;
  const netWidth = layout ? parseFloat(area.style.width) : 0;
  const netHeight = layout ? parseFloat(area.style.height) : 0;
  const size = Math.max(200, Math.round(plot.size));
  const chartHeight = 55;
  const width = PAD + (layout ? netWidth + PAD : 0) + size + PAD;
  const height = CAPTION + PAD + Math.max(netHeight, chartHeight + 8 + size) + PAD;
  const { canvas, ctx } = pictureCanvas(width, height, caption);
  const top = CAPTION + PAD;
  if (layout) drawNetwork(ctx, area, await svgImage(layout.root), PAD, top);
  const x = PAD + (layout ? netWidth + PAD : 0);
  if (chart) ctx.drawImage(chart.canvas, x, top, size, chartHeight);
  const [heat, points] = plot.canvases;
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(heat, x, top + chartHeight + 8, size, size);
  ctx.drawImage(points, x, top + chartHeight + 8, size, size);
  ctx.strokeStyle = '#ccc';
  ctx.strokeRect(x + 0.5, top + chartHeight + 8.5, size - 1, size - 1);
  return new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
}

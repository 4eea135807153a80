// The network diagram of an embed as a picture that fits its box: laid out once at a fixed logical width,
// then scaled (CSS transform) to the largest size the box holds, up to MAX_SCALE, and centred, so a 480×360
// frame shows the whole network and a projector-sized one shows it large. An embed's diagram is for looking at: no
// layer or neuron buttons (embed.css hides them) and no weight editing (the links are inert).

const LOGICAL_WIDTH = 320; // the width the network lays itself out in (its columns spread over it)
const MAX_SCALE = 2.5;

/** Scale `network` (createNetwork's object) to fit `box`; again whenever the box or the layout changes. */
export function fitNetwork(hub, box, network) {
  network.element.style.width = `${LOGICAL_WIDTH}px`;
  const fit = () => {
    const area = network.element.querySelector('.net-area');
    const width = parseFloat(area?.style.width) || LOGICAL_WIDTH;
    const height = parseFloat(area?.style.height) || 1;
    const scale = Math.min(MAX_SCALE, box.clientWidth / width, box.clientHeight / height);
    const left = Math.max(0, (box.clientWidth - width * scale) / 2); // centred in the room left over
    const top = Math.max(0, (box.clientHeight - height * scale) / 2);
    network.element.style.transform = `translate(${left}px, ${top}px) scale(${scale})`;
    box.dataset.scale = scale.toFixed(3);
  };
  hub.on('network:layout', (net) => {
    net.root.inert = true; // the links: no weight hover card, no editor, no tab stop
    fit();
  });
  new ResizeObserver(fit).observe(box);
  return { fit };
}

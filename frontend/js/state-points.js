// Custom points in a link: `points=1<base64url>`, lossless and compact. Each column (x1, x2, label) is
// written as integers at its own decimal places d — the fewest that give every value back exactly — offset
// by the column's minimum, in just enough bits for its range. A hand-drawn point (x1, x2 at 0.01, label ±1)
// takes 11 + 11 + 2 bits: 4 characters. Bits are packed with arithmetic, not 32-bit operators, so a column
// may use up to 52 bits (a CSV's 7 significant digits fit). The leading '1' is the format's version.
//
//   count (24 bits) · binary flag (1) · per column: d (4) · width of the zig-zag minimum (6) · that minimum ·
//   value width (6) · then per point: x1, x2, label, each (round(v·10^d) − min) in its column's width

const DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'; // base64url
const VERSION = '1';
const MAX_DECIMALS = 10; // setCustomPoints rounds to this, so every point has a d
const MAX_BITS = 52; // integers stay exact in a double
const COUNT_BITS = 24;

/** A value rounded to MAX_DECIMALS places: what the page keeps, so that a link carries it exactly. */
export const canonical = (v) => Math.round(v * 10 ** MAX_DECIMALS) / 10 ** MAX_DECIMALS;

const bitsFor = (n) => (n <= 0 ? 0 : Math.floor(Math.log2(n)) + 1);
const zigzag = (n) => (n >= 0 ? 2 * n : -2 * n - 1);
const unzigzag = (z) => (z % 2 === 0 ? z / 2 : -(z + 1) / 2);

/** The fewest decimal places at which every value of `column` is exact (MAX_DECIMALS at most). */
function decimalsOf(column) {
  for (let d = 0; d < MAX_DECIMALS; d++) {
    const scale = 10 ** d;
    if (column.every((v) => Math.round(v * scale) / scale === v)) return d;
  }
  return MAX_DECIMALS;
}

function writer() {
  const bits = [];
  return {
    put(value, width) {
      for (let i = width - 1; i >= 0; i--) bits.push(Math.floor(value / 2 ** i) % 2);
    },
    text() {
      let out = VERSION;
      for (let i = 0; i < bits.length; i += 6) {
        let six = 0;
        for (let j = 0; j < 6; j++) six = six * 2 + (bits[i + j] ?? 0);
        out += DIGITS[six];
      }
      return out;
    },
  };
}

function reader(text) {
  if (text[0] !== VERSION) throw new Error(`unknown points format ${JSON.stringify(text[0] ?? '')}`);
  const bits = [];
  for (const char of text.slice(1)) {
    const six = DIGITS.indexOf(char);
    if (six < 0) throw new Error(`${JSON.stringify(char)} is not a base64url character`);
    for (let j = 5; j >= 0; j--) bits.push(Math.floor(six / 2 ** j) % 2);
  }
  let at = 0;
  return (width) => {
    if (at + width > bits.length) throw new Error('the points end early (the link was cut short?)');
    let value = 0;
    for (let i = 0; i < width; i++) value = value * 2 + bits[at++];
    return value;
  };
}

/** The link text of `points` ([x1, x2, label] triples) and whether the labels are binary (±1); null when a
 *  column's range needs more than MAX_BITS bits (a label beyond ±2^52 at its decimals). */
export function encodePoints(points, binary) {
  const out = writer();
  out.put(points.length, COUNT_BITS);
  out.put(binary ? 1 : 0, 1);
  const columns = [0, 1, 2].map((c) => {
    const d = decimalsOf(points.map((p) => p[c]));
    const ints = points.map((p) => Math.round(p[c] * 10 ** d));
    const min = ints.length ? Math.min(...ints) : 0;
    const width = bitsFor(ints.length ? Math.max(...ints) - min : 0);
    const minWidth = bitsFor(zigzag(min));
    out.put(d, 4);
    out.put(minWidth, 6);
    out.put(zigzag(min), minWidth);
    out.put(width, 6);
    return { ints, min, width, ok: width <= MAX_BITS && minWidth <= MAX_BITS };
  });
  if (!columns.every((c) => c.ok)) return null;
  points.forEach((_, i) => columns.forEach((c) => out.put(c.ints[i] - c.min, c.width)));
  return out.text();
}

/** {points, binary} from link text; throws an Error saying what is wrong with damaged text. */
export function decodePoints(text) {
  const get = reader(text);
  const count = get(COUNT_BITS);
  const binary = get(1) === 1;
  const columns = [0, 1, 2].map(() => {
    const d = get(4);
    const min = unzigzag(get(get(6)));
    return { scale: 10 ** d, min, width: get(6) };
  });
  const points = Array.from({ length: count }, () => columns.map((c) => (get(c.width) + c.min) / c.scale));
  return { points, binary };
}

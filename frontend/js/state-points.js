// Custom points in a link: `points=1<base64url>`, lossless and compact. Each column (x1, x2, label) is
// written as integers at its own decimal places d — the fewest that give every value back exactly — offset
// by the column's minimum, in just enough bits for its range. A hand-drawn point (x1, x2 at 0.01, label ±1)
// takes 11 + 11 + 2 bits: 4 characters; a CSV's 7 significant digits about 25 bits a coordinate. A column
// no d ≤ MAX_DECIMALS fits in MAX_BITS (tiny or huge values, 1e-12 or 1e300) is written as float64, 64 bits
// a value: every finite double comes back exactly, so the page that draws and the page that opens train on
// the same numbers. Bits are packed with arithmetic, not 32-bit operators. The leading '1' is the version.
//
//   count (24 bits) · binary flag (1) · per column: float64 flag (1), and for decimals: d (4) · width of the
//   zig-zag minimum (6) · that minimum · value width (6) · then per point x1, x2, label: (round(v·10^d) − min)
//   in its column's width, or the value's 64 bits

const DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'; // base64url
const VERSION = '1';
const MAX_DECIMALS = 15; // the most a 4-bit d may say
const MAX_BITS = 52; // integers up to 2^53 stay exact in a double
const COUNT_BITS = 24;

const bitsFor = (n) => (n <= 0 ? 0 : Math.floor(Math.log2(n)) + 1);
const zigzag = (n) => (n >= 0 ? 2 * n : -2 * n - 1);
const unzigzag = (z) => (z % 2 === 0 ? z / 2 : -(z + 1) / 2);

/** How a column is written: {d, min, width} as decimals, or null for float64. */
function columnCode(column) {
  for (let d = 0; d <= MAX_DECIMALS; d++) {
    const scale = 10 ** d;
    if (!column.every((v) => Math.round(v * scale) / scale === v)) continue;
    const ints = column.map((v) => Math.round(v * scale));
    const min = ints.length ? Math.min(...ints) : 0;
    const width = bitsFor(ints.length ? Math.max(...ints) - min : 0);
    return width <= MAX_BITS && bitsFor(zigzag(min)) <= MAX_BITS ? { d, min, width } : null;
  }
  return null;
}

function writer() {
  const bits = [];
  const put = (value, width) => {
    for (let i = width - 1; i >= 0; i--) bits.push(Math.floor(value / 2 ** i) % 2);
  };
  return {
    put,
    putDouble(value) {
      const view = new DataView(new ArrayBuffer(8));
      view.setFloat64(0, value);
      for (let i = 0; i < 8; i++) put(view.getUint8(i), 8);
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
  const get = (width) => {
    if (at + width > bits.length) throw new Error('the points end early (the link was cut short?)');
    let value = 0;
    for (let i = 0; i < width; i++) value = value * 2 + bits[at++];
    return value;
  };
  return {
    get,
    getDouble() {
      const view = new DataView(new ArrayBuffer(8));
      for (let i = 0; i < 8; i++) view.setUint8(i, get(8));
      return view.getFloat64(0);
    },
  };
}

/** The link text of `points` ([x1, x2, label] triples of finite numbers) and whether the labels are binary
 *  (±1). */
export function encodePoints(points, binary) {
  const out = writer();
  out.put(points.length, COUNT_BITS);
  out.put(binary ? 1 : 0, 1);
  const codes = [0, 1, 2].map((c) => {
    const code = columnCode(points.map((p) => p[c]));
    out.put(code ? 0 : 1, 1);
    if (code) {
      out.put(code.d, 4);
      out.put(bitsFor(zigzag(code.min)), 6);
      out.put(zigzag(code.min), bitsFor(zigzag(code.min)));
      out.put(code.width, 6);
    }
    return code;
  });
  for (const point of points) {
    codes.forEach((code, c) => (code ? out.put(Math.round(point[c] * 10 ** code.d) - code.min, code.width) : out.putDouble(point[c])));
  }
  return out.text();
}

/** {points, binary} from link text; throws an Error saying what is wrong with damaged text. */
export function decodePoints(text) {
  const read = reader(text);
  const count = read.get(COUNT_BITS);
  const binary = read.get(1) === 1;
  const codes = [0, 1, 2].map(() => {
    if (read.get(1) === 1) return null;
    const d = read.get(4);
    const min = unzigzag(read.get(read.get(6)));
    return { scale: 10 ** d, min, width: read.get(6) };
  });
  const points = Array.from({ length: count }, () => codes.map((c) => (c ? (read.get(c.width) + c.min) / c.scale : read.getDouble())));
  return { points, binary };
}

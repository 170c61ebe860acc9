// Float (float32, the common PLC REAL) as text: the shortest decimal that reads back as the same
// float32, 12.66f → "12.66", not "12.65999984741211".
//
// The answer is defined by float32ToStringBySearch: the fewest significant digits p for which
// x.toPrecision(p) reads back, then that decimal as JavaScript prints it. Formatting and parsing
// decimals three or four times cost 1.2–1.6 µs a value; float32ToString finds the same p and the
// same decimal with exact double arithmetic for the values plants send (1e-4 ≤ |x| < 1e9), about
// four times faster. It asks the search for everything else, and for the rare decimal that falls
// within a hair of (not exactly on) an edge of x's rounding interval. A unit test compares the two;
// every positive float32 from 2^-14 to 2^30 was compared once (369 million, none different).

/**
 * The shortest decimal that reads back as the same float32, by binary search over the digits (9
 * always suffice): the closest decimal of p + 1 digits is never further from x than the closest of
 * p digits (that one, with a 0 appended, is among them), so once p digits read back, every longer
 * precision does too.
 */
export function float32ToStringBySearch(x: number): string {
  let lo = 1;
  let hi = 9;
  // The decimal of the last precision that read back: the answer once the search ends on it (one
  // formatting and one parse fewer than formatting the answer again).
  let found = Number.NaN;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const decimal = Number(x.toPrecision(mid));
    if (Math.fround(decimal) === x) {
      hi = mid;
      found = decimal;
    } else {
      lo = mid + 1;
    }
  }
  return String(Number.isNaN(found) ? Number(x.toPrecision(9)) : found);
}

const F32 = new Float32Array(1);
const BITS = new Uint32Array(F32.buffer);

/** 10^0 … 10^22: every one an exact double. */
const POW10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));
/** 5^0 … 5^12: 5^12 × 2^24 < 2^53, so m × 5^k is exact for every float32 significand m. */
const POW5 = Array.from({ length: 13 }, (_, i) => 5 ** i);
/** 2^n for -200 ≤ n ≤ 200, built by exact doublings and halvings. */
const POW2_BIAS = 200;
const POW2 = ((): number[] => {
  const t = new Array<number>(2 * POW2_BIAS + 1);
  t[POW2_BIAS] = 1;
  for (let i = 1; i <= POW2_BIAS; i++) {
    t[POW2_BIAS + i] = t[POW2_BIAS + i - 1]! * 2;
    t[POW2_BIAS - i] = t[POW2_BIAS - i + 1]! / 2;
  }
  return t;
})();
/** A decimal closer than this (in units of x's float32 spacing) to the edge of x's rounding interval goes to the search: parsing it to a double first could move it across. */
const EDGE = 2 ** -20;

/** The shortest decimal that reads back as the same float32: float32ToStringBySearch's answer. */
export function float32ToString(x: number): string {
  return float32ToStringExact(x) ?? float32ToStringBySearch(x);
}

/**
 * float32ToStringBySearch's answer for 1e-4 ≤ |x| < 1e9, or undefined where it leaves it to the
 * search. a = |x| = m × 2^e exactly (m the 24-bit significand). Scaled by 10^k to nine integer digits, N =
 * m × 5^k × 2^(e + k) is an exact double for 0 ≤ k ≤ 12, and so are x's float32 spacing there
 * (U = 5^k × 2^(e + k)), each p-digit rounding of N (ties up, as toPrecision) and its distance
 * to N (Sterbenz: they are within a factor of two). The first p whose rounding lies inside x's
 * rounding interval (half a spacing each way; a quarter below a power of two) is the search's p.
 */
export function float32ToStringExact(x: number): string | undefined {
  const a = x < 0 ? -x : x;
  if (!(a >= 1e-4 && a < 1e9)) return undefined;
  F32[0] = a;
  if (F32[0] !== a) return undefined; // not a float32: the search answers (with nine digits)
  const bits = BITS[0]!;
  const fraction = bits & 0x7f_ffff;
  const m = fraction | 0x80_0000;
  const e = ((bits >>> 23) & 0xff) - 150;
  let k = 8 - Math.floor(Math.log10(a));
  let n = scaled(m, e, k);
  // log10 can be off by one next to a power of ten.
  if (n >= 1e9) n = scaled(m, e, --k);
  else if (n < 1e8) n = scaled(m, e, ++k);
  if (Number.isNaN(n) || n < 1e8 || n >= 1e9) return undefined;
  const spacing = POW5[k]! * POW2[POW2_BIAS + e + k]!;
  const above = spacing / 2;
  const below = fraction === 0 ? spacing / 4 : spacing / 2;
  const edge = spacing * EDGE;
  // Binary search over the digits, as the search does (the same monotony): p digits are the
  // rounding of n to a multiple of 10^(9 - p).
  let lo = 1;
  let hi = 9;
  let found = -1;
  let foundQ = 0;
  while (lo <= hi) {
    const p = (lo + hi) >>> 1;
    const unit = POW10[9 - p]!;
    let q = Math.floor(n / unit);
    if (q * unit > n) q -= 1;
    else if ((q + 1) * unit <= n) q += 1;
    if (n - q * unit >= unit / 2) q += 1;
    const off = q * unit - n;
    const reach = off >= 0 ? above : below;
    const dist = off >= 0 ? off : -off;
    // On the edge exactly (common for large integers: 58170128 → 581701300 at p = 7) the decimal is
    // that double, which reads back as the even one of x and its neighbour.
    if (dist < reach - edge || (dist === reach && (m & 1) === 0)) {
      found = p;
      foundQ = q;
      hi = p - 1;
    } else if (dist !== reach && dist <= reach + edge) {
      return undefined;
    } else {
      lo = p + 1;
    }
  }
  return found < 0 ? undefined : decimalText(x < 0, foundQ, 9 - found - k);
}

/**
 * q × 10^t as String() prints that number (q < 2^31, the value between 1e-7 and 1e21): the digits
 * without trailing zeros and the point in place. String() of the double itself cost 0.3 µs, more
 * than everything before it: a double's shortest digits are searched for, these are known.
 */
function decimalText(negative: boolean, q: number, t: number): string {
  while (q % 10 === 0) {
    q /= 10;
    t += 1;
  }
  const digits = String(q);
  const point = digits.length + t; // digits before the decimal point
  const text = t >= 0 ? digits + "0".repeat(t) : point > 0 ? `${digits.slice(0, point)}.${digits.slice(point)}` : `0.${"0".repeat(-point)}${digits}`;
  return negative ? `-${text}` : text;
}

/** m × 10^k × 2^e, exact for 0 ≤ k ≤ 12; NaN outside that range. */
function scaled(m: number, e: number, k: number): number {
  if (k < 0 || k > 12) return Number.NaN;
  return m * POW5[k]! * POW2[POW2_BIAS + e + k]!;
}

// The values document as the connector writes it, read straight from the request's bytes.
//
// JSON.parse of a 100-value body builds 200 objects and 300 strings that checkValuesDocument then walks
// again, and the store kept a string per value; together they were most of the emulator's CPU per stored
// value, and the emulator shares the bench machine with the connector it measures. Every client we know
// sends one compact form:
//
//   {"data":[{"type":"PointValue","attributes":{"timestamp":"2000-05-11T10:32:54.964Z","value":"12.66"}},…]}
//
// with an optional `,"qualityOfValue":<digits>` after the value. scanValues reads exactly that form and
// nothing else: whitespace, another member order, an escape or a non-ASCII byte in a string, a timestamp
// that is not canonical, a number that is not plain digits, more than 100 values, anything at all it does
// not expect, and it answers false, leaving the body to JSON.parse and checkValuesDocument, which decide
// (status, error documents). Whatever it accepts, they accept with the same values: a unit test compares
// both on valid documents and on every byte of them damaged.

import { MAX_VALUES_PER_REQUEST, calendarDayMs } from "./emulator-validate.js";

const bytes = (text: string): Uint8Array => Buffer.from(text, "latin1");
const DOCUMENT_HEAD = bytes('{"data":[');
const ITEM_HEAD = bytes('{"type":"PointValue","attributes":{"timestamp":"');
/** Closes the timestamp (always 24 characters here) and opens the value. */
const VALUE_HEAD = bytes('","value":"');
const QUALITY_HEAD = bytes(',"qualityOfValue":');
/** Largest digit count read here: 15 digits are below 2^53, so the number is exact and a safe integer. */
const MAX_QUALITY_DIGITS = 15;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const ZERO = 0x30;
const NINE = 0x39;

/**
 * One request's values as scanValues reads them: columns, each value's text left in the body as a byte range
 * (ASCII, so byte i is code unit i). One instance is reused request after request: nothing per value is
 * allocated until the store copies the text bytes into its own.
 */
export class ScannedValues {
  count = 0;
  body: Buffer = Buffer.alloc(0);
  readonly ms = new Float64Array(MAX_VALUES_PER_REQUEST);
  /** NaN where the value has no qualityOfValue. */
  readonly quality = new Float64Array(MAX_VALUES_PER_REQUEST);
  readonly textStart = new Uint32Array(MAX_VALUES_PER_REQUEST);
  readonly textEnd = new Uint32Array(MAX_VALUES_PER_REQUEST);
}

/**
 * Reads a body in the compact form into `out` and answers true; false for any other body (then `out` holds
 * nothing of use). What it reads is what checkValuesDocument would give: every timestamp canonical.
 */
export function scanValues(body: Buffer, out: ScannedValues): boolean {
  const end = body.length;
  if (!startsWith(body, 0, DOCUMENT_HEAD)) return false;
  let p = DOCUMENT_HEAD.length;
  let n = 0;
  for (;;) {
    if (n === MAX_VALUES_PER_REQUEST || !startsWith(body, p, ITEM_HEAD)) return false;
    p += ITEM_HEAD.length;
    const ms = canonicalMs(body, p);
    if (ms === undefined) return false;
    p += 24;
    if (!startsWith(body, p, VALUE_HEAD)) return false;
    p += VALUE_HEAD.length;
    out.textStart[n] = p;
    // JSON forbids control characters in a string; escapes and UTF-8 are JSON.parse's to decode.
    for (let c = body[p]; c !== QUOTE; c = body[++p]) {
      if (c === undefined || c < 0x20 || c > 0x7f || c === BACKSLASH) return false;
    }
    out.textEnd[n] = p;
    p += 1;
    let quality = NaN;
    if (body[p] === COMMA) {
      if (!startsWith(body, p, QUALITY_HEAD)) return false;
      p += QUALITY_HEAD.length;
      const first = p;
      let q = 0;
      for (let c = body[p]; c !== undefined && c >= ZERO && c <= NINE; c = body[++p]) q = q * 10 + (c - ZERO);
      const digits = p - first;
      // JSON has no leading zeros; fractions and exponents are left to JSON.parse (1.0 is a valid quality there).
      if (digits === 0 || digits > MAX_QUALITY_DIGITS || (digits > 1 && body[first] === ZERO)) return false;
      quality = q;
    }
    if (body[p] !== CLOSE_BRACE || body[p + 1] !== CLOSE_BRACE) return false;
    p += 2;
    out.ms[n] = ms;
    out.quality[n] = quality;
    n += 1;
    if (body[p] === COMMA) {
      p += 1;
      continue;
    }
    // Trailing whitespace is valid JSON, but not the compact form.
    if (body[p] !== CLOSE_BRACKET || body[p + 1] !== CLOSE_BRACE || p + 2 !== end) return false;
    out.count = n;
    out.body = body;
    return true;
  }
}

function startsWith(body: Uint8Array, at: number, head: Uint8Array): boolean {
  if (at + head.length > body.length) return false;
  for (let i = 0; i < head.length; i++) if (body[at + i] !== head[i]) return false;
  return true;
}

/** The canonical form YYYY-MM-DDTHH:mm:ss.sssZ: "0" where a digit goes, elsewhere the byte itself. */
const CANONICAL_FORM = bytes("0000-00-00T00:00:00.000Z");
/** The day (yyyymmdd) of the last timestamp read, and its UTC midnight: a request's values mostly share it. */
let lastDay = -1;
let lastMidnight = 0;

/**
 * The epoch millisecond of the 24 bytes at `at` when they are a valid canonical timestamp: parseCanonical
 * (emulator-validate.ts) on bytes, without a string per timestamp. Undefined for anything else.
 */
function canonicalMs(body: Uint8Array, at: number): number | undefined {
  if (at + 24 > body.length) return undefined;
  for (let i = 0; i < 24; i++) {
    const c = body[at + i]!;
    const form = CANONICAL_FORM[i]!;
    if (form === ZERO ? c < ZERO || c > NINE : c !== form) return undefined;
  }
  const d = (i: number): number => (body[at + i]! - ZERO) * 10 + body[at + i + 1]! - ZERO;
  const hour = d(11);
  const minute = d(14);
  const second = d(17);
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const day = (d(0) * 100 + d(2)) * 10_000 + d(5) * 100 + d(8);
  if (day !== lastDay) {
    const midnight = calendarDayMs(d(0) * 100 + d(2), d(5), d(8));
    if (midnight === undefined) return undefined;
    lastDay = day;
    lastMidnight = midnight;
  }
  const millis = (body[at + 20]! - ZERO) * 100 + d(21);
  return lastMidnight + ((hour * 60 + minute) * 60 + second) * 1000 + millis;
}

import { moduleAt, putInPlace } from "./in-place.js";

// node-opcua decodes every DateTime (two per DataValue: source and server) through the `long`
// package: a Long object, an unsigned 64-bit division and a modulo, each allocating. That was 9-10 %
// of a backfill's CPU (0.4 µs a value). The same result comes exactly from two 32-bit halves in
// doubles (below), so this module puts that function in the place node-opcua calls it from.
//
// node-opcua calls it through its module's exports object (`(0, date_time_1.bn_...)(...)`), so
// assigning the export is enough. The module is found the way node-opcua's DataValue decoder finds
// it (node-opcua → node-opcua-data-value → node-opcua-basic-types → node-opcua-date-time), so a
// nested copy would be the one replaced. If a later node-opcua moves or freezes it, the original
// stays in place (slower, equally exact): installDateTimeDecoder() then answers false, which a unit
// test would show.

type Decode = (high: number, low: number, picoseconds?: number, value?: unknown) => [Date, number];

interface DateTimeModule {
  bn_hundredNanoSecondFrom1601ToDate: Decode;
  offsetFactor1601: [number, number];
}

/** How node-opcua's DataValue decoder reaches its DateTime decoder. */
export const DATE_TIME_CHAIN = ["node-opcua", "node-opcua-data-value", "node-opcua-basic-types", "node-opcua-date-time/dist/date_time.js"] as const;

const target = moduleAt<DateTimeModule>(DATE_TIME_CHAIN);

/** node-opcua's own decoder, kept for the comparison in the unit test. */
export const originalDecode: Decode | undefined = target?.bn_hundredNanoSecondFrom1601ToDate;

/** Milliseconds from 1601-01-01 to 1970-01-01. */
const OFFSET_MS = 11_644_473_600_000;
/** 2^32 = 429,496 × 10,000 + 7,296: splits a DateTime's high word into whole ms and 100 ns ticks. */
const HIGH_MS = 429_496;
const HIGH_TICKS = 7_296;

/**
 * [Date, picoseconds] of an OPC UA DateTime given as its two 32-bit words: what node-opcua's
 * bn_hundredNanoSecondFrom1601ToDate answers (the words read unsigned, the Date floored to the
 * millisecond, the sub-millisecond ticks as picoseconds), without 64-bit integers. The ticks are
 * high × 2^32 + low = 10,000 × high × 429,496 + (high × 7,296 + low); the second term is below
 * 2^45 and high × 429,496 below 2^51, so every step is an exact double, and the floor of a
 * quotient below 2^32 with a remainder of at least 1/10,000 cannot round across an integer.
 */
export function decodeDateTimeWords(high: number, low: number, picoseconds = 0): [Date, number] {
  const h = high >>> 0;
  const rest = h * HIGH_TICKS + (low >>> 0);
  const ms = Math.floor(rest / 10_000);
  const date = new Date(h * HIGH_MS + ms - OFFSET_MS);
  return [date, (rest - ms * 10_000) * 100_000 + (picoseconds || 0)];
}

/**
 * The epoch ms of a DateTime's two words as `toRaw` reads node-opcua's Date (floored to the ms), or
 * null for node-opcua's null date (1601-01-01). The same arithmetic as decodeDateTimeWords, without
 * the Date; the latest DateTime (2^64 ticks, about the year 60,000) is well inside a Date's range.
 */
export function dateTimeEpochMs(high: number, low: number): number | null {
  const h = high >>> 0;
  const ms = h * HIGH_MS + Math.floor((h * HIGH_TICKS + (low >>> 0)) / 10_000) - OFFSET_MS;
  return ms <= -OFFSET_MS ? null : ms;
}

/** Puts decodeDateTimeWords in node-opcua's place; idempotent. True when node-opcua now calls it. */
export function installDateTimeDecoder(): boolean {
  if (!target || typeof originalDecode !== "function" || target.offsetFactor1601?.[0] !== OFFSET_MS || target.offsetFactor1601[1] !== 10_000) return false;
  return putInPlace(target, "bn_hundredNanoSecondFrom1601ToDate", decodeDateTimeWords);
}

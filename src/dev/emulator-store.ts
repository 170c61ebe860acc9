// In-memory point value storage of the Ingest API emulator: one value per millisecond per (partition, point).

import type { ScannedValues } from "./emulator-values-scan.js";

export interface StoredValue {
  /** Canonical YYYY-MM-DDTHH:mm:ss.sssZ. */
  timestamp: string;
  value: string;
  qualityOfValue?: number;
}

export interface StoredEntry {
  value: string;
  qualityOfValue?: number;
}

export interface NewValue extends StoredEntry {
  ms: number;
}

export interface SeriesPage {
  rows: Array<[ms: number, entry: StoredEntry]>;
  /** True when more values lie in the requested range after the last row. */
  more: boolean;
}

/** Quality of a value sent without one: not a number, so any integer a client sends (-0 too) stays itself. */
const NO_QUALITY = NaN;
/** A position's four numbers in PointSeries.rows. */
const TIME = 0;
const QUALITY = 1;
const START = 2;
const LENGTH = 3;
const ROW = 4;
/** First capacities: 64 bytes each, which V8 keeps inside the object (an ArrayBuffer of its own costs ~0.5 KB a point). */
const FIRST_ROWS = 2;
const FIRST_CHARS = 32;
/** Reading a text back: up to this length a code unit at a time, beyond it READ_CHUNK code units per call. */
const SHORT_TEXT = 32;
const READ_CHUNK = 4096;
const NO_ROWS = new Float64Array(0);
const NO_CHARS = new Uint16Array(0);

/**
 * The values of one point, sorted by millisecond: `rows` holds four numbers a value (time, quality, and
 * where its text lies in `chars`), `chars` every text as UTF-16 code units one after another (any string,
 * lone surrogates too, comes back exactly). Both are typed arrays, whose contents the garbage collector
 * neither copies nor scans once they are large. A string per value kept alive was most of the store's
 * cost (the collector copies every young survivor twice), and a Map of every value hashed a heap-number
 * key (epoch milliseconds are not small integers) and kept an object per value.
 *
 * Values mostly arrive in time order, so a value is usually an append, and "is this millisecond taken"
 * is one comparison with the last one. A value at or before the last stored millisecond is looked up
 * by binary search; a new one is parked in `late` and merged into the rows on the next read, so an
 * insert stays amortized O(log n). A replaced text is left where it was and counted in `wasted`; the
 * texts are compacted when that is half of them.
 */
export class PointSeries {
  /** Values in `rows`; its length / ROW is the capacity. */
  private count = 0;
  private rows = NO_ROWS;
  private chars = NO_CHARS;
  private used = 0;
  private wasted = 0;
  /** Milliseconds not in the rows yet: before their last one and not in them. */
  private late: Map<number, StoredEntry> | undefined;

  get size(): number {
    return this.count + (this.late?.size ?? 0);
  }

  has(ms: number): boolean {
    const n = this.count;
    if (n === 0 || ms > this.rows[(n - 1) * ROW + TIME]!) return false;
    return this.indexOf(ms) >= 0 || this.late?.has(ms) === true;
  }

  /** Stores or completely replaces the value of a millisecond. */
  set(ms: number, entry: StoredEntry): void {
    this.put(ms, entry.value, entry.qualityOfValue);
  }

  /** `set` without an entry object. */
  put(ms: number, value: string, qualityOfValue: number | undefined): void {
    const i = this.slot(ms, qualityOfValue ?? NO_QUALITY);
    if (i < 0) {
      (this.late ??= new Map()).set(ms, qualityOfValue === undefined ? { value } : { value, qualityOfValue });
      return;
    }
    let at = this.reserve(i, value.length);
    const chars = this.chars;
    for (let k = 0; k < value.length; k++) chars[at++] = value.charCodeAt(k);
  }

  /** `put` of a text given as ASCII bytes (bytes[start..end)) and a quality (NaN: none), without a string. */
  putAscii(ms: number, bytes: Buffer, start: number, end: number, quality: number): void {
    const i = this.slot(ms, quality);
    if (i < 0) {
      const value = bytes.toString("latin1", start, end);
      (this.late ??= new Map()).set(ms, Number.isNaN(quality) ? { value } : { value, qualityOfValue: quality });
      return;
    }
    let at = this.reserve(i, end - start);
    const chars = this.chars;
    for (let k = start; k < end; k++) chars[at++] = bytes[k]!;
  }

  /** At most `limit` values with fromMs <= ms < toMs, ascending. */
  range(fromMs: number, toMs: number, limit: number): SeriesPage {
    this.settle();
    const page: SeriesPage["rows"] = [];
    const [rows, n] = [this.rows, this.count];
    let i = this.lowerBound(fromMs);
    for (; i < n && page.length < limit; i++) {
      const ms = rows[i * ROW + TIME]!;
      if (ms >= toMs) break;
      const value = this.text(i);
      const quality = rows[i * ROW + QUALITY]!;
      page.push([ms, Number.isNaN(quality) ? { value } : { value, qualityOfValue: quality }]);
    }
    return { rows: page, more: i < n && rows[i * ROW + TIME]! < toMs };
  }

  /**
   * The position whose text the caller writes next (its time and quality set), or -1 when the value is
   * new and late. A value after the last one gets a new position; a replaced text becomes waste.
   */
  private slot(ms: number, quality: number): number {
    const n = this.count;
    if (n === 0 || ms > this.rows[(n - 1) * ROW + TIME]!) {
      if (n * ROW === this.rows.length) this.resize(Math.max(FIRST_ROWS, n * 2));
      this.rows[n * ROW + TIME] = ms;
      this.rows[n * ROW + QUALITY] = quality;
      this.count = n + 1;
      return n;
    }
    const i = this.indexOf(ms);
    if (i >= 0) {
      this.rows[i * ROW + QUALITY] = quality;
      this.wasted += this.rows[i * ROW + LENGTH]!;
      this.rows[i * ROW + LENGTH] = 0;
    }
    return i;
  }

  /** Room for `length` code units as the text of position i; answers where they go. */
  private reserve(i: number, length: number): number {
    const at = this.used;
    if (at + length > this.chars.length) return this.reserveSlow(i, length);
    this.rows[i * ROW + START] = at;
    this.rows[i * ROW + LENGTH] = length;
    this.used = at + length;
    return at;
  }

  private reserveSlow(i: number, length: number): number {
    if (this.wasted > 0 && this.wasted * 2 >= this.used) this.compact();
    if (this.used + length > this.chars.length) this.grow(length);
    return this.reserve(i, length);
  }

  private grow(length: number): void {
    const chars = new Uint16Array(Math.max(FIRST_CHARS, this.chars.length * 2, this.used + length));
    chars.set(this.chars.subarray(0, this.used));
    this.chars = chars;
  }

  /** Copies the texts in use to the front, in position order: the replaced ones are gone. */
  private compact(): void {
    const chars = new Uint16Array(this.chars.length);
    let used = 0;
    for (let i = 0; i < this.count; i++) {
      const [start, length] = [this.rows[i * ROW + START]!, this.rows[i * ROW + LENGTH]!];
      chars.set(this.chars.subarray(start, start + length), used);
      this.rows[i * ROW + START] = used;
      used += length;
    }
    [this.chars, this.used, this.wasted] = [chars, used, 0];
  }

  /** New rows of this capacity, holding the positions there are. */
  private resize(capacity: number): void {
    const rows = new Float64Array(capacity * ROW);
    rows.set(this.rows.subarray(0, this.count * ROW));
    this.rows = rows;
  }

  private text(i: number): string {
    const start = this.rows[i * ROW + START]!;
    const end = start + this.rows[i * ROW + LENGTH]!;
    const chars = this.chars;
    let text = "";
    // Short texts (numbers) a code unit at a time: no arguments array; long ones a chunk of code units a call.
    if (end - start <= SHORT_TEXT) for (let k = start; k < end; k++) text += String.fromCharCode(chars[k]!);
    else for (let k = start; k < end; k += READ_CHUNK) text += String.fromCharCode.apply(null, chars.subarray(k, Math.min(k + READ_CHUNK, end)) as unknown as number[]);
    return text;
  }

  /** Position of a stored millisecond, or -1. */
  private indexOf(ms: number): number {
    const i = this.lowerBound(ms);
    return i < this.count && this.rows[i * ROW + TIME] === ms ? i : -1;
  }

  /** The first position whose time is >= target. */
  private lowerBound(target: number): number {
    let [lo, hi] = [0, this.count];
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.rows[mid * ROW + TIME]! < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Merges the late values into the rows: O(n + k log k), only when some are waiting. */
  private settle(): void {
    if (this.late === undefined) return;
    const late = [...this.late].sort((a, b) => a[0] - b[0]);
    this.late = undefined;
    const [old, had] = [this.rows, this.count];
    const n = had + late.length;
    this.rows = new Float64Array((n + (n >> 1)) * ROW);
    let [i, j] = [0, 0];
    for (let k = 0; k < n; k++) {
      if (j === late.length || (i < had && old[i * ROW + TIME]! < late[j]![0])) {
        for (let r = 0; r < ROW; r++) this.rows[k * ROW + r] = old[i * ROW + r]!;
        i += 1;
      } else {
        const [ms, { value, qualityOfValue }] = late[j++]!;
        if (this.used + value.length > this.chars.length) this.grow(value.length);
        this.rows[k * ROW + TIME] = ms;
        this.rows[k * ROW + QUALITY] = qualityOfValue ?? NO_QUALITY;
        this.rows[k * ROW + START] = this.used;
        this.rows[k * ROW + LENGTH] = value.length;
        for (let c = 0; c < value.length; c++) this.chars[this.used++] = value.charCodeAt(c);
      }
    }
    this.count = n;
  }
}

/** All partitions and points. */
export class EmulatorStore {
  private readonly partitions = new Map<string, Map<string, PointSeries>>();

  series(partitionId: string, pointId: string): PointSeries | undefined {
    return this.partitions.get(partitionId)?.get(pointId);
  }

  points(partitionId: string): string[] {
    return [...(this.partitions.get(partitionId)?.keys() ?? [])].sort();
  }

  /**
   * Applies one request's values in order and returns the 0-based indices of the dropped ones.
   * Without overwrite a value whose millisecond is taken — by an earlier request or an earlier item of
   * this one — is dropped; with overwrite it replaces the stored value, so the last item of a request wins.
   */
  write(partitionId: string, pointId: string, values: readonly NewValue[], overwrite: boolean): number[] {
    const series = this.seriesFor(partitionId, pointId);
    const dropped: number[] = [];
    for (let index = 0; index < values.length; index++) {
      const { ms, value, qualityOfValue } = values[index]!;
      if (!overwrite && series.has(ms)) dropped.push(index);
      else series.put(ms, value, qualityOfValue);
    }
    return dropped;
  }

  /** write() of a scanned request (see ScannedValues): the same drops, without a string or an object per value. */
  writeScanned(partitionId: string, pointId: string, values: ScannedValues, overwrite: boolean): number[] {
    const series = this.seriesFor(partitionId, pointId);
    const dropped: number[] = [];
    for (let index = 0; index < values.count; index++) {
      const ms = values.ms[index]!;
      if (!overwrite && series.has(ms)) dropped.push(index);
      else series.putAscii(ms, values.body, values.textStart[index]!, values.textEnd[index]!, values.quality[index]!);
    }
    return dropped;
  }

  /** Every stored value of a point, ascending. */
  values(partitionId: string, pointId: string): StoredValue[] {
    const series = this.series(partitionId, pointId);
    if (!series) return [];
    return series.range(-Infinity, Infinity, Infinity).rows.map(([ms, entry]) => toStoredValue(ms, entry));
  }

  private seriesFor(partitionId: string, pointId: string): PointSeries {
    let points = this.partitions.get(partitionId);
    if (!points) this.partitions.set(partitionId, (points = new Map()));
    let series = points.get(pointId);
    if (!series) points.set(pointId, (series = new PointSeries()));
    return series;
  }
}

export function toStoredValue(ms: number, entry: StoredEntry): StoredValue {
  const stored: StoredValue = { timestamp: new Date(ms).toISOString(), value: entry.value };
  if (entry.qualityOfValue !== undefined) stored.qualityOfValue = entry.qualityOfValue;
  return stored;
}

// In-memory point value storage of the Ingest API emulator: one value per millisecond per (partition, point).

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

/**
 * The values of one point. A map answers "is this millisecond taken" in O(1); a sorted array of the
 * milliseconds serves time-range pages by binary search. Values mostly arrive in time order, so an
 * insert is usually an O(1) append; the rare out-of-order insert is parked in `pending` and merged
 * into the sorted array on the next read, keeping every insert amortized O(1).
 */
export class PointSeries {
  private readonly entries = new Map<number, StoredEntry>();
  private sorted: number[] = [];
  private pending: number[] = [];

  get size(): number {
    return this.entries.size;
  }

  has(ms: number): boolean {
    return this.entries.has(ms);
  }

  /** Stores or completely replaces the value of a millisecond. */
  set(ms: number, entry: StoredEntry): void {
    if (!this.entries.has(ms)) this.index(ms);
    this.entries.set(ms, entry);
  }

  /** At most `limit` values with fromMs <= ms < toMs, ascending. */
  range(fromMs: number, toMs: number, limit: number): SeriesPage {
    this.settle();
    const rows: SeriesPage["rows"] = [];
    let i = lowerBound(this.sorted, fromMs);
    for (; i < this.sorted.length && rows.length < limit; i++) {
      const ms = this.sorted[i]!;
      if (ms >= toMs) break;
      rows.push([ms, this.entries.get(ms)!]);
    }
    const next = this.sorted[i];
    return { rows, more: next !== undefined && next < toMs };
  }

  private index(ms: number): void {
    const last = this.sorted[this.sorted.length - 1];
    if (last === undefined || ms > last) this.sorted.push(ms);
    else this.pending.push(ms);
  }

  /** Merges the out-of-order inserts into the sorted index: O(n + k log k), only when some are waiting. */
  private settle(): void {
    if (this.pending.length === 0) return;
    const late = this.pending.sort((a, b) => a - b);
    const merged = new Array<number>(this.sorted.length + late.length);
    let [i, j, k] = [0, 0, 0];
    while (i < this.sorted.length && j < late.length) merged[k++] = this.sorted[i]! < late[j]! ? this.sorted[i++]! : late[j++]!;
    while (i < this.sorted.length) merged[k++] = this.sorted[i++]!;
    while (j < late.length) merged[k++] = late[j++]!;
    this.sorted = merged;
    this.pending = [];
  }
}

/** Index of the first element >= target in an ascending array. */
function lowerBound(sorted: readonly number[], target: number): number {
  let [lo, hi] = [0, sorted.length];
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
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
    values.forEach(({ ms, value, qualityOfValue }, index) => {
      if (!overwrite && series.has(ms)) dropped.push(index);
      else series.set(ms, qualityOfValue === undefined ? { value } : { value, qualityOfValue });
    });
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

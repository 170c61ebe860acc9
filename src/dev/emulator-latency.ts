// Age of values when the Ingest API emulator stores them: the emulator's receive time minus the value's
// own timestamp. For live data from a source stamping with the same clock (a benchmark, the demo) that is
// the end-to-end latency from the source timestamp to the API's acknowledgement; backfilled history just
// lands in the last bucket. A bounded histogram: memory does not grow with the number of values.

/** [lower bound in ms, count] of the non-empty buckets, ascending. */
export type LatencyBuckets = Array<[lowerMs: number, count: number]>;

export interface LatencySummary {
  /** Values recorded. */
  count: number;
  sumMs: number;
  maxMs: number;
  /** Values whose timestamp lay in the future of the receive time (counted in the 0 bucket). */
  negative: number;
  /** Percentiles from the buckets (see percentileMs); null before the first value. */
  p50Ms: number | null;
  p99Ms: number | null;
  buckets: LatencyBuckets;
}

/** Beyond this every value falls into one overflow bucket. */
const OVERFLOW_MS = 3_600_000;

/** Bucket of a non-negative whole-ms latency: 1 ms wide below 1 s, 10 ms below 10 s, 100 ms below 100 s, then 1 s. */
export function bucketLowerMs(ms: number): number {
  if (ms < 1_000) return Math.floor(ms);
  if (ms < 10_000) return ms - (ms % 10);
  if (ms < 100_000) return ms - (ms % 100);
  if (ms < OVERFLOW_MS) return ms - (ms % 1_000);
  return OVERFLOW_MS;
}

function bucketWidthMs(lower: number): number {
  if (lower < 1_000) return 1;
  if (lower < 10_000) return 10;
  if (lower < 100_000) return 100;
  return lower < OVERFLOW_MS ? 1_000 : 0;
}

/**
 * The q-quantile (0 < q <= 1) of a bucket list, as the largest whole millisecond its bucket can hold
 * (exact below 1 s, at most 10 ms high below 10 s): a conservative figure to compare with a target.
 */
export function percentileMs(buckets: LatencyBuckets, q: number): number | null {
  let total = 0;
  for (const [, n] of buckets) total += n;
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (const [lower, n] of buckets) {
    seen += n;
    if (seen >= rank) return lower + Math.max(0, bucketWidthMs(lower) - 1);
  }
  return buckets[buckets.length - 1]![0];
}

/** What was recorded between two snapshots of the same histogram (`after` minus `before`). */
export function bucketsBetween(before: LatencyBuckets, after: LatencyBuckets): LatencyBuckets {
  const earlier = new Map(before);
  const out: LatencyBuckets = [];
  for (const [lower, n] of after) {
    const d = n - (earlier.get(lower) ?? 0);
    if (d > 0) out.push([lower, d]);
  }
  return out;
}

/** Buckets below OVERFLOW_MS by width: 1,000 of 1 ms, 900 of 10 ms, 900 of 100 ms, 3,500 of 1 s; then the overflow one. */
const BUCKETS = 1_000 + 900 + 900 + 3_500 + 1;

/** Position of a bucket (by its lower bound) in the counts array, ascending with the bound. */
function bucketIndex(lower: number): number {
  if (lower < 1_000) return lower;
  if (lower < 10_000) return 1_000 + (lower - 1_000) / 10;
  if (lower < 100_000) return 1_900 + (lower - 10_000) / 100;
  return lower < OVERFLOW_MS ? 2_800 + (lower - 100_000) / 1_000 : BUCKETS - 1;
}

/** The lower bound of the bucket at a position: bucketIndex backwards. */
function bucketLowerAt(index: number): number {
  if (index < 1_000) return index;
  if (index < 1_900) return 1_000 + (index - 1_000) * 10;
  if (index < 2_800) return 10_000 + (index - 1_900) * 100;
  return index < BUCKETS - 1 ? 100_000 + (index - 2_800) * 1_000 : OVERFLOW_MS;
}

export class LatencyHistogram {
  /** Count per bucket, by bucketIndex: a value is one array increment, where a Map was a hash lookup and a store. */
  private readonly counts = new Float64Array(BUCKETS);
  private count = 0;
  private sumMs = 0;
  private maxMs = 0;
  private negative = 0;

  /** One value stored `ms` after its timestamp. */
  record(ms: number): void {
    if (ms < 0) {
      this.negative += 1;
      ms = 0;
    }
    this.counts[bucketIndex(bucketLowerMs(ms))]! += 1;
    this.count += 1;
    this.sumMs += ms;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  summary(): LatencySummary {
    const buckets: LatencyBuckets = [];
    for (let i = 0; i < BUCKETS; i++) if (this.counts[i]! > 0) buckets.push([bucketLowerAt(i), this.counts[i]!]);
    return {
      count: this.count,
      sumMs: this.sumMs,
      maxMs: this.maxMs,
      negative: this.negative,
      p50Ms: percentileMs(buckets, 0.5),
      p99Ms: percentileMs(buckets, 0.99),
      buckets,
    };
  }
}

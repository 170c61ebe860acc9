import { describe, expect, it } from "vitest";
import { LatencyHistogram, bucketLowerMs, percentileMs, type LatencyBuckets } from "../../src/dev/emulator-latency.js";

/** The histogram as a Map from bucket lower bound to count: what LatencyHistogram must summarize alike. */
function reference(latencies: readonly number[]) {
  const counts = new Map<number, number>();
  let [count, sumMs, maxMs, negative] = [0, 0, 0, 0];
  for (let ms of latencies) {
    if (ms < 0) {
      negative += 1;
      ms = 0;
    }
    const lower = bucketLowerMs(ms);
    counts.set(lower, (counts.get(lower) ?? 0) + 1);
    count += 1;
    sumMs += ms;
    if (ms > maxMs) maxMs = ms;
  }
  const buckets: LatencyBuckets = [...counts].sort((a, b) => a[0] - b[0]);
  return { count, sumMs, maxMs, negative, p50Ms: percentileMs(buckets, 0.5), p99Ms: percentileMs(buckets, 0.99), buckets };
}

describe("LatencyHistogram", () => {
  it("summarizes as a map of every bucket would, at every bucket width and beyond the last", () => {
    let seed = 11;
    const latencies: number[] = [-5, 0, 0.5, 999, 999.9, 1_000, 9_999, 10_000, 99_999, 100_000, 3_599_999, 3_600_000, 1e12];
    for (let i = 0; i < 20_000; i++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      latencies.push(Math.floor(10 ** ((seed / 2 ** 31) * 7)) - 3);
    }
    const histogram = new LatencyHistogram();
    expect(histogram.summary()).toEqual(reference([]));
    for (const ms of latencies) histogram.record(ms);
    const summary = histogram.summary();
    expect(summary).toEqual(reference(latencies));
    expect(summary.buckets.length).toBeGreaterThan(1_000);
  });
});

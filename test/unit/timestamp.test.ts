import { describe, expect, it } from "vitest";
import { formatTimestamp } from "../../src/core/timestamp.js";

describe("formatTimestamp", () => {
  it("equals toISOString for every millisecond form, in any call order (the per-minute prefix is reused)", () => {
    const base = Date.UTC(2026, 11, 2, 23, 59, 58, 990);
    const values = [
      ...Array.from({ length: 3_000 }, (_, i) => base + i), // crosses seconds, a minute, an hour, a day, a year
      ...Array.from({ length: 200 }, (_, i) => base - 61_000 + i * 997), // seconds apart, across minutes
      base + 5, base, base + 1_000, 0, 1, 999, 1_000, -1, -999, -1_000, -1_001, Date.UTC(9999, 11, 31, 23, 59, 59, 999),
      Date.UTC(10000, 0, 1), Date.UTC(10000, 0, 1, 0, 0, 0, 7), base + 7, base + 70, base + 700,
    ];
    for (const ms of values) expect(formatTimestamp(ms)).toBe(new Date(ms).toISOString());
  });
});

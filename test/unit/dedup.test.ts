import { describe, expect, it } from "vitest";
import { dedupeMs } from "../../src/transform/dedup.js";

const rows = (...pairs: [number, string][]) => pairs.map(([ts, value]) => ({ ts, value }));

describe("dedupeMs", () => {
  it("keeps the first value of a repeated millisecond, as the API does (doc example .333 .222 .333 .444)", () => {
    const r = dedupeMs(rows([333, "a"], [222, "b"], [333, "c"], [444, "d"]), false);
    expect(r.kept).toEqual(rows([333, "a"], [222, "b"], [444, "d"]));
    expect(r.duplicates).toBe(1);
  });

  it("keeps the last with overwrite, in the place of the first", () => {
    const r = dedupeMs(rows([5, "x"], [6, "y"], [5, "z"]), true);
    expect(r.kept).toEqual(rows([5, "z"], [6, "y"]));
    expect(r.duplicates).toBe(1);
  });

  it("leaves distinct milliseconds alone", () => {
    expect(dedupeMs(rows([1, "a"], [2, "b"]), false)).toEqual({ kept: rows([1, "a"], [2, "b"]), duplicates: 0 });
  });
});

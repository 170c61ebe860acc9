import { describe, expect, it } from "vitest";
import { Batcher, type Batch } from "../../src/pipeline/batcher.js";
import { ManualClock } from "../../src/pipeline/clock.js";
import type { Sample } from "../../src/pipeline/types.js";

const s = (pointId: string, ts: number, value = String(ts)): Sample => ({ pointId, ts, value, quality: 0 });

function setup(maxValues: number, maxDelayMs: number, overwrite = false) {
  const clock = new ManualClock(1_000);
  const out: Batch[] = [];
  const dups: string[] = [];
  const b = new Batcher({ maxValues, maxDelayMs, overwrite }, clock, (x) => out.push(x), (p) => dups.push(p));
  return { clock, out, dups, b };
}

describe("Batcher", () => {
  it("closes a batch at maxValues, in arrival order, per point", () => {
    const { out, b } = setup(3, 5_000);
    for (let i = 0; i < 7; i++) b.add(s(i % 2 ? "a" : "b", i));
    b.add(s("a", 7));
    expect(out.map((x) => [x.pointId, x.samples.map((v) => v.ts)])).toEqual([
      ["b", [0, 2, 4]],
      ["a", [1, 3, 5]],
    ]);
    expect(b.pending).toBe(2);
  });

  it("closes a batch maxDelay after it opened, not after the last value", () => {
    const { clock, out, b } = setup(100, 1_000);
    b.add(s("a", 1));
    clock.advance(600);
    b.add(s("a", 2));
    b.add(s("b", 3));
    clock.advance(399);
    expect(out).toHaveLength(0);
    clock.advance(1);
    expect(out.map((x) => x.pointId)).toEqual(["a"]);
    clock.advance(599);
    expect(out.map((x) => x.pointId)).toEqual(["a"]);
    clock.advance(1);
    expect(out.map((x) => x.pointId)).toEqual(["a", "b"]);
    expect(out[0]!.samples.map((v) => v.ts)).toEqual([1, 2]);
  });

  it("does not let a stale deadline close the next batch of a point early", () => {
    const { clock, out, b } = setup(2, 1_000);
    b.add(s("a", 1));
    b.add(s("a", 2)); // closed by count; its deadline at t+1000 is now stale
    clock.advance(900);
    b.add(s("a", 3)); // new batch, deadline at t+1900
    clock.advance(100);
    expect(out).toHaveLength(1);
    clock.advance(900);
    expect(out).toHaveLength(2);
    expect(out[1]!.samples.map((v) => v.ts)).toEqual([3]);
  });

  it("keeps the first value of a repeated millisecond, as the API does, and counts it", () => {
    const { out, dups, b } = setup(4, 1_000);
    for (const [ts, v] of [[333, "x"], [222, "y"], [333, "z"], [444, "w"], [555, "v"]] as const) b.add(s("a", ts, v));
    expect(out[0]!.samples.map((x) => [x.ts, x.value])).toEqual([[333, "x"], [222, "y"], [444, "w"], [555, "v"]]);
    expect(dups).toEqual(["a"]);
  });

  it("keeps the last value of a repeated millisecond with overwrite", () => {
    const { out, b } = setup(2, 1_000, true);
    b.add(s("a", 5, "first"));
    b.add(s("a", 5, "second"));
    b.add(s("a", 6, "third"));
    expect(out[0]!.samples.map((x) => x.value)).toEqual(["second", "third"]);
  });

  it("flushAll closes every open batch and stops the timer", () => {
    const { clock, out, b } = setup(100, 1_000);
    b.add(s("a", 1));
    b.add(s("b", 2));
    b.flushAll();
    expect(out.map((x) => x.pointId).sort()).toEqual(["a", "b"]);
    clock.advance(5_000);
    expect(out).toHaveLength(2);
    b.add(s("a", 3));
    clock.advance(1_000);
    expect(out).toHaveLength(3);
  });
});

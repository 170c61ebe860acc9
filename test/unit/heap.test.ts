import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { tuneHeap } from "../../src/app/heap.js";

describe("heap settings for the mapping's size", () => {
  const run = (points: number, nodeArgs: string) => {
    const set: string[] = [];
    const tuned = tuneHeap(points, pino({ level: "silent" }), nodeArgs, (f) => set.push(f));
    return { tuned, set };
  };

  it("limits the old generation's growth from 25,000 points on, and leaves V8's policy below", () => {
    expect(run(24_999, "--max-old-space-size=1024")).toEqual({ tuned: false, set: [] });
    expect(run(25_000, "--max-old-space-size=1024")).toEqual({ tuned: true, set: ["--heap-growing-percent=10"] });
    expect(run(100_000, "")).toEqual({ tuned: true, set: ["--heap-growing-percent=10"] });
  });

  it("keeps an operator's own heap growing setting, in either spelling", () => {
    expect(run(100_000, "--max-old-space-size=1024 --heap-growing-percent=40")).toEqual({ tuned: false, set: [] });
    expect(run(100_000, "--heap_growing_percent=40")).toEqual({ tuned: false, set: [] });
  });
});

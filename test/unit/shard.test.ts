import { describe, expect, it } from "vitest";
import { fnv1a32, jumpHash, parseShard, selectShard, shardOf, ShardError } from "../../src/flows/shard.js";

const ids = (n: number, prefix = "point") => Array.from({ length: n }, (_, k) => ({ pointId: `${prefix}-${k}` }));

describe("shard assignment", () => {
  it("uses FNV-1a 32-bit (published test vectors)", () => {
    expect(fnv1a32("")).toBe(0x811c9dc5);
    expect(fnv1a32("a")).toBe(0xe40c292c);
    expect(fnv1a32("foobar")).toBe(0xbf9cf968);
  });

  it("is frozen: these assignments must never change (replicas of different versions must agree)", () => {
    // Computed once, and by an independent implementation of FNV-1a + jump consistent hash.
    const expected: Record<string, number[]> = {
      // counts:                                 2  3  4  5  10
      "boiler1-temperature": /*               */ [0, 2, 2, 4, 4],
      "boiler1-pressure": /*                  */ [1, 1, 3, 3, 3],
      "line1-flow-counter": /*                */ [0, 0, 0, 0, 0],
      "line1-running": /*                     */ [1, 1, 1, 1, 6],
      "line1-vibration": /*                   */ [1, 2, 2, 2, 7],
      "0f8fad5b-d9cb-469f-a165-70867728950e": [1, 1, 3, 4, 8],
      "7c9e6679-7425-40de-944b-e07fc1f90ae7": [0, 0, 3, 3, 6],
      "Kessel/Temperatur °C": /*              */ [0, 2, 2, 2, 6],
    };
    for (const [id, shards] of Object.entries(expected)) {
      expect([2, 3, 4, 5, 10].map((count) => shardOf(id, count)), id).toEqual(shards);
    }
    expect([1, 2, 3, 10, 100, 1000].map((n) => jumpHash(100, n))).toEqual([0, 1, 1, 1, 1, 290]);
    expect(shardOf("anything", 1)).toBe(0);
  });

  it("puts every point in exactly one shard, for several counts", () => {
    const points = ids(2_000);
    for (const count of [1, 2, 3, 5, 7, 16, 64]) {
      const seen = new Map<string, number>();
      for (let index = 0; index < count; index++) {
        for (const p of selectShard(points, { index, count })) {
          expect(seen.has(p.pointId), `${p.pointId} in two shards of ${count}`).toBe(false);
          seen.set(p.pointId, index);
        }
      }
      expect(seen.size).toBe(points.length);
    }
  });

  it("is stable: the same count gives the same assignment, whatever the order of the mapping", () => {
    const points = ids(500);
    const a = selectShard(points, { index: 1, count: 4 }).map((p) => p.pointId);
    const b = selectShard([...points].reverse(), { index: 1, count: 4 }).map((p) => p.pointId);
    expect([...b].sort()).toEqual([...a].sort());
    // selectShard keeps mapping order
    expect(a).toEqual(points.map((p) => p.pointId).filter((id) => a.includes(id)));
  });

  it("is roughly balanced (UUIDs and sequential names)", () => {
    const uuids = Array.from({ length: 6_000 }, (_, k) => ({ pointId: `${k.toString(16).padStart(8, "0")}-d9cb-469f-a165-${(k * 7919).toString(16).padStart(12, "0")}` }));
    for (const points of [ids(6_000, "Line1.Sensor"), uuids]) {
      for (const count of [2, 3, 6, 10]) {
        const sizes = Array.from({ length: count }, (_, index) => selectShard(points, { index, count }).length);
        const mean = points.length / count;
        for (const size of sizes) expect(Math.abs(size - mean) / mean, `sizes ${sizes.join("/")}`).toBeLessThan(0.1);
      }
    }
  });

  it("moves only the points a new replica takes when the count grows by one", () => {
    const points = ids(4_000);
    let moved = 0;
    for (const p of points) {
      const before = shardOf(p.pointId, 3);
      const after = shardOf(p.pointId, 4);
      if (before !== after) {
        moved++;
        expect(after).toBe(3);
      }
    }
    expect(moved / points.length).toBeGreaterThan(0.2);
    expect(moved / points.length).toBeLessThan(0.3);
  });
});

describe("parseShard", () => {
  it("reads INDEX/COUNT", () => {
    expect(parseShard("0/3")).toEqual({ index: 0, count: 3 });
    expect(parseShard("2/3")).toEqual({ index: 2, count: 3 });
    expect(parseShard(" 0 / 1 ")).toEqual({ index: 0, count: 1 });
  });

  it("reads auto/COUNT from the StatefulSet pod ordinal in the hostname", () => {
    expect(parseShard("auto/3", "opcua-ingest-0")).toEqual({ index: 0, count: 3 });
    expect(parseShard("auto/3", "opcua-ingest-2")).toEqual({ index: 2, count: 3 });
    expect(parseShard("auto/12", "plant-a-connector-11")).toEqual({ index: 11, count: 12 });
  });

  it.each([
    ["3/3", /0-based.*below COUNT.*0 … 2.*got 3/],
    ["0/0", /COUNT must be between 1 and 1024/],
    ["0/5000", /COUNT must be between 1 and 1024/],
    ["-1/3", /expected INDEX\/COUNT/],
    ["1", /expected INDEX\/COUNT \(e\.g\. 0\/3\) or auto\/COUNT/],
    ["a/3", /expected INDEX\/COUNT/],
    ["1/3/4", /expected INDEX\/COUNT/],
    ["", /expected INDEX\/COUNT/],
  ])("refuses %j with a message saying what is allowed", (text, message) => {
    expect(() => parseShard(text, "opcua-ingest-0")).toThrow(ShardError);
    expect(() => parseShard(text, "opcua-ingest-0")).toThrow(message);
  });

  it("refuses auto when the hostname has no ordinal, or the ordinal is not below COUNT", () => {
    expect(() => parseShard("auto/3", "my-laptop")).toThrow(/hostname "my-laptop" does not end in -N.*give INDEX\/COUNT/);
    expect(() => parseShard("auto/3", "opcua-ingest-3")).toThrow(/ordinal 3 .* not below COUNT 3: set the StatefulSet's replicas to 3/);
  });
});

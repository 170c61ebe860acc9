import { describe, expect, it } from "vitest";
import { parsePointQuery, PointIndex, type MappedPoint, type PointSort } from "../../src/ops/status-points.js";
import { known, Stats } from "../../src/delivery/stats.js";

const N = 100_000;
const NOW = 1_800_000_000_000;

/** 100,000 points over 20 lines; every 10th never sent a value; sent and arrival spread deterministically. */
function plant(): { points: MappedPoint[]; stats: Stats; failed: Map<string, string> } {
  const stats = new Stats();
  const points: MappedPoint[] = [];
  for (let i = 0; i < N; i++) {
    const line = i % 20;
    const pointId = `line${String(line).padStart(2, "0")}-m${String(i).padStart(6, "0")}-temp`;
    points.push({ pointId, nodeId: `nsu=urn:plant;s=Plant.Line${line}.Machine${i}.Temperature` });
    const c = stats.point(pointId);
    c.sent = (i * 7919) % 1000;
    c.received = c.sent + 1;
    if (i % 10 !== 0) {
      c.lastReceivedAt = NOW - ((i * 104_729) % 3_600_000);
      c.lastValue = String(i / 4);
      c.lastTs = c.lastReceivedAt - 5;
    }
  }
  const failed = new Map([[points[12_345]!.pointId, "BadNodeIdUnknown"]]);
  return { points, stats, failed };
}

/** The obvious implementation: filter, full sort, slice. */
function naive(points: MappedPoint[], stats: Stats, filter: string, sort: PointSort): string[] {
  const f = filter.toLowerCase();
  const idx = points.map((_, i) => i).filter((i) => !f || `${points[i]!.pointId}\n${points[i]!.nodeId}`.toLowerCase().includes(f));
  const key = (i: number): number => {
    const c = stats.points.get(points[i]!.pointId)!;
    if (sort === "age") return -(known(c.lastReceivedAt) ?? -Infinity);
    if (sort === "-age") return known(c.lastReceivedAt) ?? -Infinity;
    if (sort === "sent") return c.sent;
    return -c.sent;
  };
  if (sort === "pointId" || sort === "-pointId") {
    idx.sort((a, b) => (points[a]!.pointId < points[b]!.pointId ? -1 : 1));
    if (sort === "-pointId") idx.reverse();
  } else idx.sort((a, b) => key(a) - key(b) || a - b);
  return idx.map((i) => points[i]!.pointId);
}

describe("/api/points query at 100,000 points", () => {
  const { points, stats, failed } = plant();
  const index = new PointIndex(points, stats);

  it("filters, sorts and pages like a full sort would, and says how long it took", () => {
    const cases: { filter: string; sort: PointSort; page: number; pageSize: number }[] = [
      { filter: "", sort: "pointId", page: 1, pageSize: 50 },
      { filter: "", sort: "-pointId", page: 3, pageSize: 50 },
      { filter: "", sort: "-age", page: 1, pageSize: 50 },
      { filter: "", sort: "age", page: 7, pageSize: 100 },
      { filter: "", sort: "-sent", page: 1, pageSize: 50 },
      { filter: "", sort: "sent", page: 2000, pageSize: 50 }, // the last page: a heap from the back
      { filter: "", sort: "-age", page: 1000, pageSize: 50 }, // the middle: a full sort
      { filter: "LINE07", sort: "-age", page: 2, pageSize: 50 },
      { filter: "machine4242", sort: "pointId", page: 1, pageSize: 50 },
      { filter: "line03", sort: "-pointId", page: 10, pageSize: 25 },
      { filter: "Machine9999", sort: "sent", page: 1, pageSize: 500 },
      { filter: "no such point", sort: "-age", page: 1, pageSize: 50 },
    ];
    const timings: string[] = [];
    for (const c of cases) {
      const expected = naive(points, stats, c.filter, c.sort);
      const started = performance.now();
      const r = index.query(c, NOW, failed);
      const ms = performance.now() - started;
      timings.push(`${c.sort}${c.filter ? ` filter=${c.filter}` : ""} page ${c.page}: ${ms.toFixed(1)} ms`);
      expect(r.total).toBe(expected.length);
      expect(r.mapped).toBe(N);
      expect(r.pages).toBe(Math.max(1, Math.ceil(expected.length / c.pageSize)));
      const page = Math.min(c.page, r.pages);
      expect(r.rows.map((x) => x.pointId)).toEqual(expected.slice((page - 1) * c.pageSize, page * c.pageSize));
    }
    console.log(`PointIndex.query over ${N} points:\n  ${timings.join("\n  ")}`);
  });

  it("reports the row's counters, age and status", () => {
    const r = index.query({ filter: points[12_345]!.pointId, sort: "pointId", page: 1, pageSize: 10 }, NOW, failed);
    expect(r.rows).toHaveLength(1);
    const row = r.rows[0]!;
    const c = stats.points.get(row.pointId)!;
    expect(row).toMatchObject({ nodeId: points[12_345]!.nodeId, value: c.lastValue, ts: c.lastTs, sent: c.sent, status: "failed", reason: "BadNodeIdUnknown" });
    expect(row.ageMs).toBe(NOW - c.lastReceivedAt);
    const silent = index.query({ filter: "", sort: "-age", page: 1, pageSize: 1 }, NOW, failed).rows[0]!;
    expect(silent).toMatchObject({ pointId: points[0]!.pointId, status: "waiting", value: undefined, ageMs: undefined });
    const fresh = index.query({ filter: "", sort: "age", page: 1, pageSize: 1 }, NOW, failed).rows[0]!;
    expect(fresh.status).toBe("ok");
    expect(fresh.ageMs).toBe(Math.min(...[...stats.points.values()].filter((x) => !Number.isNaN(x.lastReceivedAt)).map((x) => NOW - x.lastReceivedAt)));
  });

  it("sees counters change without a rebuild, and clamps a page past the end", () => {
    const id = points[99_999]!.pointId;
    stats.points.get(id)!.sent = 1_000_000;
    expect(index.query({ filter: "", sort: "-sent", page: 1, pageSize: 1 }, NOW).rows[0]!.pointId).toBe(id);
    const r = index.query({ filter: "machine9999", sort: "pointId", page: 99, pageSize: 50 }, NOW);
    expect(r.page).toBe(r.pages);
    expect(r.rows.length).toBeGreaterThan(0);
  });
});

describe("parsePointQuery", () => {
  it("takes defaults for what is missing or wrong, and clamps the page size", () => {
    expect(parsePointQuery(new URLSearchParams(""))).toEqual({ filter: "", page: 1, pageSize: 50, sort: "pointId" });
    expect(parsePointQuery(new URLSearchParams("filter=%20ab%20&page=-3&pageSize=100000&sort=nonsense"))).toEqual({ filter: "ab", page: 1, pageSize: 500, sort: "pointId" });
    expect(parsePointQuery(new URLSearchParams("page=4&pageSize=0&sort=-age"))).toEqual({ filter: "", page: 4, pageSize: 1, sort: "-age" });
  });
});

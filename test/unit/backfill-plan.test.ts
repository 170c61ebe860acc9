import { describe, expect, it } from "vitest";
import { jobKey, SameMsMerger, windowBounds, windowCount, WindowPlanner } from "../../src/flows/backfill-plan.js";
import { formatDuration, progressLine, rates, summaryTable, type PointReport } from "../../src/flows/backfill-report.js";
import type { Sample } from "../../src/core/types.js";

describe("windows", () => {
  it("cover [from, to) without overlap, the last one cut at to", () => {
    expect(windowCount(0, 10, 3)).toBe(4);
    expect([0, 1, 2, 3].map((k) => windowBounds(0, 10, 3, k))).toEqual([
      { from: 0, to: 3 }, { from: 3, to: 6 }, { from: 6, to: 9 }, { from: 9, to: 10 },
    ]);
    expect(windowCount(0, 9, 3)).toBe(3);
    expect(windowCount(5, 6, 3_600_000)).toBe(1);
    expect(windowCount(10, 10, 3)).toBe(0);
    expect(windowCount(0, 10, 0)).toBe(0);
  });
});

describe("jobKey", () => {
  const base = { from: 1_000, to: 2_000, windowMs: 3_600_000, overwrite: false, points: [["a", "ns=1;s=A"], ["b", "ns=1;s=B"]] as const };

  it("ignores the order of the points", () => {
    expect(jobKey({ ...base, points: [["b", "ns=1;s=B"], ["a", "ns=1;s=A"]] })).toBe(jobKey(base));
  });

  it("changes with the range, the window, overwrite, the selection and a point's node", () => {
    const k = jobKey(base);
    expect(jobKey({ ...base, from: 999 })).not.toBe(k);
    expect(jobKey({ ...base, to: "now" })).not.toBe(k);
    expect(jobKey({ ...base, windowMs: 60_000 })).not.toBe(k);
    expect(jobKey({ ...base, overwrite: true })).not.toBe(k);
    expect(jobKey({ ...base, points: [["a", "ns=1;s=A"]] })).not.toBe(k);
    expect(jobKey({ ...base, points: [["a", "ns=1;s=A"], ["b", "ns=1;s=C"]] })).not.toBe(k);
  });

  it("keeps relative times as written, so the same command finds its job", () => {
    expect(jobKey({ ...base, from: "-7d", to: "now" })).toBe(jobKey({ ...base, from: "-7d", to: "now" }));
    expect(jobKey({ ...base, from: "-7d", to: "now" })).not.toBe(jobKey({ ...base, from: "-6d", to: "now" }));
  });
});

describe("WindowPlanner", () => {
  it("reads points at the same window together, earliest window first, one read per point at a time", () => {
    const p = new WindowPlanner(3, [{ id: "a", doneBelow: 0 }, { id: "b", doneBelow: 1 }, { id: "c", doneBelow: 0 }]);
    expect(p.progress).toEqual({ done: 1, total: 9 });
    expect(p.take(10)).toEqual({ window: 0, pointIds: ["a", "c"] });
    expect(p.take(10)).toEqual({ window: 1, pointIds: ["b"] });
    expect(p.take(10)).toBeUndefined(); // all reading
    p.done("a");
    expect(p.take(10)).toEqual({ window: 1, pointIds: ["a"] });
    p.done("c");
    p.done("b");
    expect(p.take(1)).toEqual({ window: 1, pointIds: ["c"] });
    expect(p.take(5)).toEqual({ window: 2, pointIds: ["b"] });
    expect(p.doneBelow("b")).toBe(2);
  });

  it("takes at most maxPoints", () => {
    const p = new WindowPlanner(1, ["a", "b", "c"].map((id) => ({ id, doneBelow: 0 })));
    expect(p.take(2)!.pointIds).toEqual(["a", "b"]);
    expect(p.take(0)).toBeUndefined();
    expect(p.take(2)!.pointIds).toEqual(["c"]);
  });

  it("is complete when every point finished or failed; held points wait for resume", () => {
    const p = new WindowPlanner(2, [{ id: "a", doneBelow: 2 }, { id: "b", doneBelow: 0 }, { id: "c", doneBelow: 5 }]);
    expect(p.doneBelow("c")).toBe(2); // clamped: a checkpoint never exceeds the windows
    expect(p.take(5)).toEqual({ window: 0, pointIds: ["b"] });
    p.hold("b");
    expect(p.take(5)).toBeUndefined();
    expect(p.complete).toBe(false);
    p.resume("b");
    expect(p.take(5)).toEqual({ window: 0, pointIds: ["b"] });
    p.release("b"); // stopped: same window again later
    expect(p.take(5)).toEqual({ window: 0, pointIds: ["b"] });
    p.fail("b");
    expect(p.complete).toBe(true);
    expect(p.progress).toEqual({ done: 4, total: 6 });
  });

  it("scales with the points: 10,000 points × 50 windows planned in linear time", () => {
    const p = new WindowPlanner(50, Array.from({ length: 10_000 }, (_, i) => ({ id: `p${i}`, doneBelow: i % 7 })));
    const t0 = performance.now();
    let units = 0;
    for (let u = p.take(64); u; u = p.take(64)) {
      units++;
      for (const id of u.pointIds) p.done(id);
    }
    expect(p.complete).toBe(true);
    expect(p.progress.done).toBe(500_000);
    expect(units).toBeGreaterThan(7_000);
    expect(performance.now() - t0).toBeLessThan(5_000); // quadratic planning would take minutes
  });

  it("a job of no windows is complete at once", () => {
    const p = new WindowPlanner(0, [{ id: "a", doneBelow: 0 }]);
    expect(p.take(4)).toBeUndefined();
    expect(p.complete).toBe(true);
  });
});

describe("SameMsMerger", () => {
  const s = (ts: number, value: string): Sample => ({ pointId: "p", ts, value, quality: 0 });
  const merger = (overwrite: boolean) => {
    const out: string[] = [];
    const m = new SameMsMerger(overwrite, (_ts, value) => out.push(value));
    return { m, out };
  };
  const run = (overwrite: boolean, input: Sample[]) => {
    const { m, out } = merger(overwrite);
    for (const x of input) m.push(x.ts, x.value, x.quality);
    m.flush();
    return { out, merged: m.merged };
  };

  it("keeps the first of a millisecond, or the last with overwrite, as the API would", () => {
    const input = [s(1, "a"), s(2, "b"), s(2, "c"), s(2, "d"), s(3, "e"), s(3, "f")];
    expect(run(false, input)).toEqual({ out: ["a", "b", "e"], merged: 3 });
    expect(run(true, input)).toEqual({ out: ["a", "d", "f"], merged: 3 });
  });

  it("holds one sample until the next millisecond or flush", () => {
    const { m, out } = merger(false);
    m.push(1, "a", 0);
    expect(out).toEqual([]);
    m.push(2, "b", 0);
    expect(out).toEqual(["a"]);
    m.flush();
    expect(out).toEqual(["a", "b"]);
    m.flush();
    expect(out).toEqual(["a", "b"]);
  });
});

describe("report", () => {
  const point = (o: Partial<PointReport>): PointReport => ({
    pointId: "p", nodeId: "ns=1;s=X", line: 7, read: 0, sent: 0, conflicts: 0, badSkipped: 0, skipped: 0, errors: 0,
    windowsDone: 3, windowsTotal: 3, status: "ok", ...o,
  });

  it("summary: a row per point, a total, and each failure with node, mapping line and reason", () => {
    const text = summaryTable([
      point({ pointId: "boiler-1", read: 1200, sent: 1190, conflicts: 5, badSkipped: 3, skipped: 2 }),
      point({ pointId: "boiler-2", status: "failed", errors: 1, windowsDone: 0, reason: "the server keeps no history for this node (BadHistoryOperationUnsupported)" }),
    ], false);
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^POINT ID\s+READ\s+SENT\s+CONFLICTS\s+BAD SKIPPED\s+SKIPPED\s+ERRORS\s+RESULT$/);
    expect(lines[1]!.split(/\s+/)).toEqual(["boiler-1", "1200", "1190", "5", "3", "2", "0", "ok"]);
    expect(lines[2]!.split(/\s+/)).toEqual(["boiler-2", "0", "0", "0", "0", "0", "1", "failed"]);
    expect(lines[3]!.split(/\s+/)).toEqual(["TOTAL", "1200", "1190", "5", "3", "2", "1", "1", "failed"]);
    expect(lines[4]).toBe("FAILED boiler-2 (node ns=1;s=X, mapping line 7): the server keeps no history for this node (BadHistoryOperationUnsupported)");
  });

  it("dry run: WOULD SEND instead of SENT and CONFLICTS; interrupted points show their windows", () => {
    const text = summaryTable([point({ pointId: "a", read: 10, sent: 9, status: "interrupted", windowsDone: 1 })], true);
    expect(text.split("\n")[0]).toMatch(/^POINT ID\s+READ\s+WOULD SEND\s+BAD SKIPPED\s+SKIPPED\s+ERRORS\s+RESULT$/);
    expect(text).toContain("interrupted (1/3 windows)");
  });

  it("progress: rate of reading, ETA from this run's pace over the windows left", () => {
    const snap = { windowsDone: 60, windowsTotal: 100, windowsAtStart: 20, valuesRead: 40_000, valuesSent: 30_000, spooled: 10_000, elapsedMs: 10_000, phase: "reading" as const };
    const r = rates(snap);
    expect(r.valuesPerS).toBe(4_000);
    expect(r.etaS).toBe(10); // 40 windows done in 10 s, 40 left
    expect(r.fraction).toBe(0.6);
    expect(progressLine(snap, 10)).toBe("[######----]  60% 40000 read 4000/s  30000 sent  ETA 0:10");
    expect(rates({ ...snap, windowsDone: 20 }).etaS).toBeUndefined();
    expect(progressLine({ ...snap, windowsDone: 100, phase: "sending" }, 10)).toBe("[##########] 100% read 40000, sending: 10000 left, 30000 sent");
  });

  it("durations", () => {
    expect(formatDuration(75)).toBe("1:15");
    expect(formatDuration(3725)).toBe("1:02:05");
    expect(formatDuration(Number.NaN)).toBe("--:--");
  });
});

describe("insideRange (the history reader's half-open window)", async () => {
  const { insideRange } = await import("../../src/opcua/history.js");
  const v = (sourceTimestamp: number | null, serverTimestamp: number | null = null) => ({
    dataType: 11, arrayType: 0, value: 1, statusCode: 0, sourceTimestamp, serverTimestamp, receivedAt: 0,
  });

  it("keeps from, drops to and beyond (servers send the end time inclusive, and bounds)", () => {
    const r = insideRange([v(999), v(1_000), v(1_500), v(1_999), v(2_000), v(2_001)], 1_000, 2_000);
    expect(r.inside.map((x) => x.sourceTimestamp)).toEqual([1_000, 1_500, 1_999]);
    expect(r.outside).toBe(3);
  });

  it("hands a page wholly inside on as it is, and one that leaves the range after its start without what is outside", () => {
    const page = [v(1_000), v(1_500), v(1_999)];
    expect(insideRange(page, 1_000, 2_000)).toEqual({ inside: page, outside: 0 });
    expect(insideRange(page, 1_000, 2_000).inside).toBe(page);
    const r = insideRange([v(1_000), v(1_500), v(2_000), v(1_700), v(2_500)], 1_000, 2_000);
    expect(r.inside.map((x) => x.sourceTimestamp)).toEqual([1_000, 1_500, 1_700]);
    expect(r.outside).toBe(2);
  });

  it("falls back to the server timestamp; keeps values without any (the caller skips them)", () => {
    const r = insideRange([v(null, 1_500), v(null, 2_500), v(null, null)], 1_000, 2_000);
    expect(r.inside.map((x) => x.serverTimestamp)).toEqual([1_500, null]);
    expect(r.outside).toBe(1);
  });
});

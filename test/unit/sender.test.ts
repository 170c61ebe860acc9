import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { SendResult } from "../../src/ingest/result.js";
import type { Batch } from "../../src/pipeline/batcher.js";
import { ManualClock } from "../../src/pipeline/clock.js";
import { Sender } from "../../src/pipeline/sender.js";
import { Stats } from "../../src/pipeline/stats.js";
import type { Sample } from "../../src/pipeline/types.js";

const batch = (pointId: string, ...ts: number[]): Batch => ({ pointId, samples: ts.map((t): Sample => ({ pointId, ts: t, value: "1", quality: 0 })) });
const flush = () => new Promise((r) => setImmediate(r));

interface Call { pointId: string; first: number; resolve: (r: SendResult) => void }

function setup(concurrency: number) {
  const clock = new ManualClock();
  const calls: Call[] = [];
  const dead: Batch[] = [];
  const stats = new Stats();
  const sender = new Sender(
    { concurrency, overwrite: false, backoff: { initialMs: 100, maxMs: 1_000 }, maxRequestsPerSecond: 0 },
    (pointId, samples) => new Promise((resolve) => calls.push({ pointId, first: samples[0]!.ts, resolve })),
    (b) => dead.push(b),
    stats,
    clock,
    pino({ level: "silent" }),
  );
  return { clock, calls, dead, stats, sender };
}
const ok: SendResult = { kind: "accepted", status: 204, conflicts: [] };

describe("Sender", () => {
  it("keeps one request in flight per point, in order, and respects the global limit", async () => {
    const { calls, sender, stats } = setup(2);
    sender.enqueue(batch("a", 1));
    sender.enqueue(batch("a", 2));
    sender.enqueue(batch("b", 10));
    sender.enqueue(batch("c", 20));
    await flush();
    expect(calls.map((c) => [c.pointId, c.first])).toEqual([["a", 1], ["b", 10]]);
    calls[0]!.resolve(ok);
    await flush();
    // a's next batch and c compete for the freed slot; whichever goes, a's order holds
    expect(calls).toHaveLength(3);
    calls[1]!.resolve(ok);
    await flush();
    calls[2]!.resolve(ok);
    await flush();
    calls[3]!.resolve(ok);
    await flush();
    expect(calls.filter((c) => c.pointId === "a").map((c) => c.first)).toEqual([1, 2]);
    expect(stats.sent).toBe(4);
    expect(await sender.drain(10)).toBe(true);
  });

  it("retries a transient failure after Retry-After, then counts conflicts of the 202", async () => {
    const { calls, sender, clock, stats } = setup(4);
    sender.enqueue(batch("a", 1, 2, 3));
    await flush();
    calls[0]!.resolve({ kind: "retry", afterMs: 5_000, reason: "HTTP 429" });
    await flush();
    clock.advance(4_999);
    await flush();
    expect(calls).toHaveLength(1);
    clock.advance(1);
    await flush();
    expect(calls).toHaveLength(2);
    calls[1]!.resolve({ kind: "accepted", status: 202, conflicts: [1] });
    await flush();
    expect(stats.sent).toBe(2);
    expect(stats.conflicts).toBe(1);
    expect(stats.retries).toBe(1);
  });

  it("dead-letters a rejected batch and goes on with the point's next batch", async () => {
    const { calls, sender, dead, stats } = setup(4);
    sender.enqueue(batch("a", 1));
    sender.enqueue(batch("a", 2));
    await flush();
    calls[0]!.resolve({ kind: "rejected", status: 404, detail: "unknown point" });
    await flush();
    expect(dead.map((b) => b.samples[0]!.ts)).toEqual([1]);
    expect(calls).toHaveLength(2);
    calls[1]!.resolve(ok);
    await flush();
    expect(stats.dropped.dead_letter).toBe(1);
    expect(sender.backlog).toBe(0);
  });

  it("drain gives up at its deadline and stop leaves the rest counted", async () => {
    const { calls, sender, clock } = setup(1);
    sender.enqueue(batch("a", 1, 2));
    await flush();
    const drained = sender.drain(1_000);
    clock.advance(1_000);
    expect(await drained).toBe(false);
    expect(sender.stop()).toBe(2);
    expect(calls).toHaveLength(1);
  });
});

import { join } from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { SendResult } from "../../src/ingest/result.js";
import { ManualClock } from "../../src/core/clock.js";
import { Scheduler } from "../../src/delivery/scheduler.js";
import { Sender } from "../../src/delivery/sender.js";
import { Stats } from "../../src/delivery/stats.js";
import { Spool, type SpoolRow } from "../../src/spool/spool.js";
import { tempDir } from "../helpers/env.js";

// The API is a function here (its HTTP side is tested against the emulator); the spool is a real SQLite file.
interface Call { pointId: string; ts: number[]; resolve: (r: SendResult) => void }
const flush = () => new Promise((r) => setImmediate(r));
const ok: SendResult = { kind: "accepted", status: 204, conflicts: [] };
const dirs: { remove(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

function setup(concurrency: number, opts: { retryMaxElapsedMs?: number; maxValues?: number } = {}) {
  const d = tempDir("sender");
  dirs.push(d);
  const clock = new ManualClock(1_000_000);
  const spool = new Spool({ file: join(d.path, "spool.db"), maxBytes: 1 << 30, whenFull: "dropOldest" });
  const calls: Call[] = [];
  const stats = new Stats();
  let sender: Sender | undefined;
  const scheduler = new Scheduler(opts.maxValues ?? 3, 1_000, clock, () => sender?.wake());
  sender = new Sender(
    { concurrency, overwrite: false, maxValues: opts.maxValues ?? 3, backoff: { initialMs: 100, maxMs: 1_000 }, maxRequestsPerSecond: 0, retryMaxElapsedMs: opts.retryMaxElapsedMs ?? 0 },
    spool, scheduler,
    (pointId, rows: readonly SpoolRow[]) => new Promise((resolve) => calls.push({ pointId, ts: rows.map((r) => r.ts), resolve })),
    stats, clock, pino({ level: "silent" }),
  );
  const add = (pointId: string, ...ts: number[]) => {
    for (const t of ts) spool.append({ pointId, ts: t, value: String(t), quality: 0 }, clock.now());
    const { added } = spool.commit();
    for (const [p, first] of added) scheduler.update(p, spool.unread(p), first);
  };
  return { clock, spool, calls, stats, sender, scheduler, add };
}

describe("Sender", () => {
  it("sends a point's values in order with one request in flight per point, within the global limit", async () => {
    const { calls, add, stats, spool } = setup(2);
    add("a", 1, 2, 3, 4, 5, 6);
    add("b", 10, 11, 12);
    add("c", 20, 21, 22);
    await flush();
    expect(calls.map((c) => [c.pointId, c.ts])).toEqual([["a", [1, 2, 3]], ["b", [10, 11, 12]]]);
    calls[0]!.resolve(ok);
    await flush();
    calls[1]!.resolve(ok);
    await flush();
    expect(calls.slice(2).map((c) => c.pointId).sort()).toEqual(["a", "c"]);
    calls[2]!.resolve(ok);
    calls[3]!.resolve(ok);
    await flush();
    expect(calls.filter((c) => c.pointId === "a").map((c) => c.ts)).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(stats.sent).toBe(12);
    spool.commit();
    expect(spool.rows).toBe(0);
  });

  it("never has two requests of one point in flight, even when it becomes due again meanwhile", async () => {
    const { calls, add } = setup(4);
    add("a", 1, 2, 3);
    await flush();
    add("a", 4, 5, 6); // due by count while [1,2,3] is in flight
    await flush();
    expect(calls.map((c) => c.ts)).toEqual([[1, 2, 3]]);
    calls[0]!.resolve(ok);
    await flush();
    expect(calls.map((c) => c.ts)).toEqual([[1, 2, 3], [4, 5, 6]]);
  });

  it("pauses every point after a transient failure, keeps the rows, and resends them first", async () => {
    const { calls, add, clock, stats, spool } = setup(4);
    add("a", 1, 2, 3);
    add("b", 7, 8, 9);
    await flush();
    calls[0]!.resolve({ kind: "retry", afterMs: 5_000, reason: "HTTP 503" });
    await flush();
    calls[1]!.resolve({ kind: "retry", afterMs: undefined, reason: "HTTP 503" });
    await flush();
    add("a", 4, 5, 6);
    await flush();
    expect(calls).toHaveLength(2); // paused: nothing new goes out
    clock.advance(4_999);
    await flush();
    expect(calls).toHaveLength(2);
    clock.advance(1);
    await flush();
    expect(calls.slice(2).map((c) => [c.pointId, c.ts])).toEqual([["a", [1, 2, 3]], ["b", [7, 8, 9]]]);
    calls[2]!.resolve({ kind: "accepted", status: 202, conflicts: [1] });
    calls[3]!.resolve(ok);
    await flush();
    expect(calls[4]!.ts).toEqual([4, 5, 6]);
    expect(stats.conflicts).toBe(1);
    expect(stats.retries).toBe(2);
    expect(spool.rows).toBeGreaterThan(0);
  });

  it("dead-letters a refused batch and goes on with the point's next values", async () => {
    const { calls, add, stats, spool, clock } = setup(4);
    add("a", 1, 2, 3, 4);
    await flush();
    calls[0]!.resolve({ kind: "rejected", status: 404, detail: "unknown point" });
    await flush();
    expect(calls).toHaveLength(1); // the one value left is due maxDelay after it arrived
    clock.advance(1_000);
    await flush();
    expect(calls[1]!.ts).toEqual([4]);
    calls[1]!.resolve(ok);
    await flush();
    expect(stats.dropped.dead_letter).toBe(3);
    spool.commit(); // the dead letter is written with the deletion of its rows
    const letters = spool.database.prepare("SELECT point_id, status, detail FROM dead_letters").all();
    expect(letters).toEqual([{ point_id: "a", status: 404, detail: "unknown point" }]);
  });

  it("gives up after retryMaxElapsed when configured, into the dead letters", async () => {
    const { calls, add, clock, stats } = setup(1, { retryMaxElapsedMs: 10_000 });
    add("a", 1, 2, 3);
    await flush();
    for (let i = 0; calls.length < 50 && !stats.dropped.dead_letter; i++) {
      calls[calls.length - 1]!.resolve({ kind: "retry", afterMs: 3_000, reason: "HTTP 503" });
      await flush();
      clock.advance(3_000);
      await flush();
    }
    expect(stats.dropped.dead_letter).toBe(3);
    expect(calls.length).toBe(5); // t=0, 3, 6, 9 s failed; the failure at 12 s is past 10 s
  });

  it("drain resolves once everything was acknowledged, and reports false at its deadline otherwise", async () => {
    const { calls, add, sender, clock } = setup(4);
    add("a", 1);
    const drained = sender.drain(10_000);
    clock.advance(1_000); // maxDelay: the single value goes out
    await flush();
    calls[0]!.resolve(ok);
    await flush();
    expect(await drained).toBe(true);
    add("b", 1, 2, 3);
    await flush();
    const stuck = sender.drain(500);
    clock.advance(500);
    expect(await stuck).toBe(false);
  });
});

import { join } from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/core/clock.js";
import type { Sample } from "../../src/core/types.js";
import { DeliveryEngine } from "../../src/delivery/engine.js";
import type { SendResult } from "../../src/ingest/result.js";
import type { SpoolRow } from "../../src/spool/spool.js";
import { tempDir } from "../helpers/env.js";

// The delivery engine on a real SQLite file with an injected clock; the API is a function that the
// test answers (its HTTP side is tested against the emulator). No sockets, no sleeps: time moves
// only when the test advances the clock, and promise callbacks run on `flush`.
const flush = () => new Promise((r) => setImmediate(r));
const ok: SendResult = { kind: "accepted", status: 204, conflicts: [] };
const down: SendResult = { kind: "retry", afterMs: undefined, reason: "HTTP 503" };
const dirs: { remove(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

interface Call { pointId: string; rows: SpoolRow[]; resolve(r: SendResult): void }

function setup(o: { memoryRows?: number; maxValues?: number; maxBytes?: number; answer?: (c: Call) => SendResult | undefined; file?: string } = {}) {
  const d = tempDir("engine");
  dirs.push(d);
  const file = o.file ?? join(d.path, "spool.db");
  const clock = new ManualClock(1_000_000);
  const calls: Call[] = [];
  const logs: Record<string, unknown>[] = [];
  const log = pino({ level: "info" }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  let closed = false;
  const engine = new DeliveryEngine({
    spool: { file, maxBytes: o.maxBytes ?? 1 << 30, whenFull: "dropOldest", ...(o.memoryRows && { memoryRows: o.memoryRows }) },
    commitIntervalMs: 100,
    batch: { maxValues: o.maxValues ?? 10, maxDelayMs: 1_000 },
    sender: { concurrency: 4, overwrite: false, maxRequestsPerSecond: 0, retryMaxElapsedMs: 0, retryMaxDelayMs: 1_000 },
    api: {
      send: (pointId, rows) =>
        new Promise<SendResult>((resolve) => {
          const call = { pointId, rows: [...rows], resolve };
          calls.push(call);
          const a = o.answer?.(call);
          if (a) resolve(a);
        }),
      close: async () => void (closed = true),
      // As the HTTP client's destroy: requests in flight end as transient failures.
      destroy: async () => {
        closed = true;
        for (const c of calls) c.resolve(down);
      },
    },
    log,
    clock,
  });
  const sample = (pointId: string, ts: number): Sample => ({ pointId, ts, value: `v${ts}`, quality: 0 });
  /** Let time pass in 100 ms steps, running what the engine's promises scheduled in between. */
  const run = async (ms: number) => {
    for (let t = 0; t < ms; t += 100) {
      clock.advance(100);
      await flush();
    }
  };
  const delivered = (pointId: string) => calls.filter((c) => c.pointId === pointId).flatMap((c) => c.rows.map((r) => r.ts));
  return { engine, clock, calls, logs, sample, run, delivered, file, isClosed: () => closed };
}

describe("DeliveryEngine", () => {
  it("makes samples durable at the group commit, sends per point in order in batches of at most maxValues, deletes on ack", async () => {
    const { engine, sample, run, calls, delivered } = setup({ answer: () => ok });
    engine.start();
    for (let i = 0; i < 25; i++) engine.append(sample("a", i));
    engine.append(sample("b", 7));
    expect(calls).toHaveLength(0); // nothing before the commit
    await run(100); // commit: a has 25 ≥ 10 → due by count; b waits for maxDelay
    await run(100);
    expect(calls.filter((c) => c.pointId === "a").map((c) => c.rows.length)).toEqual([10, 10]);
    expect(delivered("b")).toEqual([]);
    await run(1_000);
    expect(delivered("a")).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect(delivered("b")).toEqual([7]);
    await run(5_000); // maintenance deletes the acknowledged chunks
    expect(engine.backlog).toBe(0);
    expect(engine.spool.database.prepare("SELECT COUNT(*) FROM chunks").pluck().get()).toBe(0);
    expect(await engine.finish(1_000)).toBe(0);
  });

  it("survives a disk-full spool: commits fail without throwing, samples wait in memory, then everything goes out in order", async () => {
    const { engine, sample, run, delivered, logs } = setup({ answer: () => ok });
    engine.start();
    engine.append(sample("a", 0));
    await run(200);
    const db = engine.spool.database;
    db.pragma(`max_page_count = ${db.pragma("page_count", { simple: true }) as number}`); // SQLITE_FULL from now on
    for (let i = 1; i <= 12_000; i++) engine.append({ ...sample("a", i), value: "z".repeat(300) });
    await run(2_000);
    expect(engine.stats.commitErrors).toBeGreaterThan(0);
    // Past the early-commit size, a failing commit is not retried per append (each try rewrites the whole buffer), but with backoff.
    expect(engine.stats.commitErrors).toBeLessThan(12);
    expect(logs.filter((l) => l.event === "spool_commit_failed")).toHaveLength(1); // loud once, not every tick
    expect(delivered("a")).toEqual([0]); // not durable, not sent
    expect(engine.backlog).toBe(12_000);
    db.pragma("max_page_count = 1073741823"); // space again
    await run(8_000);
    expect(delivered("a")).toEqual(Array.from({ length: 12_001 }, (_, i) => i));
    expect(await engine.finish(1_000)).toBe(0);
  });

  it("serves an outage longer than memory from SQLite, in order, with memory bounded", async () => {
    let apiUp = false;
    const { engine, sample, run, delivered, calls } = setup({ memoryRows: 50, answer: () => (apiUp ? ok : down) });
    engine.start();
    const spool = engine.spool as unknown as { memRows: number };
    let peak = 0;
    for (let c = 0; c < 40; c++) {
      for (let i = 0; i < 10; i++) engine.append(sample(i % 2 ? "a" : "b", c * 10 + i));
      await run(100);
      peak = Math.max(peak, spool.memRows);
    }
    expect(calls.length).toBeGreaterThan(0); // it tried
    expect(peak).toBeLessThanOrEqual(60); // memoryRows + one commit
    expect(engine.backlog).toBe(400);
    apiUp = true;
    await run(10_000);
    const want = (odd: number) => Array.from({ length: 400 }, (_, i) => i).filter((i) => i % 2 === odd);
    expect([...new Set(delivered("a"))]).toEqual(want(1));
    expect([...new Set(delivered("b"))]).toEqual(want(0));
    expect(engine.backlog).toBe(0);
    expect(await engine.finish(1_000)).toBe(0);
  });

  it("drains a backlog spread over many points in full batches, not memoryRows / points a request", async () => {
    let apiUp = false;
    const { engine, sample, run, delivered, calls } = setup({ memoryRows: 40, maxValues: 10, answer: () => (apiUp ? ok : down) });
    engine.start();
    const spool = engine.spool as unknown as { memRows: number };
    const points = Array.from({ length: 20 }, (_, i) => `p${i}`);
    let atDown: number | undefined;
    let peak = 0;
    // 40 commits of one sample per point: 800 samples, arrival order interleaves the points.
    for (let c = 0; c < 40; c++) {
      for (const p of points) engine.append(sample(p, c));
      await run(100);
      if (engine.stats.apiUp) continue;
      atDown ??= spool.memRows;
      peak = Math.max(peak, spool.memRows);
    }
    // Once the API is known down (the first request, maxDelay after the first sample), memory stops growing.
    expect(atDown).toBeLessThanOrEqual(points.length * 10);
    expect(peak).toBe(atDown);
    const before = calls.length;
    apiUp = true;
    await run(10_000);
    for (const p of points) expect(delivered(p).filter((ts, i, all) => all.indexOf(ts) === i)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    const drain = calls.slice(before).filter((c) => c.rows.length > 0);
    // 40 samples in memory over 20 points would be 2 a request; reading ahead to maxValues a point makes them full.
    expect(drain.filter((c) => c.rows.length === 10).length).toBeGreaterThanOrEqual(70);
    expect(drain.length).toBeLessThanOrEqual(100);
    expect(await engine.finish(1_000)).toBe(0);
  });

  it("finish: what cannot be sent within the grace period stays in the spool for the next run", async () => {
    const first = setup({}); // the API never answers
    first.engine.start();
    for (let i = 0; i < 5; i++) first.engine.append(first.sample("a", i));
    const left = first.engine.finish(500);
    await first.run(600);
    expect(await left).toBe(5);
    expect(first.isClosed()).toBe(true);
    expect(first.logs.some((l) => l.event === "drain_timeout")).toBe(true);

    const next = setup({ file: first.file, answer: () => ok });
    next.engine.start();
    await next.run(1_200); // maxDelay after their arrival (the same clock start here)
    expect(next.delivered("a")).toEqual([0, 1, 2, 3, 4]);
    expect(await next.engine.finish(1_000)).toBe(0);
  });

  it("finish(grace, stop): a stop during the drain cuts it to stop.ms after the signal; a stop before it, stop.ms from the start", async () => {
    for (const abortFirst of [false, true]) {
      const { engine, sample, run, logs } = setup({}); // the API never answers
      engine.start();
      for (let i = 0; i < 5; i++) engine.append(sample("a", i));
      const stop = new AbortController();
      if (abortFirst) stop.abort();
      let settled = false;
      const left = engine.finish(60_000, { signal: stop.signal, ms: 500 }).then((n) => ((settled = true), n));
      if (!abortFirst) {
        await run(2_000);
        expect(settled).toBe(false); // the 60 s grace runs on
        stop.abort();
      }
      await run(400);
      expect(settled).toBe(false); // stop.ms is a grace too, not an immediate end
      await run(200);
      expect(settled).toBe(true);
      expect(await left).toBe(5); // unsent, still in the spool for the next run
      expect(logs.some((l) => l.event === "drain_timeout")).toBe(true);
    }
  });

  it("dead-letters a refused batch in the commit that follows and goes on with the next", async () => {
    const { engine, sample, run, delivered } = setup({ maxValues: 2, answer: (c) => (c.rows[0]!.ts === 0 ? { kind: "rejected", status: 404, detail: "no such point" } : ok) });
    engine.start();
    for (let i = 0; i < 4; i++) engine.append(sample("a", i));
    await run(1_500);
    expect(delivered("a")).toEqual([0, 1, 2, 3]);
    expect(engine.deadLetters()).toMatchObject({ count: 1, latest: [{ pointId: "a", status: 404, values: 2 }] });
    expect(engine.stats.dropped.dead_letter).toBe(2);
    expect(await engine.finish(1_000)).toBe(0);
  });

  it("room(): a reader waits while more than 10,000 values wait for the API, and goes on as acknowledgements make room", async () => {
    // maxValues 100 x concurrency 4 x 20 = 8,000 < 10,000: the floor of the high-water mark counts.
    let answering = false;
    const { engine, sample, run, calls } = setup({ maxValues: 100, answer: () => (answering ? ok : undefined) });
    engine.start();
    await engine.room(); // nothing waits: at once
    for (let i = 0; i < 10_200; i++) engine.append(sample(`p${i % 10}`, i));
    let roomy = false;
    const waiting = engine.room().then(() => (roomy = true));
    await run(200); // committed; 4 requests of 100 in flight, none answered
    expect(calls).toHaveLength(4);
    expect(roomy).toBe(false);
    calls[0]!.resolve(ok); // 10,100 left: still waiting
    await flush();
    expect(roomy).toBe(false);
    calls[1]!.resolve(ok); // 10,000 left: room
    await waiting;
    expect(engine.backlog).toBe(10_000);

    // A stop does not wait for the API.
    const stop = new AbortController();
    engine.append(sample("p0", 20_000));
    const aborted = engine.room(stop.signal);
    let done = false;
    void aborted.then(() => (done = true));
    await flush();
    expect(done).toBe(false);
    stop.abort();
    await aborted;
    answering = true;
    for (const c of calls) c.resolve(ok);
    const left = engine.finish(5_000);
    await run(5_000);
    expect(await left).toBe(0);
  });

  it("room(): a spool file over half its maxBytes holds readers until the maintenance commit deletes what was acknowledged", async () => {
    const { engine, sample, run } = setup({ maxValues: 100, maxBytes: 400_000, answer: () => ok });
    engine.start();
    for (let i = 0; i < 600; i++) engine.append({ ...sample(`p${i % 6}`, i), value: "x".repeat(500) }); // ~330 KB
    await run(200); // committed and sent: every value acknowledged, the chunks still in the file
    expect(engine.backlog).toBe(0);
    expect(engine.spool.bytes).toBeGreaterThan(200_000);
    let roomy = false;
    const waiting = engine.room().then(() => (roomy = true));
    await run(1_000);
    expect(roomy).toBe(false);
    await run(5_000); // maintenance: the acknowledged chunks are deleted, the bytes fall
    await waiting;
    expect(engine.spool.bytes).toBe(0);
    expect(await engine.finish(1_000)).toBe(0);
  });

  it("room(): finish() lets waiting readers go on, and a reader that asks after finish() does not wait", async () => {
    const { engine, sample, run } = setup({ maxValues: 100 }); // the API never answers
    engine.start();
    for (let i = 0; i < 10_001; i++) engine.append(sample("a", i));
    const stop = new AbortController();
    const waiting = [engine.room(), engine.room(stop.signal), engine.room(stop.signal)];
    let settled = 0;
    for (const w of waiting) void w.then(() => settled++);
    await run(200);
    expect(settled).toBe(0);
    stop.abort(); // the two waiting on this signal go on; the other keeps waiting
    await flush();
    expect(settled).toBe(2);
    expect((engine as unknown as { roomWaiters: unknown[] }).roomWaiters).toHaveLength(1);
    const left = engine.finish(500);
    await run(600);
    await Promise.all(waiting);
    expect(await left).toBe(10_001);
    await engine.room(); // after finish: at once
  });
});

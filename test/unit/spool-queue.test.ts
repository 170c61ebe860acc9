import { describe, expect, it } from "vitest";
import { MemChunk, PointQueue } from "../../src/spool/queue.js";

/** A seeded PRNG (mulberry32): the same sequence of operations on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface ModelRow {
  chunk: MemChunk;
  ts: number;
  value: string;
}

/**
 * The point queues chained through chunks against a model of plain arrays per point: random commits,
 * takes, releases, acknowledgements and dropOldest, checking after every step what the sender would
 * see (unread, first arrival, the batch) and what the spool would count (settled, emptied chunks).
 */
describe("point queues chained through memory chunks", () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`match a model of per-point arrays (seed ${seed}, 2,000 steps)`, () => {
      const rand = rng(seed);
      const queues = [0, 1, 2, 3, 4].map((k) => new PointQueue(k, `p${k}`));
      const model = queues.map(() => ({ rows: [] as ModelRow[], inflight: 0 }));
      const chunks: MemChunk[] = [];
      const emptied: MemChunk[] = [];
      const pending = new Map<MemChunk, number>();
      let ts = 0;
      let nextId = 1;
      for (let step = 0; step < 2_000; step++) {
        const op = rand();
        if (op < 0.3) {
          // A commit: 1..12 samples of random points, arrival per sample.
          const n = 1 + Math.floor(rand() * 12);
          const keys = Array.from({ length: n }, () => Math.floor(rand() * queues.length));
          const tsCol = keys.map(() => ++ts);
          const values = tsCol.map((t) => `v${t}`);
          const quality = keys.map(() => 0 as const);
          const at = tsCol.map((t) => 1_000_000 + t);
          const c = new MemChunk(nextId++, at[0]!, n, n * 50, tsCol, values, quality, rand() < 0.3 ? undefined : at);
          chunks.push(c);
          pending.set(c, n);
          keys.forEach((k, i) => {
            queues[k]!.push(c, i);
            model[k]!.rows.push({ chunk: c, ts: tsCol[i]!, value: values[i]! });
          });
        } else if (op < 0.55) {
          const k = Math.floor(rand() * queues.length);
          const limit = 1 + Math.floor(rand() * 6);
          const got = queues[k]!.take(limit);
          const m = model[k]!;
          const want = m.inflight > 0 ? [] : m.rows.slice(0, limit).map((r) => ({ ts: r.ts, value: r.value, quality: 0 }));
          expect(got).toEqual(want);
          if (m.inflight === 0) m.inflight = want.length;
        } else if (op < 0.65) {
          const k = Math.floor(rand() * queues.length);
          queues[k]!.release();
          model[k]!.inflight = 0;
        } else if (op < 0.9) {
          const k = Math.floor(rand() * queues.length);
          const m = model[k]!;
          if (m.inflight === 0) continue;
          const before = emptied.length;
          const settled = queues[k]!.ack((c) => emptied.push(c));
          const done = m.rows.splice(0, m.inflight);
          m.inflight = 0;
          const counted = done.filter((r) => !r.chunk.dropped);
          expect(settled).toBe(counted.length);
          const wantEmptied: MemChunk[] = [];
          for (const r of counted) {
            const left = pending.get(r.chunk)! - 1;
            pending.set(r.chunk, left);
            if (left === 0) wantEmptied.push(r.chunk);
          }
          expect(emptied.slice(before)).toEqual(wantEmptied);
        } else {
          // dropOldest: the oldest chunks not yet dropped go; queued samples of them leave at once.
          const oldest = chunks.filter((c) => !c.dropped).slice(0, 1 + Math.floor(rand() * 2));
          for (const c of oldest) c.dropped = true;
          queues.forEach((q, k) => {
            const m = model[k]!;
            const rest = m.rows.slice(m.inflight);
            let n = 0;
            while (n < rest.length && rest[n]!.chunk.dropped) n++;
            m.rows.splice(m.inflight, n);
            expect(q.forgetDropped()).toBe(n);
          });
        }
        queues.forEach((q, k) => {
          const m = model[k]!;
          expect(q.count).toBe(m.rows.length);
          expect(q.unread).toBe(m.rows.length - m.inflight);
          const first = m.rows[m.inflight];
          expect(q.firstUnreadArrival).toBe(first === undefined ? undefined : first.chunk.at ? 1_000_000 + first.ts : first.chunk.arrived);
        });
      }
      // Drain everything: every sample comes out once, in order, and every chunk not dropped empties.
      queues.forEach((q, k) => {
        const m = model[k]!;
        q.release();
        m.inflight = 0;
        const out = q.take(1_000_000);
        expect(out.map((r) => r.ts)).toEqual(m.rows.map((r) => r.ts));
        q.ack((c) => emptied.push(c));
        expect(q.count).toBe(0);
        expect(q.firstUnreadArrival).toBeUndefined();
      });
      for (const c of chunks) if (!c.dropped) expect(emptied.filter((e) => e === c)).toHaveLength(1);
    });
  }

  it("an acknowledged sample no longer holds its value or a later chunk (a slow point keeps no sent data alive)", () => {
    const a = new MemChunk(1, 0, 2, 100, [1, 2], ["x", "y"], [0, 0], undefined);
    const b = new MemChunk(2, 0, 1, 50, [3], ["z"], [0], undefined);
    const p = new PointQueue(0, "p");
    p.push(a, 0);
    p.push(a, 1);
    p.push(b, 0);
    expect(p.take(2).map((r) => r.value)).toEqual(["x", "y"]);
    p.ack(() => {});
    expect(a.values).toEqual([undefined, undefined]);
    expect(a.nextChunk).toEqual([undefined, undefined]);
    expect(p.take(5)).toEqual([{ ts: 3, value: "z", quality: 0 }]);
  });
});

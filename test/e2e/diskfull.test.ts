import { join } from "node:path";
import type { Database } from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BACKFILL_SPOOL } from "../../src/app/backfill.js";
import { buildDelivery } from "../../src/app/delivery.js";
import { backfillSpoolFile, reconcileSpoolFile } from "../../src/app/files.js";
import { LiveConnector } from "../../src/app/live.js";
import { parseMapping } from "../../src/config/index.js";
import type { Mapping } from "../../src/config/types.js";
import { startEmulator, type Emulator } from "../../src/dev/emulator.js";
import { SimServer } from "../../src/dev/simserver.js";
import { runBackfill } from "../../src/flows/backfill.js";
import { runReconcile } from "../../src/flows/reconcile.js";
import { parseTimeRange } from "../../src/flows/timerange.js";
import { IngestClient } from "../../src/ingest/client.js";
import { mappingYaml, silent, tempDir, writeMapping } from "../helpers/env.js";
import { HistorianServer } from "../helpers/historian.js";
import { Producer, Stream } from "../helpers/producer.js";
import { waitFor } from "../helpers/wait.js";

// A disk-full test per command that delivers (issue 12): live (`run`), backfill and
// `reconcile --repair`, each with real parts (node-opcua server on loopback, the emulator over
// HTTP, a SQLite spool in a temp folder). "Disk full" is the spool's file not allowed to grow:
// max_page_count = page_count makes every commit that needs a new page fail with SQLITE_FULL.
// The command must not die, must keep the values in memory, and once space is back deliver
// everything exactly (every point, ms timestamp and value string).
const PARTITION = "test-partition";
const dir = tempDir("diskfull");

afterAll(() => dir.remove());

/** The spool's file may not grow any more: commits that need a page fail with SQLITE_FULL. */
function diskFull(db: Database): void {
  db.pragma(`max_page_count = ${db.pragma("page_count", { simple: true }) as number}`);
}
/** Space again. */
function spaceBack(db: Database): void {
  db.pragma("max_page_count = 1073741823");
}
/**
 * No write succeeds (SQLITE_READONLY on every INSERT, UPDATE, DELETE). The backfill's spool holds its
 * values in memory and writes only a few small rows (points, checkpoints), which fit pages the file
 * already has: a file that may not grow would fail none of them. On a full disk the WAL cannot grow
 * either, which fails them all.
 */
function noWrites(db: Database): void {
  db.pragma("query_only = ON");
}
function writesBack(db: Database): void {
  db.pragma("query_only = OFF");
}

/** A promise that must settle within `ms` (the test's own bound, with a message that says what hung). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const stored = (e: Emulator, partition: string, pointId: string) => e.values(partition, pointId).map((v) => ({ timestamp: v.timestamp, value: v.value }));

describe("live (run): a spool whose commits fail", () => {
  let server: SimServer;
  beforeAll(async () => {
    server = await SimServer.start({ pkiDir: join(dir.path, "sim-pki") });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("keeps running with the values in memory, then delivers every produced value exactly once space is back", async () => {
    const emulator = await startEmulator();
    const p = new Producer(server);
    const points = Array.from({ length: 8 }, (_, k) => ({ name: `df.Live${k}`, pointId: `df-live-${k}` }));
    const base = Date.now() - 60_000;
    for (const [k, x] of points.entries()) {
      p.add(x.name, "Double", x.pointId, 0);
      // The value present when the subscription starts is delivered too: make it a recorded one.
      p.set(x.name, "Double", x.pointId, k + 0.25, String(k + 0.25), base + k);
    }
    const state = join(dir.path, "live-state");
    const { mapping } = writeMapping(dir.path, mappingYaml(server, emulator, state, { points, maxValues: 100, maxDelay: "200ms" }), "live.yaml");
    const c = new LiveConnector(mapping, silent);
    const stream = new Stream(p, points, 10, 3_000); // 8 points every 10 ms, at most 30 s
    const allDelivered = () => points.every((x) => emulator.values(PARTITION, x.pointId).length >= p.expected.get(x.pointId)!.size);
    let stopped = false;
    try {
      await c.start();
      await waitFor(allDelivered, 15_000, "the initial values");
      stream.start();
      await waitFor(() => c.stats.sent > 200, 15_000, "values flowing to the API");

      const db = c.engine.spool.database;
      diskFull(db);
      await waitFor(() => c.stats.commitErrors > 0, 20_000, "a failing spool commit");
      // Keep producing while commits fail: the connector goes on receiving into memory.
      const receivedAtFull = c.stats.received;
      // Failed commits are retried with backoff (200 ms doubling to 5 s): a few in these seconds, not one per tick.
      await waitFor(() => c.stats.received >= receivedAtFull + 1_000 && c.stats.commitErrors >= 3, 20_000, "1,000 more notifications while the spool cannot grow");
      expect(c.sourceState).toBe("connected");
      expect(c.engine.spool.buffered).toBeGreaterThan(500); // not durable, kept in memory
      expect(c.backlog).toBeGreaterThanOrEqual(c.engine.spool.buffered);
      const errorsWhileFull = c.stats.commitErrors;

      spaceBack(db);
      stream.stop();
      await waitFor(allDelivered, 30_000, "every produced value after space came back");
      for (const x of points) expect(stored(emulator, PARTITION, x.pointId), x.pointId).toEqual(p.values(x.pointId));
      expect(c.stats.dropped).toEqual({});
      expect(c.stats.commitErrors).toBe(errorsWhileFull); // commits succeed again
      expect(emulator.stats().conflicts).toBe(0); // nothing sent twice
      stopped = true;
      expect(await c.stop(5_000)).toBe(0);
      console.log(`live disk full: ${p.distinct} values delivered exactly, ${errorsWhileFull} failed commits survived`);
    } finally {
      stream.stop();
      if (!stopped) await c.stop(5_000);
      await emulator.close();
    }
  }, 120_000);
});

// Backfill and repair share one historizing server.
const H_POINTS = 8;
const H_VALUES = 4_000;
const H_STEP = 1_000;
const H_START = Date.UTC(2025, 4, 1, 0, 0, 0, 0);
const H_END = H_START + H_VALUES * H_STEP + 1_000;

function historianMapping(historian: HistorianServer, emulator: Emulator, partition: string, prefix: string, state: string): Mapping {
  const points = historian.names.map((n) => `  - nodeId: "${historian.nodeId(n)}"\n    pointId: ${prefix}-${n}`).join("\n");
  const yaml = `opcua:
  endpoint: ${historian.endpoint}
ingest:
  baseUrl: ${emulator.baseUrl}
  tokenUrl: ${emulator.tokenUrl}
  partitionId: ${partition}
  clientId: demo-client
  clientSecret: demo-secret
  concurrency: 8
batch:
  maxValues: 100
  maxDelay: 100ms
backfill:
  concurrency: 4
  window: 30m
  valuesPerRead: 1000
state: ${state}
ops:
  listen: off
points:
${points}
`;
  return parseMapping(yaml, join(dir.path, `${prefix}.yaml`), {});
}

describe("backfill and reconcile --repair: a spool whose commits fail", () => {
  let historian: HistorianServer;
  beforeAll(async () => {
    historian = await HistorianServer.start({ pkiDir: join(dir.path, "historian-pki"), points: H_POINTS, valuesPerPoint: H_VALUES, startMs: H_START, stepMs: H_STEP });
  }, 60_000);
  afterAll(async () => {
    await historian?.stop();
  });

  it("backfill: does not die, waits with the values in memory, and completes exactly once space is back", async () => {
    const emulator = await startEmulator();
    try {
      const mapping = historianMapping(historian, emulator, PARTITION, "bf", join(dir.path, "backfill-state"));
      const { engine } = buildDelivery(mapping, silent, { file: backfillSpoolFile(mapping.state), overwrite: false, ...BACKFILL_SPOOL });
      const db = engine.spool.database;
      const from = H_START + 100 * H_STEP;
      const to = H_START + 3_900 * H_STEP;
      const range = parseTimeRange(new Date(from).toISOString(), new Date(to).toISOString(), Date.now());
      const run = runBackfill({ mapping, points: mapping.points, range, overwrite: false, dryRun: false, engine, log: silent, signal: new AbortController().signal });
      // After the job's row, written as the run is made (a disk full before it: the backfill cannot start, and says so).
      noWrites(db);
      let settled = false;
      void run.then(() => (settled = true), () => (settled = true));

      await waitFor(() => engine.stats.commitErrors >= 3 || settled, 30_000, "failing spool commits");
      expect(settled).toBe(false); // still running, not died
      expect(engine.stats.commitErrors).toBeGreaterThanOrEqual(3);
      // In memory, not committed: the first commit registers the points, and every commit after it
      // writes checkpoints, so none succeeds and nothing becomes sendable.
      expect(engine.spool.buffered).toBeGreaterThan(0);
      writesBack(db);

      const result = await within(run, 60_000, "the backfill to complete");
      for (const r of result.points) {
        expect(r.status, `${r.pointId}: ${r.reason ?? ""}`).toBe("ok");
        expect(r.errors, r.pointId).toBe(0);
      }
      expect(result.interrupted).toBe(false);
      expect(result.leftInSpool).toBe(0);
      expect(result.deadLetters).toBe(0);
      let total = 0;
      for (const name of historian.names) {
        const want = historian.expected(name, from, to);
        const got = stored(emulator, PARTITION, `bf-${name}`);
        expect(got.length, `bf-${name}: values stored`).toBe(want.length);
        expect(got, `bf-${name}`).toEqual(want);
        total += got.length;
      }
      expect(engine.stats.dropped).toEqual({});
      expect(emulator.stats().conflicts).toBe(0);
      console.log(`backfill disk full: ${total} values delivered exactly, ${engine.stats.commitErrors} failed commits survived`);
    } finally {
      await emulator.close();
    }
  }, 120_000);

  it("reconcile --repair: repairs every missing value exactly once space is back, and a second compare finds nothing missing", async () => {
    const emulator = await startEmulator();
    try {
      const partition = "rc";
      const mapping = historianMapping(historian, emulator, partition, "rc", join(dir.path, "reconcile-state"));
      // The API holds the history with every 5th value missing (about 6,400 values to repair).
      const seeder = new IngestClient(mapping.ingest);
      const missing = new Map<string, number>();
      for (const name of historian.names) {
        const want = historian.expected(name, H_START, H_END);
        const values = want.filter((_v, k) => k % 5 !== 2).map((v) => ({ ts: Date.parse(v.timestamp), value: v.value, quality: 0 as const }));
        missing.set(`rc-${name}`, want.length - values.length);
        for (let i = 0; i < values.length; i += 100) {
          const r = await seeder.send(`rc-${name}`, values.slice(i, i + 100), false);
          if (r.kind !== "accepted" || r.conflicts.length) throw new Error(`seeding failed: ${JSON.stringify(r)}`);
        }
      }
      await seeder.close();

      const { engine, client } = buildDelivery(mapping, silent, { file: reconcileSpoolFile(mapping.state), overwrite: false, whenFull: "dropNewest", durability: "normal" });
      const db = engine.spool.database;
      diskFull(db);
      const run = runReconcile({ mapping, points: mapping.points, fromMs: H_START, toMs: H_END, repair: true, overwrite: false, client, engine, log: silent });
      let settled = false;
      void run.then(() => (settled = true), () => (settled = true));

      await waitFor(() => engine.stats.commitErrors > 0 || settled, 30_000, "a failing spool commit");
      expect(settled).toBe(false);
      expect(engine.stats.commitErrors).toBeGreaterThan(0);
      expect(engine.backlog).toBeGreaterThan(0); // in memory
      spaceBack(db);

      const repair = await within(run, 90_000, "the repair to finish");
      expect(repair.left).toBe(0);
      for (const r of repair.points) {
        expect(r.error, r.pointId).toBeUndefined();
        expect(r.missing, r.pointId).toBe(missing.get(r.pointId));
        expect(r.repaired, r.pointId).toBe(missing.get(r.pointId));
      }
      expect(engine.stats.dropped).toEqual({});
      let repaired = 0;
      for (const name of historian.names) {
        expect(stored(emulator, partition, `rc-${name}`), `rc-${name}`).toEqual(historian.expected(name, H_START, H_END));
        repaired += missing.get(`rc-${name}`)!;
      }
      expect(emulator.stats().conflicts).toBe(0);

      const second = await within(
        runReconcile({ mapping, points: mapping.points, fromMs: H_START, toMs: H_END, repair: false, overwrite: false, client: new IngestClient(mapping.ingest), log: silent }),
        60_000,
        "the second compare",
      );
      for (const r of second.points) {
        expect(r.error, r.pointId).toBeUndefined();
        expect({ missing: r.missing, different: r.different, extra: r.extra }, r.pointId).toEqual({ missing: 0, different: 0, extra: 0 });
      }
      console.log(`repair disk full: ${repaired} values repaired exactly, ${engine.stats.commitErrors} failed commits survived`);
    } finally {
      await emulator.close();
    }
  }, 150_000);
});

import Database from "better-sqlite3";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type Emulator } from "../../src/dev/emulator.js";
import { readerHighWater } from "../../src/delivery/engine.js";
import { LOCK_FILE } from "../../src/spool/lock.js";
import { interruptTwice, startCli, type Running } from "../helpers/cli.js";
import { tempDir } from "../helpers/env.js";
import { HistorianServer } from "../helpers/historian.js";
import { waitFor } from "../helpers/wait.js";

// `opcua-ingest backfill` as a child process against a node-opcua server whose variables hold
// 10,000 historical values each (30 points: 300,000 values), and the emulator in this process.
// What the emulator stores is compared value by value with the server's history: the ms timestamp
// and the value string, every value in [from, to) once, none outside.
const PARTITION = "test-partition";
const POINTS = 30;
const VALUES = 10_000;
const STEP_MS = 1_000;
// Point p's k-th value is at START + k·STEP + p ms: the range below starts exactly on a value of H000
// (included) and ends exactly on one (excluded).
const START = Date.UTC(2024, 2, 1, 0, 0, 0);
const FROM = START + 100 * STEP_MS;
const TO = START + 9_900 * STEP_MS;
const iso = (ms: number) => new Date(ms).toISOString();

const dir = tempDir("backfill");
let server: HistorianServer;
let seq = 0;

beforeAll(async () => {
  server = await HistorianServer.start({
    pkiDir: join(dir.path, "server-pki"), points: POINTS, valuesPerPoint: VALUES, startMs: START, stepMs: STEP_MS,
    withoutHistory: 1, unsupported: 1,
    // Fewer nodes per HistoryRead than points read at once (8): the backfill must split its requests.
    maxNodesPerHistoryReadData: 3,
  });
}, 120_000);
afterAll(async () => {
  await server?.stop();
  dir.remove();
});

interface Job {
  file: string;
  state: string;
  points: { name: string; pointId: string }[];
}

/** A mapping of these variables for this emulator, with its own state folder. */
function job(emulator: Emulator, names: readonly string[], o: { window?: string; valuesPerRead?: number; concurrency?: number } = {}): Job {
  const id = `b${++seq}`;
  const points = names.map((name) => ({ name, pointId: `${id}-${name}` }));
  const state = join(dir.path, `${id}-state`);
  const yaml = `opcua:
  endpoint: ${server.endpoint}
ingest:
  baseUrl: ${emulator.baseUrl}
  tokenUrl: ${emulator.tokenUrl}
  partitionId: ${PARTITION}
  clientId: demo-client
  clientSecret: demo-secret
  concurrency: 8
batch:
  maxValues: 100
  maxDelay: 200ms
backfill:
  concurrency: ${o.concurrency ?? 8}
  window: ${o.window ?? "1h"}
  valuesPerRead: ${o.valuesPerRead ?? 1000}
state: ${state}
ops:
  listen: off
points:
${points.map((p) => `  - nodeId: "${server.nodeId(p.name)}"\n    pointId: ${p.pointId}`).join("\n")}
`;
  const file = join(dir.path, `${id}.yaml`);
  writeFileSync(file, yaml);
  return { file, state, points };
}

const backfill = (j: Job, ...extra: string[]) => startCli(["backfill", "--config", j.file, "--from", iso(FROM), "--to", iso(TO), ...extra]);

async function finished(r: Running): Promise<number | null> {
  const code = await r.exit;
  if (code !== 0 && code !== 1) throw new Error(`exit ${code}\nstdout:\n${r.stdout.join("\n")}\nstderr:\n${r.stderr.join("")}`);
  return code;
}

/** Every expected value stored once with its exact text, nothing else (nothing outside [from, to)). */
function expectExact(emulator: Emulator, j: Job): number {
  let total = 0;
  for (const p of j.points) {
    const want = server.expected(p.name, FROM, TO);
    const got = emulator.values(PARTITION, p.pointId).map((v) => ({ timestamp: v.timestamp, value: v.value }));
    expect(got.length, `${p.pointId}: values stored`).toBe(want.length);
    expect(got, p.pointId).toEqual(want);
    total += got.length;
  }
  return total;
}

/** The summary row of a point: [READ, SENT, CONFLICTS, BAD SKIPPED, SKIPPED, ERRORS]. */
function row(r: Running, pointId: string): number[] {
  const line = r.stdout.find((l) => l.startsWith(`${pointId} `));
  if (!line) throw new Error(`no summary row for ${pointId}:\n${r.stdout.join("\n")}`);
  return line.trim().split(/\s+/).slice(1, 7).map(Number);
}

/** Point-windows read, from the debug log ("window read" lines on stderr). */
const windowsRead = (r: Running) => r.stderr.join("").split("\n").filter((l) => l.includes('"event":"window_read"')).length;

describe("backfill from a historizing server", () => {
  it("delivers every stored value in [from, to) exactly once, none outside, with a summary per point", async () => {
    const emulator = await startEmulator();
    const j = job(emulator, server.names);
    const t0 = Date.now();
    const r = backfill(j);
    expect(await finished(r), r.stderr.join("")).toBe(0);
    const seconds = (Date.now() - t0) / 1000;
    const total = expectExact(emulator, j);
    expect(total).toBeGreaterThan(250_000);
    for (const p of j.points) {
      const [read, sent, conflicts, bad] = row(r, p.pointId);
      expect(read).toBe(server.storedIn(p.name, FROM, TO));
      expect(sent).toBe(emulator.values(PARTITION, p.pointId).length);
      expect(conflicts).toBe(0);
      expect(bad).toBe(server.history.get(p.name)!.filter((v) => v.quality === 2 && v.ms >= FROM && v.ms < TO).length);
    }
    expect(r.stdout.some((l) => l.startsWith("backfill complete"))).toBe(true);
    console.log(`backfill of ${total} values: ${seconds.toFixed(1)} s with process start (${Math.round(total / seconds)} values/s)`);
    await emulator.close();
  }, 120_000);

  for (const signal of ["SIGINT", "SIGKILL"] as const) {
    it(`resumes after ${signal} at about half and completes with nothing missing, without re-reading windows the API had whole`, async () => {
      const emulator = await startEmulator();
      const j = job(emulator, server.names, { window: "10m" });
      const total = server.names.reduce((n, name) => n + server.storedIn(name, FROM, TO), 0);
      const windows = POINTS * Math.ceil((TO - FROM) / 600_000);
      const first = backfill(j, "--log-level", "debug");
      await waitFor(() => windowsRead(first) >= windows / 2, 60_000, "half of the windows read");
      first.child.kill(signal);
      const code = await first.exit;
      let readBefore = 0;
      if (signal === "SIGINT") {
        expect(code, first.stderr.join("").slice(-2000)).toBe(1);
        expect(first.stdout.some((l) => l.startsWith("backfill interrupted") && l.includes("run the same command to resume"))).toBe(true);
        readBefore = j.points.reduce((n, p) => n + row(first, p.pointId)[0]!, 0);
        expect(readBefore).toBeLessThan(total);
      } else {
        expect(code).toBe(null);
      }
      const second = backfill(j, "--log-level", "debug");
      expect(await finished(second), second.stderr.join("").slice(-3000)).toBe(0);
      const header = second.stdout.find((l) => l.startsWith("backfill "))!;
      const resumedWith = Number(/resumed with (\d+) point-windows already done/.exec(header)?.[1]);
      if (signal === "SIGINT") {
        // The stop's drain delivered everything read, and its last commit wrote every checkpoint.
        expect(first.stdout.some((l) => l.includes(" 0 values not yet acknowledged"))).toBe(true);
        expect(resumedWith, header).toBe(windowsRead(first));
      } else {
        // A window's checkpoint waits for the API to acknowledge its values. Reading runs ahead of the
        // API by at most the engine's high water (16,000 values: 27 windows of 600) and a page per
        // point being read (8), and a point's checkpoint covers only its leading windows.
        const ahead = Math.ceil((readerHighWater(100, 8) + 8 * 600) / 600);
        expect(resumedWith, header).toBeGreaterThanOrEqual(windows / 2 - POINTS - ahead);
      }
      // Windows checkpointed before the stop are not read again.
      expect(windowsRead(second)).toBe(windows - resumedWith);
      const readAfter = j.points.reduce((n, p) => n + row(second, p.pointId)[0]!, 0);
      expect(readAfter).toBeLessThan(total * 0.65);
      if (signal === "SIGINT") {
        // Read twice at most: the windows in flight when the signal came (8 points at once, 600 values a window).
        expect(readBefore + readAfter - total).toBeLessThanOrEqual(8 * 610);
        expect(readBefore + readAfter).toBeGreaterThanOrEqual(total);
      }
      expectExact(emulator, j);
      console.log(`${signal} after ${windowsRead(first)} of ${windows} windows: the resumed run started with ${resumedWith} done and read ${readAfter} of ${total} values`);
      await emulator.close();
    }, 120_000);
  }

  it("a second SIGINT during the stop's drain exits 1 at once, frees the state folder, and the next run completes exactly", async () => {
    // An API that refuses every values POST (503): the first signal's drain (10 s) cannot end early on its own.
    const emulator = await startEmulator();
    emulator.addFault({ status: 503, count: 1_000_000 });
    const j = job(emulator, server.names.slice(0, 5), { window: "10m" });
    const first = backfill(j, "--log-level", "debug");
    await waitFor(() => windowsRead(first) >= 5, 60_000, "five windows read");
    expect(await interruptTwice(first), first.stderr.join("").slice(-2000)).toBe(1);
    const logged = first.stderr.join("");
    expect(logged).toContain('"event":"second_signal"');
    // Out before the drain's end, which logs drain_timeout, and without the report of a finished stop.
    expect(logged).not.toContain('"event":"drain_timeout"');
    expect(first.stdout.some((l) => l.startsWith("backfill interrupted"))).toBe(false);
    expect(existsSync(join(j.state, LOCK_FILE))).toBe(false);
    expect(j.points.every((p) => emulator.values(PARTITION, p.pointId).length === 0)).toBe(true);
    // What was read waited for the API in memory only: the spool's file holds none of it (the job's checkpoints only).
    const db = new Database(join(j.state, "backfill.db"), { readonly: true });
    try {
      expect(db.prepare("SELECT COUNT(*) FROM chunks").pluck().get()).toBe(0);
      expect(db.prepare("SELECT COUNT(*) FROM backfill_jobs").pluck().get()).toBe(1);
    } finally {
      db.close();
    }

    // Nothing was acknowledged and a checkpoint waits for the API: all of it is read again.
    emulator.clearFaults();
    const second = backfill(j);
    expect(await finished(second), second.stderr.join("").slice(-3000)).toBe(0);
    expectExact(emulator, j);
    await emulator.close();
  }, 120_000);

  it("retries the windows a server restart interrupted, and completes", async () => {
    // A server of its own, restarted on the same port with the same history.
    const spec = { pkiDir: join(dir.path, "restart-pki"), points: 5, valuesPerPoint: VALUES, startMs: START, stepMs: STEP_MS };
    let own = await HistorianServer.start(spec);
    const port = own.port;
    // Slow API: reading follows the sender, so the restart falls in the middle of the reading.
    const emulator = await startEmulator({ latencyMs: 20 });
    const j = job(emulator, own.names, { window: "10m", concurrency: 2 });
    writeFileSync(j.file, readFileSync(j.file, "utf8").replace(server.endpoint, own.endpoint));
    const windows = own.names.length * Math.ceil((TO - FROM) / 600_000);
    const r = backfill(j, "--log-level", "debug");
    try {
      await waitFor(() => windowsRead(r) >= windows / 4, 60_000, "a quarter of the windows read");
      await own.stop();
      await new Promise((res) => setTimeout(res, 1_500)); // the outage is the test's subject
      own = await HistorianServer.start({ ...spec, port });
      expect(await finished(r), r.stderr.join("").slice(-3000)).toBe(0);
    } finally {
      await own.stop();
    }
    expect(r.stderr.join("")).toContain("history read failed; retrying the window");
    expect(windowsRead(r)).toBe(windows);
    for (const p of j.points) expect(emulator.values(PARTITION, p.pointId).map((v) => ({ timestamp: v.timestamp, value: v.value }))).toEqual(own.expected(p.name, FROM, TO));
    await emulator.close();
  }, 90_000);

  it("reports a point without history by its pointId (exit 1) while the others complete", async () => {
    const emulator = await startEmulator();
    const names = [server.names[0]!, server.withoutHistory[0]!, server.names[1]!, server.unsupported[0]!, server.names[2]!];
    const j = job(emulator, names);
    const r = backfill(j);
    expect(await finished(r)).toBe(1);
    const [ok0, none, ok1, unsupported, ok2] = j.points;
    const failedLine = (p: { pointId: string }) => r.stdout.find((l) => l.startsWith(`FAILED ${p.pointId} `)) ?? "";
    expect(failedLine(none!)).toContain("no HistoryRead access level");
    expect(failedLine(unsupported!)).toContain("BadHistoryOperationUnsupported");
    expect(failedLine(none!)).toContain(server.nodeId(none!.name));
    for (const p of [none!, unsupported!]) expect(row(r, p.pointId)[0]).toBe(0);
    expect(r.stdout.some((l) => l.includes("2 of 5 points failed"))).toBe(true);
    expect(r.stderr.join("")).toContain(none!.pointId);
    expectExact(emulator, { ...j, points: [ok0!, ok1!, ok2!] });
    console.log(r.stdout.filter((l) => l.startsWith("FAILED")).join("\n"));
    await emulator.close();
  }, 60_000);

  it("--dry-run reads and counts, sends nothing and writes no state", async () => {
    const emulator = await startEmulator();
    const j = job(emulator, server.names.slice(3, 6));
    const r = backfill(j, "--dry-run");
    expect(await finished(r)).toBe(0);
    expect(emulator.stats().requests).toBe(0);
    expect(existsSync(join(j.state, "backfill.db"))).toBe(false);
    for (const p of j.points) {
      const [read, wouldSend] = row(r, p.pointId);
      expect(read).toBe(server.storedIn(p.name, FROM, TO));
      expect(wouldSend).toBe(server.expected(p.name, FROM, TO).length);
    }
    expect(r.stdout.some((l) => l.includes("dry run: nothing sent"))).toBe(true);
    await emulator.close();
  }, 60_000);

  it("--point selects points; one writer per state folder; times without a zone, an empty range and unknown points are usage errors (exit 2)", async () => {
    const emulator = await startEmulator();
    const j = job(emulator, server.names.slice(0, 4));
    const picked = j.points[2]!;
    const r = backfill(j, "--point", picked.pointId, "--overwrite");
    expect(await finished(r)).toBe(0);
    expect(emulator.points(PARTITION)).toEqual([picked.pointId]);
    expectExact(emulator, { ...j, points: [picked] });
    // A finished job is forgotten: the same command reads everything again; the API answers conflicts.
    const again = backfill(j, "--point", picked.pointId, "--overwrite");
    expect(await finished(again)).toBe(0);
    expect(again.stdout.find((l) => l.startsWith("backfill "))).not.toContain("resumed");
    const [read, sent, conflicts] = row(again, picked.pointId);
    expect(read).toBe(server.storedIn(picked.name, FROM, TO));
    expect(sent! + conflicts!).toBe(server.expected(picked.name, FROM, TO).length);
    expectExact(emulator, { ...j, points: [picked] });

    // One writer per state folder: a live holder blocks, a stale lock (its process gone) is taken over.
    const holder = { pid: process.pid, command: "opcua-ingest run --config m.yaml", startedAt: new Date().toISOString(), host: hostname() };
    writeFileSync(join(j.state, LOCK_FILE), JSON.stringify(holder));
    const blocked = backfill(j, "--point", picked.pointId);
    expect(await blocked.exit).toBe(1);
    expect(blocked.stderr.join("")).toContain(`state folder ${j.state} is in use by PID ${process.pid} (opcua-ingest run --config m.yaml, since ${holder.startedAt})`);
    writeFileSync(join(j.state, LOCK_FILE), JSON.stringify({ ...holder, pid: 2147483646 }));
    const takeover = backfill(j, "--point", picked.pointId, "--overwrite");
    expect(await finished(takeover)).toBe(0);
    expect(takeover.stderr.join("")).toContain('"event":"state_lock_taken_over"');
    expect(existsSync(join(j.state, LOCK_FILE))).toBe(false);

    const noZone = startCli(["backfill", "--config", j.file, "--from", "2024-03-01T00:00:00", "--to", "now"]);
    expect(await noZone.exit).toBe(2);
    expect(noZone.stderr.join("")).toMatch(/has no time zone; add one/);
    const empty = startCli(["backfill", "--config", j.file, "--from", "-1h", "--to", "-2h"]);
    expect(await empty.exit).toBe(2);
    expect(empty.stderr.join("")).toMatch(/must be before --to/);
    const unknown = startCli(["backfill", "--config", j.file, "--from", "-1h", "--to", "now", "--point", "nope"]);
    expect(await unknown.exit).toBe(2);
    expect(unknown.stderr.join("")).toContain("--point nope");
    await emulator.close();
  }, 60_000);
});

import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseMapping } from "../../src/config/index.js";
import type { Mapping } from "../../src/config/types.js";
import { IngestClient } from "../../src/ingest/client.js";
import { startEmulator, type Emulator } from "../../src/dev/emulator.js";
import { reconcile as runReconcile } from "../../src/app/reconcile.js";
import { LOCK_FILE } from "../../src/spool/lock.js";
import { interruptTwice, startCli } from "../helpers/cli.js";
import { silent, tempDir } from "../helpers/env.js";
import { HistorianServer } from "../helpers/historian.js";
import { waitFor } from "../helpers/wait.js";

// A historizing node-opcua server (the plant's record) and the emulator (the cloud's), over loopback.
const POINTS = 20;
const PER_POINT = 5_000; // 100,000 stored values
const START = Date.UTC(2026, 9, 1, 0, 0, 0, 0);
const STEP = 1_000;
const dir = tempDir("reconcile");
let historian: HistorianServer;
let emulator: Emulator;
let mapping: Mapping;
const seeded = new Map<string, { missing: number; different: number; extra: number }>();

function mappingFor(): Mapping {
  return parseMapping(mappingText(), join(dir.path, "mapping.yaml"), {});
}

function mappingText(api: Emulator = emulator, state = join(dir.path, "state")): string {
  const points = historian.names.map((n) => `  - nodeId: "${historian.nodeId(n)}"\n    pointId: rc-${n}`).join("\n");
  return `opcua:\n  endpoint: ${historian.endpoint}\ningest:\n  baseUrl: ${api.baseUrl}\n  tokenUrl: ${api.tokenUrl}\n  partitionId: rc\n  clientId: demo-client\n  clientSecret: demo-secret\n  concurrency: 8\nbatch:\n  maxDelay: 100ms\nbackfill:\n  window: 30m\n  valuesPerRead: 2000\nstate: ${state}\nops:\n  listen: off\npoints:\n${points}\n`;
}

/** An empty API that refuses every values POST (503), and reconcile's arguments for one point over its first `values` values. */
async function refusingApi(tag: string, name: string, values: number) {
  const api = await startEmulator();
  api.addFault({ status: 503, count: 1_000_000 });
  const state = join(dir.path, `state-${tag}`);
  const file = join(dir.path, `${tag}-mapping.yaml`);
  writeFileSync(file, mappingText(api, state));
  const [from, to] = [START, START + values * STEP];
  const args = ["reconcile", "--config", file, "--from", new Date(from).toISOString(), "--to", new Date(to).toISOString(), "--point", `rc-${name}`];
  const expected = historian.expected(name, from, to);
  const stored = () => api.values("rc", `rc-${name}`).map((v) => ({ timestamp: v.timestamp, value: v.value }));
  /** `reconcile --repair` (logging at info), once it has compared everything and sends what it queued. */
  const repairUntilItSends = async () => {
    const r = startCli([...args, "--repair", "--log-level", "info"]);
    await waitFor(() => r.stderr.join("").includes('"event":"repair_sending"'), 60_000, "the repair's drain");
    return r;
  };
  /** With the API back, another --repair (the values still missing when it compares: exit 1) leaves nothing to find. */
  const repairWhenBack = async () => {
    api.clearFaults();
    const again = startCli([...args, "--repair"]);
    expect(await again.exit, again.stderr.join("").slice(-2000)).toBe(1);
    const check = startCli(args);
    expect(await check.exit, check.stdout.join("\n")).toBe(0);
    expect(stored()).toEqual(expected);
  };
  return { api, state, expected, stored, repairUntilItSends, repairWhenBack };
}

beforeAll(async () => {
  historian = await HistorianServer.start({ pkiDir: join(dir.path, "pki"), points: POINTS, valuesPerPoint: PER_POINT, startMs: START, stepMs: STEP });
  emulator = await startEmulator();
  mapping = mappingFor();
  // The API gets the history with 1 % removed, some values altered and some extra ones.
  const client = new IngestClient(mapping.ingest);
  for (const [p, name] of historian.names.entries()) {
    const want = historian.expected(name, START, START + PER_POINT * STEP + 1_000);
    const counts = { missing: 0, different: 0, extra: 0 };
    const values: { ts: number; value: string; quality: 0 }[] = [];
    want.forEach((v, k) => {
      if (k % 100 === 37) return void counts.missing++;
      const altered = k % 250 === 11 + (p % 5);
      if (altered) counts.different++;
      values.push({ ts: Date.parse(v.timestamp), value: altered ? `${v.value}-tampered` : v.value, quality: 0 });
    });
    for (let e = 0; e < 3 + (p % 3); e++) {
      values.push({ ts: START + e * STEP + 500, value: "extra", quality: 0 }); // half-way between two stored values
      counts.extra++;
    }
    values.sort((a, b) => a.ts - b.ts);
    for (let i = 0; i < values.length; i += 100) {
      const r = await client.send(`rc-${name}`, values.slice(i, i + 100), false);
      if (r.kind !== "accepted" || r.conflicts.length) throw new Error(`seeding failed: ${JSON.stringify(r)}`);
    }
    seeded.set(`rc-${name}`, counts);
  }
  await client.close();
}, 180_000);

afterAll(async () => {
  await emulator?.close();
  await historian?.stop();
  dir.remove();
});

describe("reconcile: the API against the historian", () => {
  it("reports exact per-point counts, repairs missing and different values, and then matches", async () => {
    const from = START;
    const to = START + PER_POINT * STEP + 1_000;
    const rssBefore = process.memoryUsage().rss;
    const first = await runReconcile({ mapping, points: mapping.points, fromMs: from, toMs: to, repair: false, overwrite: false, log: silent });
    for (const r of first.points) {
      const want = seeded.get(r.pointId)!;
      expect(r.error).toBeUndefined();
      expect({ missing: r.missing, different: r.different, extra: r.extra }).toEqual(want);
      expect(r.matched).toBe(r.historian - want.missing - want.different);
      expect(r.badSkipped).toBeGreaterThan(0); // the historian's Bad values are not compared, as live mode skips them
    }
    const compared = first.compared;
    console.log(`reconcile: ${compared} values compared in ${first.elapsedMs} ms (${Math.round(compared / (first.elapsedMs / 1000))}/s), RSS +${Math.round((process.memoryUsage().rss - rssBefore) / 1048576)} MB`);

    const repair = await runReconcile({ mapping, points: mapping.points, fromMs: from, toMs: to, repair: true, overwrite: true, log: silent });
    expect(repair.left).toBe(0);
    for (const r of repair.points) {
      const want = seeded.get(r.pointId)!;
      expect(r.repaired).toBe(want.missing + want.different);
    }

    const second = await runReconcile({ mapping, points: mapping.points, fromMs: from, toMs: to, repair: false, overwrite: false, log: silent });
    for (const r of second.points) {
      expect({ missing: r.missing, different: r.different }).toEqual({ missing: 0, different: 0 });
      expect(r.extra).toBe(seeded.get(r.pointId)!.extra); // the API has no delete: extras stay, reported
    }
    for (const name of historian.names) {
      const have = new Map(emulator.values("rc", `rc-${name}`).map((v) => [v.timestamp, v.value]));
      for (const v of historian.expected(name, from, to)) expect(have.get(v.timestamp)).toBe(v.value);
    }
  }, 240_000);
  it("stops between windows on the signal: a report of what was compared, the repair of it sent", async () => {
    // After the test above the API matches; alter 30 values of the first point (overwrite) for a repair to find.
    const from = START;
    const to = START + PER_POINT * STEP + 1_000;
    const [first, second] = historian.names;
    const truth = historian.expected(first!, from, to);
    const client = new IngestClient(mapping.ingest);
    const altered = truth.filter((_, k) => k % 150 === 7).slice(0, 30);
    const sent = await client.send(`rc-${first}`, altered.map((v) => ({ ts: Date.parse(v.timestamp), value: `${v.value}-again`, quality: 0 as const })), true);
    expect(sent.kind).toBe("accepted");
    await client.close();

    const stop = new AbortController();
    const result = await runReconcile({
      mapping, points: mapping.points, fromMs: from, toMs: to, repair: true, overwrite: true, log: silent, signal: stop.signal,
      // The stop arrives while the second point's first window is compared.
      onProgress: (id) => id === `rc-${second}` && stop.abort(),
    });
    expect(result.stoppedAt).toEqual({ pointId: `rc-${second}`, ms: START + mapping.backfill.windowMs });
    expect(result.points.map((p) => p.pointId)).toEqual([`rc-${first}`, `rc-${second}`]);
    expect(result.points[0]).toMatchObject({ different: 30, missing: 0, repaired: 30 });
    expect(result.points[1]!.historian).toBeLessThan(result.points[0]!.historian / 2);
    expect(result.left).toBe(0);
    const have = new Map(emulator.values("rc", `rc-${first}`).map((v) => [v.timestamp, v.value]));
    for (const v of altered) expect(have.get(v.timestamp)).toBe(v.value);

    // A stop once the first point is complete: the second one is where it stopped, not compared at all.
    const between = new AbortController();
    const checked = await runReconcile({
      mapping, points: mapping.points, fromMs: from, toMs: to, repair: false, overwrite: false, log: silent, signal: between.signal,
      onProgress: (id, done) => id === `rc-${first}` && done === to && between.abort(),
    });
    expect(checked.stoppedAt).toEqual({ pointId: `rc-${second}`, ms: from });
    expect(checked.points.map((p) => ({ id: p.pointId, missing: p.missing, different: p.different }))).toEqual([{ id: `rc-${first}`, missing: 0, different: 0 }]);
  }, 120_000);

  it("the CLI stops on SIGINT with exit 1, says what it did not compare, and frees the state folder", async () => {
    const file = join(dir.path, "cli-mapping.yaml");
    writeFileSync(file, mappingText());
    const from = new Date(START).toISOString();
    const to = new Date(START + PER_POINT * STEP + 1_000).toISOString();
    const r = startCli(["reconcile", "--config", file, "--from", from, "--to", to, "--repair", "--log-level", "debug"]);
    const windows = () => r.stderr.join("").split('"event":"reconcile_window"').length - 1;
    await waitFor(() => windows() >= 2, 60_000, "two windows compared");
    r.child.kill("SIGINT");
    expect(await r.exit, r.stderr.join("").slice(-2000)).toBe(1);
    const notice = r.stdout.find((l) => l.startsWith("INTERRUPTED: stopped at rc-"));
    expect(notice, r.stdout.join("\n")).toMatch(/; (\d+) of 20 point\(s\) not compared at all/);
    expect(Number(/; (\d+) of 20/.exec(notice!)![1])).toBeGreaterThan(0);
    expect(r.stdout.some((l) => l.startsWith("SO FAR: "))).toBe(true);
    expect(existsSync(join(dir.path, "state", LOCK_FILE))).toBe(false);
  }, 120_000);

  it("a signal while the repair sends what it queued cuts its 60 s drain to 10 s; the next --repair sends what was left", async () => {
    // The API refuses everything: the repair's drain cannot finish on its own.
    const { api, state, expected, stored, repairUntilItSends, repairWhenBack } = await refusingApi("drain", historian.names[0]!, 600);
    try {
      const r = await repairUntilItSends();
      const signalled = Date.now();
      r.child.kill("SIGINT");
      expect(await r.exit, r.stderr.join("").slice(-2000)).toBe(1); // 600 values missing
      // The stop shortened the drain: well under the 60 s it has without one (10 s grace, then close).
      expect(Date.now() - signalled).toBeLessThan(30_000);
      const logged = r.stderr.join("");
      expect(logged).toContain('"event":"stopping"');
      expect(logged).toContain(`"event":"repair_left","left":${expected.length}`);
      expect(r.stdout.some((l) => l.includes(`(${expected.length} left for the next --repair)`)), r.stdout.join("\n")).toBe(true);
      expect(stored()).toEqual([]);
      expect(existsSync(join(state, LOCK_FILE))).toBe(false);

      await repairWhenBack();
    } finally {
      await api.close();
    }
  }, 120_000);

  it("a second signal during the repair's drain exits 1 at once and frees the state folder; the next --repair completes it", async () => {
    const { api, state, repairUntilItSends, repairWhenBack } = await refusingApi("second", historian.names[1]!, 300);
    try {
      const r = await repairUntilItSends();
      expect(await interruptTwice(r), r.stderr.join("").slice(-2000)).toBe(1);
      const logged = r.stderr.join("");
      expect(logged).toContain('"event":"second_signal"');
      // Out before the shortened drain's end (repair_left) and without a report.
      expect(logged).not.toContain('"event":"repair_left"');
      expect(r.stdout.some((l) => l.startsWith("DIFFERENCES") || l.startsWith("OK"))).toBe(false);
      expect(existsSync(join(state, LOCK_FILE))).toBe(false);

      await repairWhenBack();
    } finally {
      await api.close();
    }
  }, 120_000);
});

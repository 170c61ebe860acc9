import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startEmulator, type Emulator } from "../../src/dev/emulator.js";
import { startCli, type Running } from "../helpers/cli.js";
import { tempDir } from "../helpers/env.js";
import { TestPlant } from "../helpers/plantserver.js";
import { waitFor } from "../helpers/wait.js";

// Issue 14, "Done when", for the whole connector: `opcua-ingest run` (dist/cli/main.js as a child
// process) on ONE mapping, real node-opcua servers on 127.0.0.1, delivering into the API emulator.
// Waits are on the connector's JSON log events, on /readyz and on the emulator's store, bounded.
const PARTITION = "test-partition";

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) {
    try {
      await f();
    } catch {
      /* best effort */
    }
  }
});

function dir(prefix: string): string {
  const d = tempDir(prefix);
  cleanup.push(() => d.remove());
  return d.path;
}

async function emulatorStarted(): Promise<Emulator> {
  const e = await startEmulator();
  cleanup.push(() => e.close());
  return e;
}

function ingestYaml(e: Emulator, state: string, ops = "off"): string {
  return `ingest:
  baseUrl: ${e.baseUrl}
  tokenUrl: ${e.tokenUrl}
  partitionId: ${PARTITION}
  clientId: demo-client
  clientSecret: demo-secret
batch:
  maxValues: 100
  maxDelay: 200ms
state: ${state}
ops:
  listen: ${ops}
defaults:
  samplingInterval: 0
  queueSize: 10000
`;
}

type LogEvent = Record<string, unknown> & { event?: string; source?: string; time?: string };

function parse(l: string): LogEvent | undefined {
  try {
    return JSON.parse(l) as LogEvent;
  } catch {
    return undefined;
  }
}

/** The first log line with this event (and source), logged at or after `since` (ms). */
async function event(run: Running, name: string, o: { source?: string; since?: number; timeoutMs?: number; where?: (e: LogEvent) => boolean } = {}): Promise<LogEvent> {
  const l = await run.line((line) => {
    if (!line.includes(`"event":"${name}"`)) return false;
    const e = parse(line);
    if (!e || e.event !== name) return false;
    if (o.source !== undefined && e.source !== o.source) return false;
    if (o.since !== undefined && Date.parse(String(e.time)) < o.since) return false;
    return o.where ? o.where(e) : true;
  }, o.timeoutMs ?? 20_000);
  return parse(l)!;
}

function started(args: string[]): Running {
  const run = startCli(args);
  cleanup.push(async () => {
    if (run.child.exitCode === null && run.child.signalCode === null) {
      run.child.kill("SIGKILL");
      await run.exit;
    }
  });
  return run;
}

/** What the API must end up with, per point: ms timestamp → value string (first of a ms kept). */
class Expected {
  readonly byPoint = new Map<string, Map<number, string>>();
  add(pointId: string, ms: number, text: string): void {
    let m = this.byPoint.get(pointId);
    if (!m) this.byPoint.set(pointId, (m = new Map()));
    if (!m.has(ms)) m.set(ms, text);
  }
  of(pointId: string): { timestamp: string; value: string }[] {
    return [...(this.byPoint.get(pointId) ?? [])].sort((a, b) => a[0] - b[0]).map(([ms, value]) => ({ timestamp: new Date(ms).toISOString(), value }));
  }
  size(pointId: string): number {
    return this.byPoint.get(pointId)?.size ?? 0;
  }
}

const stored = (e: Emulator, pointId: string) => e.values(PARTITION, pointId).map((v) => ({ timestamp: v.timestamp, value: v.value }));

/** Every expected value of these points is in the emulator (by count; compared exactly afterwards). */
const delivered = (e: Emulator, x: Expected, ids: string[]) => () => ids.every((id) => e.values(PARTITION, id).length >= x.size(id));

async function readyz(url: string): Promise<{ status: number; body: { ready: boolean; reasons: string[]; notConnected: { name: string; state: string }[] } }> {
  const r = await fetch(`${url}/readyz`);
  return { status: r.status, body: (await r.json()) as never };
}

describe("opcua-ingest run on one mapping with several sources (issue 14, end to end)", () => {
  it("two servers both deliver exactly while one is stopped and restarted on its port; /readyz names the one that is down", async () => {
    const d = dir("sources-run");
    const e = await emulatorStarted();
    const a = await TestPlant.start({ pkiDir: join(d, "pki-a"), structures: false, namespaceUri: "urn:line1" });
    let b = await TestPlant.start({ pkiDir: join(d, "pki-b"), structures: false, namespaceUri: "urn:line2" });
    const bPort = b.port;
    let bUp = true;
    cleanup.push(() => a.stop(), () => (bUp ? b.stop() : undefined));

    const x = new Expected();
    const line1 = [{ name: "Motor1.Speed", pointId: "l1-speed" }, { name: "Motor1.Current", pointId: "l1-current" }];
    const line2 = [{ name: "Oven.Temperature", pointId: "l2-temp" }];
    const last = new Map<string, number>();
    let k = 0;
    /** A new value on each of these points, stamped with the wall clock (strictly increasing per point). */
    const produce = (server: TestPlant, pts: { name: string; pointId: string }[]) => {
      const v = ++k + 0.25;
      for (const p of pts) {
        const ms = Math.max(Date.now(), (last.get(p.pointId) ?? 0) + 1);
        last.set(p.pointId, ms);
        server.set(p.name, "Double", v, new Date(ms));
        x.add(p.pointId, ms, String(v));
      }
    };
    for (const p of line1) a.addVariable(p.name, "Double", 0);
    for (const p of line2) b.addVariable(p.name, "Double", 0);
    // The value present when the items are created is delivered too: make it a recorded one.
    produce(a, line1);
    produce(b, line2);

    const file = join(d, "mapping.yaml");
    writeFileSync(
      file,
      `sources:
  - name: line1
    endpoint: ${a.endpoint}
    publishingInterval: 50ms
  - name: line2
    endpoint: opc.tcp://127.0.0.1:${bPort}
    publishingInterval: 50ms
    reconnectMaxDelay: 1s
${ingestYaml(e, join(d, "state"), "127.0.0.1:0")}points:
${line1.map((p) => `  - { source: line1, nodeId: "${a.nodeId(p.name)}", pointId: ${p.pointId} }`).join("\n")}
${line2.map((p) => `  - { source: line2, nodeId: "${b.nodeId(p.name)}", pointId: ${p.pointId} }`).join("\n")}
`,
    );
    const run = started(["run", "--config", file]);
    const url = String((await event(run, "ops_listening")).url);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await event(run, "items_created", { source: "line1" })).toMatchObject({ monitored: 2, failed: 0, waiting: 0 });
    expect(await event(run, "items_created", { source: "line2" })).toMatchObject({ monitored: 1, failed: 0, waiting: 0 });
    // A source's lines name it once: JSON with a repeated key is read differently by different tools.
    const sourceLines = run.stdout.filter((l) => l.includes('"event":"session_open"') || l.includes('"event":"items_created"'));
    expect(sourceLines).toHaveLength(4);
    for (const l of sourceLines) expect(l.split('"source":').length - 1, l).toBe(1);
    const all = [...line1, ...line2].map((p) => p.pointId);
    await waitFor(delivered(e, x, all), 10_000, "the initial values of both servers");
    await waitFor(async () => (await readyz(url)).status === 200, 10_000, "ready with both sources");
    expect((await readyz(url)).body).toEqual({ ready: true, reasons: [], notConnected: [] });

    // Both produce.
    let line2Producing = true;
    const timer = setInterval(() => {
      produce(a, line1);
      if (line2Producing) produce(b, line2);
    }, 20);
    cleanup.push(() => clearInterval(timer));
    await waitFor(() => x.size("l2-temp") > 30, 5_000, "some production");
    // Stop line2's production and let what it produced arrive before its server goes away
    // (a value still queued in a server that is shut down is lost with it: not the connector's doing).
    line2Producing = false;
    await waitFor(delivered(e, x, ["l2-temp"]), 10_000, "line2's values before its stop");

    const downAt = Date.now();
    bUp = false;
    await b.stop();
    await event(run, "connection_lost", { source: "line2", since: downAt - 1000, timeoutMs: 10_000 });
    await waitFor(async () => (await readyz(url)).status === 503, 10_000, "/readyz 503 while line2 is down");
    const down = (await readyz(url)).body;
    expect(down.ready).toBe(false);
    expect(down.notConnected.map((s) => s.name)).toEqual(["line2"]);
    expect(["reconnecting", "connecting"]).toContain(down.notConnected[0]!.state);
    expect(down.reasons).toEqual([`OPC UA session ${down.notConnected[0]!.state} (source line2)`]);

    // line1 keeps delivering while line2 is down: a deliberate outage of 4 s.
    const line1Before = x.size("l1-speed");
    await new Promise((r) => setTimeout(r, 4_000));
    expect(x.size("l1-speed") - line1Before).toBeGreaterThan(100);
    // line1 is still producing (a moving target): every value it produced up to now must arrive while line2 is still down.
    const upTo = new Map(line1.map((p) => [p.pointId, x.size(p.pointId)]));
    await waitFor(() => line1.every((p) => e.values(PARTITION, p.pointId).length >= upTo.get(p.pointId)!), 10_000, "line1's values produced while line2 is down");
    for (const p of line1) expect(stored(e, p.pointId).slice(0, upTo.get(p.pointId))).toEqual(x.of(p.pointId).slice(0, upTo.get(p.pointId)));
    expect(line1.every((p) => Date.parse(stored(e, p.pointId)[upTo.get(p.pointId)! - 1]!.timestamp) > downAt + 3_000)).toBe(true);
    const stillDown = (await readyz(url)).body;
    expect(stillDown.notConnected.map((s) => s.name)).toEqual(["line2"]);

    // line2 comes back on the same port (same certificate); its current value is a recorded one.
    const upAt = Date.now();
    b = await TestPlant.start({ pkiDir: join(d, "pki-b"), structures: false, namespaceUri: "urn:line2", port: bPort });
    bUp = true;
    for (const p of line2) b.addVariable(p.name, "Double", 0);
    produce(b, line2);
    await waitFor(async () => (await readyz(url)).status === 200, 20_000, "/readyz 200 after line2 is back");
    expect((await readyz(url)).body).toEqual({ ready: true, reasons: [], notConnected: [] });
    // A new server: a new session and subscription (logged as a gap), or the old one survived.
    const back = await event(run, "gap", { source: "line2", since: upAt - 1000, timeoutMs: 1_000 }).catch(() => event(run, "connection_reestablished", { source: "line2", since: upAt - 1000, timeoutMs: 1_000 }));
    expect(["gap", "connection_reestablished"]).toContain(back.event);
    // The items exist again once the restarted server's current value arrived; then line2 produces again.
    await waitFor(delivered(e, x, ["l2-temp"]), 15_000, "line2's current value after its restart");
    line2Producing = true;
    await waitFor(() => x.size("l2-temp") > 60, 5_000, "more production on line2");
    clearInterval(timer);
    await waitFor(delivered(e, x, all), 15_000, "every value of both servers");

    run.child.kill("SIGTERM");
    expect(await run.exit).toBe(0);
    for (const id of all) expect(stored(e, id), id).toEqual(x.of(id));
    const stopped = await event(run, "stopped");
    expect(stopped.left).toBe(0);
  }, 90_000);

  it("structure fields (field:) and array elements (indexRange:) deliver exactly through run", async () => {
    const d = dir("sources-run-struct");
    const e = await emulatorStarted();
    const plant = await TestPlant.start({ pkiDir: join(d, "pki") });
    cleanup.push(() => plant.stop());
    const T0 = Date.UTC(2026, 10, 25, 9, 0, 0);
    const status = (k: number) => ({
      speed: 1500.25 + k,
      running: k % 2 === 0,
      mode: 0,
      diagnostics: { temperature: k + 0.5, hours: [0x00200000, k], counter: [0xffffffff, 0xffffffff - k], label: `run ${k}`, since: new Date(T0 + k) },
    });
    const FLOATS = ["12.66", "0.1", "-273.15", "4.2", "1e-7"];
    // Odd k change only element 0, even k only element 2 (each keeps its value otherwise).
    const zones = (k: number) => [100.5 + (k % 2 === 1 ? k : Math.max(0, k - 1)), 200.25, 300.125 + (k - (k % 2)), 400, 500];
    plant.addMotorStatus("Motor1.Status", status(0));
    plant.addVariable("Oven.Zones", "Double", new Float64Array(zones(0)), { array: 5 });
    plant.addVariable("Oven.Setpoints", "Float", new Float32Array([1.1, 12.66, 3.3]), { array: 3 });

    const x = new Expected();
    const fieldPoints: [string, string, (k: number) => string][] = [
      ["speed", "Speed", (k) => String(1500.25 + k)],
      ["running", "Running", (k) => String(k % 2 === 0)],
      ["temperature", "Diagnostics.Temperature", (k) => String(k + 0.5)],
      ["hours", "Diagnostics.Hours", (k) => String((0x00200000n << 32n) | BigInt(k))],
      ["counter", "Diagnostics.Counter", (k) => String(-1 - k)],
      ["label", "Diagnostics.Label", (k) => `run ${k}`],
      ["since", "Diagnostics.Since", (k) => new Date(T0 + k).toISOString()],
    ];
    /** Step k: a new structure value (every field point gets its field); odd k change array element 0, even k element 2. */
    const step = (k: number) => {
      const ts = T0 + 1000 + k * 10;
      plant.setMotorStatus("Motor1.Status", status(k), new Date(ts));
      for (const [id, , text] of fieldPoints) x.add(id, ts, text(k));
      const z = zones(k);
      plant.set("Oven.Zones", "Double", new Float64Array(z), new Date(ts + 1), true);
      x.add("zones-all", ts + 1, JSON.stringify(z));
      if (k % 2 === 0) {
        x.add("zone2", ts + 1, String(z[2]));
        x.add("zones1to3", ts + 1, JSON.stringify(z.slice(1, 4)));
      }
      const f = FLOATS[k % FLOATS.length]!;
      plant.set("Oven.Setpoints", "Float", new Float32Array([1.1, Number(f), 3.3]), new Date(ts + 2), true);
      x.add("setpoint1", ts + 2, f);
    };
    step(0); // the values present when the items are created

    const s = plant.nodeId("Motor1.Status");
    const z = plant.nodeId("Oven.Zones");
    const file = join(d, "mapping.yaml");
    writeFileSync(
      file,
      `sources:
  - name: line1
    endpoint: ${plant.endpoint}
    publishingInterval: 50ms
${ingestYaml(e, join(d, "state"))}points:
${fieldPoints.map(([id, field]) => `  - { nodeId: "${s}", field: ${field}, pointId: ${id} }`).join("\n")}
  - { nodeId: "${z}", indexRange: "2", pointId: zone2 }
  - { nodeId: "${z}", indexRange: "1:3", pointId: zones1to3 }
  - { nodeId: "${z}", pointId: zones-all }
  - { nodeId: "${plant.nodeId("Oven.Setpoints")}", indexRange: "1", pointId: setpoint1 }
  - { nodeId: "${s}", field: Diagnostics.Temp, pointId: no-such-field }
`,
    );
    const run = started(["run", "--config", file]);
    // Without a `source:` on the points: there is exactly one source.
    expect(await event(run, "items_created", { source: "line1" })).toMatchObject({ monitored: 12 });
    const ids = [...x.byPoint.keys()];
    await waitFor(delivered(e, x, ids), 10_000, "the initial values");
    const missing = await event(run, "point_part_missing", { where: (ev) => ev.pointId === "no-such-field", timeoutMs: 10_000 });
    expect(missing.reason).toBe('field Diagnostics has no field "Temp"; its fields: Temperature, Hours, Counter, Label, Since');
    for (let k = 1; k <= 40; k++) step(k);
    await waitFor(delivered(e, x, ids), 15_000, "every step");
    run.child.kill("SIGTERM");
    expect(await run.exit).toBe(0);
    for (const id of ids) expect(stored(e, id), id).toEqual(x.of(id));
    // Server-side index range: element 0's changes (odd steps) never reached the element-2 points.
    expect(stored(e, "zone2")).toHaveLength(21);
    expect(stored(e, "zones-all")).toHaveLength(41);
    expect(stored(e, "no-such-field")).toEqual([]);
    expect(stored(e, "setpoint1").slice(0, 2).map((v) => v.value)).toEqual(["12.66", "0.1"]);
  }, 60_000);

  it("a primary killed under load fails over to its backup within 10 s; the values of both arrive exactly", async () => {
    const d = dir("sources-run-failover");
    const e = await emulatorStarted();
    const primary = await TestPlant.start({ pkiDir: join(d, "pki-a"), structures: false, namespaceUri: "urn:pair" });
    const backup = await TestPlant.start({ pkiDir: join(d, "pki-b"), structures: false, namespaceUri: "urn:pair" });
    let primaryUp = true;
    cleanup.push(() => backup.stop(), () => (primaryUp ? primary.stop() : undefined));
    const names = ["Load.P0", "Load.P1", "Load.P2"];
    for (const s of [primary, backup]) for (const n of names) s.addVariable(n, "Double", -1, { historize: true });
    // Both servers carry the same process values (a redundant pair): k with the same source timestamp.
    const written: { k: number; ts: number }[] = [];
    let k = 0;
    let lastTs = 0;
    const write = () => {
      const ts = Math.max(Date.now(), lastTs + 1);
      lastTs = ts;
      const v = k++;
      written.push({ k: v, ts });
      for (const s of primaryUp ? [primary, backup] : [backup]) for (const n of names) s.set(n, "Double", v, new Date(ts));
    };
    write(); // the current value when the items are created

    const file = join(d, "mapping.yaml");
    writeFileSync(
      file,
      `sources:
  - name: pair
    endpoint: ${primary.endpoint}
    backupEndpoints: [${backup.endpoint}]
    publishingInterval: 50ms
    reconnectMaxDelay: 1s
${ingestYaml(e, join(d, "state"))}points:
${names.map((n, i) => `  - { source: pair, nodeId: "${primary.nodeId(n)}", pointId: p${i} }`).join("\n")}
`,
    );
    const run = started(["run", "--config", file]);
    expect(await event(run, "items_created", { source: "pair" })).toMatchObject({ endpoint: primary.endpoint, monitored: 3 });
    const ids = names.map((_n, i) => `p${i}`);
    const count = (id: string) => e.values(PARTITION, id).length;
    await waitFor(() => ids.every((id) => count(id) >= 1), 10_000, "the initial values");
    const timer = setInterval(write, 10);
    cleanup.push(() => clearInterval(timer));
    await waitFor(() => ids.every((id) => count(id) > 50), 15_000, "values from the primary");

    const killedAt = Date.now();
    primaryUp = false;
    await primary.stop();
    const kAtKill = k;
    const done = await event(run, "failover_done", { source: "pair", since: killedAt - 1000, timeoutMs: 10_000 });
    expect(done.endpoint).toBe(backup.endpoint);
    const lastValue = (id: string) => Number(e.values(PARTITION, id).at(-1)?.value);
    await waitFor(() => ids.every((id) => lastValue(id) > kAtKill + 10), 10_000 - (Date.now() - killedAt), "values from the backup within 10 s of the kill");
    expect(Date.now() - killedAt).toBeLessThan(10_000);
    await waitFor(() => k > kAtKill + 100, 5_000, "more load on the backup");
    clearInterval(timer);
    const lastK = k - 1;
    await waitFor(() => ids.every((id) => lastValue(id) === lastK), 10_000, "the last value");

    run.child.kill("SIGTERM");
    expect(await run.exit).toBe(0);
    const failover = await event(run, "failover", { source: "pair" });
    expect(failover).toMatchObject({ from: primary.endpoint, to: backup.endpoint });
    const truth = new Map(written.map((w) => [w.k, w.ts]));
    for (const id of ids) {
      const got = stored(e, id);
      // Exact: every stored value is one that was written, with its ms timestamp, once, in order.
      for (const v of got) expect(new Date(truth.get(Number(v.value))!).toISOString(), `${id} ${v.value}`).toBe(v.timestamp);
      const ks = got.map((v) => Number(v.value));
      expect(new Set(ks).size).toBe(ks.length);
      // Complete: the switch window is filled from the backup's history.
      const seen = new Set(ks);
      const lost = written.filter((w) => !seen.has(w.k)).map((w) => w.k);
      expect(lost, `${id}: values written but not stored (killed at k=${kAtKill})`).toEqual([]);
    }
  }, 90_000);
});

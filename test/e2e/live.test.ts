import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type Emulator } from "../../src/dev/emulator.js";
import { SimServer } from "../../src/dev/simserver.js";
import { LiveConnector } from "../../src/app/live.js";
import { DeadLetterStore } from "../../src/spool/deadletters.js";
import { mappingYaml, silent, tempDir, writeMapping, type MappingOptions } from "../helpers/env.js";
import { Producer } from "../helpers/producer.js";
import { waitFor } from "../helpers/wait.js";

const PARTITION = "test-partition";
const dir = tempDir("live");
let server: SimServer;
let emulator: Emulator;
let seq = 0;

beforeAll(async () => {
  server = await SimServer.start({ pkiDir: join(dir.path, "server-pki") });
});
afterAll(async () => {
  await server?.stop();
  dir.remove();
});

async function withConnector(emulatorOpts: Parameters<typeof startEmulator>[0], o: MappingOptions, body: (c: LiveConnector, e: Emulator) => Promise<void>) {
  emulator = await startEmulator(emulatorOpts);
  const state = join(dir.path, `state-${++seq}`);
  const { mapping } = writeMapping(dir.path, mappingYaml(server, emulator, state, o), `mapping-${seq}.yaml`);
  const c = new LiveConnector(mapping, silent);
  try {
    await c.start();
    await body(c, emulator);
  } finally {
    await c.stop(5_000);
    await emulator.close();
  }
}

const stored = (pointId: string) => emulator.values(PARTITION, pointId).map((v) => ({ timestamp: v.timestamp, value: v.value }));

function allDelivered(p: Producer): () => boolean {
  return () => [...p.expected.keys()].every((id) => emulator.values(PARTITION, id).length >= p.expected.get(id)!.size);
}

const FLOATS = ["12.66", "0.1", "-273.15", "4.2", "3.4028235e+38", "1e-7"];

describe("live streaming, end to end (node-opcua server → connector → emulator over HTTP)", () => {
  it("delivers every change of every mapped node exactly as produced: value string and ms timestamp", async () => {
    const p = new Producer(server);
    const id = `t${seq}`;
    const names = { d: `${id}.Double`, f: `${id}.Float`, u: `${id}.UInt64`, i: `${id}.Int64`, b: `${id}.Bool`, s: `${id}.String` };
    p.add(names.d, "Double", `${id}-double`, 0);
    p.add(names.f, "Float", `${id}-float`, 0);
    p.add(names.u, "UInt64", `${id}-uint64`, [0, 0]);
    p.add(names.i, "Int64", `${id}-int64`, [0, 0]);
    p.add(names.b, "Boolean", `${id}-bool`, false);
    p.add(names.s, "String", `${id}-string`, "");
    const base = Date.UTC(2026, 10, 25, 12, 0, 0, 0);
    // The value present when the subscription starts is delivered too: make it a recorded one.
    const produce = (i: number) => {
      const t = base + i * 3;
      p.set(names.d, "Double", `${id}-double`, i / 10 + 0.01, String(i / 10 + 0.01), t);
      const f = FLOATS[i % FLOATS.length]!;
      p.set(names.f, "Float", `${id}-float`, Math.fround(Number(f)), f, t + 1);
      const u = 2n ** 53n + BigInt(i) * 7n; // beyond double precision
      p.set(names.u, "UInt64", `${id}-uint64`, [Number(u >> 32n), Number(u & 0xffffffffn)], u.toString(), t);
      const n = -(2n ** 40n) - BigInt(i); // negative Int64: written with the unsigned high word
      const w = BigInt.asUintN(64, n);
      p.set(names.i, "Int64", `${id}-int64`, [Number(w >> 32n), Number(w & 0xffffffffn)], n.toString(), t + 2);
      p.set(names.b, "Boolean", `${id}-bool`, i % 2 === 0, String(i % 2 === 0), t);
      p.set(names.s, "String", `${id}-string`, `state "${i}" ✓`, `state "${i}" ✓`, t);
    };
    produce(0);
    const points = Object.values(names).map((name) => ({ name, pointId: "" }));
    const ids = [`${id}-double`, `${id}-float`, `${id}-uint64`, `${id}-int64`, `${id}-bool`, `${id}-string`];
    points.forEach((x, k) => (x.pointId = ids[k]!));
    await withConnector({}, { points, maxValues: 100, maxDelay: "200ms" }, async (c) => {
      await waitFor(allDelivered(p), 10_000, "the initial values");
      for (let i = 1; i <= 300; i++) produce(i);
      await waitFor(allDelivered(p), 20_000, "every produced value");
      for (const pointId of ids) expect(stored(pointId)).toEqual(p.values(pointId));
      expect(c.stats.dropped).toEqual({});
      expect(emulator.stats().maxValuesInRequest).toBeLessThanOrEqual(100);
      expect(emulator.stats().nonCanonicalTimestamps).toBe(0);
    });
  });

  it("stores one value for several changes within one millisecond (the first), and no request carries its own conflict", async () => {
    const p = new Producer(server);
    const name = `t${seq}.SubMs`;
    const pointId = `t${seq}-subms`;
    p.add(name, "Double", pointId, 0);
    const base = Date.UTC(2026, 10, 25, 13, 0, 0, 0);
    p.set(name, "Double", pointId, -1, "-1", base - 1000);
    await withConnector({}, { points: [{ name, pointId }], maxValues: 100, maxDelay: "300ms" }, async (c) => {
      await waitFor(allDelivered(p), 10_000, "the initial value");
      for (let ms = 0; ms < 50; ms++) {
        for (const us of [0, 250, 500, 999]) p.set(name, "Double", pointId, ms * 1000 + us, String(ms * 1000 + us), base + ms, us * 1_000_000);
      }
      await waitFor(() => c.stats.point(pointId).received >= 201, 10_000, "all notifications");
      await waitFor(allDelivered(p), 10_000, "one value per millisecond");
      expect(stored(pointId)).toEqual(p.values(pointId));
      expect(stored(pointId)).toHaveLength(51);
      // 150 sub-ms repeats merged before sending (or, across a batch boundary, dropped by the API as conflicts)
      expect(c.stats.duplicates + c.stats.conflicts).toBe(150);
      expect(emulator.stats().conflicts).toBe(c.stats.conflicts);
    });
  });

  it("flushes by count (never more than maxValues per request) and by time", async () => {
    const p = new Producer(server);
    const busy = `t${seq}.Busy`;
    const quiet = `t${seq}.Quiet`;
    p.add(busy, "Int32", `t${seq}-busy`, 0);
    p.add(quiet, "Int32", `t${seq}-quiet`, 0);
    const base = Date.UTC(2026, 10, 25, 14, 0, 0, 0);
    p.set(busy, "Int32", `t${seq}-busy`, -1, "-1", base - 10);
    p.set(quiet, "Int32", `t${seq}-quiet`, -1, "-1", base - 10);
    const points = [{ name: busy, pointId: `t${seq}-busy` }, { name: quiet, pointId: `t${seq}-quiet` }];
    await withConnector({}, { points, maxValues: 7, maxDelay: "400ms" }, async (c) => {
      await waitFor(allDelivered(p), 10_000, "the initial values (flushed by time: 1 value < maxValues)");
      const requestsBefore = emulator.stats().requests;
      for (let i = 0; i < 700; i++) p.set(busy, "Int32", points[0]!.pointId, i, String(i), base + i);
      await waitFor(allDelivered(p), 20_000, "700 values");
      expect(stored(points[0]!.pointId)).toEqual(p.values(points[0]!.pointId));
      const s = emulator.stats();
      expect(s.maxValuesInRequest).toBe(7);
      expect(s.requests - requestsBefore).toBeGreaterThanOrEqual(100); // 700 / 7
      // by time: one value on a quiet point goes out after maxDelay, alone
      const sentAt = Date.now();
      p.set(quiet, "Int32", points[1]!.pointId, 42, "42", base + 5);
      await waitFor(allDelivered(p), 10_000, "the quiet point's value");
      expect(Date.now() - sentAt).toBeGreaterThanOrEqual(400);
      expect(stored(points[1]!.pointId)).toEqual(p.values(points[1]!.pointId));
      // The emulator stores a request's values before its answer reaches the connector: the last one may be
      // stored and not yet counted as sent. Wait for the count, then check it is exact (nothing sent twice).
      await waitFor(() => c.stats.sent >= 703, 5_000, "the answer to the last request");
      expect(c.stats.sent).toBe(703);
    });
  });

  it("refreshes a short-lived token and retries injected 429 and 503 without losing a value", async () => {
    const p = new Producer(server);
    const name = `t${seq}.Faulty`;
    const pointId = `t${seq}-faulty`;
    p.add(name, "Double", pointId, 0);
    const base = Date.UTC(2026, 10, 25, 15, 0, 0, 0);
    p.set(name, "Double", pointId, 0.5, "0.5", base - 10);
    await withConnector({ tokenLifetimeS: 1 }, { points: [{ name, pointId }], maxValues: 10, maxDelay: "100ms", extraIngest: "  retryMaxDelay: 1s" }, async (c, e) => {
      await waitFor(allDelivered(p), 10_000, "the initial value");
      e.addFault({ status: 429, count: 3, retryAfterS: 1 });
      e.addFault({ status: 503, count: 3 });
      for (let i = 0; i < 200; i++) {
        p.set(name, "Double", pointId, i + 0.25, String(i + 0.25), base + i);
        if (i % 50 === 49) await new Promise((r) => setTimeout(r, 400)); // spread over >1 s of token life
      }
      await waitFor(allDelivered(p), 30_000, "every value despite faults");
      expect(stored(pointId)).toEqual(p.values(pointId));
      const s = e.stats();
      expect(s.byStatus["429"]).toBe(3);
      expect(s.byStatus["503"]).toBe(3);
      expect(s.tokensIssued).toBeGreaterThan(1);
      expect(c.stats.retries).toBeGreaterThanOrEqual(6);
    });
  });

  it("dead-letters a point the API does not know while the other points keep flowing", async () => {
    const p = new Producer(server);
    const good = `t${seq}.Good`;
    const unknown = `t${seq}.Unknown`;
    const points = [{ name: good, pointId: `t${seq}-good` }, { name: unknown, pointId: `t${seq}-unknown` }];
    p.add(good, "Int32", points[0]!.pointId, 0);
    p.add(unknown, "Int32", points[1]!.pointId, 0);
    const base = Date.UTC(2026, 10, 25, 16, 0, 0, 0);
    for (let i = 0; i < 30; i++) {
      p.set(good, "Int32", points[0]!.pointId, i, String(i), base + i);
      p.set(unknown, "Int32", points[1]!.pointId, i, String(i), base + i);
    }
    await withConnector({ knownPoints: [points[0]!.pointId] }, { points, maxValues: 10, maxDelay: "100ms" }, async (c) => {
      p.set(good, "Int32", points[0]!.pointId, 99, "99", base + 99);
      p.set(unknown, "Int32", points[1]!.pointId, 99, "99", base + 99);
      await waitFor(() => stored(points[0]!.pointId).length === 2, 10_000, "the good point's values");
      expect(stored(points[0]!.pointId)).toEqual(p.values(points[0]!.pointId).slice(-2));
      // written with the group commit that deletes their rows
      await waitFor(() => new DeadLetterStore(c.engine.spool.database).list().reduce((n, l) => n + l.samples.length, 0) >= 2, 10_000, "dead letters");
      const letters = new DeadLetterStore(c.engine.spool.database).list();
      expect(letters.every((l) => l.pointId === points[1]!.pointId && l.status === 404)).toBe(true);
      expect(letters.flatMap((l) => l.samples.map((v) => v[1]))).toEqual(["29", "99"]);
      expect(letters[0]!.detail).toMatch(/\S/);
      expect(c.stats.dropped.dead_letter).toBe(2);
    });
  });

  it("reports a node the server does not know by pointId and nodeId, and keeps the others running", async () => {
    const p = new Producer(server);
    const id = `t${seq}`;
    const good = `${id}.Present`;
    p.add(good, "Int32", `${id}-present`, 0);
    p.set(good, "Int32", `${id}-present`, 7, "7", Date.UTC(2026, 10, 25, 18, 0, 0, 0));
    const points = [{ name: good, pointId: `${id}-present` }, { name: `${id}.Missing`, pointId: `${id}-missing` }];
    await withConnector({}, { points, maxDelay: "100ms" }, async (c) => {
      await waitFor(allDelivered(p), 10_000, "the present node's value");
      expect([...c.source.failed.keys()]).toEqual([`${id}-missing`]);
      expect(c.source.failed.get(`${id}-missing`)).toMatch(/BadNodeIdUnknown/);
      p.set(good, "Int32", `${id}-present`, 8, "8", Date.UTC(2026, 10, 25, 18, 0, 0, 1));
      await waitFor(allDelivered(p), 10_000, "a later value");
      expect(stored(`${id}-present`)).toEqual(p.values(`${id}-present`));
    });
  });

  it("applies an absolute deadband on the server (DataChangeFilter)", async () => {
    const name = `t${seq}.Noisy`;
    const pointId = `t${seq}-noisy`;
    server.addVariable(name, "Double", 10);
    const base = Date.UTC(2026, 10, 25, 19, 0, 0, 0);
    server.set(name, "Double", 10, new Date(base));
    await withConnector({}, { points: [{ name, pointId }], maxDelay: "100ms", defaults: "  deadband: { absolute: 1 }" }, async () => {
      await waitFor(() => stored(pointId).length === 1, 10_000, "the initial value");
      [10.2, 10.5, 9.4, 11.5, 11.9, 13].forEach((v, i) => server.set(name, "Double", v, new Date(base + 1 + i)));
      // |change| > 1 from the last reported value: 10 → 11.5 → 13; 10.2, 10.5, 9.4 and 11.9 stay inside
      await waitFor(() => stored(pointId).length >= 3, 10_000, "the changes beyond the deadband");
      expect(stored(pointId).map((v) => v.value)).toEqual(["10", "11.5", "13"]);
    });
  });

  it("creates monitored items in chunks within the server's MaxMonitoredItemsPerCall", async () => {
    const small = await SimServer.start({ pkiDir: join(dir.path, "small-pki"), maxMonitoredItemsPerCall: 50 });
    try {
      const p = new Producer(small);
      const points = Array.from({ length: 130 }, (_, k) => ({ name: `chunk.P${k}`, pointId: `chunk-${k}` }));
      const base = Date.UTC(2026, 10, 25, 20, 0, 0, 0);
      for (const [k, x] of points.entries()) {
        p.add(x.name, "Int32", x.pointId, 0);
        p.set(x.name, "Int32", x.pointId, k, String(k), base + k);
      }
      emulator = await startEmulator();
      const { mapping } = writeMapping(dir.path, mappingYaml(small, emulator, join(dir.path, "chunk-state"), { points, maxDelay: "100ms" }), "chunk.yaml");
      const c = new LiveConnector(mapping, silent);
      try {
        await c.start();
        await waitFor(allDelivered(p), 15_000, "one value from each of 130 points");
        expect(c.source.failed.size).toBe(0);
        for (const x of points) expect(stored(x.pointId)).toEqual(p.values(x.pointId));
      } finally {
        await c.stop(5_000);
        await emulator.close();
      }
    } finally {
      await small.stop();
    }
  });

  it("re-sends the last value on the heartbeat when a point does not change, stamped with the current time", async () => {
    const name = `t${seq}.Quiet`;
    const pointId = `t${seq}-heartbeat`;
    server.addVariable(name, "Double", 0);
    server.set(name, "Double", 7.5, new Date(Date.UTC(2026, 10, 25, 21, 0, 0, 0)));
    await withConnector({}, { points: [{ name, pointId }], maxDelay: "100ms", defaults: "  heartbeat: 300ms" }, async (c) => {
      await waitFor(() => stored(pointId).length >= 4, 10_000, "heartbeats");
      const values = stored(pointId);
      expect(values.every((v) => v.value === "7.5")).toBe(true);
      const times = values.map((v) => Date.parse(v.timestamp));
      for (let i = 2; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(300);
      expect(times[1]!).toBeGreaterThan(Date.now() - 10_000); // stamped now, not with the old source time
      expect(c.stats.heartbeats).toBeGreaterThanOrEqual(3);
    });
  });

  it("reports a repeated value with a new timestamp when trigger is statusValueTimestamp", async () => {
    const name = `t${seq}.Repeat`;
    const pointId = `t${seq}-repeat`;
    server.addVariable(name, "Double", 0);
    const base = Date.UTC(2026, 10, 25, 22, 0, 0, 0);
    server.set(name, "Double", 1, new Date(base));
    await withConnector({}, { points: [{ name, pointId }], maxDelay: "100ms", defaults: "  trigger: statusValueTimestamp" }, async () => {
      await waitFor(() => stored(pointId).length === 1, 10_000, "the initial value");
      for (let i = 1; i <= 5; i++) server.set(name, "Double", 1, new Date(base + i));
      await waitFor(() => stored(pointId).length === 6, 10_000, "every repeat");
      expect(stored(pointId).map((v) => v.value)).toEqual(["1", "1", "1", "1", "1", "1"]);
    });
  });

  it("sends an enumeration as its EnumStrings label when enumAs is label", async () => {
    emulator = await startEmulator();
    const state = join(dir.path, `state-enum`);
    const yaml = mappingYaml(server, emulator, state, { points: [{ name: "x", pointId: "server-state" }], maxDelay: "100ms", defaults: "  enumAs: label" })
      .replace(`"${server.nodeId("x")}"`, '"i=2259"'); // Server_ServerStatus_State, a ServerState enumeration
    const { mapping } = writeMapping(dir.path, yaml, "enum.yaml");
    const c = new LiveConnector(mapping, silent);
    try {
      await c.start();
      await waitFor(() => stored("server-state").length >= 1, 10_000, "the server state");
      expect(stored("server-state")[0]!.value).toBe("Running");
    } finally {
      await c.stop(2_000);
      await emulator.close();
    }
  });
});


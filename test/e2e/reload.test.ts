import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadMapping } from "../../src/config/index.js";
import { startEmulator, type Emulator } from "../../src/dev/emulator.js";
import { SimServer } from "../../src/dev/simserver.js";
import { LiveConnector } from "../../src/app/live.js";
import { watchMapping } from "../../src/cli/reload.js";
import { mappingYaml, silent, tempDir } from "../helpers/env.js";
import { Producer, Stream } from "../helpers/producer.js";
import { waitFor } from "../helpers/wait.js";

const PARTITION = "test-partition";
const dir = tempDir("reload");
let server: SimServer;
let emulator: Emulator;

beforeAll(async () => {
  server = await SimServer.start({ pkiDir: join(dir.path, "pki") });
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator?.close();
  await server?.stop();
  dir.remove();
});

const stored = (pointId: string) => emulator.values(PARTITION, pointId);

describe("hot reload", () => {
  it("adds, removes and retunes points while values flow; unchanged points have no gap", async () => {
    const p = new Producer(server);
    const all = ["A", "B", "C", "D"].map((k) => ({ name: `rl.${k}`, pointId: `rl-${k.toLowerCase()}` }));
    const [a, b, c, d] = all as [typeof all[0], typeof all[0], typeof all[0], typeof all[0]];
    for (const x of all) {
      p.add(x.name, "Double", x.pointId, 0);
      p.set(x.name, "Double", x.pointId, -1, "-1", Date.now() - 1_000);
    }
    const yaml = (points: typeof all, extra = "") => mappingYaml(server, emulator, join(dir.path, "state"), { points, maxDelay: "100ms" }) + extra;
    const file = join(dir.path, "mapping.yaml");
    writeFileSync(file, yaml([a, b, c]));
    const conn = new LiveConnector(loadMapping(file), silent);
    const stream = new Stream(p, all, 20, 2_000);
    try {
      await conn.start();
      stream.start();
      await waitFor(() => stored(a.pointId).length > 80 && stored(c.pointId).length > 80, 15_000, "values flowing");

      // b is retuned (scale 2, same node and monitoring: same item), c removed, d added; through the file watcher
      const reloaded = new Promise<void>((resolve) => {
        const w = watchMapping(file, silent, async (m) => {
          await conn.reload(m);
          w.close();
          resolve();
        }, 100);
      });
      const changed = yaml([a, b, d]).replace(`pointId: ${b.pointId}`, `pointId: ${b.pointId}\n    scale: 2`);
      const startedAt = Date.now();
      writeFileSync(file, changed);
      await reloaded;
      const doneAt = Date.now();
      await waitFor(() => stored(d.pointId).length > 20, 10_000, "the added point's values");
      stream.stop();
      await waitFor(() => [a, b].every((x) => stored(x.pointId).length >= p.expected.get(x.pointId)!.size), 10_000, "the unchanged points' values");

      // a: untouched, every value produced before, during and after the reload
      expect(stored(a.pointId).map((v) => ({ timestamp: v.timestamp, value: v.value }))).toEqual(p.values(a.pointId));
      // b: no gap either; its values switch to the new scale at the reload
      const bStored = stored(b.pointId);
      expect(bStored.map((v) => v.timestamp)).toEqual(p.values(b.pointId).map((v) => v.timestamp));
      expect(bStored.filter((v) => Date.parse(v.timestamp) < startedAt - 1_000).length).toBeGreaterThan(10);
      for (const v of bStored) {
        const produced = Number(p.values(b.pointId).find((x) => x.timestamp === v.timestamp)!.value);
        const t = Date.parse(v.timestamp);
        // conversion follows the time a value is received: leave its publishing delay as margin
        if (t < startedAt - 1_000) expect(Number(v.value)).toBe(produced);
        if (t > doneAt) expect(Number(v.value)).toBe(produced * 2);
      }
      // c: stops; d: starts
      expect(stored(c.pointId).every((v) => Date.parse(v.timestamp) <= doneAt)).toBe(true);
      const dWant = p.values(d.pointId).filter((v) => Date.parse(v.timestamp) > doneAt + 50).map((v) => v.timestamp);
      const dHave = new Set(stored(d.pointId).map((v) => v.timestamp));
      expect(dWant.length).toBeGreaterThan(10);
      expect(dWant.every((t) => dHave.has(t))).toBe(true);
      expect(conn.source.currentPoints().map((x) => x.config.pointId)).toEqual([a.pointId, b.pointId, d.pointId]);
    } finally {
      stream.stop();
      await conn.stop(2_000);
    }
  });

  it("keeps running on the old mapping when the new one is invalid, and says why", async () => {
    const file = join(dir.path, "bad.yaml");
    server.addVariable("rl.E", "Double", 1);
    writeFileSync(file, mappingYaml(server, emulator, join(dir.path, "state-bad"), { points: [{ name: "rl.E", pointId: "rl-e" }] }));
    const lines: string[] = [];
    const { pino } = await import("pino");
    const log = pino({ level: "info" }, { write: (l: string) => void lines.push(l) });
    let applied = 0;
    const refused = new Promise<void>((resolve) => {
      const w = watchMapping(file, log, async () => void applied++, 50);
      const check = setInterval(() => {
        if (lines.some((l) => l.includes("mapping reload refused"))) {
          clearInterval(check);
          w.close();
          resolve();
        }
      }, 20);
    });
    writeFileSync(file, "opcua:\n  endpont: x\n");
    await refused;
    expect(applied).toBe(0);
    const line = JSON.parse(lines.find((l) => l.includes("mapping reload refused"))!);
    expect(line.problems.join("\n")).toMatch(/bad\.yaml:2:3: opcua\.endpont: unknown key; did you mean "endpoint"/);
  });
});

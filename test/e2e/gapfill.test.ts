import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type Emulator } from "../../src/dev/emulator.js";
import { SimServer } from "../../src/dev/simserver.js";
import { startCli } from "../helpers/cli.js";
import { mappingYaml, tempDir } from "../helpers/env.js";
import { Producer, Stream } from "../helpers/producer.js";
import { waitFor } from "../helpers/wait.js";

// The server keeps producing and historizing while the connector is stopped; the restarted
// connector reads the hole back from history, so the API ends up with every value.
const dir = tempDir("gapfill");
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

describe("gap fill in live mode", () => {
  it("fills what the server historized while the connector was stopped", async () => {
    const p = new Producer(server);
    const points = [0, 1, 2].map((k) => ({ name: `gap.P${k}`, pointId: `gap-${k}` }));
    for (const x of points) {
      p.add(x.name, "Double", x.pointId, 0, true);
      p.set(x.name, "Double", x.pointId, -1, "-1", Date.now() - 5_000);
    }
    const file = join(dir.path, "mapping.yaml");
    writeFileSync(file, mappingYaml(server, emulator, join(dir.path, "state"), { points, maxDelay: "100ms" }));
    const stream = new Stream(p, points, 25, 4_000);
    const first = startCli(["run", "--config", file]);
    await first.line((l) => l.includes('"event":"items_created"'), 30_000);
    stream.start();
    await waitFor(() => points.every((x) => emulator.values("test-partition", x.pointId).length > 20), 20_000, "values flowing");
    first.child.kill("SIGTERM");
    expect(await first.exit).toBe(0);
    const stoppedAt = Date.now();
    await new Promise((r) => setTimeout(r, 2_000)); // the outage itself: the server goes on producing
    const produced = p.count;
    const second = startCli(["run", "--config", file]);
    await second.line((l) => l.includes('"gap filled from the server\'s history"'), 30_000);
    stream.stop();
    await waitFor(() => points.every((x) => emulator.values("test-partition", x.pointId).length >= p.expected.get(x.pointId)!.size), 30_000, "every value, the hole included");
    for (const x of points) {
      expect(emulator.values("test-partition", x.pointId).map((v) => ({ timestamp: v.timestamp, value: v.value }))).toEqual(p.values(x.pointId));
    }
    const holeValues = p.values(points[0]!.pointId).filter((v) => Date.parse(v.timestamp) > stoppedAt && Date.parse(v.timestamp) < stoppedAt + 1_500);
    expect(holeValues.length).toBeGreaterThan(20); // there was a real hole to fill
    expect(produced).toBeGreaterThan(0);
    const filled = second.stdout.filter((l) => l.includes("gap filled")).map((l) => JSON.parse(l) as { pointId: string; values: number });
    expect(filled.map((f) => f.pointId).sort()).toEqual(points.map((x) => x.pointId));
    expect(filled.every((f) => f.values > 20)).toBe(true);
    second.child.kill("SIGTERM");
    expect(await second.exit).toBe(0);
  }, 120_000);
});

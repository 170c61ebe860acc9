import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type Emulator } from "../../src/dev/emulator.js";
import { SimServer } from "../../src/dev/simserver.js";
import { startCli } from "../helpers/cli.js";
import { mappingYaml, tempDir } from "../helpers/env.js";
import { Producer } from "../helpers/producer.js";

const dir = tempDir("process");
let server: SimServer;
let emulator: Emulator;

beforeAll(async () => {
  server = await SimServer.start({ pkiDir: join(dir.path, "server-pki") });
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator?.close();
  await server?.stop();
  dir.remove();
});

describe("the CLI as a process", () => {
  it("on SIGTERM flushes open batches and exits 0, losing nothing it had received", async () => {
    const p = new Producer(server);
    const points = [0, 1, 2].map((k) => ({ name: `term.P${k}`, pointId: `term-${k}` }));
    for (const x of points) p.add(x.name, "Double", x.pointId, 0);
    const base = Date.UTC(2026, 10, 25, 17, 0, 0, 0);
    for (const x of points) p.set(x.name, "Double", x.pointId, 0.5, "0.5", base - 1);
    const file = join(dir.path, "term.yaml");
    // maxDelay far beyond the test: whatever is not a full batch is only sent because of the shutdown
    writeFileSync(file, mappingYaml(server, emulator, join(dir.path, "term-state"), { points, maxValues: 100, maxDelay: "1h" }));
    const run = startCli(["run", "--config", file, "--log-level", "trace"]);
    let notified = 0;
    const countNotifications = (target: number) =>
      run.line((l) => {
        if (!l.includes('"notifications received"')) return false;
        notified += JSON.parse(l).count as number;
        return notified >= target;
      }, 20_000);
    await run.line((l) => l.includes('"event":"items_created"'), 20_000);
    await countNotifications(3); // the initial values
    for (let i = 0; i < 250; i++) for (const x of points) p.set(x.name, "Double", x.pointId, i + 1.5, String(i + 1.5), base + i);
    await countNotifications(3 + 750);
    const before = points.map((x) => emulator.values("test-partition", x.pointId).length);
    expect(before.reduce((a, b) => a + b, 0)).toBeLessThan(753); // some values were still in open batches
    run.child.kill("SIGTERM");
    expect(await run.exit).toBe(0);
    for (const x of points) {
      expect(emulator.values("test-partition", x.pointId).map((v) => ({ timestamp: v.timestamp, value: v.value }))).toEqual(p.values(x.pointId));
    }
    const stopped = JSON.parse(run.stdout.find((l) => l.includes('"event":"stopped"'))!);
    expect(stopped.received).toBe(753);
    expect(stopped.sent).toBe(753);
  });

  it("rejects a bad mapping with file, line and key, exit code 2", async () => {
    const file = join(dir.path, "bad.yaml");
    writeFileSync(file, mappingYaml(server, emulator, join(dir.path, "bad-state"), { points: [{ name: "x", pointId: "x" }], maxValues: 500 }));
    const run = startCli(["validate", "--config", file]);
    expect(await run.exit).toBe(2);
    const err = run.stderr.join("");
    expect(err).toContain(`${file}:`);
    expect(err).toMatch(/:\d+:\d+: batch\.maxValues: .*100/);
  });

  it("answers --version and --help, and exits 2 on an unknown command", async () => {
    const v = startCli(["--version"]);
    expect(await v.exit).toBe(0);
    expect(v.stdout[0]).toMatch(/^\d+\.\d+\.\d+$/);
    const h = startCli(["run", "--help"]);
    expect(await h.exit).toBe(0);
    expect(h.stdout.join("\n")).toContain("--drain-timeout");
    const u = startCli(["frobnicate"]);
    expect(await u.exit).toBe(2);
    expect(u.stderr.join("")).toContain('unknown command "frobnicate"');
  });

  it("runs the demo for a few seconds and delivers what it read", async () => {
    const demo = startCli(["demo", "--duration", "6s"]);
    expect(await demo.exit).toBe(0);
    const out = demo.stdout.join("\n");
    expect(out).toContain("Stopped cleanly");
    const m = /emulator stored (\d+) values/.exec(out);
    expect(Number(m?.[1])).toBeGreaterThan(20);
    expect(out).toMatch(/line1-flow-counter\s+\d+\s+\d+\s+\d+\s+900719925474\d{4}/);
  });
});

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, describe, expect, it, vi } from "vitest";
import { UsageError } from "../../src/cli/errors.js";
import type { Mapping } from "../../src/config/types.js";
import { tempDir } from "../helpers/env.js";

// `run --shard`: the points handed to the connector are this shard's, and an empty shard is a usage
// error. The connector is replaced by a stand-in, so no socket is opened.

const started: Mapping[] = [];
vi.mock("../../src/app/live.js", () => ({
  LiveConnector: class {
    backlog = 0;
    constructor(mapping: Mapping) {
      started.push(mapping);
    }
    async start() {}
    async stop() {
      return 0;
    }
  },
}));
const { runCommand } = await import("../../src/cli/run.js");

const dir = tempDir("shard-run");
afterAll(() => dir.remove());

const DEMO_IDS = ["boiler1-temperature", "boiler1-pressure", "line1-flow-counter", "line1-running", "line1-state", "line1-vibration"];

function mappingFile(pointIds: string[]): string {
  const file = join(dir.path, `m-${pointIds.length}.yaml`);
  writeFileSync(
    file,
    `opcua:
  endpoint: opc.tcp://127.0.0.1:4840
ingest:
  baseUrl: http://127.0.0.1:9/ingest
  partitionId: p
  tokenUrl: http://127.0.0.1:9/oauth/token
  clientId: c
  clientSecret: s
state: ${join(dir.path, "state")}
points:
${pointIds.map((id, k) => `  - { nodeId: "ns=2;s=P${k}", pointId: ${id} }`).join("\n")}
`,
  );
  return file;
}

const baseline = { SIGINT: process.listeners("SIGINT"), SIGTERM: process.listeners("SIGTERM") };

/** run installs process-wide SIGINT/SIGTERM handlers (a second signal exits): remove them after each run. */
async function stopBySignal(run: Promise<number>): Promise<number> {
  process.emit("SIGTERM");
  const code = await run;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    for (const l of process.listeners(signal)) if (!baseline[signal].includes(l)) process.off(signal, l);
  }
  return code;
}

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: "info" }, { write: (s: string) => lines.push(JSON.parse(s)) });
  return { log, lines };
}

describe("run --shard", () => {
  it("hands the connector only this shard's points, in mapping order, and logs how many it takes", async () => {
    const file = mappingFile(DEMO_IDS);
    const expected: Record<number, string[]> = {
      0: ["line1-flow-counter", "line1-state"],
      1: ["boiler1-pressure", "line1-running"],
      2: ["boiler1-temperature", "line1-vibration"],
    };
    for (const index of [0, 1, 2]) {
      const { log, lines } = capture();
      const run = runCommand(file, 1_000, log, { shard: `${index}/3` });
      await vi.waitFor(() => expect(started).toHaveLength(index + 1));
      expect(await stopBySignal(run)).toBe(0);
      expect(started[index]!.points.map((p) => p.pointId)).toEqual(expected[index]);
      expect(lines).toContainEqual(expect.objectContaining({ shard: `${index}/3`, points: 2, of: 6, msg: `shard ${index}/3: this replica takes 2 of 6 points` }));
    }
  });

  it("without --shard takes every point", async () => {
    const { log } = capture();
    const before = started.length;
    const run = runCommand(mappingFile(DEMO_IDS), 1_000, log);
    await vi.waitFor(() => expect(started).toHaveLength(before + 1));
    expect(await stopBySignal(run)).toBe(0);
    expect(started.at(-1)!.points).toHaveLength(6);
  });

  it("refuses a shard with no points (exit 2 via UsageError), naming the mapping and what to do", async () => {
    // "line1-state" falls in shard 0 of 2: shard 1 of 2 is empty
    const file = mappingFile(["line1-state"]);
    const { log } = capture();
    const before = started.length;
    const err = await runCommand(file, 1_000, log, { shard: "1/2" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe(`--shard 1/2: this shard takes none of the 1 points of ${file}; use fewer replicas (a smaller COUNT) for this mapping`);
    expect(started).toHaveLength(before);
  });

  it("refuses a malformed --shard before reading the mapping", async () => {
    const { log } = capture();
    const err = await runCommand(join(dir.path, "missing.yaml"), 1_000, log, { shard: "3/3" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/--shard "3\/3": INDEX is 0-based/);
  });
});

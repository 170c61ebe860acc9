// validate --online against a real node-opcua server: every kind of problem a mapping can have on
// the server, reported by pointId with its mapping line; warnings alone exit 0.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NAMESPACE_URI, PlantServer } from "../helpers/addressspace.js";
import { startCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/env.js";

const dir = tempDir("validate-online");
let plant: PlantServer;

beforeAll(async () => {
  plant = await PlantServer.start(join(dir.path, "server-pki"), { lines: 1, machinesPerLine: 2, utilities: 3 });
});
afterAll(async () => {
  await plant?.stop();
  dir.remove();
});

const node = (id: string) => `nsu=${NAMESPACE_URI};s=${id}`;

function mapping(name: string, points: { nodeId: string; pointId: string; extra?: string }[], top = "", endpoint = plant.endpoint): string {
  const file = join(dir.path, name);
  writeFileSync(
    file,
    `opcua:
  endpoint: ${endpoint}
ingest:
  baseUrl: http://127.0.0.1:9/ingest
  tokenUrl: http://127.0.0.1:9/oauth/token
  partitionId: p
  clientId: c
  clientSecret: s
state: ${JSON.stringify(join(dir.path, "state"))}
${top}
points:
${points.map((p) => `  - nodeId: "${p.nodeId}"\n    pointId: ${p.pointId}${p.extra ? `\n    ${p.extra}` : ""}`).join("\n")}
`,
  );
  return file;
}

async function validate(file: string) {
  const run = startCli(["validate", "--config", file, "--online"]);
  const code = await run.exit;
  const stdout = run.stdout.join("\n");
  // Table rows: POINT ID, NODE ID, LINE, severity: problem
  const rows = run.stdout
    .map((l) => /^(\S+)\s+(\S+)\s+(\d+)\s+(error|warning): (.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pointId: m[1]!, nodeId: m[2]!, line: Number(m[3]), severity: m[4]!, message: m[5]! }));
  return { code, stdout, stderr: run.stderr.join(""), rows };
}

describe("validate --online", () => {
  it("reports a missing node, an unknown namespace, an unreadable node, unconvertible types, an object and a too-fast sampling, by pointId (exit 2)", async () => {
    const file = mapping("problems.yaml", [
      { nodeId: node("Plant.Line01.Machine001.Temperature"), pointId: "temp-ok" },
      { nodeId: node("Plant.Line01.Machine999.Temperature"), pointId: "missing-node" },
      { nodeId: "nsu=urn:nowhere;s=Tag", pointId: "missing-namespace" },
      { nodeId: node("Plant.Special.NotReadable"), pointId: "not-readable" },
      { nodeId: node("Plant.Special.Diagnostic"), pointId: "diagnostic" },
      { nodeId: node("Plant.Line01.Machine001"), pointId: "an-object" },
      { nodeId: node("Plant.Special.Range"), pointId: "range-skipped", extra: "structured: skip" },
      { nodeId: node("Plant.Special.Samples"), pointId: "array-skipped", extra: "structured: skip" },
      { nodeId: node("Plant.Special.Slow"), pointId: "too-fast", extra: "samplingInterval: 250ms" },
      { nodeId: node("Plant.Special.Mode"), pointId: "enum-ok" },
      { nodeId: `nsu=${NAMESPACE_URI};i=100002`, pointId: "numeric-ok" },
    ]);
    const r = await validate(file);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    const by = new Map(r.rows.map((x) => [x.pointId, x]));
    expect([...by.keys()].sort()).toEqual(["an-object", "array-skipped", "diagnostic", "missing-namespace", "missing-node", "not-readable", "range-skipped", "too-fast"]);
    expect(by.get("missing-node")).toMatchObject({ severity: "error", nodeId: node("Plant.Line01.Machine999.Temperature"), line: 14 });
    expect(by.get("missing-node")!.message).toContain("BadNodeIdUnknown");
    expect(by.get("missing-namespace")!.message).toMatch(/namespace "urn:nowhere" is not in the server's namespace array.*urn:opcua-ingest:test-plant/);
    expect(by.get("not-readable")!.message).toMatch(/not readable: its AccessLevel is CurrentWrite, without CurrentRead/);
    expect(by.get("diagnostic")!.message).toMatch(/data type DiagnosticInfo .*cannot be converted/);
    expect(by.get("an-object")!.message).toMatch(/is an Object, not a Variable/);
    expect(by.get("range-skipped")!.message).toMatch(/data type Range is a structure, and structured: skip/);
    expect(by.get("array-skipped")!.message).toMatch(/holds arrays/);
    expect(by.get("too-fast")).toMatchObject({ severity: "warning" });
    expect(by.get("too-fast")!.message).toMatch(/samplingInterval 250 ms is faster than the node's MinimumSamplingInterval 1000 ms/);
    // in mapping order
    expect(r.rows.map((x) => x.line)).toEqual([...r.rows.map((x) => x.line)].sort((a, b) => a - b));
    expect(r.stdout).toMatch(/11 point\(s\) checked on opc\.tcp:\/\/127\.0\.0\.1:\d+ .*: 7 error\(s\), 1 warning\(s\)/);
  }, 30_000);

  it("accepts a mapping whose nodes are all usable; warnings alone exit 0 but are printed", async () => {
    const file = mapping("good.yaml", [
      { nodeId: node("Plant.Line01.Machine002.Pressure"), pointId: "pressure" },
      { nodeId: node("Plant.Special.Range"), pointId: "range-json" },
      { nodeId: node("Plant.Special.Samples"), pointId: "samples-json" },
      { nodeId: node("Plant.Special.AnyValue"), pointId: "any" },
      { nodeId: node("Plant.Special.Flow/Return"), pointId: "flow-return" },
    ]);
    const r = await validate(file);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.rows).toEqual([expect.objectContaining({ pointId: "any", severity: "warning" })]);
    expect(r.stdout).toContain("0 error(s), 1 warning(s)");
  }, 30_000);

  it("with gapFill: true, a node without HistoryRead is an error", async () => {
    const file = mapping("gapfill.yaml", [
      { nodeId: node("Plant.Line01.Machine001.Counter"), pointId: "counter-history" },
      { nodeId: node("Plant.Line01.Machine001.Speed"), pointId: "speed-no-history" },
    ], "gapFill: true");
    const r = await validate(file);
    expect(r.code).toBe(2);
    expect(r.rows.map((x) => x.pointId)).toEqual(["speed-no-history"]);
    expect(r.rows[0]!.message).toMatch(/gapFill\.enabled is true but the node has no history/);
  }, 30_000);

  it("exits 1 with the connection error when the server cannot be reached; offline problems still exit 2 first", async () => {
    const down = mapping("down.yaml", [{ nodeId: node("X"), pointId: "x" }], "", "opc.tcp://127.0.0.1:1");
    const r = await validate(down);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/OPCUA_CONNECT: cannot connect to opc\.tcp:\/\/127\.0\.0\.1:1/);
    const bad = mapping("bad.yaml", [{ nodeId: node("X"), pointId: "x" }], "batch:\n  maxValues: 500");
    const b = await validate(bad);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/batch\.maxValues/);
  }, 30_000);
});

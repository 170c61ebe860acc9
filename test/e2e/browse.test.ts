// From endpoint to first values on a 21,548-variable plant: browse → fill point ids → validate →
// validate --online → run, each step the CLI as a child process, checked against the address space
// the test built (test/helpers/addressspace.ts), not against the code under test.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseMapping } from "../../src/config/index.js";
import { startEmulator, type Emulator } from "../../src/dev/emulator.js";
import { machinePaths, NAMESPACE_URI, PlantServer, type KnownVariable } from "../helpers/addressspace.js";
import { startCli, type Running } from "../helpers/cli.js";
import { tempDir } from "../helpers/env.js";
import { waitFor } from "../helpers/wait.js";

const dir = tempDir("browse");
const SPEC = { lines: 10, machinesPerLine: 334, utilities: 1500 };
let plant: PlantServer;
let full: { stdout: string; stderr: string } | undefined;

beforeAll(async () => {
  plant = await PlantServer.start(join(dir.path, "server-pki"), SPEC);
  console.log(`test plant: ${plant.variables.length} variables, address space built in ${plant.buildMs} ms`);
}, 120_000);
afterAll(async () => {
  await plant?.stop();
  dir.remove();
});

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string; run: Running }> {
  const run = startCli(args, env);
  const code = await run.exit;
  return { code, stdout: run.stdout.join("\n"), stderr: run.stderr.join(""), run };
}

const browse = (...extra: string[]) => cli(["browse", "--endpoint", plant.endpoint, "--state", join(dir.path, "state"), ...extra]);

interface Entry {
  path: string;
  facts: string;
  nodeId: string;
  pointId: string;
}

const ENTRY = /^ {2}# (.*?): (.*)\n {2}- nodeId: (".*")\n {4}pointId: (".*")$/gm;

function entries(yaml: string): Entry[] {
  return [...yaml.matchAll(ENTRY)].map((m) => ({ path: m[1]!, facts: m[2]!, nodeId: JSON.parse(m[3]!), pointId: JSON.parse(m[4]!) }));
}

function expectedFacts(v: KnownVariable): string {
  const facts = [v.dataType, ...(v.unit ? [`unit ${v.unit}`] : []), v.access].join(", ");
  return v.access.includes("CurrentRead") ? facts : `${facts} (NOT READABLE: no CurrentRead)`;
}

/** What a plant engineer does by hand: a real point id for every placeholder. */
const pointIdFor = (path: string) => path.replace(/%2F/g, "_").replace(/\//g, ".");
const fill = (yaml: string) => yaml.replace(/pointId: "TODO-(.*)"/g, (_m, path: string) => `pointId: "${pointIdFor(path)}"`);

/** Delete the points (comment + entry) whose browse path starts with prefix. */
const removePoints = (yaml: string, prefix: string) => yaml.replace(ENTRY, (whole, path: string) => (path.startsWith(prefix) ? "" : whole)).replace(/\n{2,}/g, "\n");

const API_ENV = { PARTITION_ID: "test-partition", CLIENT_ID: "demo-client", CLIENT_SECRET: "demo-secret" };

function stat(stderr: string, re: RegExp): number {
  const m = re.exec(stderr);
  if (!m) throw new Error(`no ${re} in stderr:\n${stderr}`);
  return Number(m[1]!.replace(/,/g, ""));
}

describe("browse on a 21,548-variable address space", () => {
  it("lists every variable exactly once, with its namespace URI, data type, unit and access level", async () => {
    const started = performance.now();
    const r = await browse();
    const wallMs = performance.now() - started;
    expect(r.code, r.stderr).toBe(0);
    full = r;
    const got = entries(r.stdout);
    // One entry per variable, none twice (Plant/Special/Shortcuts leads back to Plant and Line01).
    expect(got).toHaveLength(plant.variables.length);
    expect(new Set(got.map((e) => e.nodeId)).size).toBe(got.length);
    const byPath = new Map(got.map((e) => [e.path, e]));
    for (const v of plant.variables) {
      const e = byPath.get(v.path);
      expect(e, v.path).toBeDefined();
      expect(e!.nodeId).toBe(v.nodeId);
      expect(e!.facts).toBe(expectedFacts(v));
      expect(e!.pointId).toBe(`TODO-${v.path}`);
    }
    // The skeleton around the points.
    expect(r.stdout.startsWith("# yaml-language-server: $schema=./schema.json\n")).toBe(true);
    expect(r.stdout).toContain(`endpoint: "${plant.endpoint}"`);
    expect(r.stdout).toContain("partitionId: ${PARTITION_ID}");
    expect(r.stdout).not.toMatch(/nodeId: "i=/); // the Server object's diagnostics are not listed
    expect(r.stderr).toContain("the Server object (i=2253) was not walked");
    // Batching: the server allows 200 nodes per Browse and 1000 per Read; 1500 children need a BrowseNext.
    expect(r.stderr).toMatch(/at most 200 nodes per Browse, 1000 per Read/);
    expect(stat(r.stderr, /(\d[\d,]*) BrowseNext/)).toBeGreaterThanOrEqual(1);
    const seconds = stat(r.stderr, /in ([\d.]+) s, after/);
    const connect = stat(r.stderr, /after ([\d.]+) s to connect/);
    const rssMb = stat(r.stderr, /peak RSS (\d+) MB/);
    const pending = stat(r.stderr, /at most ([\d,]+) nodes waiting/);
    console.log(
      `browse of ${got.length} variables: walk ${seconds} s after ${connect} s to connect (new PKI), ${(wallMs / 1000).toFixed(1)} s wall with process start; ` +
        `peak RSS ${rssMb} MB; at most ${pending} nodes pending`,
    );
    expect(pending).toBeLessThan(got.length);
  }, 120_000);

  it("its output, point ids filled in, is a mapping that validate accepts offline; placeholders left are reported", async () => {
    expect(full, "the first test's browse output").toBeDefined();
    const raw = join(dir.path, "raw.yaml");
    writeFileSync(raw, full!.stdout);
    const unfilled = await cli(["validate", "--config", raw], API_ENV);
    expect(unfilled.code).toBe(2);
    expect(unfilled.stderr).toMatch(/:\d+:\d+: points\[0\]\.pointId: still the placeholder written by browse/);

    const filled = fill(full!.stdout);
    const mapping = parseMapping(filled, join(dir.path, "filled.yaml"), API_ENV);
    expect(mapping.points).toHaveLength(plant.variables.length);
    expect(mapping.points[0]!.pointId).toBe("Plant.Line01.Machine001.Temperature");
    const file = join(dir.path, "filled.yaml");
    writeFileSync(file, filled);
    const ok = await cli(["validate", "--config", file], API_ENV);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`valid: ${plant.variables.length} point(s)`);
  }, 60_000);

  it("validate --online checks all 21,548 nodes and reports the unreadable and the unconvertible ones by pointId (exit 2)", async () => {
    const file = join(dir.path, "filled.yaml");
    const started = performance.now();
    const r = await cli(["validate", "--config", file, "--online"], API_ENV);
    const ms = performance.now() - started;
    expect(r.code, r.stdout + r.stderr).toBe(2);
    const rows = r.stdout.split("\n").filter((l) => / (error|warning): /.test(l));
    const errors = rows.filter((l) => l.includes(" error: ")).map((l) => l.split(/\s+/)[0]).sort();
    expect(errors).toEqual(["Plant.Special.Diagnostic", "Plant.Special.NotReadable"]);
    const warnings = rows.filter((l) => l.includes(" warning: ")).map((l) => l.split(/\s+/)[0]);
    expect(warnings).toEqual(["Plant.Special.AnyValue"]);
    expect(r.stdout).toMatch(/Plant\.Special\.NotReadable +"?nsu=urn:opcua-ingest:test-plant;s=Plant\.Special\.NotReadable"? +\d+ +error: not readable/);
    expect(r.stdout).toMatch(/Plant\.Special\.Diagnostic .* error: data type DiagnosticInfo .*cannot be converted/);
    expect(r.stdout).toContain(`${plant.variables.length} point(s) checked`);
    expect(r.stdout).toContain("2 error(s), 1 warning(s)");
    console.log(`validate --online of ${plant.variables.length} points: ${(ms / 1000).toFixed(1)} s wall with process start`);
  }, 120_000);

  it("run delivers the initial value of every one of the 21,540 healthy points to the API", async () => {
    const emulator: Emulator = await startEmulator();
    try {
      const yaml = removePoints(fill(full!.stdout), "Plant/Special/")
        .replace("  clientSecret: ${CLIENT_SECRET}\n", "  clientSecret: ${CLIENT_SECRET}\n  concurrency: 64\nbatch:\n  maxDelay: 500ms\n")
        .replace(/^state: .*$/m, `state: ${JSON.stringify(join(dir.path, "run-state"))}\nops: { listen: off }`); // tests run in parallel: not the default port
      const file = join(dir.path, "run.yaml");
      writeFileSync(file, yaml);
      const env = { ...API_ENV, INGEST_BASE_URL: emulator.baseUrl, INGEST_TOKEN_URL: emulator.tokenUrl };
      const mapping = parseMapping(yaml, file, env);
      const healthy = plant.healthy;
      expect(mapping.points).toHaveLength(healthy.length);
      expect(healthy.length).toBeGreaterThanOrEqual(20_000);

      const started = performance.now();
      const run = startCli(["run", "--config", file], env);
      try {
        // Bounded generously: on a loaded 2-core host (the whole suite in parallel) it has taken 20-90 s.
        await waitFor(() => emulator.stats().valuesStored >= healthy.length || run.child.exitCode !== null, 240_000, "an initial value for every point").catch((err: Error) => {
          throw new Error(`${err.message}: ${emulator.stats().valuesStored} of ${healthy.length} stored`);
        });
        const ms = performance.now() - started;
        expect(run.child.exitCode, run.stderr.join("")).toBeNull();
        const missing = healthy.filter((v) => emulator.values("test-partition", pointIdFor(v.path)).length === 0);
        expect(missing.map((v) => v.path)).toEqual([]);
        // Spot checks of the value strings: UInt64 beyond 2^32, float32 shortest form.
        const [p1] = machinePaths(1, 1).filter((p) => p.endsWith("Counter"));
        expect(emulator.values("test-partition", pointIdFor(p1!))[0]!.value).toBe(String(2 ** 32 + 1001));
        expect(emulator.values("test-partition", "Plant.Line01.Machine001.Pressure")[0]!.value).toBe("4.5");
        console.log(`run: initial values of ${healthy.length} points delivered in ${(ms / 1000).toFixed(1)} s from process start (${emulator.stats().requests} requests)`);
      } finally {
        run.child.kill("SIGTERM");
        expect(await run.exit).toBe(0);
      }
    } finally {
      await emulator.close();
    }
  }, 300_000);
});

describe("browse options", () => {
  it("--filter selects exactly the matching subtree, and does not browse branches that cannot match", async () => {
    const r = await browse("--filter", "Plant/Line03/**/Temperature");
    expect(r.code, r.stderr).toBe(0);
    const expected = plant.variables.filter((v) => /^Plant\/Line03\/.*\/Temperature$/.test(v.path)).map((v) => v.path);
    expect(expected).toHaveLength(SPEC.machinesPerLine);
    expect(entries(r.stdout).map((e) => e.path)).toEqual(expected);
    // Objects, Plant, its 12 children, Line03's machines and their variables; not the other lines.
    expect(stat(r.stderr, /from ([\d,]+) nodes/)).toBeLessThan(3_000);

    const subtree = await browse("--filter", "Plant/Line02/Machine007");
    expect(entries(subtree.stdout).map((e) => e.path)).toEqual(machinePaths(2, 7));

    const star = await browse("--filter", "Plant/*/Machine00[1]/Speed");
    expect(star.code).toBe(0);
    expect(entries(star.stdout)).toEqual([]); // [ is literal: no match
    expect(star.stdout).toContain("points:\n  []");
    expect(star.stderr).toContain("no variables found");
  }, 60_000);

  it("--root with a namespace URI, --depth, and --point-ids from a CSV", async () => {
    const csv = join(dir.path, "ids.csv");
    writeFileSync(csv, 'browsePath,pointId\nSpecial/Slow,slow-1\n"Special/Flow%2FReturn","flow-return"\nSpecial/Gone,gone-1\n');
    const r = await browse("--root", `nsu=${NAMESPACE_URI};s=Plant`, "--depth", "2", "--filter", "Special/**", "--point-ids", csv);
    expect(r.code, r.stderr).toBe(0);
    const got = entries(r.stdout);
    // Depth 2 below Plant: Special's variables; Shortcuts/Line01/... (deeper) is not reached.
    expect(got.map((e) => e.path).sort()).toEqual([...plant.special.values()].map((v) => v.path.replace(/^Plant\//, "")).sort());
    expect(got.find((e) => e.path === "Special/Slow")!.pointId).toBe("slow-1");
    expect(got.find((e) => e.path === "Special/Flow%2FReturn")!.pointId).toBe("flow-return");
    expect(got.find((e) => e.path === "Special/Range")!.pointId).toBe("TODO-Special/Range");
    expect(r.stderr).toContain("2 pointId(s) filled in");
    expect(r.stderr).toMatch(/1 browse path\(s\) of --point-ids were not found: Special\/Gone/);
  }, 60_000);

  it("exits 2 on bad flags and an unknown root, 1 when the server cannot be reached", async () => {
    const noEndpoint = await cli(["browse"]);
    expect(noEndpoint.code).toBe(2);
    expect(noEndpoint.stderr).toContain("--endpoint URL is required");
    const badFilter = await cli(["browse", "--endpoint", plant.endpoint, "--filter", "Plant//x"]);
    expect(badFilter.code).toBe(2);
    expect(badFilter.stderr).toContain("empty segment");
    const noPassword = await cli(["browse", "--endpoint", plant.endpoint, "--user", "operator", "--password-env", "OPCUA_INGEST_TEST_UNSET"]);
    expect(noPassword.code).toBe(2);
    expect(noPassword.stderr).toContain("set the password in the environment variable OPCUA_INGEST_TEST_UNSET (never on the command line)");
    const badRoot = await browse("--root", `nsu=${NAMESPACE_URI};s=NoSuchNode`);
    expect(badRoot.code).toBe(2);
    expect(badRoot.stderr).toMatch(/--root .*BadNodeIdUnknown/);
    expect(badRoot.stdout).toBe("");
    const unreachable = await cli(["browse", "--endpoint", "opc.tcp://127.0.0.1:1", "--state", join(dir.path, "state")]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/OPCUA_CONNECT: cannot connect to opc\.tcp:\/\/127\.0\.0\.1:1/);
    expect(unreachable.stdout).toBe("");
  }, 60_000);
});

import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseMapping } from "../../src/config/index.js";
import { HistorySession } from "../../src/opcua/history.js";
import { inspectMapping } from "../../src/opcua/inspect.js";
import { OpcuaSource } from "../../src/opcua/source.js";
import { Collector, points, type TestPoint } from "../helpers/collect.js";
import { silent, tempDir } from "../helpers/env.js";
import { TestPlant } from "../helpers/plantserver.js";
import { waitFor } from "../helpers/wait.js";

// A custom nested structure type (decoded through the server's DataTypeDefinition) and array
// variables, delivered exactly through field and indexRange, at the OpcuaSource level.
const dir = tempDir("structures");
let plant: TestPlant;

const T0 = Date.UTC(2026, 10, 25, 9, 0, 0);
const status = (speed: number, temperature: number, hours: [number, number], counter: [number, number], label: string) => ({
  speed,
  running: speed > 0,
  mode: 0,
  diagnostics: { temperature, hours, counter, label, since: new Date(T0) },
});

beforeAll(async () => {
  plant = await TestPlant.start({ pkiDir: join(dir.path, "pki") });
  plant.addMotorStatus("Motor1.Status", status(1500.25, 12.66, [0x00200000, 1], [0xffffffff, 0xfffffffe], "ok"));
  plant.addVariable("Oven.Zones", "Double", new Float64Array([100.5, 200.25, 300.125, 400, 500]), { array: 5 });
  plant.addVariable("Oven.Setpoints", "Float", new Float32Array([1.1, 12.66, 3.3]), { array: 3 });
  plant.addVariable("Oven.Counters", "Int64", [[0, 7], [0x7fffffff, 0xffffffff]], { array: 2 });
  plant.addVariable("Oven.Scalar", "Double", 1);
});
afterAll(async () => {
  await plant?.stop();
  dir.remove();
});

function mapping(pointsYaml: string) {
  return parseMapping(
    `opcua:
  endpoint: ${plant.endpoint}
  publishingInterval: 50ms
ingest:
  baseUrl: http://127.0.0.1:1
  tokenUrl: http://127.0.0.1:1/token
  partitionId: p
  clientId: c
  clientSecret: s
state: ${join(dir.path, "state")}
ops: { listen: off }
defaults:
  samplingInterval: 0
  queueSize: 100
points:
${pointsYaml}`,
    join(dir.path, "mapping.yaml"),
    {},
  );
}

describe("structures and arrays", () => {
  it("delivers structure fields at any depth and array elements exactly, each as a scalar of its type", async () => {
    const s = plant.nodeId("Motor1.Status");
    const z = plant.nodeId("Oven.Zones");
    const m = mapping(`  - { nodeId: "${s}", field: Speed, pointId: speed }
  - { nodeId: "${s}", field: Running, pointId: running }
  - { nodeId: "${s}", field: Mode, pointId: mode }
  - { nodeId: "${s}", field: Diagnostics.Temperature, pointId: temperature }
  - { nodeId: "${s}", field: Diagnostics.Hours, pointId: hours }
  - { nodeId: "${s}", field: Diagnostics.Counter, pointId: counter }
  - { nodeId: "${s}", field: Diagnostics.Label, pointId: label }
  - { nodeId: "${s}", field: Diagnostics.Since, pointId: since }
  - { nodeId: "${z}", indexRange: "2", pointId: zone2 }
  - { nodeId: "${z}", indexRange: "1:3", pointId: zones1to3 }
  - { nodeId: "${plant.nodeId("Oven.Setpoints")}", indexRange: "1", pointId: setpoint1 }
  - { nodeId: "${plant.nodeId("Oven.Counters")}", indexRange: "1", pointId: counter1 }
  - { nodeId: "${s}", field: Diagnostics.Temp, pointId: no-such-field }
  - { nodeId: "${z}", indexRange: "9", pointId: no-such-element }
  - { nodeId: "${plant.nodeId("Oven.Scalar")}", field: X, pointId: not-a-structure }
`);
    const c = new Collector();
    const source = new OpcuaSource<TestPoint>(m.opcua, points(m.points), m.state, silent, c.handlers);
    try {
      await source.start();
      const delivering = ["speed", "running", "mode", "temperature", "hours", "counter", "label", "since", "zone2", "zones1to3", "setpoint1", "counter1"];
      await c.until(() => delivering.every((id) => c.of(id).length > 0), 15_000, "the initial values");
      expect(Object.fromEntries(delivering.map((id) => [id, c.of(id)]))).toEqual({
        speed: ["1500.25"],
        running: ["true"],
        mode: ["0"],
        temperature: ["12.66"],
        hours: [String((0x00200000n << 32n) | 1n)],
        counter: ["-2"],
        label: ["ok"],
        since: [new Date(T0).toISOString()],
        zone2: ["300.125"],
        zones1to3: ["[200.25,300.125,400]"],
        setpoint1: ["12.66"],
        counter1: ["9223372036854775807"],
      });

      // Per point, by pointId: the structure's actual fields, the array's length; the others keep running.
      await waitFor(() => source.failed.size === 3, 10_000, "three reported points").catch((e) => { throw new Error(`${e.message}: ${JSON.stringify([...source.failed])} ${JSON.stringify([...c.values.keys()])}`); });
      expect(source.failed.get("no-such-field")).toBe('field Diagnostics has no field "Temp"; its fields: Temperature, Hours, Counter, Label, Since');
      expect(source.failed.get("no-such-element")).toBe("indexRange 9 is outside the node's array: it has 5 element(s) (BadIndexRangeNoData)");
      expect(source.failed.get("not-a-structure")).toBe("field X asks for a structure field, but the value is Double, not a structure");

      // Server-side index range: a change of element 0 is not delivered to the point on element 2.
      plant.set("Oven.Zones", "Double", new Float64Array([111, 200.25, 300.125, 400, 500]), new Date(T0 + 1000), true);
      await c.until(() => c.of("zones1to3").length >= 1 && c.of("speed").length >= 1, 5_000, "nothing");
      plant.set("Oven.Zones", "Double", new Float64Array([111, 200.25, -0.5, 400, 500]), new Date(T0 + 2000), true);
      await c.until(() => c.of("zone2").length === 2 && c.of("zones1to3").length === 2, 10_000, "the change of element 2");
      expect(c.of("zone2")).toEqual(["300.125", "-0.5"]);
      expect(c.values.get("zone2")![1]!.ts).toBe(T0 + 2000);
      expect(c.of("zones1to3")).toEqual(["[200.25,300.125,400]", "[200.25,-0.5,400]"]);

      // A new structure value: every field point gets its field, exactly.
      plant.setMotorStatus("Motor1.Status", status(0, -40.5, [0, 0], [0x80000000, 0], "stopped"), new Date(T0 + 3000));
      await c.until(() => c.of("label").length === 2 && c.of("counter").length === 2, 10_000, "the new structure value");
      expect(c.last("speed")).toBe("0");
      expect(c.last("running")).toBe("false");
      expect(c.last("temperature")).toBe("-40.5");
      expect(c.last("hours")).toBe("0");
      expect(c.last("counter")).toBe("-9223372036854775808");
      expect(c.last("label")).toBe("stopped");
      expect(c.values.get("temperature")!.at(-1)!.ts).toBe(T0 + 3000);
    } finally {
      await source.stop();
    }
  });

  it("reads structure fields and array elements from history exactly (the backfill's HistoryRead)", async () => {
    // A structure is an ExtensionObject the session resolves through the server's DataTypeDefinition
    // (node-opcua's decoder); an array is decoded into RawDataValues straight from the bytes.
    plant.addMotorStatus("Motor2.Status", status(1, 1, [0, 1], [0, 1], "first"), { historize: true });
    plant.addVariable("Oven.Trend", "Double", new Float64Array([1, 2, 3]), { array: 3, historize: true });
    plant.addVariable("Oven.Level", "Float", 0.5, { historize: true });
    for (let k = 1; k <= 3; k++) {
      plant.setMotorStatus("Motor2.Status", status(k * 100.5, k - 0.1, [0, k], [0xffffffff, 0xffffffff - k], `run ${k}`), new Date(T0 + k * 1000));
      plant.set("Oven.Trend", "Double", new Float64Array([k, k + 0.25, -k]), new Date(T0 + k * 1000 + 1), true);
      plant.set("Oven.Level", "Float", k / 10, new Date(T0 + k * 1000 + 2));
    }
    const s = plant.nodeId("Motor2.Status");
    const t = plant.nodeId("Oven.Trend");
    const m = mapping(`  - { nodeId: "${s}", field: Diagnostics.Temperature, pointId: temp }
  - { nodeId: "${s}", field: Diagnostics.Label, pointId: label }
  - { nodeId: "${t}", indexRange: "1", pointId: trend1 }
  - { nodeId: "${plant.nodeId("Oven.Level")}", pointId: level }
`);
    const history = await HistorySession.open(m.opcua, m.state, silent);
    try {
      const prepared = await history.prepare(m.points.map((p) => ({ pointId: p.pointId, nodeId: p.nodeId, ...(p.field !== undefined && { field: p.field }), ...(p.indexRange !== undefined && { indexRange: p.indexRange }) })));
      expect([...prepared.values()].every((p) => p.ok)).toBe(true);
      const got = new Map<string, [number | null, unknown][]>();
      const outcomes = await history.read(["temp", "label", "trend1", "level"], T0, T0 + 10_000, { valuesPerRead: 2 }, (pointId, values) => {
        for (const v of values) (got.get(pointId) ?? got.set(pointId, []).get(pointId)!).push([v.sourceTimestamp, v.value]);
      });
      expect(outcomes.map((o) => o.kind)).toEqual(["done", "done", "done", "done"]);
      expect(Object.fromEntries(got)).toEqual({
        temp: [1, 2, 3].map((k) => [T0 + k * 1000, Math.fround(k - 0.1)]), // a Float field
        label: [1, 2, 3].map((k) => [T0 + k * 1000, `run ${k}`]),
        trend1: [1, 2, 3].map((k) => [T0 + k * 1000 + 1, k + 0.25]),
        level: [1, 2, 3].map((k) => [T0 + k * 1000 + 2, Math.fround(k / 10)]),
      });
    } finally {
      await history.close();
    }
  });

  it("validate --online checks field paths against the DataTypeDefinition and index ranges against the array", async () => {
    const s = plant.nodeId("Motor1.Status");
    const z = plant.nodeId("Oven.Zones");
    const m = mapping(`  - { nodeId: "${s}", field: Diagnostics.Temperature, pointId: ok-field }
  - { nodeId: "${z}", indexRange: "4", pointId: ok-element }
  - { nodeId: "${s}", field: Diagnostics.Temp, pointId: no-such-field }
  - { nodeId: "${s}", field: Speed.Value, pointId: into-a-scalar }
  - { nodeId: "${z}", indexRange: "5", pointId: past-the-end }
  - { nodeId: "${z}", indexRange: "1,1", pointId: two-dimensions }
  - { nodeId: "${plant.nodeId("Oven.Scalar")}", indexRange: "0", pointId: scalar }
`);
    const report = await inspectMapping(m, silent);
    expect(report.checked).toBe(7);
    expect(report.findings.map((f) => [f.pointId, f.severity, f.message])).toEqual([
      ["no-such-field", "error", 'field Diagnostics has no field "Temp"; its fields: Temperature, Hours, Counter, Label, Since'],
      ["into-a-scalar", "error", 'field Speed (Double) is not a structure, so it has no field "Value"'],
      ["past-the-end", "error", "indexRange 5 is outside the node's array: it has 5 element(s) (indexes 0 to 4)"],
      ["two-dimensions", "error", "indexRange 1,1 has 2 dimension(s), the node's array has 1 (ValueRank 1)"],
      ["scalar", "error", "indexRange 0: the node holds a scalar (ValueRank -1), not an array"],
    ]);
  });
});

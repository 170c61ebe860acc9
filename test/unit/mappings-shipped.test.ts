import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadMapping } from "../../src/config/index.js";

const file = (name: string) => fileURLToPath(new URL(`../../mappings/${name}`, import.meta.url));

describe("the mappings shipped in mappings/", () => {
  it("example.yaml is valid once its environment variables are set", () => {
    const env = { OPCUA_USER: "op", OPCUA_PASSWORD: "pw", PARTITION_ID: "p", CLIENT_ID: "c", CLIENT_SECRET: "s" };
    const m = loadMapping(file("example.yaml"), env);
    expect(m.points.map((p) => p.pointId)).toHaveLength(5);
    expect(m.sources.map((s) => [s.name, s.backupEndpoints])).toEqual([["boilers", ["opc.tcp://scada-gw-b:4840"]], ["line2", []]]);
    expect(m.points.slice(3).map((p) => [p.source, p.field, p.indexRange])).toEqual([["line2", "Diagnostics.Temperature", undefined], ["line2", undefined, "2"]]);
    expect(m.points[0]!.deadband).toEqual({ kind: "absolute", value: 0.1 });
    expect(m.points[2]!.samplingIntervalMs).toBe(0);
  });

  it("demo.yaml is valid without any environment", () => {
    const m = loadMapping(file("demo.yaml"), {});
    expect(m.points).toHaveLength(6);
    expect(m.points.every((p) => p.nodeId.startsWith("nsu=urn:opcua-ingest:demo-plant;"))).toBe(true);
  });

  it("both carry the editor's schema line", async () => {
    const { readFileSync } = await import("node:fs");
    for (const name of ["example.yaml", "demo.yaml"]) {
      expect(readFileSync(file(name), "utf8").split("\n")[0]).toBe("# yaml-language-server: $schema=./schema.json");
    }
  });
});

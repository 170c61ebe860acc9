import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MappingError, parseMapping } from "../../src/config/index.js";
import { parseInSlices, parseWhole } from "../../src/config/load.js";
import { findPointsBlock } from "../../src/config/points-block.js";

// A large mapping's points are parsed a slice at a time (memory), the rest of the loader unchanged:
// for every layout it takes, the Mapping must be the one the whole-document parse gives, lines included.

const fixtures = fileURLToPath(new URL("../fixtures/mappings/", import.meta.url));
const shipped = fileURLToPath(new URL("../../mappings/", import.meta.url));
const env = { PARTITION_ID: "plant-7", OPCUA_USER: "u", OPCUA_PASSWORD: "p", CLIENT_ID: "c", CLIENT_SECRET: "s", NS: "urn:plant" };

const head = `opcua:
  endpoint: opc.tcp://127.0.0.1:4840
ingest:
  baseUrl: http://127.0.0.1:1/ingest
  tokenUrl: http://127.0.0.1:1/oauth/token
  partitionId: p
  clientId: c
  clientSecret: s
state: ./state
`;

/** n points in the given style; every 7th with settings of its own. */
function points(n: number, style: "block" | "flow" | "dash-alone" | "indent0"): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const extra = i % 7 === 0 ? { samplingInterval: "250ms", deadband: "{ absolute: 0.5 }" } : undefined;
    if (i % 100 === 0) out.push(i % 200 === 0 ? "" : "# a comment between items");
    if (style === "flow") out.push(`  - { nodeId: "ns=2;s=v${i}", pointId: p${i}${extra ? `, samplingInterval: ${extra.samplingInterval}, deadband: ${extra.deadband}` : ""} }`);
    else {
      const [dash, pad] = style === "indent0" ? ["- ", "  "] : style === "dash-alone" ? ["  -\n    ", "    "] : ["  - ", "    "];
      out.push(`${dash}nodeId: ns=2;s=v${i}   # trailing comment\n${pad}pointId: "p${i}"`);
      if (extra) out.push(`${pad}samplingInterval: ${extra.samplingInterval}\n${pad}deadband:\n${pad}  absolute: 0.5`);
    }
  }
  return out.join("\n");
}

function bothWays(text: string, file = "/m/mapping.yaml") {
  const sliced = parseInSlices(text, file, env);
  const whole = parseWhole(text, file, env);
  return { sliced, whole };
}

describe("parsing the points a slice at a time", () => {
  it.each(["block", "flow", "dash-alone", "indent0"] as const)("gives the whole parse's mapping for %s items across slices (1,234 points)", (style) => {
    const text = `${head}points:   # the list\n\n${points(1234, style)}\n\n# after the list\nbatch:\n  maxDelay: 2s\n`;
    const { sliced, whole } = bothWays(text);
    expect(sliced).toBeDefined();
    expect(sliced).toEqual(whole);
    expect(sliced!.points).toHaveLength(1234);
    expect(sliced!.batch.maxDelayMs).toBe(2000);
    expect(findPointsBlock(text)!.slices.length).toBeGreaterThan(2);
  });

  it("keeps every line number with CRLF line ends, ${VAR} in points and the list last in the file", () => {
    const text = `${head}points:\n  - nodeId: "nsu=\${NS};s=a"\n    pointId: a\n  -   nodeId: ns=1;s=b\n      pointId: "b"\n\n  - {nodeId: ns=1;s=c,\n     pointId: c}\n`.replace(/\n/g, "\r\n");
    const { sliced, whole } = bothWays(text);
    expect(sliced).toEqual(whole);
    expect(sliced!.points.map((p) => [p.nodeId, p.line])).toEqual([["nsu=urn:plant;s=a", 11], ["ns=1;s=b", 13], ["ns=1;s=c", 16]]);
  });

  it.each([
    ["the last point's folded scalar with a line that looks like a comment", `${head}points:\n  - pointId: a\n    nodeId: >-\n      ns=3;s=Boiler1\n      #Temp\n`],
    ["the last point's kept literal followed by blank lines and a key", `${head}points:\n  - pointId: a\n    nodeId: |+\n      ns=3;s=x\n      # y\n\n\nbatch:\n  maxDelay: 2s\n`],
    ["a literal with a \"#\" line in a point inside the list", `${head}points:\n  - pointId: a\n    nodeId: |-\n      ns=1;s=A\n      # B\n  - { pointId: b, nodeId: "ns=1;s=B" }\n`],
  ])("keeps %s as the whole parse reads it", (_name, text) => {
    const { sliced, whole } = bothWays(text);
    expect(sliced).toBeDefined();
    expect(sliced).toEqual(whole);
  });

  it.each([join(fixtures, "full.yaml"), join(fixtures, "minimal.yaml"), join(shipped, "example.yaml"), join(shipped, "demo.yaml")])("gives the whole parse's mapping for %s", (file) => {
    const text = readFileSync(file, "utf8");
    const { sliced, whole } = bothWays(text, file);
    expect(sliced).toBeDefined();
    expect(sliced).toEqual(whole);
  });

  it.each([
    ["a directive that changes how scalars read", `%YAML 1.1\n---\n${head}points:\n  - { nodeId: a, pointId: yes }\n`],
    ["points written inline", `${head}points: [{ nodeId: a, pointId: a }]\n`],
    ["an anchor in the rest used by a point", `${head}x: &id a\npoints:\n  - { nodeId: *id, pointId: a }\n`],
    ["no points key", head],
    ["points twice", `${head}points:\n  - { nodeId: a, pointId: a }\npoints:\n  - { nodeId: b, pointId: b }\n`],
    ["a line between the items' indentation and the next key", `${head}points:\n    - { nodeId: a, pointId: a }\n  x: 1\n`],
    // The whole parse accepts these, with values the slices alone would get wrong.
    ["an anchor in a point that a later alias refers to", `x: &e ./state\n${head.replace("state: ./state\n", "")}points:\n  - { pointId: a, nodeId: &e "ns=1;s=A" }\nstate: *e\n`],
  ])("leaves %s to the whole parse", (_name, text) => {
    expect(parseInSlices(text, "/m/mapping.yaml", env)).toBeUndefined();
  });

  it.each([
    ["\"points:#x\" (a plain scalar, not a key and a comment)", `${head}points:#x\n  - { pointId: a, nodeId: "ns=1;s=A" }\n`],
    ["a flow mapping at the top with a block list inside", `{ ${head.trim().split("\n").filter((l) => !l.startsWith(" ")).map((l) => l.replace(/:$/, ": {}")).join(", ")},\npoints:\n  - { pointId: a, nodeId: "ns=1;s=A" }\n}\n`],
  ])("leaves %s to the whole parse, which refuses it", (_name, text) => {
    expect(parseInSlices(text, "/m/mapping.yaml", env)).toBeUndefined();
    expect(() => parseWhole(text, "/m/mapping.yaml", env)).toThrow(MappingError);
  });

  it.each([
    ["a duplicate pointId", `${head}points:\n${points(600, "block")}\n  - { nodeId: other, pointId: p3 }\n`, "duplicate pointId"],
    ["a YAML error in a late slice", `${head}points:\n${points(600, "flow")}\n  - { nodeId: x, pointId: "unclosed }\n`, "not valid YAML"],
    ["an unknown key in a point", `${head}points:\n${points(600, "flow")}\n  - { nodeId: x, pointId: y, samplingIntervall: 1s }\n`, "samplingIntervall"],
    ["a missing variable in a point", `${head}points:\n  - { nodeId: "\${MISSING}", pointId: y }\n`, "MISSING is not set"],
  ])("leaves %s to the whole parse, which reports it", (_name, text, words) => {
    expect(parseInSlices(text, "/m/mapping.yaml", env)).toBeUndefined();
    expect(() => parseMapping(text, "/m/mapping.yaml", env)).toThrow(words);
  });
});

import { describe, expect, it } from "vitest";
import { MappingError, parseMapping } from "../../src/config/index.js";
import { formatNumericRange, isSingleElement, parseFieldPath, parseNumericRange } from "../../src/config/numericrange.js";

const FILE = "mappings/plant.yaml";
const INGEST = `ingest:
  baseUrl: https://api.example.com
  partitionId: p
  tokenUrl: https://auth.example.com/oauth/token
  clientId: c
  clientSecret: s
`;
const SOURCES = `sources:
  - name: line1
    endpoint: opc.tcp://line1-plc:4840
    backupEndpoints: [opc.tcp://line1-plc-b:4840]
    retryUnknownNodes: 1m
  - name: line2
    endpoint: opc.tcp://line2-gw:4840
    securityMode: SignAndEncrypt
    securityPolicy: Basic256Sha256
    failoverServiceLevel: 150
`;

function problems(text: string): string[] {
  try {
    parseMapping(text, FILE, {});
  } catch (error) {
    if (error instanceof MappingError) return error.message.split("\n");
    throw error;
  }
  throw new Error("expected a MappingError");
}

describe("sources", () => {
  it("normalizes several sources and the points' source, field and indexRange", () => {
    const m = parseMapping(
      `${SOURCES}${INGEST}points:
  - source: line1
    nodeId: "nsu=urn:line1;s=Motor1.Status"
    field: Diagnostics.Temperature
    pointId: a
  - source: line1
    nodeId: "nsu=urn:line1;s=Motor1.Status"
    field: Diagnostics.Pressure
    pointId: b
  - source: line2
    nodeId: "nsu=urn:line2;s=Oven.Zones"
    indexRange: "2"
    pointId: c
  - source: line2
    nodeId: "nsu=urn:line2;s=Oven.Zones"
    indexRange: 3
    pointId: d
`,
      FILE,
      {},
    );
    expect(m.sources.map((s) => [s.name, s.endpoint, s.backupEndpoints, s.failoverServiceLevel, s.retryUnknownNodesMs])).toEqual([
      ["line1", "opc.tcp://line1-plc:4840", ["opc.tcp://line1-plc-b:4840"], 200, 60_000],
      ["line2", "opc.tcp://line2-gw:4840", [], 150, 300_000],
    ]);
    expect(m.sources[1]!.securityMode).toBe("SignAndEncrypt");
    expect(m.opcua).toBe(m.sources[0]);
    expect(m.points.map((p) => [p.pointId, p.source, p.field, p.indexRange])).toEqual([
      ["a", "line1", "Diagnostics.Temperature", undefined],
      ["b", "line1", "Diagnostics.Pressure", undefined],
      ["c", "line2", undefined, "2"],
      ["d", "line2", undefined, "3"],
    ]);
  });

  it("takes the opcua section as one source named default, and a point may name it", () => {
    const m = parseMapping(`opcua:\n  endpoint: opc.tcp://x:4840\n${INGEST}points:\n  - nodeId: i=2258\n    pointId: a\n  - nodeId: i=2259\n    source: default\n    pointId: b\n`, FILE, {});
    expect(m.sources.map((s) => s.name)).toEqual(["default"]);
    expect(m.points.map((p) => p.source)).toEqual(["default", "default"]);
  });

  it("a single source may be left out on the points", () => {
    const m = parseMapping(`sources:\n  - name: only\n    endpoint: opc.tcp://x:4840\n${INGEST}points:\n  - nodeId: i=2258\n    pointId: a\n`, FILE, {});
    expect(m.points[0]!.source).toBe("only");
  });

  it("reports opcua and sources together, and neither", () => {
    expect(problems(`opcua:\n  endpoint: opc.tcp://x:4840\n${SOURCES}${INGEST}points:\n  - nodeId: i=1\n    source: line1\n    pointId: a\n`)).toEqual([
      `${FILE}:3:1: sources: give opcua (one server) or sources (one or more named servers), not both; move the opcua section into sources as { name: ..., endpoint: ... }`,
    ]);
    expect(problems(`${INGEST}points:\n  - nodeId: i=1\n    pointId: a\n`)).toEqual([
      `${FILE}:1:1: opcua: missing required key "opcua" (the OPC UA server to read from); or give sources, a list of { name, endpoint }`,
    ]);
  });

  it("reports bad and duplicate source names, and a point's missing or unknown source with a suggestion", () => {
    expect(
      problems(`sources:
  - name: Line_1
    endpoint: opc.tcp://a:4840
  - name: line2
    endpoint: opc.tcp://b:4840
  - name: line2
    endpoint: opc.tcp://c:4840
    backupEndpoints: [http://c-b:4840]
    failoverServiceLevel: 300
${INGEST}points:
  - nodeId: i=1
    pointId: a
  - nodeId: i=2
    source: lin2
    pointId: b
  - nodeId: i=3
    source: boiler
    pointId: c
`),
    ).toEqual([
      `${FILE}:2:5: sources[0].name: "Line_1" is not allowed; a source name uses a-z, 0-9 and -, e.g. line1`,
      `${FILE}:6:5: sources[2].name: duplicate source name "line2" (also sources[1]); each source needs its own name`,
      `${FILE}:8:23: sources[2].backupEndpoints[0]: "http://c-b:4840" must start with opc.tcp://, e.g. opc.tcp://scada-gw-b:4840`,
      `${FILE}:9:5: sources[2].failoverServiceLevel: 300 is out of range; allowed: a whole number from 0 to 255`,
      `${FILE}:17:5: points[0].source: missing required key "source": there are 3 sources, name the one this node is read from; allowed: Line_1, line2`,
      `${FILE}:20:5: points[1].source: "lin2" is not a source; did you mean "line2"? Allowed: line2`,
      `${FILE}:23:5: points[2].source: "boiler" is not a source; allowed: line2`,
    ]);
  });

  it("checks security and user per source", () => {
    expect(
      problems(`sources:
  - name: a
    endpoint: opc.tcp://a:4840
    securityMode: Sign
  - name: b
    endpoint: opc.tcp://b:4840
    user: { username: op }
${INGEST}points:
  - nodeId: i=1
    source: a
    pointId: a
`),
    ).toEqual([
      `${FILE}:4:5: sources[0].securityMode: securityMode Sign needs a securityPolicy other than None (Basic256Sha256, Aes128_Sha256_RsaOaep, Aes256_Sha256_RsaPss), but securityPolicy is not set (None); set securityPolicy, or set securityMode to None for an unsecured connection`,
      `${FILE}:7:5: sources[1].user.password: missing required key "password"; give password or passwordFile for the user`,
    ]);
  });

  it("a duplicate is the same source, node, field and index range", () => {
    expect(
      problems(`${SOURCES}${INGEST}points:
  - { source: line1, nodeId: "ns=2;s=S", field: A.B, pointId: a }
  - { source: line1, nodeId: "ns=2;s=S", field: A.C, pointId: b }
  - { source: line2, nodeId: "ns=2;s=S", field: A.B, pointId: c }
  - { source: line1, nodeId: "ns=2;s=S", field: A.B, pointId: d }
  - { source: line2, nodeId: "ns=2;s=Z", indexRange: "1", pointId: e }
  - { source: line2, nodeId: "ns=2;s=Z", indexRange: 1, pointId: f }
  - { source: line2, nodeId: "ns=2;s=Z", pointId: g }
`),
    ).toEqual([
      `${FILE}:21:22: points[3].nodeId: duplicate nodeId "ns=2;s=S" with the same source "line1", field "A.B" (first used at line 18)`,
      `${FILE}:23:22: points[5].nodeId: duplicate nodeId "ns=2;s=Z" with the same source "line2", indexRange "1" (first used at line 22)`,
    ]);
  });

  it("reports index ranges and field paths that are not written right", () => {
    expect(
      problems(`opcua:\n  endpoint: opc.tcp://x:4840\n${INGEST}points:
  - { nodeId: i=1, indexRange: "3:1", pointId: a }
  - { nodeId: i=2, indexRange: "-1", pointId: b }
  - { nodeId: i=3, indexRange: "1,", pointId: c }
  - { nodeId: i=4, indexRange: 1.5, pointId: d }
  - { nodeId: i=5, field: "A..B", pointId: e }
  - { nodeId: i=6, field: "A B", pointId: f }
`),
    ).toEqual([
      `${FILE}:10:20: points[0].indexRange: "3:1" is not an index range: in "3:1" the first index must be less than the last; write an index such as "2", a range such as "0:3" (first < last), or one part per dimension such as "1,2" or "0:1,3"`,
      `${FILE}:11:20: points[1].indexRange: "-1" is not an index range: indexes cannot be negative; write an index such as "2", a range such as "0:3" (first < last), or one part per dimension such as "1,2" or "0:1,3"`,
      `${FILE}:12:20: points[2].indexRange: "1," is not an index range: an empty part (dimension 2); write an index such as "2", a range such as "0:3" (first < last), or one part per dimension such as "1,2" or "0:1,3"`,
      `${FILE}:13:20: points[3].indexRange: expected an index range such as "2" or "0:3", got the number 1.5`,
      `${FILE}:14:20: points[4].field: "A..B" has an empty part; write field names separated by single dots, e.g. "Diagnostics.Temperature"`,
      `${FILE}:15:20: points[5].field: "A B" contains whitespace; write field names separated by dots, e.g. "Diagnostics.Temperature"`,
    ]);
  });
});

describe("NumericRange", () => {
  it("parses indexes, ranges and dimensions", () => {
    expect(parseNumericRange("2")).toEqual([{ first: 2, last: 2 }]);
    expect(parseNumericRange("0:3")).toEqual([{ first: 0, last: 3 }]);
    expect(parseNumericRange("1,2")).toEqual([{ first: 1, last: 1 }, { first: 2, last: 2 }]);
    expect(parseNumericRange("0:1,3")).toEqual([{ first: 0, last: 1 }, { first: 3, last: 3 }]);
    expect(isSingleElement(parseNumericRange("4,5"))).toBe(true);
    expect(isSingleElement(parseNumericRange("4:5"))).toBe(false);
    expect(formatNumericRange(parseNumericRange("0:1,3"))).toBe("0:1,3");
  });
  it("refuses what OPC UA refuses", () => {
    for (const bad of ["", "a", "2:2", "3:1", "1:", ":1", " 1", "1 ", "-1", "1,,2", "4294967296", "1.5"]) {
      expect(() => parseNumericRange(bad), bad).toThrow();
    }
  });
  it("field paths", () => {
    expect(parseFieldPath("Diagnostics.Temperature")).toEqual(["Diagnostics", "Temperature"]);
    expect(parseFieldPath("A")).toEqual(["A"]);
    for (const bad of ["", ".A", "A.", "A..B", "A B"]) expect(() => parseFieldPath(bad), bad).toThrow();
  });
});

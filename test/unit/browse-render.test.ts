import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { MappingError, parseMapping } from "../../src/config/index.js";
import {
  accessLevelText, CsvError, escapeSegment, parsePointIdsCsv, placeholderPointId, renderEmptyPoints, renderHeader, renderPoint,
  type SkeletonOptions,
} from "../../src/opcua/browse-render.js";

const HEADER: SkeletonOptions = {
  endpoint: "opc.tcp://scada-gw:4840",
  securityMode: "None",
  securityPolicy: "None",
  passwordEnv: "OPCUA_PASSWORD",
  state: "./state",
  root: "i=85",
  generatedAt: new Date(Date.UTC(2026, 10, 25, 12, 0, 0)),
};
const ENV = { PARTITION_ID: "p1", CLIENT_ID: "c1", CLIENT_SECRET: "s1", OPCUA_PASSWORD: "pw" };

describe("browse output", () => {
  it("is a complete mapping once the placeholders are replaced, with the schema line first", () => {
    const text =
      renderHeader(HEADER) +
      renderPoint({ path: "Plant/Line1/Temperature", nodeId: "nsu=urn:plant;s=L1.T", dataType: "Double", unit: "°C", accessLevel: 5 }, "t-1") +
      renderPoint({ path: "Plant/Line1/Counter", nodeId: "nsu=urn:plant;i=42", dataType: "UInt64", accessLevel: 1 }, "c-1");
    expect(text.split("\n")[0]).toBe("# yaml-language-server: $schema=./schema.json");
    expect(text).toContain("  # Plant/Line1/Temperature: Double, unit °C, CurrentRead|HistoryRead\n  - nodeId: \"nsu=urn:plant;s=L1.T\"\n    pointId: \"t-1\"\n");
    const m = parseMapping(text, "/plant/browsed.yaml", ENV);
    expect(m.opcua.endpoint).toBe("opc.tcp://scada-gw:4840");
    expect(m.ingest.partitionId).toBe("p1");
    expect(m.ingest.baseUrl).toBe("https://api.bpcloud.siemens.com/ingest");
    expect(m.points.map((p) => [p.nodeId, p.pointId])).toEqual([["nsu=urn:plant;s=L1.T", "t-1"], ["nsu=urn:plant;i=42", "c-1"]]);
    expect(m.points[0]!.samplingIntervalMs).toBe(1000);
  });

  it("writes security and the user with the password as ${VAR}, never its value", () => {
    const text =
      renderHeader({ ...HEADER, securityMode: "SignAndEncrypt", securityPolicy: "Basic256Sha256", user: "op: er", passwordEnv: "PLANT_PW" }) +
      renderPoint({ path: "A", nodeId: "i=2258", dataType: "UtcTime", accessLevel: 1 }, "a");
    expect(text).toContain('  user:\n    username: "op: er"\n    password: ${PLANT_PW}\n');
    const m = parseMapping(text, "/x.yaml", { ...ENV, PLANT_PW: "secret" });
    expect(m.opcua.securityMode).toBe("SignAndEncrypt");
    expect(m.opcua.user).toEqual({ kind: "username", username: "op: er", password: "secret" });
  });

  it("quotes node ids and paths so any browse name stays one YAML value and ${ is not interpolated", () => {
    const weird = 'Tank "A": level #1 ${X} \\ back\nslash';
    const text = renderHeader(HEADER) + renderPoint({ path: escapeSegment("a/b") + "/" + weird, nodeId: `nsu=urn:p;s=${weird}`, dataType: "Float", accessLevel: 3 }, "w-1");
    const doc = parse(text) as { points: { nodeId: string; pointId: string }[] };
    expect(doc.points[0]!.nodeId).toBe(`nsu=urn:p;s=${weird.replace("${", () => "$${")}`);
    const m = parseMapping(text, "/x.yaml", ENV); // no "missing variable X"
    expect(m.points[0]!.nodeId).toBe(`nsu=urn:p;s=${weird}`);
    // the comment stays on one line
    expect(text).toContain("  # a%2Fb/Tank \"A\": level #1 ${X} \\ back slash: Float, CurrentRead|CurrentWrite\n");
  });

  it("leaves placeholders that validate refuses, and an empty list that is still YAML", () => {
    const text = renderHeader(HEADER) + renderPoint({ path: "Plant/T", nodeId: "ns=1;s=T", dataType: "Double", accessLevel: 1 }, placeholderPointId("Plant/T"));
    expect(text).toContain('pointId: "TODO-Plant/T"');
    expect(() => parseMapping(text, "/x.yaml", ENV)).toThrow(MappingError);
    const empty = renderHeader(HEADER) + renderEmptyPoints();
    expect((parse(empty) as { points: unknown[] }).points).toEqual([]);
  });

  it("marks a variable that cannot be read", () => {
    expect(renderPoint({ path: "P/W", nodeId: "ns=1;s=W", dataType: "Double", accessLevel: 2 }, "w")).toContain("# P/W: Double, CurrentWrite (NOT READABLE: no CurrentRead)");
    expect(accessLevelText(0)).toBe("None");
    expect(accessLevelText(1 | 4 | 8)).toBe("CurrentRead|HistoryRead|HistoryWrite");
  });
});

describe("--point-ids CSV", () => {
  it("reads browsePath,pointId lines with an optional header, quotes, comments and blank lines", () => {
    const ids = parsePointIdsCsv('\uFEFFbrowsePath,pointId\r\nPlant/L1/T,t-1\n\n# comment\n"Plant/L1/A, B",ab-1\n"Plant/""Q""",q-1\n /Plant/L2/T , t-2 \n', "ids.csv");
    expect([...ids]).toEqual([
      ["Plant/L1/T", "t-1"],
      ["Plant/L1/A, B", "ab-1"],
      ['Plant/"Q"', "q-1"],
      ["Plant/L2/T", "t-2"],
    ]);
  });

  it("names the line of every mistake", () => {
    expect(() => parsePointIdsCsv("a,b,c\n", "ids.csv")).toThrow(new CsvError("ids.csv:1: expected two fields, browsePath,pointId; got 3"));
    expect(() => parsePointIdsCsv("a,b\n\"a,b\n", "ids.csv")).toThrow(/ids\.csv:2: unbalanced quotes/);
    expect(() => parsePointIdsCsv("a,has space\n", "ids.csv")).toThrow(/ids\.csv:1: pointId "has space" contains whitespace/);
    expect(() => parsePointIdsCsv("a,x\na,y\n", "ids.csv")).toThrow(/ids\.csv:2: browse path a is listed twice/);
    expect(() => parsePointIdsCsv("a,\n", "ids.csv")).toThrow(/ids\.csv:1: empty browse path or pointId/);
  });
});

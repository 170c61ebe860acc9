// The checks of validate --online on one node, without a server.
import { describe, expect, it } from "vitest";
import type { PointConfig } from "../../src/config/types.js";
import { judge, type NodeFacts } from "../../src/opcua/inspect.js";

const point = (o: Partial<PointConfig> = {}): PointConfig =>
  ({ pointId: "p", nodeId: "ns=1;s=x", line: 3, samplingIntervalMs: 1000, structured: "json", ...o }) as PointConfig;
const facts = (o: Partial<NodeFacts> = {}): NodeFacts => ({
  status: "Good", nodeClass: 2, dataTypeName: "Double", builtin: { kind: "builtin", id: 11 }, valueRank: -1, accessLevel: 1, userAccessLevel: 1, ...o,
});
const opts = { gapFill: false, user: "the anonymous user" };
const messages = (p: PointConfig, f: NodeFacts, o = opts) => judge(p, f, o).map((x) => `${x.severity}: ${x.message}`);

describe("validate --online checks", () => {
  it("accepts a readable scalar of a built-in type, and the abstract numeric types", () => {
    expect(messages(point(), facts())).toEqual([]);
    expect(messages(point(), facts({ dataTypeName: "Number", builtin: { kind: "number" } }))).toEqual([]);
    expect(messages(point(), facts({ dataTypeName: "LocalizedText", builtin: { kind: "builtin", id: 21 } }))).toEqual([]);
  });

  it("stops at a node that does not exist or is not a variable", () => {
    expect(messages(point(), facts({ status: "BadNodeIdUnknown" }))).toEqual([expect.stringMatching(/^error: no such node .*BadNodeIdUnknown/)]);
    expect(messages(point(), facts({ status: "BadUserAccessDenied" }))).toEqual([expect.stringMatching(/^error: .*BadUserAccessDenied/)]);
    expect(messages(point(), facts({ nodeClass: 1 }))).toEqual([expect.stringMatching(/^error: is an Object, not a Variable/)]);
    expect(messages(point(), facts({ nodeClass: 4 }))).toEqual([expect.stringMatching(/^error: is a Method, not a Variable/)]);
  });

  it("needs CurrentRead for the node and for this user; HistoryRead only when gap filling is forced on", () => {
    expect(messages(point(), facts({ accessLevel: 2, userAccessLevel: 2 }))).toEqual(["error: not readable: its AccessLevel is CurrentWrite, without CurrentRead"]);
    expect(messages(point(), facts({ accessLevel: 3, userAccessLevel: 2 }), { gapFill: false, user: "user op" })).toEqual([
      expect.stringMatching(/^error: not readable by user op: its UserAccessLevel is CurrentWrite/),
    ]);
    expect(messages(point(), facts({ accessLevel: 1 }), { ...opts, gapFill: true })).toEqual([expect.stringMatching(/^error: gapFill\.enabled is true but the node has no history/)]);
    expect(messages(point(), facts({ accessLevel: 5 }), { ...opts, gapFill: true })).toEqual([]);
  });

  it("reports types that cannot become the API's string, and structures or arrays that structured: skip would drop", () => {
    expect(messages(point(), facts({ dataTypeName: "DiagnosticInfo", builtin: { kind: "builtin", id: 25 } }))).toEqual([
      "error: data type DiagnosticInfo cannot be converted to the API's string value",
    ]);
    expect(messages(point(), facts({ dataTypeName: "BaseDataType", builtin: { kind: "builtin", id: 24 } }))).toEqual([expect.stringMatching(/^warning: data type BaseDataType may hold any type/)]);
    expect(messages(point(), facts({ dataTypeName: "MyType", builtin: { kind: "unknown", why: "no supertype" } }))).toEqual(["error: data type MyType cannot be converted: no supertype"]);
    const structure = facts({ dataTypeName: "Range", builtin: { kind: "builtin", id: 22 } });
    expect(messages(point(), structure)).toEqual([]);
    expect(messages(point({ structured: "skip" }), structure)).toEqual([expect.stringMatching(/^error: data type Range is a structure, and structured: skip/)]);
    expect(messages(point({ structured: "skip" }), facts({ valueRank: 1 }))).toEqual([expect.stringMatching(/^error: the node holds arrays/)]);
    expect(messages(point({ structured: "skip" }), facts({ valueRank: -2 }))).toEqual([expect.stringMatching(/^warning: the node may hold arrays/)]);
    expect(messages(point(), facts({ valueRank: 1 }))).toEqual([]);
  });

  it("warns when the point samples faster than the node's MinimumSamplingInterval", () => {
    expect(messages(point({ samplingIntervalMs: 250 }), facts({ minimumSamplingInterval: 1000 }))).toEqual([
      "warning: samplingInterval 250 ms is faster than the node's MinimumSamplingInterval 1000 ms: the server samples it at most every 1000 ms",
    ]);
    expect(messages(point({ samplingIntervalMs: 0 }), facts({ minimumSamplingInterval: 100 }))).toEqual([expect.stringMatching(/samplingInterval 0 \(every change\) is faster/)]);
    expect(messages(point({ samplingIntervalMs: 0 }), facts({ minimumSamplingInterval: 0 }))).toEqual([]);
    expect(messages(point({ samplingIntervalMs: 10 }), facts({ minimumSamplingInterval: -1 }))).toEqual([]);
  });
});

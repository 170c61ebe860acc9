// `opcua-ingest validate --online`: every mapped node checked on the server, in batches within its
// operation limits, before `run` meets the problems one log line at a time.
import { AttributeIds, NodeClass, type ClientSession, type DataValue, type NodeId } from "node-opcua";
import type { Logger } from "pino";
import type { Mapping, PointConfig } from "../config/types.js";
import { DataTypes, operationLimits, readAll, type BuiltinKind } from "./browse-ops.js";
import { accessLevelText } from "./browse-render.js";
import { isSingleElement, parseFieldPath, parseNumericRange } from "../config/numericrange.js";
import { NodeIdError, resolveMappedNodeId } from "./nodeid.js";
import { closeQuietly, createClient, openSession, readNamespaces } from "./session.js";

export type Severity = "error" | "warning";

export interface Finding {
  pointId: string;
  nodeId: string;
  /** Line of the point's entry in the mapping. */
  line: number;
  severity: Severity;
  message: string;
}

export interface InspectReport {
  checked: number;
  findings: Finding[];
  readRequests: number;
  perRead: number;
}

/** The attributes read per point, in this order. */
const ATTRIBUTES = [
  AttributeIds.NodeClass, AttributeIds.DataType, AttributeIds.ValueRank,
  AttributeIds.AccessLevel, AttributeIds.UserAccessLevel, AttributeIds.MinimumSamplingInterval,
] as const;

const CURRENT_READ = 1;
const HISTORY_READ = 4;

/** What the server says about one node, reduced to what the checks need. */
export interface NodeFacts {
  /** Status of the NodeClass read: "Good", or e.g. "BadNodeIdUnknown". */
  status: string;
  nodeClass: number;
  dataTypeName: string;
  builtin: BuiltinKind;
  valueRank: number;
  accessLevel: number;
  /** undefined when the server does not report it. */
  userAccessLevel?: number;
  /** ms; undefined when not reported, -1 indeterminate, 0 as fast as the value changes. */
  minimumSamplingInterval?: number;
}

const BUILTIN_NAMES: Record<number, string> = { 22: "ExtensionObject (structure)", 23: "DataValue", 24: "Variant (BaseDataType)", 25: "DiagnosticInfo" };

/** The checks on one point, pure: errors make validate exit 2, warnings are printed only. */
export function judge(p: PointConfig, f: NodeFacts, opts: { gapFill: boolean; user: string }): { severity: Severity; message: string }[] {
  const out: { severity: Severity; message: string }[] = [];
  const error = (message: string) => out.push({ severity: "error", message });
  const warn = (message: string) => out.push({ severity: "warning", message });
  if (f.status !== "Good") {
    if (f.status === "BadNodeIdUnknown") error("no such node on the server (BadNodeIdUnknown); `opcua-ingest browse` lists the node ids that exist");
    else error(`the server refuses to describe the node (${f.status})`);
    return out;
  }
  if (f.nodeClass !== NodeClass.Variable) {
    error(`is ${article(NodeClass[f.nodeClass] ?? String(f.nodeClass))}, not a Variable: only variables have values (opcua-ingest browse --root <this node id> lists its variables)`);
    return out;
  }
  if ((f.accessLevel & CURRENT_READ) === 0) {
    error(`not readable: its AccessLevel is ${accessLevelText(f.accessLevel)}, without CurrentRead`);
  } else if (f.userAccessLevel !== undefined && (f.userAccessLevel & CURRENT_READ) === 0) {
    error(`not readable by ${opts.user}: its UserAccessLevel is ${accessLevelText(f.userAccessLevel)}, without CurrentRead (BadUserAccessDenied at run time); use a user the server lets read it`);
  }
  if (opts.gapFill && (f.accessLevel & HISTORY_READ) === 0) {
    error(`gapFill.enabled is true but the node has no history (AccessLevel ${accessLevelText(f.accessLevel)}, without HistoryRead); set gapFill.enabled: auto, or enable history on the server`);
  }
  // A point on one element of an array, or on one field of a structure, sends a scalar.
  const element = p.indexRange !== undefined && isSingleElement(parseNumericRange(p.indexRange));
  const array = f.valueRank >= 0 && !element;
  const maybeArray = f.valueRank === -2 || f.valueRank === -3;
  const b = f.builtin;
  if (b.kind === "unknown") {
    error(`data type ${f.dataTypeName} cannot be converted: ${b.why}`);
  } else if (b.kind === "builtin") {
    if (b.id === 23 || b.id === 25 || b.id < 1 || b.id > 25) {
      const builtin = BUILTIN_NAMES[b.id] ?? `built-in ${b.id}`;
      error(`data type ${f.dataTypeName}${builtin === f.dataTypeName ? "" : ` (${builtin})`} cannot be converted to the API's string value`);
    } else if (b.id === 24) {
      warn(`data type ${f.dataTypeName} may hold any type: values that cannot be converted (DiagnosticInfo, DataValue) are skipped and counted`);
    } else if (b.id === 22 && p.structured === "skip" && p.field === undefined) {
      error(`data type ${f.dataTypeName} is a structure, and structured: skip drops every value; set structured: json (sent as JSON text)`);
    }
  }
  if (array && p.structured === "skip") {
    error(`the node holds arrays (ValueRank ${f.valueRank}), and structured: skip drops every value; set structured: json`);
  } else if (maybeArray && p.structured === "skip" && !element) {
    warn(`the node may hold arrays (ValueRank ${f.valueRank}); with structured: skip those values are dropped`);
  }
  const min = f.minimumSamplingInterval;
  if (min !== undefined && min > 0 && p.samplingIntervalMs < min) {
    const asked = p.samplingIntervalMs === 0 ? "0 (every change)" : `${p.samplingIntervalMs} ms`;
    warn(`samplingInterval ${asked} is faster than the node's MinimumSamplingInterval ${min} ms: the server samples it at most every ${min} ms`);
  }
  return out;
}

/** The checks of points[].field and points[].indexRange on the server. */
export async function checkParts(session: ClientSession, p: PointConfig, nodeId: NodeId, dataTypeId: NodeId | undefined, valueRank: number): Promise<{ severity: Severity; message: string }[]> {
  const out: { severity: Severity; message: string }[] = [];
  if (p.indexRange !== undefined) {
    const spans = parseNumericRange(p.indexRange);
    if (valueRank === -1) {
      out.push({ severity: "error", message: `indexRange ${p.indexRange}: the node holds a scalar (ValueRank -1), not an array` });
    } else {
      if (valueRank > 0 && spans.length !== valueRank) {
        out.push({ severity: "error", message: `indexRange ${p.indexRange} has ${spans.length} dimension(s), the node's array has ${valueRank} (ValueRank ${valueRank})` });
      }
      const dims = await arrayDimensions(session, nodeId);
      if (dims !== undefined) {
        spans.forEach((span, d) => {
          const length = dims[d];
          if (length !== undefined && length > 0 && span.first >= length) {
            out.push({ severity: "error", message: `indexRange ${p.indexRange} is outside the node's array: ${dims.length > 1 ? `dimension ${d + 1} has` : "it has"} ${length} element(s) (indexes 0 to ${length - 1})` });
          } else if (length !== undefined && length > 0 && span.last >= length) {
            out.push({ severity: "warning", message: `indexRange ${p.indexRange} reaches past the node's array (${length} element(s)): the server returns the elements that exist` });
          }
        });
      }
    }
  }
  if (p.field !== undefined) {
    const problem = dataTypeId === undefined ? "the node has no DataType to check the field against" : await fieldProblem(session, dataTypeId, parseFieldPath(p.field));
    if (problem !== undefined) out.push({ severity: "error", message: problem });
    else if (valueRank >= 0 && (p.indexRange === undefined || !isSingleElement(parseNumericRange(p.indexRange)))) {
      out.push({ severity: "error", message: `field ${p.field}: the node holds an array of structures; add an indexRange such as "0" to pick one` });
    }
  }
  return out;
}

/** The array's length per dimension: ArrayDimensions when the server gives them, else the current value's. */
async function arrayDimensions(session: ClientSession, nodeId: NodeId): Promise<number[] | undefined> {
  const [dims, value] = await session.read([
    { nodeId, attributeId: AttributeIds.ArrayDimensions },
    { nodeId, attributeId: AttributeIds.Value },
  ]);
  const declared = dims?.statusCode.isGood() && dims.value.value ? Array.from(dims.value.value as ArrayLike<number>) : [];
  if (declared.length > 0 && declared.every((n) => n > 0)) return declared;
  const v = value?.value;
  if (!v || !value!.statusCode.isGood()) return declared.length ? declared : undefined;
  if (v.arrayType === 2 && v.dimensions) return v.dimensions;
  const length = (v.value as { length?: number } | null)?.length;
  return v.arrayType === 1 && typeof length === "number" ? [length] : undefined;
}

/** Walks the path through the DataTypeDefinitions; undefined when every field exists. */
async function fieldProblem(session: ClientSession, dataTypeId: NodeId, path: readonly string[]): Promise<string | undefined> {
  let current = dataTypeId;
  let walked = "";
  for (const segment of path) {
    const dv = await session.read({ nodeId: current, attributeId: AttributeIds.DataTypeDefinition });
    const definition = dv.statusCode.isGood() ? (dv.value.value as { fields?: { name: string; dataType: NodeId; valueRank: number }[]; baseDataType?: unknown } | null) : null;
    const where = walked === "" ? "the node's data type" : `field ${walked}`;
    if (!definition || !Array.isArray(definition.fields) || !("baseDataType" in definition) || (definition as { constructor: { name: string } }).constructor.name === "EnumDefinition") {
      const name = await session.read({ nodeId: current, attributeId: AttributeIds.BrowseName }).then((n) => String(n.value.value?.name ?? current.toString())).catch(() => current.toString());
      return `${where} (${name}) is not a structure, so it has no field ${JSON.stringify(segment)}`;
    }
    const field = definition.fields.find((f) => f.name === segment) ?? definition.fields.find((f) => f.name.toLowerCase() === segment.toLowerCase());
    if (!field) return `${where} has no field ${JSON.stringify(segment)}; its fields: ${definition.fields.map((f) => f.name).join(", ") || "none"}`;
    walked = walked === "" ? field.name : `${walked}.${field.name}`;
    if (field.valueRank >= 0 && segment !== path[path.length - 1]) return `field ${walked} is an array: a field path cannot go into it`;
    current = field.dataType;
  }
  return undefined;
}

function article(word: string): string {
  return /^[AEIOU]/.test(word) ? `an ${word}` : `a ${word}`;
}

/**
 * Connect with the mapping's opcua settings (no endless first-connect retry: an OpcuaError says
 * what is wrong) and judge every point. Findings come back in mapping order.
 */
export async function inspectMapping(mapping: Mapping, log: Logger): Promise<InspectReport> {
  // Every source on its own session, its own points; one report.
  const reports: InspectReport[] = [];
  for (const source of mapping.sources) {
    const client = await createClient(source, mapping.state, log, { retryFirstConnect: false });
    let session: ClientSession | undefined;
    try {
      session = await openSession(client, source, mapping.state);
      const points = mapping.points.filter((p) => p.source === source.name);
      reports.push(await inspectPoints(session, { ...mapping, opcua: source, points }));
    } finally {
      await closeQuietly(client, session);
    }
  }
  return {
    checked: reports.reduce((n, r) => n + r.checked, 0),
    findings: reports.flatMap((r) => r.findings).sort((a, b) => a.line - b.line),
    readRequests: reports.reduce((n, r) => n + r.readRequests, 0),
    perRead: Math.min(...reports.map((r) => r.perRead)),
  };
}

export async function inspectPoints(session: ClientSession, mapping: Pick<Mapping, "opcua" | "points"> & { gapFill?: { enabled?: unknown } }): Promise<InspectReport> {
  const limits = await operationLimits(session);
  const counter = { reads: 0, browses: 0 };
  const namespaces = await readNamespaces(session);
  const user = mapping.opcua.user.kind === "username" ? `user ${mapping.opcua.user.username}` : mapping.opcua.user.kind === "certificate" ? "the certificate user" : "the anonymous user";
  const gapFill = mapping.gapFill?.enabled === true;
  const types = new DataTypes(session, limits, counter);
  const findings: Finding[] = [];
  const add = (p: PointConfig, severity: Severity, message: string) => findings.push({ pointId: p.pointId, nodeId: p.nodeId, line: p.line, severity, message });

  const resolved: { point: PointConfig; nodeId: NodeId }[] = [];
  const parts: { point: PointConfig; nodeId: NodeId; dataTypeId: NodeId | undefined; valueRank: number }[] = [];
  for (const point of mapping.points) {
    try {
      resolved.push({ point, nodeId: resolveMappedNodeId(point.nodeId, namespaces) });
    } catch (err) {
      const detail = err instanceof NodeIdError ? err.message : String(err);
      const known = namespaces.length ? `; the server's namespaces: ${namespaces.slice(1, 8).join(", ")}${namespaces.length > 8 ? ", …" : ""}` : "";
      add(point, "error", `${detail}${/namespace array/.test(detail) ? known : ""}`);
    }
  }

  // Points per Read request: every point costs ATTRIBUTES.length operations.
  const perBatch = Math.max(1, Math.floor(limits.perRead / ATTRIBUTES.length));
  for (let start = 0; start < resolved.length; start += perBatch) {
    const chunk = resolved.slice(start, start + perBatch);
    const items = chunk.flatMap(({ nodeId }) => ATTRIBUTES.map((attributeId) => ({ nodeId, attributeId })));
    const dvs = await readAll(session, items, limits, counter);
    const at = (i: number, a: number): DataValue => dvs[i * ATTRIBUTES.length + a]!;
    const dataTypeIds = chunk.flatMap((_c, i) => (at(i, 1).statusCode.isGood() ? [at(i, 1).value.value as NodeId] : []));
    await types.loadNames(dataTypeIds);
    await types.loadBuiltins(dataTypeIds);
    chunk.forEach(({ point }, i) => {
      const cls = at(i, 0);
      const dt = at(i, 1);
      const num = (dv: DataValue) => (dv.statusCode.isGood() && typeof dv.value.value === "number" ? dv.value.value : undefined);
      const dataTypeId = dt.statusCode.isGood() ? (dt.value.value as NodeId) : undefined;
      const facts: NodeFacts = {
        status: cls.statusCode.isGood() ? "Good" : cls.statusCode.name,
        nodeClass: num(cls) ?? 0,
        dataTypeName: dataTypeId ? types.name(dataTypeId) : "unknown",
        builtin: dataTypeId ? types.builtin(dataTypeId) : { kind: "unknown", why: `the server gives no DataType (${dt.statusCode.name})` },
        valueRank: num(at(i, 2)) ?? -1,
        accessLevel: num(at(i, 3)) ?? 0,
        ...(num(at(i, 4)) !== undefined ? { userAccessLevel: num(at(i, 4)) } : {}),
        ...(num(at(i, 5)) !== undefined ? { minimumSamplingInterval: num(at(i, 5)) } : {}),
      };
      for (const f of judge(point, facts, { gapFill, user })) add(point, f.severity, f.message);
      if (facts.status === "Good" && facts.nodeClass === NodeClass.Variable && (point.field !== undefined || point.indexRange !== undefined)) {
        parts.push({ point, nodeId: chunk[i]!.nodeId, dataTypeId, valueRank: facts.valueRank });
      }
    });
  }
  // Field paths against the DataTypeDefinitions, index ranges against the array's dimensions: a few points, one by one.
  for (const part of parts) {
    for (const f of await checkParts(session, part.point, part.nodeId, part.dataTypeId, part.valueRank)) add(part.point, f.severity, f.message);
  }
  findings.sort((a, b) => a.line - b.line);
  return { checked: mapping.points.length, findings, readRequests: counter.reads, perRead: limits.perRead };
}

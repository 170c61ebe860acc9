// `opcua-ingest validate --online`: every mapped node checked on the server, in batches within its
// operation limits, before `run` meets the problems one log line at a time.
import { AttributeIds, NodeClass, type ClientSession, type DataValue, type NodeId } from "node-opcua";
import type { Logger } from "pino";
import type { Mapping, PointConfig } from "../config/types.js";
import { DataTypes, operationLimits, readAll, type BuiltinKind } from "./browse-ops.js";
import { accessLevelText } from "./browse-render.js";
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
  const array = f.valueRank >= 0;
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
    } else if (b.id === 22 && p.structured === "skip") {
      error(`data type ${f.dataTypeName} is a structure, and structured: skip drops every value; set structured: json (sent as JSON text)`);
    }
  }
  if (array && p.structured === "skip") {
    error(`the node holds arrays (ValueRank ${f.valueRank}), and structured: skip drops every value; set structured: json`);
  } else if (maybeArray && p.structured === "skip") {
    warn(`the node may hold arrays (ValueRank ${f.valueRank}); with structured: skip those values are dropped`);
  }
  const min = f.minimumSamplingInterval;
  if (min !== undefined && min > 0 && p.samplingIntervalMs < min) {
    const asked = p.samplingIntervalMs === 0 ? "0 (every change)" : `${p.samplingIntervalMs} ms`;
    warn(`samplingInterval ${asked} is faster than the node's MinimumSamplingInterval ${min} ms: the server samples it at most every ${min} ms`);
  }
  return out;
}

function article(word: string): string {
  return /^[AEIOU]/.test(word) ? `an ${word}` : `a ${word}`;
}

/**
 * Connect with the mapping's opcua settings (no endless first-connect retry: an OpcuaError says
 * what is wrong) and judge every point. Findings come back in mapping order.
 */
export async function inspectMapping(mapping: Mapping, log: Logger): Promise<InspectReport> {
  const client = await createClient(mapping.opcua, mapping.state, log, { retryFirstConnect: false });
  let session: ClientSession | undefined;
  try {
    session = await openSession(client, mapping.opcua, mapping.state);
    return await inspectPoints(session, mapping);
  } finally {
    await closeQuietly(client, session);
  }
}

export async function inspectPoints(session: ClientSession, mapping: Mapping): Promise<InspectReport> {
  const limits = await operationLimits(session);
  const counter = { reads: 0, browses: 0 };
  const namespaces = await readNamespaces(session);
  const user = mapping.opcua.user.kind === "username" ? `user ${mapping.opcua.user.username}` : mapping.opcua.user.kind === "certificate" ? "the certificate user" : "the anonymous user";
  const gapFill = (mapping as { gapFill?: { enabled?: unknown } }).gapFill?.enabled === true;
  const types = new DataTypes(session, limits, counter);
  const findings: Finding[] = [];
  const add = (p: PointConfig, severity: Severity, message: string) => findings.push({ pointId: p.pointId, nodeId: p.nodeId, line: p.line, severity, message });

  const resolved: { point: PointConfig; nodeId: NodeId }[] = [];
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
    });
  }
  findings.sort((a, b) => a.line - b.line);
  return { checked: mapping.points.length, findings, readRequests: counter.reads, perRead: limits.perRead };
}

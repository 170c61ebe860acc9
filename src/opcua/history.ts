// HistoryRead (raw) from an OPC UA server's historian: ReadRawModifiedDetails with returnBounds
// false, continuation points followed until the server has no more, nodes per call within the
// server's MaxNodesPerHistoryReadData, and the time range made half-open [from, to) on our side
// (servers treat endTime as inclusive, and some add boundary values regardless of returnBounds).
// Used by `opcua-ingest backfill`, and meant for filling the gaps after a lost subscription.
import {
  AccessLevelFlag, AttributeIds, HistoryData, HistoryReadRequest, HistoryReadResponse, NumericRange, ReadRawModifiedDetails,
  StatusCodes, TimestampsToReturn, VariableIds, promoteOpaqueStructure, readOperationLimits, type ClientSession,
  type HistoryReadResult, type NodeId, type OPCUAClient,
} from "node-opcua";
import type { Logger } from "pino";
import type { OpcuaConfig } from "../config/types.js";
import type { RawDataValue } from "../core/types.js";
import { toRaw } from "./datavalue.js";
import { readEnumLabels } from "./enumlabels.js";
import { rawHistoryValues } from "./history-decode.js";
import { narrow, narrowingOf, type Narrowing } from "./narrow.js";
import { NodeIdError, resolveMappedNodeId } from "./nodeid.js";
import { closeQuietly, createClient, openSession, readNamespaces } from "./session.js";

/** What the server allows per call and per session; 0 = the server sets no limit (or does not say). */
export interface HistoryLimits {
  /** MaxNodesPerHistoryReadData: nodes in one HistoryRead request. */
  maxNodesPerCall: number;
  /** MaxHistoryContinuationPoints: continuation points a session may hold at once. */
  maxContinuationPoints: number;
  /** MaxNodesPerRead, for the access-level check. */
  maxNodesPerRead: number;
}

export async function readHistoryLimits(session: ClientSession): Promise<HistoryLimits> {
  const [limits, cps] = await Promise.all([
    readOperationLimits(session).catch(() => ({ maxNodesPerHistoryReadData: 0, maxNodesPerRead: 0 })),
    session
      .read({ nodeId: `i=${VariableIds.Server_ServerCapabilities_MaxHistoryContinuationPoints}`, attributeId: AttributeIds.Value })
      .catch(() => undefined),
  ]);
  const cp = cps?.statusCode.isGood() && typeof cps.value.value === "number" ? cps.value.value : 0;
  return {
    maxNodesPerCall: limits.maxNodesPerHistoryReadData ?? 0,
    maxContinuationPoints: cp,
    maxNodesPerRead: limits.maxNodesPerRead ?? 0,
  };
}

/** Whether a node can be read from history by this session's user, before any HistoryRead. */
export type HistoryAccess = { ok: true } | { ok: false; status: string; reason: string };

/**
 * Reads each node's UserAccessLevel: a node without the HistoryRead bit cannot be read from history
 * (the server keeps none for it, or this user may not read it). Unknown nodes and non-variables
 * are reported with the server's status.
 */
export async function checkHistoryAccess(session: ClientSession, nodeIds: readonly NodeId[], maxNodesPerRead = 0): Promise<HistoryAccess[]> {
  const per = maxNodesPerRead > 0 ? Math.min(maxNodesPerRead, 1000) : 1000;
  const out: HistoryAccess[] = [];
  for (let i = 0; i < nodeIds.length; i += per) {
    const chunk = nodeIds.slice(i, i + per);
    const dvs = await session.read(chunk.map((nodeId) => ({ nodeId, attributeId: AttributeIds.UserAccessLevel })));
    for (const dv of dvs) {
      if (dv.statusCode.isNotGood()) {
        const status = dv.statusCode.name;
        const reason =
          status === "BadNodeIdUnknown" ? "the node does not exist on the server (BadNodeIdUnknown)"
          : status === "BadAttributeIdInvalid" ? "the node is not a variable (BadAttributeIdInvalid)"
          : `its access level could not be read (${status})`;
        out.push({ ok: false, status, reason });
        continue;
      }
      const level = Number(dv.value.value);
      if ((level & AccessLevelFlag.HistoryRead) === 0) {
        out.push({
          ok: false,
          status: "NoHistoryReadAccess",
          reason: `the node has no HistoryRead access level (UserAccessLevel ${AccessLevelFlag[level] ?? accessText(level)}): the server keeps no history for it, or this user may not read it`,
        });
      } else {
        out.push({ ok: true });
      }
    }
  }
  return out;
}

function accessText(level: number): string {
  const names: string[] = [];
  if (level & AccessLevelFlag.CurrentRead) names.push("CurrentRead");
  if (level & AccessLevelFlag.CurrentWrite) names.push("CurrentWrite");
  if (level & AccessLevelFlag.HistoryRead) names.push("HistoryRead");
  if (level & AccessLevelFlag.HistoryWrite) names.push("HistoryWrite");
  return names.join("|") || "none";
}

/** How one node's read ended. */
export type HistoryOutcome =
  /** Every value of the range was handed to onPage. `outside`: values the server returned outside [from, to), dropped. */
  | { kind: "done"; values: number; outside: number }
  /** `permanent`: the node cannot be read from history (retrying will not help); otherwise worth a retry. */
  | { kind: "failed"; status: string; permanent: boolean; reason: string; values: number }
  /** The signal stopped the read before the server had returned everything; continuation points were released. */
  | { kind: "aborted"; values: number };

export interface ReadRawOptions {
  /** numValuesPerNode of each call (values per node per response), ≥ 1. */
  valuesPerRead: number;
  /** Nodes per request (MaxNodesPerHistoryReadData); 0 or absent = all in one request. */
  maxNodesPerCall?: number;
  /** Checked between calls: stops following continuation points and releases them. */
  signal?: AbortSignal;
  /** Epoch ms for RawDataValue.receivedAt; default Date.now. */
  now?: () => number;
  /** Per node (same order as nodeIds): the NumericRange asked of the server (points[].indexRange). */
  indexRanges?: readonly (string | undefined)[];
}

/**
 * Called for each page of one node's values, in the server's order (ascending time), already
 * restricted to [from, to). Awaited: a slow consumer slows the reading down (back-pressure).
 */
export type PageHandler = (nodeIndex: number, values: RawDataValue[]) => void | Promise<void>;

/** Statuses after which the same read may succeed later; any other Bad status is final for the node. */
const TRANSIENT = new Set<number>([
  StatusCodes.BadContinuationPointInvalid.value,
  StatusCodes.BadNoContinuationPoints.value,
  StatusCodes.BadTimeout.value,
  StatusCodes.BadResourceUnavailable.value,
  StatusCodes.BadServerNotConnected.value,
  StatusCodes.BadSessionClosed.value,
  StatusCodes.BadSessionIdInvalid.value,
  StatusCodes.BadCommunicationError.value,
  StatusCodes.BadConnectionClosed.value,
  StatusCodes.BadSecureChannelClosed.value,
  StatusCodes.BadOutOfMemory.value,
  StatusCodes.BadTooManyOperations.value,
  StatusCodes.BadServerHalted.value,
  StatusCodes.BadShutdown.value,
  StatusCodes.BadInternalError.value,
  StatusCodes.BadRequestTimeout.value,
]);

function failureReason(status: string): string {
  switch (status) {
    case "BadHistoryOperationUnsupported":
      return "the server keeps no history for this node (BadHistoryOperationUnsupported)";
    case "BadUserAccessDenied":
      return "this user may not read the node's history (BadUserAccessDenied)";
    case "BadNodeIdUnknown":
      return "the node does not exist on the server (BadNodeIdUnknown)";
    case "BadNotReadable":
      return "the node's history is not readable (BadNotReadable)";
    default:
      return `the server answered ${status}`;
  }
}

/** Epoch ms of the time the server's history is ordered by (source, else server); null if neither. */
const historyTime = (r: RawDataValue): number | null => r.sourceTimestamp ?? r.serverTimestamp;

/**
 * The values of a page inside [fromMs, toMs) by their (ms-truncated) source timestamp; those without
 * any timestamp are kept. A page wholly inside (nearly every one) is returned as it is, not copied.
 */
export function insideRange(values: RawDataValue[], fromMs: number, toMs: number): { inside: RawDataValue[]; outside: number } {
  const out = (v: RawDataValue) => {
    const t = historyTime(v);
    return t !== null && (t < fromMs || t >= toMs);
  };
  let first = 0;
  while (first < values.length && !out(values[first]!)) first++;
  if (first === values.length) return { inside: values, outside: 0 };
  const inside = values.slice(0, first);
  let outside = 0;
  for (let i = first; i < values.length; i++) {
    if (out(values[i]!)) outside++;
    else inside.push(values[i]!);
  }
  return { inside, outside };
}

interface Cursor {
  /** Index into the caller's nodeIds. */
  index: number;
  continuationPoint: Buffer | undefined;
}

function rawDetails(fromMs: number, toMs: number, valuesPerRead: number): ReadRawModifiedDetails {
  return new ReadRawModifiedDetails({
    isReadModified: false,
    startTime: new Date(fromMs),
    // Inclusive on the server: values at exactly toMs come back and are dropped here.
    endTime: new Date(toMs),
    numValuesPerNode: valuesPerRead,
    returnBounds: false,
  });
}

/** The part of a ClientSession that sends a request as it is and answers the decoded response. */
interface Transaction {
  performMessageTransaction?(request: HistoryReadRequest, callback: (err: Error | null, response?: unknown) => void): void;
}

/**
 * session.historyRead without node-opcua's wrapper: the wrapper reads `dataValues` of every result to
 * resolve opaque structures, which would undo history-decode.ts. The same checks are made here, and
 * the structures resolved for the results node-opcua decoded (the only ones that can hold them).
 */
async function transact(session: ClientSession, request: HistoryReadRequest): Promise<HistoryReadResult[]> {
  const t = session as unknown as Transaction;
  if (typeof t.performMessageTransaction !== "function") return (await session.historyRead(request)).results ?? [];
  const response = await new Promise<unknown>((resolve, reject) =>
    t.performMessageTransaction!(request, (err, res) => (err ? reject(err) : resolve(res))),
  );
  if (!(response instanceof HistoryReadResponse)) throw new Error("HistoryRead answered something else than a HistoryReadResponse");
  if (response.responseHeader.serviceResult.isNot(StatusCodes.Good)) throw new Error(response.responseHeader.serviceResult.toString());
  const results = response.results ?? [];
  for (const r of results) {
    const data = r.historyData;
    if (data instanceof HistoryData && rawHistoryValues(data) === undefined && data.dataValues) await promoteOpaqueStructure(session, data.dataValues);
  }
  return results;
}

function historyRead(session: ClientSession, nodeIds: readonly NodeId[], cursors: readonly Cursor[], details: ReadRawModifiedDetails, release: boolean, ranges?: readonly (string | undefined)[]): Promise<HistoryReadResult[]> {
  return transact(
    session,
    new HistoryReadRequest({
      historyReadDetails: details,
      nodesToRead: cursors.map((c) => {
        const range = ranges?.[c.index];
        return { nodeId: nodeIds[c.index]!, continuationPoint: c.continuationPoint, ...(range !== undefined && { indexRange: new NumericRange(range) }) };
      }),
      timestampsToReturn: TimestampsToReturn.Both,
      releaseContinuationPoints: release,
    }),
  );
}

/** Best effort: frees the server's continuation points of a read we stop early. */
async function release(session: ClientSession, nodeIds: readonly NodeId[], cursors: readonly Cursor[], details: ReadRawModifiedDetails, ranges?: readonly (string | undefined)[]): Promise<void> {
  const open = cursors.filter((c) => c.continuationPoint && c.continuationPoint.length > 0);
  if (open.length) await historyRead(session, nodeIds, open, details, true, ranges).catch(() => {});
}

/** The continuation points a round in flight will leave open (none if it fails). */
async function openAfter(request: Promise<HistoryReadResult[]>, asked: readonly Cursor[]): Promise<Cursor[]> {
  const results = await request.catch(() => [] as HistoryReadResult[]);
  const open: Cursor[] = [];
  results.forEach((r, i) => {
    const c = asked[i];
    if (c && r.continuationPoint && r.continuationPoint.length > 0) open.push({ index: c.index, continuationPoint: r.continuationPoint });
  });
  return open;
}

/**
 * Reads the raw history of `nodeIds` over [fromMs, toMs) and hands each page to `onPage`. One
 * request per chunk of `maxNodesPerCall` nodes, then one per round of continuation points until
 * every node is done; the next round is requested before the current page is handed over, so
 * the server works while we consume. Memory: at most two pages per node of the chunk.
 *
 * Never throws for a node's problem: each node gets its HistoryOutcome (a service or connection
 * error fails the chunk's nodes as transient). Throws only what `onPage` throws (after releasing
 * the continuation points it leaves open).
 */
export async function readRawHistory(
  session: ClientSession,
  nodeIds: readonly NodeId[],
  fromMs: number,
  toMs: number,
  opts: ReadRawOptions,
  onPage: PageHandler,
): Promise<HistoryOutcome[]> {
  const outcomes: HistoryOutcome[] = new Array(nodeIds.length);
  const per = opts.maxNodesPerCall && opts.maxNodesPerCall > 0 ? opts.maxNodesPerCall : nodeIds.length || 1;
  for (let start = 0; start < nodeIds.length; start += per) {
    const chunk: Cursor[] = [];
    for (let i = start; i < Math.min(start + per, nodeIds.length); i++) chunk.push({ index: i, continuationPoint: undefined });
    await readChunk(session, nodeIds, chunk, fromMs, toMs, opts, onPage, outcomes);
  }
  return outcomes;
}

async function readChunk(
  session: ClientSession,
  nodeIds: readonly NodeId[],
  first: Cursor[],
  fromMs: number,
  toMs: number,
  opts: ReadRawOptions,
  onPage: PageHandler,
  outcomes: HistoryOutcome[],
): Promise<void> {
  const details = rawDetails(fromMs, toMs, Math.max(1, Math.floor(opts.valuesPerRead)));
  const now = opts.now ?? Date.now;
  const counts = new Map<number, { values: number; outside: number }>(first.map((c) => [c.index, { values: 0, outside: 0 }]));
  const failAll = (cursors: readonly Cursor[], reason: string) => {
    for (const c of cursors) outcomes[c.index] = { kind: "failed", status: "BadCommunicationError", permanent: false, reason, values: counts.get(c.index)!.values };
  };
  let cursors = first;
  const ranges = opts.indexRanges;
  let request: Promise<HistoryReadResult[]> | undefined = historyRead(session, nodeIds, cursors, details, false, ranges);
  while (request) {
    let results: HistoryReadResult[];
    try {
      results = await request;
    } catch (err) {
      failAll(cursors, `HistoryRead failed: ${(err as Error).message}`);
      return;
    }
    if (results.length !== cursors.length) {
      failAll(cursors, `HistoryRead answered ${results.length} results for ${cursors.length} nodes`);
      return;
    }
    const receivedAt = now();
    const pages: { index: number; values: RawDataValue[] }[] = [];
    const next: Cursor[] = [];
    results.forEach((r, i) => {
      const c = cursors[i]!;
      const sc = r.statusCode;
      // Good, GoodNoData, GoodMoreData, Uncertain…: the data is usable; Bad ends this node.
      if (sc.value >>> 30 >= 2) {
        const status = sc.name;
        outcomes[c.index] = { kind: "failed", status, permanent: !TRANSIENT.has(sc.value), reason: failureReason(status), values: counts.get(c.index)!.values };
        return;
      }
      const data = r.historyData instanceof HistoryData ? rawValues(r.historyData, receivedAt) : undefined;
      if (data && data.length) pages.push({ index: c.index, values: data });
      if (r.continuationPoint && r.continuationPoint.length > 0) next.push({ index: c.index, continuationPoint: r.continuationPoint });
      else {
        const n = counts.get(c.index)!;
        outcomes[c.index] = { kind: "done", values: n.values, outside: n.outside };
      }
    });
    // Ask for the next round now: the server prepares it while we hand this one over.
    request = next.length && !opts.signal?.aborted ? historyRead(session, nodeIds, next, details, false, ranges) : undefined;
    let consumerError: unknown;
    try {
      for (const p of pages) {
        const { inside, outside } = insideRange(p.values, fromMs, toMs);
        const n = counts.get(p.index)!;
        n.outside += outside;
        n.values += inside.length;
        const o = outcomes[p.index];
        if (o?.kind === "done") outcomes[p.index] = { kind: "done", values: n.values, outside: n.outside };
        if (inside.length) await onPage(p.index, inside);
      }
    } catch (err) {
      consumerError = err ?? new Error("page handler failed");
    }
    if (consumerError !== undefined || (next.length && opts.signal?.aborted)) {
      // Stopping early: the round in flight is awaited so the server's continuation points can be released.
      const open = request ? await openAfter(request, next) : next;
      request = undefined;
      await release(session, nodeIds, open, details, ranges);
      if (consumerError !== undefined) throw consumerError;
      for (const c of next) outcomes[c.index] = { kind: "aborted", values: counts.get(c.index)!.values };
      return;
    }
    cursors = next;
  }
}

/** A result's values as RawDataValues received at `receivedAt`, however they were decoded. */
function rawValues(data: HistoryData, receivedAt: number): RawDataValue[] | undefined {
  const raw = rawHistoryValues(data);
  if (raw === undefined) return data.dataValues?.map((dv) => toRaw(dv, receivedAt));
  if (raw === null) return undefined;
  for (const v of raw) v.receivedAt = receivedAt;
  return raw;
}

/** A mapped point to read from history. */
export interface HistoryPoint {
  pointId: string;
  /** As written in the mapping (ns= or nsu=). */
  nodeId: string;
  /** Read the node's EnumStrings for label rendering. */
  enumAs?: "number" | "label";
  /** One field of a structure value (points[].field). */
  field?: string;
  /** NumericRange of an array value (points[].indexRange), asked of the server. */
  indexRange?: string;
}

export type PreparedPoint = { ok: true; enumLabels?: string[] } | { ok: false; reason: string };

/**
 * A session of its own for history reads (the backfill command): connect with the mapping's
 * security and user, learn the server's limits, resolve the points (nsu= against the namespace
 * array, HistoryRead access level checked), then read by pointId.
 */
export class HistorySession {
  private readonly nodes = new Map<string, NodeId>();
  private readonly parts = new Map<string, { indexRange?: string; narrowing: Narrowing }>();

  private constructor(
    private readonly client: OPCUAClient,
    readonly session: ClientSession,
    readonly limits: HistoryLimits,
  ) {}

  /** Throws OpcuaError (code + what to fix) when the server cannot be reached or refuses the session. */
  static async open(cfg: OpcuaConfig, stateDir: string, log: Logger): Promise<HistorySession> {
    const client = await createClient(cfg, stateDir, log, { retryFirstConnect: false });
    let session: ClientSession | undefined;
    try {
      session = await openSession(client, cfg, stateDir);
      return new HistorySession(client, session, await readHistoryLimits(session));
    } catch (err) {
      await closeQuietly(client, session);
      throw err;
    }
  }

  /** Per pointId: ready to read, or why not (node id unresolvable, unknown node, no HistoryRead access). */
  async prepare(points: readonly HistoryPoint[]): Promise<Map<string, PreparedPoint>> {
    const out = new Map<string, PreparedPoint>();
    const namespaces = await readNamespaces(this.session);
    const resolved: { point: HistoryPoint; nodeId: NodeId }[] = [];
    for (const p of points) {
      try {
        resolved.push({ point: p, nodeId: resolveMappedNodeId(p.nodeId, namespaces) });
      } catch (err) {
        out.set(p.pointId, { ok: false, reason: err instanceof NodeIdError ? err.message : String(err) });
      }
    }
    const access = await checkHistoryAccess(this.session, resolved.map((r) => r.nodeId), this.limits.maxNodesPerRead);
    for (let i = 0; i < resolved.length; i++) {
      const { point, nodeId } = resolved[i]!;
      const a = access[i]!;
      if (!a.ok) {
        out.set(point.pointId, { ok: false, reason: a.reason });
        continue;
      }
      this.nodes.set(point.pointId, nodeId);
      const narrowing = narrowingOf(point);
      if (narrowing) this.parts.set(point.pointId, { ...(point.indexRange !== undefined && { indexRange: point.indexRange }), narrowing });
      const enumLabels = point.enumAs === "label" ? await readEnumLabels(this.session, nodeId).catch(() => undefined) : undefined;
      out.set(point.pointId, enumLabels ? { ok: true, enumLabels } : { ok: true });
    }
    return out;
  }

  /** readRawHistory for prepared points; outcomes in the order of `pointIds`. */
  read(pointIds: readonly string[], fromMs: number, toMs: number, opts: ReadRawOptions, onPage: (pointId: string, values: RawDataValue[]) => void | Promise<void>): Promise<HistoryOutcome[]> {
    const nodeIds = pointIds.map((id) => {
      const n = this.nodes.get(id);
      if (!n) throw new Error(`point ${id} was not prepared for history reads`);
      return n;
    });
    const indexRanges = pointIds.map((id) => this.parts.get(id)?.indexRange);
    return readRawHistory(this.session, nodeIds, fromMs, toMs, { maxNodesPerCall: this.limits.maxNodesPerCall, indexRanges, ...opts }, (i, values) => {
      const part = this.parts.get(pointIds[i]!);
      return onPage(pointIds[i]!, part ? narrowAll(values, part.narrowing) : values);
    });
  }

  close(): Promise<void> {
    return closeQuietly(this.client, this.session);
  }
}

/** The part of each history value a point with field or indexRange takes; values without it are left out. */
export function narrowAll(values: readonly RawDataValue[], n: Narrowing): RawDataValue[] {
  const out: RawDataValue[] = [];
  for (const v of values) {
    const r = narrow(v, n);
    if (r.ok) out.push(r.raw);
  }
  return out;
}

// The bare HistoryRead loop of the backfill bench, shared by the bare reader (bench/backfill.ts) and the
// floor pipeline (bench/procs/backfill-floor.ts), so the two read the same way: the mapping's windows
// in time order, `concurrency` nodes a call (or the server's limit), one call at a time, continuation
// points followed to the end, TimestampsToReturn.Both as the connector asks.
import {
  HistoryData, HistoryReadRequest, OPCUACertificateManager, OPCUAClient, ReadRawModifiedDetails, TimestampsToReturn,
  readOperationLimits, type ClientSession, type DataValue, type NodeId,
} from "node-opcua";
import { resolveMappedNodeId } from "../../src/opcua/nodeid.js";
import { readNamespaces } from "../../src/opcua/session.js";

export interface ReadPlan {
  fromMs: number;
  toMs: number;
  windowMs: number;
  valuesPerRead: number;
  /** Nodes a HistoryRead call. */
  concurrency: number;
}

/**
 * Values of one node in one page. The server's endTime is inclusive: a value on the boundary belongs to
 * the next window, so only values before `endMs` count.
 */
export type OnPage = (node: number, values: readonly DataValue[], endMs: number) => void | Promise<void>;

/** Reads every window of `nodes`; `onPage` may return a promise to hold the next call (backpressure). */
export async function readHistory(session: ClientSession, nodes: readonly NodeId[], plan: ReadPlan, onPage: OnPage): Promise<void> {
  const limits = await readOperationLimits(session);
  const perCall = Math.min(plan.concurrency, limits.maxNodesPerHistoryReadData || Number.POSITIVE_INFINITY);
  for (let w = plan.fromMs; w < plan.toMs; w += plan.windowMs) {
    const end = Math.min(w + plan.windowMs, plan.toMs);
    const details = new ReadRawModifiedDetails({
      startTime: new Date(w), endTime: new Date(end), numValuesPerNode: plan.valuesPerRead, returnBounds: false, isReadModified: false,
    });
    for (let g = 0; g < nodes.length; g += perCall) {
      let batch: { node: number; continuationPoint?: Buffer }[] = [];
      for (let i = g; i < Math.min(g + perCall, nodes.length); i++) batch.push({ node: i });
      while (batch.length) {
        const res = await session.historyRead(new HistoryReadRequest({
          historyReadDetails: details,
          nodesToRead: batch.map((b) => ({ nodeId: nodes[b.node]!, ...(b.continuationPoint && { continuationPoint: b.continuationPoint }) })),
          timestampsToReturn: TimestampsToReturn.Both,
          releaseContinuationPoints: false,
        }));
        const next: typeof batch = [];
        const results = res.results ?? [];
        for (let i = 0; i < results.length; i++) {
          const r = results[i]!;
          const held = onPage(batch[i]!.node, r.historyData instanceof HistoryData ? (r.historyData.dataValues ?? []) : [], end);
          if (held) await held;
          if (r.continuationPoint?.length) next.push({ node: batch[i]!.node, continuationPoint: r.continuationPoint });
        }
        batch = next;
      }
    }
  }
}

/** A session on `endpoint` (certificates under `pki`, any server certificate accepted) and its nodes resolved. */
export async function openReader(endpoint: string, nodeTexts: readonly string[], pki: string): Promise<{ session: ClientSession; nodes: NodeId[]; close: () => Promise<void> }> {
  const clientCertificateManager = new OPCUACertificateManager({ rootFolder: pki, automaticallyAcceptUnknownCertificate: true });
  await clientCertificateManager.initialize();
  const client = OPCUAClient.create({ endpointMustExist: false, clientCertificateManager, connectionStrategy: { maxRetry: 2 } });
  await client.connect(endpoint);
  const session = await client.createSession();
  const ns = await readNamespaces(session);
  return {
    session,
    nodes: nodeTexts.map((t) => resolveMappedNodeId(t, ns)),
    close: async () => {
      await session.close().catch(() => {});
      await client.disconnect().catch(() => {});
    },
  };
}

// The address-space walker of `opcua-ingest browse`. Depth-first over forward hierarchical
// references (Organizes, HasComponent, HasProperty… and their subtypes), many nodes per Browse
// request (within the server's MaxNodesPerBrowse), continuation points followed with BrowseNext,
// attributes read in batches (within MaxNodesPerRead). Variables are handed to `emit` batch by
// batch as they are found: memory holds the pending frontier and the visited node ids, never the
// whole address space.
import {
  AttributeIds, BrowseDirection, NodeClass, NodeIdType, ReferenceTypeIds, StatusCodes, resolveNodeId,
  type BrowseDescriptionOptions, type ClientSession, type NodeId, type ReferenceDescription,
} from "node-opcua";
import type { Glob, GlobState } from "./browse-glob.js";
import { browseAll, DataTypes, mappingNodeId, operationLimits, readAll, type Limits } from "./browse-ops.js";
import { escapeSegment, type BrowsedVariable } from "./browse-render.js";
import { NodeIdError, resolveMappedNodeId } from "./nodeid.js";
import { readNamespaces } from "./session.js";
import { ConnectorError } from "../core/errors.js";

export interface WalkOptions {
  /** Node id text (nsu=, ns= or i=…); default i=85, the Objects folder. */
  root: string;
  /** Levels below the root; undefined = no limit. */
  depth?: number;
  filter?: Glob;
  /** List variables reached by HasProperty (EngineeringUnits, EURange…) as points too. Default false. */
  includeProperties?: boolean;
  /** References per node and Browse answer; more come with BrowseNext. Default 1000. */
  maxReferencesPerNode?: number;
  /** Called after every batch (for progress on stderr). */
  onProgress?(stats: WalkStats): void;
}

export interface WalkStats {
  /** Nodes browsed (objects, folders, variables). */
  nodes: number;
  /** Variables handed to emit. */
  variables: number;
  browseRequests: number;
  browseNextRequests: number;
  /** Nodes browsed again alone because the server had no continuation point left for them. */
  browsedAgain: number;
  readRequests: number;
  /** Largest number of discovered, not yet browsed nodes held at once. */
  maxPending: number;
  /** Nodes the server refused to browse, with the first reason. */
  unbrowsable: number;
  firstUnbrowsable?: string;
  /** The Server object (i=2253) under the root was not walked. */
  skippedServerObject: boolean;
  limits?: Limits;
}

/** The root does not exist or is not a node id: the user's to fix (exit 2). */
export class BrowseRootError extends ConnectorError {
  constructor(message: string) {
    super("BROWSE_ROOT", message);
  }
}

interface Entry {
  nodeId: NodeId;
  path: string;
  depth: number;
  glob: GlobState | undefined;
  variable: boolean;
}

const HIERARCHICAL = resolveNodeId(ReferenceTypeIds.HierarchicalReferences);
const HAS_PROPERTY = ReferenceTypeIds.HasProperty;
const SERVER_OBJECT = 2253;
// ResultMask bits (Part 4, 5.8.2.2): ReferenceType 1, IsForward 2, NodeClass 4, BrowseName 8.
const RESULT_MASK = 1 | 2 | 4 | 8;
// Objects, Variables and Views: methods, types and the rest have no values and lead to none.
const NODE_CLASS_MASK = NodeClass.Object | NodeClass.Variable | NodeClass.View;

function isNs0(id: NodeId, value: number): boolean {
  return id.namespace === 0 && id.identifierType === NodeIdType.NUMERIC && id.value === value;
}

export async function walk(session: ClientSession, opts: WalkOptions, emit: (vars: BrowsedVariable[]) => Promise<void>): Promise<WalkStats> {
  const stats: WalkStats = { nodes: 0, variables: 0, browseRequests: 0, browseNextRequests: 0, browsedAgain: 0, readRequests: 0, maxPending: 0, unbrowsable: 0, skippedServerObject: false };
  const counter = {
    get reads() { return stats.readRequests; },
    set reads(n: number) { stats.readRequests = n; },
    get browses() { return stats.browseRequests; },
    set browses(n: number) { stats.browseRequests = n; },
  };
  const limits = await operationLimits(session);
  stats.limits = limits;
  session.requestedMaxReferencesPerNode = opts.maxReferencesPerNode ?? 1000;
  const namespaces = await readNamespaces(session);

  let rootId: NodeId;
  try {
    rootId = resolveMappedNodeId(opts.root, namespaces);
  } catch (err) {
    throw new BrowseRootError(`--root ${opts.root}: ${err instanceof NodeIdError ? err.message : (err as Error).message}`);
  }
  const [rootClass] = await readAll(session, [{ nodeId: rootId, attributeId: AttributeIds.NodeClass }], limits, counter);
  if (!rootClass!.statusCode.isGood()) {
    throw new BrowseRootError(`--root ${opts.root}: the server answers ${rootClass!.statusCode.name}; check the node id (the default root is i=85, the Objects folder)`);
  }

  const filter = opts.filter;
  const rootGlob = filter ? (filter.matches(filter.start()) ? "all" : filter.start()) : undefined;
  const stack: Entry[] = [{ nodeId: rootId, path: "", depth: 0, glob: rootGlob, variable: rootClass!.value.value === NodeClass.Variable }];
  const visited = new Set<string>([rootId.toString()]);
  const types = new DataTypes(session, limits, counter);

  while (stack.length > 0) {
    // The top of the stack, in browse order: children were pushed last-first.
    const batch = stack.splice(Math.max(0, stack.length - limits.perBrowse)).reverse();
    const results = await browseEntries(session, batch.map((e) => e.nodeId), limits, stats);
    stats.nodes += batch.length;
    const found: { entry: Entry; eu: NodeId | undefined }[] = [];
    const children: Entry[][] = [];
    batch.forEach((entry, i) => {
      const r = results[i]!;
      if (typeof r === "string") {
        stats.unbrowsable++;
        stats.firstUnbrowsable ??= `${entry.path || opts.root}: ${r}`;
      }
      const refs = typeof r === "string" ? [] : r;
      let eu: NodeId | undefined;
      const kids: Entry[] = [];
      for (const ref of refs) {
        if (!ref.isForward) continue;
        const isProperty = isNs0(ref.referenceTypeId, HAS_PROPERTY);
        if (entry.variable && isProperty && ref.browseName.namespaceIndex === 0 && ref.browseName.name === "EngineeringUnits") eu = ref.nodeId;
        const child = childEntry(entry, ref, isProperty);
        if (child) kids.push(child);
      }
      children.push(kids);
      if (entry.variable && entry.depth > 0 && (!filter || filter.matches(entry.glob!))) found.push({ entry, eu });
    });
    for (let i = children.length - 1; i >= 0; i--) {
      const kids = children[i]!;
      for (let k = kids.length - 1; k >= 0; k--) stack.push(kids[k]!);
    }
    stats.maxPending = Math.max(stats.maxPending, stack.length);
    if (found.length > 0) {
      const vars = await describe(found);
      stats.variables += vars.length;
      await emit(vars);
    }
    opts.onProgress?.(stats);
  }
  return stats;

  function childEntry(parent: Entry, ref: ReferenceDescription, isProperty: boolean): Entry | undefined {
    const cls = ref.nodeClass;
    if (cls !== NodeClass.Object && cls !== NodeClass.Variable && cls !== NodeClass.View) return undefined;
    if (isProperty && !opts.includeProperties) return undefined;
    if (ref.nodeId.serverIndex) return undefined; // a node on another server
    if (isNs0(ref.nodeId, SERVER_OBJECT)) {
      stats.skippedServerObject = true;
      return undefined;
    }
    const depth = parent.depth + 1;
    if (opts.depth !== undefined && depth > opts.depth) return undefined;
    const key = ref.nodeId.toString();
    if (visited.has(key)) return undefined;
    const segment = escapeSegment(ref.browseName.name ?? "");
    let glob: GlobState | undefined;
    if (filter) {
      glob = filter.step(parent.glob!, segment);
      if (!filter.alive(glob)) return undefined; // nothing below can match: not browsed
    }
    visited.add(key);
    return { nodeId: ref.nodeId, path: parent.path ? `${parent.path}/${segment}` : segment, depth, glob, variable: cls === NodeClass.Variable };
  }

  async function describe(found: { entry: Entry; eu: NodeId | undefined }[]): Promise<BrowsedVariable[]> {
    const items = [];
    for (const { entry, eu } of found) {
      items.push(
        { nodeId: entry.nodeId, attributeId: AttributeIds.DataType },
        { nodeId: entry.nodeId, attributeId: AttributeIds.ValueRank },
        { nodeId: entry.nodeId, attributeId: AttributeIds.AccessLevel },
      );
      if (eu) items.push({ nodeId: eu, attributeId: AttributeIds.Value });
    }
    const dvs = await readAll(session, items, limits, counter);
    let k = 0;
    const raw = found.map(({ entry, eu }) => {
      const dataType = dvs[k++]!;
      const valueRank = dvs[k++]!;
      const access = dvs[k++]!;
      const unit = eu ? euText(dvs[k++]!.value.value) : undefined;
      return {
        entry,
        dataTypeId: dataType.statusCode.isGood() ? (dataType.value.value as NodeId) : undefined,
        dataTypeStatus: dataType.statusCode.name,
        valueRank: valueRank.statusCode.isGood() ? (valueRank.value.value as number) : -1,
        accessLevel: access.statusCode.isGood() ? (access.value.value as number) : 0,
        unit,
      };
    });
    await types.loadNames(raw.flatMap((r) => (r.dataTypeId ? [r.dataTypeId] : [])));
    return raw.map((r) => ({
      path: r.entry.path,
      nodeId: mappingNodeId(r.entry.nodeId, namespaces),
      dataType: r.dataTypeId ? types.name(r.dataTypeId) + rankSuffix(r.valueRank) : `unknown (${r.dataTypeStatus})`,
      ...(r.unit ? { unit: r.unit } : {}),
      accessLevel: r.accessLevel,
    }));
  }
}

function rankSuffix(valueRank: number): string {
  if (valueRank === -1) return "";
  if (valueRank === 0) return "[]";
  if (valueRank > 0) return `[${",".repeat(valueRank - 1)}]`;
  return valueRank === -3 ? " (scalar or 1-D array)" : " (scalar or array)";
}

function euText(v: unknown): string | undefined {
  const eu = v as { displayName?: { text?: string | null }; description?: { text?: string | null } } | null;
  return eu?.displayName?.text || eu?.description?.text || undefined;
}

/**
 * Browse many nodes: one Browse request per chunk, then BrowseNext for every continuation point
 * until none is left. A node the server had no continuation point for (BadNoContinuationPoints:
 * too many at once) is browsed again alone. Returns the references or the refusal, per node.
 */
async function browseEntries(session: ClientSession, nodes: NodeId[], limits: Limits, stats: WalkStats): Promise<(ReferenceDescription[] | string)[]> {
  const describe = (nodeId: NodeId): BrowseDescriptionOptions => ({
    nodeId, browseDirection: BrowseDirection.Forward, referenceTypeId: HIERARCHICAL, includeSubtypes: true,
    nodeClassMask: NODE_CLASS_MASK, resultMask: RESULT_MASK,
  });
  const counter = {
    get browses() { return stats.browseRequests; },
    set browses(n: number) { stats.browseRequests = n; },
  };
  const out: (ReferenceDescription[] | string)[] = new Array(nodes.length);
  let cps: { index: number; cp: Buffer }[] = [];
  const take = async (indexes: number[]) => {
    const results = await browseAll(session, indexes.map((i) => describe(nodes[i]!)), limits, counter);
    const retry: number[] = [];
    results.forEach((r, j) => {
      const index = indexes[j]!;
      if (r.statusCode.equals(StatusCodes.BadNoContinuationPoints) && indexes.length > 1) retry.push(index);
      else if (r.statusCode.isNotGood()) out[index] = r.statusCode.name;
      else {
        out[index] = [...(r.references ?? [])];
        if (r.continuationPoint && r.continuationPoint.length > 0) cps.push({ index, cp: r.continuationPoint });
      }
    });
    await followContinuationPoints();
    stats.browsedAgain += retry.length;
    for (const index of retry) await take([index]);
  };
  const followContinuationPoints = async () => {
    while (cps.length > 0) {
      const chunk = cps.splice(0, limits.perBrowse);
      stats.browseNextRequests++;
      const results = await session.browseNext(chunk.map((c) => c.cp), false);
      results.forEach((r, j) => {
        const { index } = chunk[j]!;
        const refs = out[index] as ReferenceDescription[];
        if (r.statusCode.isNotGood()) {
          out[index] = `${r.statusCode.name} after ${refs.length} references`;
          return;
        }
        for (const ref of r.references ?? []) refs.push(ref);
        if (r.continuationPoint && r.continuationPoint.length > 0) cps.push({ index, cp: r.continuationPoint });
      });
    }
    cps = [];
  };
  await take(nodes.map((_n, i) => i));
  return out;
}

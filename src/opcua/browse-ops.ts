// Session operations shared by browse and validate --online: requests chunked to the server's
// operation limits (halving on BadTooManyOperations, for servers that announce none or the wrong
// one), data type names and built-in types with a cache, node ids written with their namespace URI.
import {
  AttributeIds, BrowseDirection, NodeIdType, ReferenceTypeIds, resolveNodeId, VariableIds,
  type BrowseDescriptionOptions, type BrowseResult, type ClientSession, type DataValue, type NodeId, type ReadValueIdOptions,
} from "node-opcua";

export interface Limits {
  perRead: number;
  perBrowse: number;
}

/**
 * The server's MaxNodesPerRead/MaxNodesPerBrowse, capped so one request stays a few hundred kB.
 * Read as two values, not with node-opcua's readOperationLimits: that reads all twelve limits in one
 * request, which a server allowing fewer than twelve nodes per Read refuses (BadTooManyOperations).
 */
export async function operationLimits(session: ClientSession): Promise<Limits> {
  const ids = [VariableIds.Server_ServerCapabilities_OperationLimits_MaxNodesPerRead, VariableIds.Server_ServerCapabilities_OperationLimits_MaxNodesPerBrowse];
  const dvs = await session.read(ids.map((id) => ({ nodeId: resolveNodeId(id), attributeId: AttributeIds.Value }))).catch(() => []);
  const value = (i: number) => {
    const dv = dvs[i];
    return dv && dv.statusCode.isGood() && typeof dv.value.value === "number" ? dv.value.value : undefined;
  };
  // 0 or absent: the server sets no limit.
  const cap = (v: number | undefined, max: number) => Math.max(1, Math.min(v && v > 0 ? v : max, max));
  return { perRead: cap(value(0), 2000), perBrowse: cap(value(1), 500) };
}

function tooMany(err: unknown): boolean {
  return /BadTooManyOperations/.test(String((err as Error)?.message ?? err));
}

/** session.read over any number of items, in chunks within limits.perRead (halved when the server refuses). */
export async function readAll(session: ClientSession, items: ReadValueIdOptions[], limits: Limits, counter?: { reads: number }): Promise<DataValue[]> {
  const out: DataValue[] = [];
  for (let start = 0; start < items.length; ) {
    const chunk = items.slice(start, start + limits.perRead);
    try {
      if (counter) counter.reads++;
      out.push(...(await session.read(chunk)));
      start += chunk.length;
    } catch (err) {
      if (!tooMany(err) || limits.perRead === 1) throw err;
      limits.perRead = Math.max(1, Math.floor(limits.perRead / 2));
    }
  }
  return out;
}

/** session.browse of up to limits.perBrowse descriptions (halved when the server refuses). */
export async function browseAll(session: ClientSession, nodes: BrowseDescriptionOptions[], limits: Limits, counter?: { browses: number }): Promise<BrowseResult[]> {
  const out: BrowseResult[] = [];
  for (let start = 0; start < nodes.length; ) {
    const chunk = nodes.slice(start, start + limits.perBrowse);
    try {
      if (counter) counter.browses++;
      out.push(...(await session.browse(chunk)));
      start += chunk.length;
    } catch (err) {
      if (!tooMany(err) || limits.perBrowse === 1) throw err;
      limits.perBrowse = Math.max(1, Math.floor(limits.perBrowse / 2));
    }
  }
  return out;
}

/** The mapping's form of a node id: nsu=<uri>;<id> (namespace 0 as i=... alone). */
export function mappingNodeId(id: NodeId & { namespaceUri?: string | null }, namespaces: readonly string[]): string {
  let ident: string;
  switch (id.identifierType) {
    case NodeIdType.NUMERIC:
      ident = `i=${id.value as number}`;
      break;
    case NodeIdType.STRING:
      ident = `s=${id.value as string}`;
      break;
    case NodeIdType.GUID:
      ident = `g=${String(id.value).toLowerCase()}`;
      break;
    default:
      ident = `b=${Buffer.from(id.value as Buffer).toString("base64")}`;
  }
  const uri = id.namespaceUri || namespaces[id.namespace];
  if (!id.namespaceUri && id.namespace === 0) return ident;
  return uri ? `nsu=${uri};${ident}` : `ns=${id.namespace};${ident}`;
}

/** What a data type is on the wire, as far as converting it to the API's string is concerned. */
export type BuiltinKind =
  | { kind: "builtin"; id: number } // 1..25, see DataType in node-opcua-variant
  | { kind: "number" } // abstract Number / Integer / UInteger: always a numeric built-in at run time
  | { kind: "unknown"; why: string };

const NUMBER_ABSTRACT = new Set([26, 27, 28]);
const ENUMERATION = 29;
const INT32 = 6;

/**
 * Data type names (their BrowseName) and built-in types, resolved once per type for the whole run:
 * a plant has thousands of variables but a few dozen data types.
 */
export class DataTypes {
  private readonly names = new Map<string, string>();
  private readonly builtins = new Map<string, BuiltinKind>();
  private readonly supertypes = new Map<string, NodeId | null>();

  constructor(
    private readonly session: ClientSession,
    private readonly limits: Limits,
    private readonly counter?: { reads: number; browses: number },
  ) {}

  name(id: NodeId): string {
    return this.names.get(id.toString()) ?? id.toString();
  }

  builtin(id: NodeId): BuiltinKind {
    return this.builtins.get(id.toString()) ?? { kind: "unknown", why: `data type ${id.toString()} was not resolved` };
  }

  /** Read the names of the types not seen yet. */
  async loadNames(ids: Iterable<NodeId>): Promise<void> {
    const todo = new Map<string, NodeId>();
    for (const id of ids) if (!this.names.has(id.toString())) todo.set(id.toString(), id);
    if (todo.size === 0) return;
    const list = [...todo.values()];
    const dvs = await readAll(this.session, list.map((nodeId) => ({ nodeId, attributeId: AttributeIds.BrowseName })), this.limits, this.counter);
    list.forEach((id, i) => {
      const dv = dvs[i]!;
      const bn = dv.statusCode.isGood() ? (dv.value.value as { name?: string } | null) : null;
      this.names.set(id.toString(), bn?.name ?? id.toString());
    });
  }

  /** Resolve the built-in type of each data type by walking HasSubtype up, one browse per level for all types. */
  async loadBuiltins(ids: Iterable<NodeId>): Promise<void> {
    // start → current type on its way up
    let pending = new Map<string, NodeId>();
    for (const id of ids) if (!this.builtins.has(id.toString())) pending.set(id.toString(), id);
    const chains = new Map<string, string[]>([...pending.keys()].map((k) => [k, [k]]));
    for (let level = 0; pending.size > 0 && level < 20; level++) {
      const unknownSuper = [...new Map([...pending.values()].filter((id) => !direct(id) && !this.supertypes.has(id.toString())).map((id) => [id.toString(), id])).values()];
      if (unknownSuper.length > 0) {
        const results = await browseAll(
          this.session,
          unknownSuper.map((nodeId) => ({
            nodeId, browseDirection: BrowseDirection.Inverse, referenceTypeId: resolveNodeId(ReferenceTypeIds.HasSubtype),
            includeSubtypes: false, nodeClassMask: 0, resultMask: 0,
          })),
          this.limits,
          this.counter,
        );
        unknownSuper.forEach((id, i) => {
          const r = results[i]!;
          const ref = r.statusCode.isGood() ? r.references?.[0] : undefined;
          this.supertypes.set(id.toString(), ref ? ref.nodeId : null);
        });
      }
      const next = new Map<string, NodeId>();
      for (const [start, current] of pending) {
        const known = direct(current) ?? this.builtins.get(current.toString());
        if (known) {
          for (const k of chains.get(start)!) this.builtins.set(k, known);
          continue;
        }
        const up = this.supertypes.get(current.toString());
        if (!up) {
          const why = `data type ${current.toString()} has no supertype the server reports`;
          for (const k of chains.get(start)!) this.builtins.set(k, { kind: "unknown", why });
          continue;
        }
        chains.get(start)!.push(up.toString());
        next.set(start, up);
      }
      pending = next;
    }
    for (const start of pending.keys()) this.builtins.set(start, { kind: "unknown", why: `data type ${start} is nested too deep` });
  }
}

/** Data types whose built-in type is known without asking the server. */
function direct(id: NodeId): BuiltinKind | undefined {
  if (id.namespace !== 0 || id.identifierType !== NodeIdType.NUMERIC) return undefined;
  const n = id.value as number;
  if (n >= 1 && n <= 25) return { kind: "builtin", id: n };
  if (NUMBER_ABSTRACT.has(n)) return { kind: "number" };
  if (n === ENUMERATION) return { kind: "builtin", id: INT32 };
  return undefined;
}

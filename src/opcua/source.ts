import {
  AttributeIds, ClientMonitoredItem, ClientMonitoredItemGroup, DataChangeFilter, DataChangeTrigger, DeadbandType, NumericRange,
  readOperationLimits, TimestampsToReturn, type ClientMonitoredItemBase, type ClientSession, type ClientSubscription,
  type MonitoringParametersOptions, type NodeId, type OPCUAClient, type ReadValueIdOptions,
} from "node-opcua";
import type { Logger } from "pino";
import type { OpcuaConfig, PointConfig, SourceConfig } from "../config/types.js";
import { systemClock, type Clock, type Timer } from "../core/clock.js";
import type { RawDataValue } from "../core/types.js";
import { toRaw } from "./datavalue.js";
import { readEnumLabels } from "./enumlabels.js";
import { FailoverPolicy } from "./failover.js";
import { narrowAll, readHistoryLimits, readRawHistory, type HistoryOutcome } from "./history.js";
import { isIndexRangeStatus, narrow, narrowingOf, type Narrowed, type Narrowing } from "./narrow.js";
import { NodeIdError, resolveMappedNodeId } from "./nodeid.js";
import { FIRST_RETRY_MS, RetrySchedule } from "./retry-schedule.js";
import { closeQuietly, createClient, openSession, readNamespaces } from "./session.js";

export { OpcuaError } from "./session.js";

export type SourceState = "connecting" | "connected" | "reconnecting" | "stopped";

/** What the source needs of a point; the pipeline passes its own richer objects through. */
export interface SourcePoint {
  readonly config: PointConfig;
  /** Set by the source for points with enumAs: label (the node's EnumStrings). */
  enumLabels?: string[];
}

export interface SourceHandlers<P extends SourcePoint> {
  /** A value of a point (for field / indexRange points: already that part). Runs for every notification: keep it cheap. */
  value(point: P, raw: RawDataValue): void;
  state(state: SourceState): void;
  /**
   * The subscription was lost and re-created (server restart, session timeout, switch to a
   * redundant server): changes between `from` (the last notification before the loss) and `to`
   * (recovery) were not seen.
   */
  gap?(from: number, to: number): void;
}

/** Where a point stands, for the status page and metrics. */
export type PointState =
  | { state: "monitored" }
  | { state: "waiting for node"; reason: string; nextRetryAt: number | undefined }
  | { state: "failed"; reason: string };

export interface SourceOptions {
  clock?: Clock;
  /** First retry of a point whose node is unknown; default 10 s (then doubling up to retryUnknownNodes). */
  firstRetryMs?: number;
  /** How often the other servers' ServiceLevel is read while a better one could exist; default 5 s. */
  probeIntervalMs?: number;
  /** How long another server's ServiceLevel must stay higher before switching back to it; default 30 s. */
  switchBackHoldMs?: number;
}

/** The source's own view of itself: which server, how many switches, points waiting for their node. */
export interface SourceStatus {
  name: string;
  state: SourceState;
  /** The endpoint the session is on (or being opened to). */
  endpoint: string;
  endpoints: string[];
  /** ServiceLevel of the active server as last seen; undefined without backups or before the first. */
  serviceLevel: number | undefined;
  failovers: number;
  monitored: number;
  waiting: number;
  failed: number;
}

const TRIGGER = {
  status: DataChangeTrigger.Status,
  statusValue: DataChangeTrigger.StatusValue,
  statusValueTimestamp: DataChangeTrigger.StatusValueTimestamp,
} as const;

const SERVICE_LEVEL = "i=2267";
const BAD_NODE_ID_UNKNOWN = 0x80340000;
const BAD_NODE_ID_INVALID = 0x80330000;
const isUnknownNode = (status: number) => {
  const code = (status & 0xffff0000) >>> 0;
  return code === BAD_NODE_ID_UNKNOWN || code === BAD_NODE_ID_INVALID;
};

function monitoringParameters(p: PointConfig): MonitoringParametersOptions {
  const deadband = p.deadband;
  // No filter at all is the server's default (StatusValue, no deadband): keep requests small.
  const filter =
    deadband.kind === "none" && p.trigger === "statusValue"
      ? null
      : new DataChangeFilter({
          trigger: TRIGGER[p.trigger],
          deadbandType: deadband.kind === "absolute" ? DeadbandType.Absolute : deadband.kind === "percent" ? DeadbandType.Percent : DeadbandType.None,
          deadbandValue: deadband.kind === "none" ? 0 : deadband.value,
        });
  return { samplingInterval: p.samplingIntervalMs, queueSize: p.queueSize, discardOldest: true, filter };
}

/** Points with equal keys share one monitored-item request; a point whose key changes is re-created. */
const monitoringKey = (p: PointConfig) =>
  `${p.samplingIntervalMs}|${p.queueSize}|${p.deadband.kind}|${"value" in p.deadband ? p.deadband.value : ""}|${p.trigger}`;

/** What a point reads: a change re-creates its item. */
const nodeKey = (p: PointConfig) => `${p.nodeId}|${p.indexRange ?? ""}|${p.field ?? ""}`;

/** The live link between a monitored item and the point it feeds; `point` is swapped on reload. */
interface Slot<P extends SourcePoint> {
  point: P | undefined;
  item?: ClientMonitoredItemBase;
  nodeId?: NodeId;
  narrowing?: Narrowing;
  /** The reason last reported for values that could not be narrowed (reported once until it changes). */
  narrowProblem?: string;
}

/** One session on one endpoint; replaced as a whole on a switch to a redundant server. */
interface Connection {
  endpoint: string;
  index: number;
  client: OPCUAClient;
  session?: ClientSession;
  subscription?: ClientSubscription;
}

/**
 * One session, one subscription, the mapped points as monitored items. node-opcua reconnects
 * forever after the first connect and recovers the subscription; we add the first connect's
 * retries, chunking to the server's MaxMonitoredItemsPerCall, per-point error reports, retries of
 * nodes that do not exist (yet), array elements and structure fields, and — with backupEndpoints —
 * the switch between redundant servers on ServiceLevel or a lost connection.
 */
export class OpcuaSource<P extends SourcePoint> {
  private conn: Connection | undefined;
  private groups: ClientMonitoredItemGroup[] = [];
  private namespaceArray: string[] = [];
  private stopping = false;
  /** Time of the last notification: where a gap after a lost subscription starts. */
  private lastNotificationAt: number | undefined;
  private lostAt: number | undefined;
  private subscriptionRecreated = false;
  /** pointId → its monitored item's slot. */
  private readonly slots = new Map<string, Slot<P>>();
  private points: readonly P[];
  /** Points the source cannot deliver: pointId → reason (waiting for their node, or refused by the server). */
  readonly failed = new Map<string, string>();
  private readonly retry: RetrySchedule;
  private readonly clock: Clock;
  private readonly cfg: SourceConfig;
  private readonly endpoints: string[];
  private readonly policy: FailoverPolicy | undefined;
  private probeTimer: Timer | undefined;
  private switching = false;
  private currentState: SourceState = "connecting";
  /** Switches to another server so far. */
  failovers = 0;
  /** Points that started delivering after waiting for their node. */
  nodesRecovered = 0;

  private readonly log: Logger;

  constructor(
    cfg: OpcuaConfig | SourceConfig,
    points: readonly P[],
    private readonly stateDir: string,
    log: Logger,
    private readonly on: SourceHandlers<P>,
    private readonly opts: SourceOptions = {},
  ) {
    this.cfg = { name: "default", backupEndpoints: [], failoverServiceLevel: 200, retryUnknownNodesMs: 300_000, ...cfg };
    // Every line of this source names it, once (node-opcua's messages through createClient too).
    this.log = log.child({ source: this.cfg.name });
    this.points = points;
    this.clock = opts.clock ?? systemClock;
    this.retry = new RetrySchedule(this.clock, this.cfg.retryUnknownNodesMs, (ids) => void this.retryNodes(ids), opts.firstRetryMs ?? FIRST_RETRY_MS);
    this.endpoints = [this.cfg.endpoint, ...this.cfg.backupEndpoints];
    this.policy = this.endpoints.length > 1 ? new FailoverPolicy(this.endpoints.length, this.cfg.failoverServiceLevel, opts.switchBackHoldMs ?? 30_000, this.clock) : undefined;
  }

  get name(): string {
    return this.cfg.name;
  }

  get state(): SourceState {
    return this.currentState;
  }

  private setState(s: SourceState): void {
    this.currentState = s;
    this.on.state(s);
  }

  async start(): Promise<void> {
    this.setState("connecting");
    let index = 0;
    if (this.policy) {
      // With redundant servers, start on the best one that answers (the first when none does yet).
      await this.probeOthers(-1);
      const best = [...this.endpoints.keys()].reduce((b, i) => ((this.policy!.level(i) ?? -1) > (this.policy!.level(b) ?? -1) ? i : b), 0);
      index = best;
      this.policy.setActive(index);
      // None answered (all down at start): look at the others while this first connect retries, so
      // a backup that comes up first is used instead of waiting for this server.
      if (this.policy.level(index) === null) this.scheduleProbe();
    }
    await this.connect(index, true);
    this.scheduleProbe();
  }

  /**
   * Opens client, session, subscription and items on endpoint `index`; the new connection replaces
   * `this.conn`. False when it was superseded on the way (a switch to another server, a stop).
   */
  private async connect(index: number, retryForever: boolean): Promise<boolean> {
    const endpoint = this.endpoints[index]!;
    const cfg = { ...this.cfg, endpoint };
    const client = await createClient(cfg, this.stateDir, this.log, { retryFirstConnect: retryForever });
    const conn: Connection = { endpoint, index, client };
    this.conn = conn;
    const current = () => this.conn === conn && !this.stopping;
    let warnedBackoff = false;
    client.on("backoff", (retry: number, delay: number) => {
      if (!current()) return;
      if (!warnedBackoff) this.log.warn({ event: "server_unreachable", endpoint, retry, delayMs: delay }, "OPC UA server not reachable; retrying");
      warnedBackoff = true;
    });
    client.on("connection_lost", () => {
      if (!current()) return;
      this.lostAt ??= this.clock.now();
      this.log.warn({ event: "connection_lost", endpoint }, "OPC UA connection lost; reconnecting");
      this.setState("reconnecting");
      if (this.policy) {
        this.policy.lost();
        void this.evaluate();
      }
    });
    client.on("connection_reestablished", () => {
      if (!current()) return;
      warnedBackoff = false;
      const now = this.clock.now();
      if (this.subscriptionRecreated) {
        // A new subscription: the server's queues of the old one are gone with it.
        const from = this.lastNotificationAt ?? this.lostAt ?? now;
        this.log.info({ event: "connection_reestablished", endpoint, downMs: this.lostAt ? now - this.lostAt : 0, subscription: "recreated" }, "OPC UA connection re-established with a new session or subscription");
        this.log.warn({ event: "gap", endpoint, from: new Date(from).toISOString(), to: new Date(now).toISOString(), seconds: Math.round((now - from) / 1000) }, "OPC UA session or subscription was lost: changes in this window were not seen");
        this.on.gap?.(from, now);
      } else {
        this.log.info({ event: "connection_reestablished", endpoint, downMs: this.lostAt ? now - this.lostAt : 0, subscription: "survived" }, "OPC UA connection re-established; the subscription survived (queued notifications follow)");
      }
      this.subscriptionRecreated = false;
      this.lostAt = undefined;
      this.setState("connected");
      // The server may have loaded a new program while we were away: try the waiting nodes now.
      if (this.retry.size) void this.retryNodes(this.retry.dueNow());
    });
    client.on("after_reconnection", () => {
      if (current()) void this.checkNamespaces();
    });

    let session: ClientSession;
    try {
      session = await openSession(client, cfg, this.stateDir);
    } catch (err) {
      if (this.conn !== conn) return false; // superseded: a redundant server answered first and was switched to
      throw err;
    }
    conn.session = session;
    if (!current()) {
      await closeQuietly(client, session);
      return false;
    }
    // Connected: its ServiceLevel is unknown until its item reports, not "unreachable" (a probe at
    // start may have said so), so no switch away from it is decided on a stale null meanwhile.
    if (this.policy && this.policy.level(index) === null) this.policy.observe(index, undefined);
    this.log.info({ event: "session_open", endpoint, securityMode: cfg.securityMode, securityPolicy: cfg.securityPolicy }, "OPC UA session open");
    let subscription: ClientSubscription;
    try {
      subscription = await session.createSubscription2({
        requestedPublishingInterval: cfg.publishingIntervalMs,
        requestedMaxKeepAliveCount: 10,
        requestedLifetimeCount: 100,
        maxNotificationsPerPublish: 0,
        publishingEnabled: true,
        priority: 1,
      });
    } catch (err) {
      if (!current()) return false; // its session was closed by a switch meanwhile
      throw err;
    }
    if (!current()) return false; // switched away meanwhile: the switch closed this session
    conn.subscription = subscription;
    subscription.on("subscriptionId_changed", () => {
      if (current()) this.subscriptionRecreated = true;
    });
    // The arrival of each publish response: the receive time of its values and where a gap fill starts.
    // At trace, a count lets a test or an operator see notifications arrive without per-value logs.
    subscription.on("received_notifications", (msg) => {
      // Also while stopping: the connection's values are still delivered until its subscription ends.
      if (this.conn !== conn) return;
      this.lastNotificationAt = this.clock.now();
      if (!current() || !this.log.isLevelEnabled("trace")) return;
      let count = 0;
      for (const d of msg.notificationData ?? []) count += (d as { monitoredItems?: unknown[] }).monitoredItems?.length ?? 0;
      this.log.trace({ count }, "notifications received");
    });
    if (this.policy) this.watchServiceLevel(conn, subscription);
    this.setState("connected");
    await this.exclusive(async () => {
      if (current()) await this.monitorAll(); // not on a connection a switch replaced while it waited
    });
    return current();
  }

  /** Start, reload, retries, switches and the namespace re-check change the monitored items one at a time. */
  private serial: Promise<unknown> = Promise.resolve();
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.serial.then(fn, fn);
    this.serial = run.catch(() => {});
    return run;
  }

  private async monitorAll(): Promise<void> {
    const session = this.conn?.session;
    if (!session) return;
    this.groups = [];
    this.namespaceArray = await readNamespaces(session);
    this.failed.clear();
    this.slots.clear();
    for (const id of this.retry.ids()) this.retry.remove(id);
    await this.monitor(this.points);
    const waiting = this.retry.size;
    this.log.info({ event: "items_created", endpoint: this.conn?.endpoint, monitored: this.points.length - this.failed.size, failed: this.failed.size - waiting, waiting }, "monitored items created");
  }

  /** Create monitored items for these points, grouped by monitoring settings, chunked by the server's limit. */
  private async monitor(points: readonly P[]): Promise<void> {
    const conn = this.conn;
    const session = conn?.session;
    const subscription = conn?.subscription;
    if (!session || !subscription) return;
    const limits = await readOperationLimits(session).catch(() => ({ maxMonitoredItemsPerCall: undefined }));
    // ClientMonitoredItemGroup does not split by the server's limit (BadTooManyOperations): we do.
    const perCall = Math.max(1, Math.min(limits.maxMonitoredItemsPerCall || 1000, 5000));
    const byKey = new Map<string, { slot: Slot<P>; item: ReadValueIdOptions }[]>();
    for (const p of points) {
      let nodeId: NodeId;
      try {
        nodeId = resolveMappedNodeId(p.config.nodeId, this.namespaceArray);
      } catch (err) {
        const reason = err instanceof NodeIdError ? err.message : String(err);
        // A namespace the server does not have (yet) may come with the next program download.
        if (/namespace array/.test(reason)) this.waitForNode(p.config, reason);
        else this.reportFailure(p.config, reason);
        continue;
      }
      const narrowing = narrowingOf(p.config);
      // Every field from the start: the item and a narrowing problem come later, and a property added
      // then would give each of 100,000 slots a second store.
      const slot: Slot<P> = { point: p, item: undefined, nodeId, narrowing, narrowProblem: undefined };
      this.slots.set(p.config.pointId, slot);
      const key = monitoringKey(p.config);
      const item: ReadValueIdOptions = { nodeId, attributeId: AttributeIds.Value, ...(p.config.indexRange !== undefined && { indexRange: new NumericRange(p.config.indexRange) }) };
      const list = byKey.get(key);
      if (list) list.push({ slot, item });
      else byKey.set(key, [{ slot, item }]);
    }
    // EnumStrings before the items: the initial values arrive in the next publish and must already find them.
    for (const entries of byKey.values()) {
      for (const { slot } of entries) {
        const p = slot.point!;
        if (p.config.enumAs === "label" && slot.nodeId) p.enumLabels = await readEnumLabels(session, slot.nodeId).catch(() => undefined);
      }
    }
    for (const entries of byKey.values()) {
      const params = monitoringParameters(entries[0]!.slot.point!.config);
      for (let start = 0; start < entries.length; start += perCall) {
        const chunk = entries.slice(start, start + perCall);
        // The handler keeps only the slots: the request's item objects would otherwise live as long as the group.
        const slots = chunk.map((c) => c.slot);
        // The handler goes on before the create request: the initial values may arrive in the very
        // next publish response, before an awaited monitorItems() would have returned.
        const group = ClientMonitoredItemGroup.create(subscription, chunk.map((c) => c.item), params, TimestampsToReturn.Both);
        group.on("changed", (_item, dv, i) => {
          if (this.conn !== conn) return;
          const slot = slots[i]!;
          // Received when its publish response was (set by "received_notifications", which node-opcua
          // emits before it dispatches the response): one clock read a response, not one a value, and
          // the arrival time, not when the loop got to it. A value node-opcua held back until its item
          // was created gets the time of a later response: never later than now.
          if (slot.point) this.deliver(slot, toRaw(dv, this.lastNotificationAt ?? this.clock.now()));
        });
        await new Promise<void>((resolve, reject) => {
          group.once("initialized", resolve);
          group.once("terminated", (err) => reject(err ?? new Error("monitored item group terminated")));
        });
        this.groups.push(group);
        group.monitoredItems.forEach((item, i) => {
          const slot = slots[i]!;
          slot.item = item;
          const status = item.statusCode;
          if (status.isGood() || !slot.point) return;
          if (isUnknownNode(status.value)) {
            slot.item = undefined;
            void item.terminate().catch(() => {});
            this.waitForNode(slot.point.config, `the server does not have the node (${status.name})`);
          } else {
            this.reportFailure(slot.point.config, status.toString());
          }
        });
      }
    }
    for (const p of points) {
      const id = p.config.pointId;
      if (this.failed.has(id)) continue;
      if (this.retry.has(id)) {
        this.retry.remove(id);
        this.nodesRecovered++;
        this.log.info({ event: "node_appeared", pointId: id, nodeId: p.config.nodeId }, "the point's node exists now: monitored");
      }
      if (p.config.enumAs !== "label") continue;
      if (!p.enumLabels) this.log.warn({ event: "enum_labels_missing", pointId: id, nodeId: p.config.nodeId }, "enumAs: label, but the node's type has no EnumStrings/EnumValues: sending integers");
    }
  }

  /** A notification for a point: the node's disappearance, the array element or structure field it takes, then the handler. */
  private deliver(slot: Slot<P>, raw: RawDataValue): void {
    const point = slot.point!;
    if (isUnknownNode(raw.statusCode)) {
      // The node went away (a PLC download, a server reconfiguration): watch for it to come back.
      const item = slot.item;
      slot.item = undefined;
      this.slots.delete(point.config.pointId);
      void item?.terminate().catch(() => {});
      this.waitForNode(point.config, `the node is gone from the server (${statusName(raw.statusCode)})`);
      return;
    }
    if (slot.narrowing) {
      const r = narrow(raw, slot.narrowing);
      if (!r.ok) return this.narrowFailed(slot, r);
      if (slot.narrowProblem !== undefined) {
        slot.narrowProblem = undefined;
        this.failed.delete(point.config.pointId);
        this.log.info({ event: "narrowing_recovered", pointId: point.config.pointId }, "the point's field / index range has values again");
      }
      raw = r.raw;
    }
    this.on.value(point, raw);
  }

  /** Reported once per reason, by pointId; the other points keep running. */
  private narrowFailed(slot: Slot<P>, r: Exclude<Narrowed, { ok: true }>): void {
    const config = slot.point!.config;
    if (r.status === "range" && r.reason === "range") {
      // The server found no element there: say how long the array is.
      if (slot.narrowProblem !== undefined) return;
      slot.narrowProblem = "range";
      void this.arrayLength(slot).then((length) => {
        const reason = `indexRange ${config.indexRange} is outside the node's array${length === undefined ? "" : `: it has ${length}`} (BadIndexRangeNoData)`;
        this.reportNarrowing(slot, reason);
      });
      return;
    }
    if (slot.narrowProblem === r.reason) return;
    slot.narrowProblem = r.reason;
    this.reportNarrowing(slot, r.reason);
  }

  private reportNarrowing(slot: Slot<P>, reason: string): void {
    const p = slot.point?.config;
    if (!p) return;
    this.failed.set(p.pointId, reason);
    this.log.error({ event: "point_part_missing", pointId: p.pointId, nodeId: p.nodeId, line: p.line, ...(p.field && { field: p.field }), ...(p.indexRange && { indexRange: p.indexRange }), reason }, "point value not delivered: its field or index range does not fit the node's value; the other points keep running");
  }

  /** "3 elements" or "dimensions 2 x 3": read from the node's whole value. */
  private async arrayLength(slot: Slot<P>): Promise<string | undefined> {
    const session = this.conn?.session;
    if (!session || !slot.nodeId) return undefined;
    try {
      const dv = await session.read({ nodeId: slot.nodeId, attributeId: AttributeIds.Value });
      const v = dv.value;
      if (v.arrayType === 2 && v.dimensions) return `dimensions ${v.dimensions.join(" x ")}`;
      const length = (v.value as { length?: number } | null)?.length;
      return v.arrayType === 0 ? "a scalar value, not an array" : `${length ?? 0} element(s)`;
    } catch {
      return undefined;
    }
  }

  private waitForNode(p: PointConfig, reason: string): void {
    const first = !this.retry.has(p.pointId);
    const at = this.retry.schedule(p.pointId);
    this.failed.set(p.pointId, reason);
    const fields = { event: "waiting_for_node", pointId: p.pointId, nodeId: p.nodeId, line: p.line, reason, nextRetry: new Date(at).toISOString() };
    if (first) this.log.warn(fields, "point waiting for its node: tried again on a schedule and after every reconnection; the other points keep running");
    else this.log.debug(fields, "point's node still missing");
  }

  /** Tries the waiting points again (a schedule's turn, or a reconnection). */
  private retryNodes(ids: readonly string[]): Promise<void> {
    return this.exclusive(async () => {
      const session = this.conn?.session;
      if (this.stopping || !session || this.currentState !== "connected") {
        // Not now: the next reconnection tries them.
        for (const id of ids) if (this.retry.has(id)) this.retry.schedule(id);
        return;
      }
      const byId = new Map(this.points.map((p) => [p.config.pointId, p]));
      const points = ids.map((id) => byId.get(id)).filter((p): p is P => p !== undefined && this.retry.has(p.config.pointId));
      if (!points.length) return;
      this.namespaceArray = await readNamespaces(session).catch(() => this.namespaceArray);
      for (const p of points) this.failed.delete(p.config.pointId);
      await this.monitor(points);
    });
  }

  /**
   * Raw history of one point over [fromMs, toMs) on the live session (gap fill), page by page;
   * points with field / indexRange get that part of each value. Undefined outcome when there is no
   * session or the node id cannot be resolved.
   */
  async readHistory(config: PointConfig, fromMs: number, toMs: number, valuesPerRead: number, onPage: (values: RawDataValue[]) => void): Promise<HistoryOutcome | undefined> {
    const session = this.conn?.session;
    if (!session || this.stopping) return undefined;
    let nodeId: NodeId;
    try {
      nodeId = resolveMappedNodeId(config.nodeId, this.namespaceArray);
    } catch {
      return undefined;
    }
    this.historyLimits ??= await readHistoryLimits(session);
    const narrowing = narrowingOf(config);
    const [outcome] = await readRawHistory(session, [nodeId], fromMs, toMs, { valuesPerRead, maxNodesPerCall: this.historyLimits.maxNodesPerCall, indexRanges: [config.indexRange] }, (_i, values) => onPage(narrowing ? narrowAll(values, narrowing) : values));
    return outcome;
  }
  private historyLimits: { maxNodesPerCall: number } | undefined;

  /** The points as of the last start or update. */
  currentPoints(): readonly P[] {
    return this.points;
  }

  /** Per point: monitored, waiting for its node (with the next retry), or failed (with why). */
  pointState(pointId: string): PointState {
    const reason = this.failed.get(pointId);
    if (reason === undefined) return { state: "monitored" };
    if (this.retry.has(pointId)) return { state: "waiting for node", reason, nextRetryAt: finite(this.retry.nextAt(pointId)) };
    return { state: "failed", reason };
  }

  /** Points waiting for their node: a gauge for the ops layer. */
  get waitingForNode(): number {
    return this.retry.size;
  }

  status(): SourceStatus {
    const waiting = this.retry.size;
    return {
      name: this.name,
      state: this.currentState,
      endpoint: this.conn?.endpoint ?? this.endpoints[0]!,
      endpoints: [...this.endpoints],
      serviceLevel: this.policy && this.conn ? numberOrUndefined(this.policy.level(this.conn.index)) : undefined,
      failovers: this.failovers,
      monitored: this.points.length - this.failed.size,
      waiting,
      failed: this.failed.size - waiting,
    };
  }

  /**
   * Hot reload: monitored items of removed points are deleted, added points get new ones, points
   * whose node (field, index range) or monitoring settings changed are re-created, and every other
   * point keeps its item (no gap) with its new settings. Returns what changed.
   */
  update(points: readonly P[]): Promise<{ added: string[]; removed: string[]; recreated: string[]; retuned: string[] }> {
    return this.exclusive(() => this.applyUpdate(points));
  }

  private async applyUpdate(points: readonly P[]): Promise<{ added: string[]; removed: string[]; recreated: string[]; retuned: string[] }> {
    const next = new Map(points.map((p) => [p.config.pointId, p]));
    const old = new Map(this.points.map((p) => [p.config.pointId, p]));
    const added: P[] = [];
    const removed: string[] = [];
    const recreated: string[] = [];
    const retuned: string[] = [];
    const terminate: ClientMonitoredItemBase[] = [];
    for (const [id, before] of old) {
      const after = next.get(id);
      const slot = this.slots.get(id);
      if (after && slot && nodeKey(after.config) === nodeKey(before.config) && monitoringKey(after.config) === monitoringKey(before.config) && after.config.enumAs === before.config.enumAs) {
        after.enumLabels = before.enumLabels;
        slot.point = after; // same item, new conversion settings
        if (JSON.stringify({ ...after.config, line: 0 }) !== JSON.stringify({ ...before.config, line: 0 })) retuned.push(id);
        continue;
      }
      if (slot) {
        slot.point = undefined;
        if (slot.item) terminate.push(slot.item);
        this.slots.delete(id);
      }
      this.failed.delete(id);
      this.retry.remove(id);
      if (after) {
        recreated.push(id);
        added.push(after);
      } else {
        removed.push(id);
      }
    }
    for (const [id, p] of next) if (!old.has(id)) added.push(p);
    this.points = points;
    if (!this.conn?.session || !this.conn.subscription) return { added: [], removed, recreated, retuned };
    for (const item of terminate) await item.terminate().catch(() => {});
    if (added.length) await this.monitor(added);
    return { added: added.map((p) => p.config.pointId).filter((id) => !recreated.includes(id)), removed, recreated, retuned };
  }

  private reportFailure(p: PointConfig, reason: string): void {
    this.failed.set(p.pointId, reason);
    this.log.error({ event: "point_not_monitored", pointId: p.pointId, nodeId: p.nodeId, line: p.line, reason }, "point not monitored; the other points keep running");
  }

  /** After a server restart the namespace indexes may move: re-resolve nsu= node ids when they did. */
  private async checkNamespaces(): Promise<void> {
    const session = this.conn?.session;
    if (!session || this.stopping) return;
    try {
      const current = await readNamespaces(session);
      if (current.join("\n") === this.namespaceArray.join("\n")) return;
      this.log.warn({ event: "namespaces_changed" }, "the server's namespace array changed: re-creating monitored items from the namespace URIs");
      await this.exclusive(async () => {
        for (const g of this.groups.splice(0)) await g.terminate().catch(() => {});
        await this.monitorAll();
      });
    } catch (err) {
      this.log.warn({ event: "namespaces_unchecked", err: (err as Error).message }, "could not re-check the namespace array after reconnecting");
    }
  }

  // ── Redundant servers ──────────────────────────────────────────────────────────────────────

  /** The active server's ServiceLevel, as a monitored item of the source's subscription. */
  private watchServiceLevel(conn: Connection, subscription: ClientSubscription): void {
    const item = ClientMonitoredItem.create(subscription, { nodeId: SERVICE_LEVEL, attributeId: AttributeIds.Value }, { samplingInterval: 500, queueSize: 1, discardOldest: true }, TimestampsToReturn.Neither);
    item.on("changed", (dv) => {
      if (this.conn !== conn || this.stopping || !this.policy) return;
      const level = dv.statusCode.isGood() && typeof dv.value.value === "number" ? dv.value.value : undefined;
      const before = this.policy.level(conn.index);
      this.policy.observe(conn.index, level);
      if (level !== before) this.log.info({ event: "service_level", endpoint: conn.endpoint, serviceLevel: level }, "ServiceLevel of the active server");
      if (this.policy.unhealthy) void this.evaluate();
      this.scheduleProbe();
    });
  }

  /** ServiceLevel of every other endpoint, read on a short session of its own; null when unreachable. */
  private async probeOthers(active: number): Promise<void> {
    await Promise.all(
      this.endpoints.map(async (endpoint, i) => {
        if (i === active) return;
        this.policy!.observe(i, await probeServiceLevel({ ...this.cfg, endpoint }, this.stateDir, this.log));
      }),
    );
  }

  /** Reads the others now and switches if the policy says so. */
  private async evaluate(): Promise<void> {
    const policy = this.policy;
    if (!policy || this.switching || this.stopping || !this.conn) return;
    this.switching = true;
    try {
      await this.probeOthers(this.conn.index);
      if (this.stopping) return;
      const decision = policy.decide();
      if (decision) await this.switchTo(decision.to, decision.reason);
    } finally {
      this.switching = false;
    }
  }

  /** While a better server could exist (active level below 255, or lost), look at the others now and then. */
  private scheduleProbe(): void {
    if (!this.policy || this.stopping || this.probeTimer) return;
    if (!this.policy.canImprove) return;
    this.probeTimer = this.clock.setTimeout(() => {
      this.probeTimer = undefined;
      void this.evaluate().finally(() => this.scheduleProbe());
    }, this.opts.probeIntervalMs ?? 5_000);
  }

  /** Re-creates the session, subscription and items on endpoint `to`; the hole is reported as a gap. */
  private async switchTo(to: number, reason: string): Promise<void> {
    const old = this.conn;
    if (!old || !this.policy) return;
    const from = this.lastNotificationAt ?? this.lostAt ?? this.clock.now();
    // Read before connecting: the new server's first notifications may arrive before connect() returns.
    const monitoredBefore = this.lastNotificationAt !== undefined;
    const started = this.clock.now();
    this.log.warn({ event: "failover", from: old.endpoint, to: this.endpoints[to], reason, serviceLevel: this.policy.level(to) }, "switching to a redundant OPC UA server");
    this.conn = undefined;
    this.setState("reconnecting");
    await this.exclusive(async () => {
      this.groups = [];
      for (const slot of this.slots.values()) slot.item = undefined;
    });
    void closeQuietly(old.client, old.session);
    this.policy.setActive(to);
    try {
      await this.connect(to, false);
    } catch (err) {
      this.log.error({ event: "failover_failed", to: this.endpoints[to], err: (err as Error).message }, "could not open a session on the redundant server; trying the servers again");
      this.policy.observe(to, null);
      // Back to the one we left, which node-opcua would have kept retrying: connect to it again, retrying forever.
      this.policy.setActive(old.index);
      // The items are new there too: the hole since `from` is a gap, filled from that server's history.
      void this.connect(old.index, true).then(
        (connected) => {
          if (connected && monitoredBefore) this.on.gap?.(from, this.clock.now());
        },
        (e: Error) => this.log.error({ err: e.message }, "reconnect failed"),
      );
      return;
    }
    this.failovers++;
    this.lostAt = undefined;
    this.subscriptionRecreated = false;
    const now = this.clock.now();
    this.log.warn({ event: "failover_done", endpoint: this.endpoints[to], ms: now - started, from: new Date(from).toISOString(), to: new Date(now).toISOString() }, "reading from the redundant OPC UA server; the switch window is filled from its history");
    // Nothing ever monitored (every server was down at start): no hole to fill.
    if (monitoredBefore) this.on.gap?.(from, now);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.probeTimer?.cancel();
    this.retry.stop();
    const conn = this.conn;
    await Promise.race([conn?.subscription?.terminate().catch(() => {}), new Promise((r) => setTimeout(r, 3_000).unref())]);
    await closeQuietly(conn?.client, conn?.session);
    this.setState("stopped");
  }
}

const finite = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? undefined : n);
const numberOrUndefined = (l: number | null | undefined) => (typeof l === "number" ? l : undefined);

function statusName(code: number): string {
  const c = (code & 0xffff0000) >>> 0;
  return c === BAD_NODE_ID_UNKNOWN ? "BadNodeIdUnknown" : c === BAD_NODE_ID_INVALID ? "BadNodeIdInvalid" : `0x${c.toString(16)}`;
}

/** ServiceLevel (i=2267) of a server on a short session of its own; null when it cannot be reached or read. */
export async function probeServiceLevel(cfg: OpcuaConfig, stateDir: string, log: Logger, timeoutMs = 5_000): Promise<number | null> {
  let client: OPCUAClient | undefined;
  let session: ClientSession | undefined;
  const work = (async () => {
    client = await createClient(cfg, stateDir, log, { retryFirstConnect: false, firstConnectRetries: 0 });
    session = await openSession(client, cfg, stateDir);
    const dv = await session.read({ nodeId: SERVICE_LEVEL, attributeId: AttributeIds.Value });
    return dv.statusCode.isGood() && typeof dv.value.value === "number" ? dv.value.value : null;
  })();
  // Closed when the work ends, also after a timeout gave up on it.
  void work.catch(() => null).finally(() => closeQuietly(client, session));
  try {
    return await Promise.race([work, new Promise<null>((r) => setTimeout(() => r(null), timeoutMs).unref())]);
  } catch {
    return null;
  }
}

export { isIndexRangeStatus };

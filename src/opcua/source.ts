import {
  AttributeIds, ClientMonitoredItemGroup, DataChangeFilter, DataChangeTrigger, DeadbandType, readOperationLimits,
  TimestampsToReturn, type ClientMonitoredItemBase, type ClientSession, type ClientSubscription,
  type MonitoringParametersOptions, type NodeId, type OPCUAClient,
} from "node-opcua";
import type { Logger } from "pino";
import type { OpcuaConfig, PointConfig } from "../config/types.js";
import type { RawDataValue } from "../core/types.js";
import { toRaw } from "./datavalue.js";
import { readEnumLabels } from "./enumlabels.js";
import { readHistoryLimits, readRawHistory, type HistoryOutcome } from "./history.js";
import { NodeIdError, resolveMappedNodeId } from "./nodeid.js";
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
  /** A value of a point. Runs for every notification: keep it cheap. */
  value(point: P, raw: RawDataValue): void;
  state(state: SourceState): void;
  /**
   * The subscription was lost and re-created (server restart, session timeout): changes between
   * `from` (the last notification before the loss) and `to` (recovery) were not seen.
   */
  gap?(from: number, to: number): void;
}

const TRIGGER = {
  status: DataChangeTrigger.Status,
  statusValue: DataChangeTrigger.StatusValue,
  statusValueTimestamp: DataChangeTrigger.StatusValueTimestamp,
} as const;

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

/** The live link between a monitored item and the point it feeds; `point` is swapped on reload. */
interface Slot<P extends SourcePoint> {
  point: P | undefined;
  item?: ClientMonitoredItemBase;
}

/**
 * One session, one subscription, the mapped points as monitored items. node-opcua reconnects
 * forever after the first connect and recovers the subscription; we add the first connect's
 * retries, chunking to the server's MaxMonitoredItemsPerCall and per-point error reports.
 */
export class OpcuaSource<P extends SourcePoint> {
  private client: OPCUAClient | undefined;
  private session: ClientSession | undefined;
  private subscription: ClientSubscription | undefined;
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
  /** Points whose monitored item the server refused: pointId → reason. */
  readonly failed = new Map<string, string>();

  constructor(
    private readonly cfg: OpcuaConfig,
    points: readonly P[],
    private readonly stateDir: string,
    private readonly log: Logger,
    private readonly on: SourceHandlers<P>,
  ) {
    this.points = points;
  }

  async start(): Promise<void> {
    const cfg = this.cfg;
    this.on.state("connecting");
    const client = await createClient(cfg, this.stateDir, this.log, { retryFirstConnect: true });
    this.client = client;
    let warnedBackoff = false;
    client.on("backoff", (retry: number, delay: number) => {
      if (!warnedBackoff) this.log.warn({ endpoint: cfg.endpoint, retry, delayMs: delay }, "OPC UA server not reachable; retrying");
      warnedBackoff = true;
    });
    client.on("connection_lost", () => {
      if (this.stopping) return;
      this.lostAt ??= Date.now();
      this.log.warn({ endpoint: cfg.endpoint }, "OPC UA connection lost; reconnecting");
      this.on.state("reconnecting");
    });
    client.on("connection_reestablished", () => {
      warnedBackoff = false;
      const now = Date.now();
      if (this.subscriptionRecreated) {
        // A new subscription: the server's queues of the old one are gone with it.
        const from = this.lastNotificationAt ?? this.lostAt ?? now;
        this.log.warn({ endpoint: cfg.endpoint, from: new Date(from).toISOString(), to: new Date(now).toISOString(), seconds: Math.round((now - from) / 1000) }, "OPC UA session or subscription was lost: changes in this window were not seen");
        this.on.gap?.(from, now);
      } else {
        this.log.info({ endpoint: cfg.endpoint, downMs: this.lostAt ? now - this.lostAt : 0 }, "OPC UA connection re-established; the subscription survived (queued notifications follow)");
      }
      this.subscriptionRecreated = false;
      this.lostAt = undefined;
      this.on.state("connected");
    });
    client.on("after_reconnection", () => void this.checkNamespaces());

    const session = await openSession(client, cfg, this.stateDir);
    this.session = session;
    if (this.stopping) return;
    this.log.info({ endpoint: cfg.endpoint, securityMode: cfg.securityMode, securityPolicy: cfg.securityPolicy }, "OPC UA session open");
    this.on.state("connected");
    this.subscription = await session.createSubscription2({
      requestedPublishingInterval: cfg.publishingIntervalMs,
      requestedMaxKeepAliveCount: 10,
      requestedLifetimeCount: 100,
      maxNotificationsPerPublish: 0,
      publishingEnabled: true,
      priority: 1,
    });
    this.subscription.on("subscriptionId_changed", () => (this.subscriptionRecreated = true));
    // Trace only (off at info): lets a test or an operator see notifications arrive without per-value logs.
    this.subscription.on("received_notifications", (msg) => {
      this.lastNotificationAt = Date.now();
      if (!this.log.isLevelEnabled("trace")) return;
      let count = 0;
      for (const d of msg.notificationData ?? []) count += (d as { monitoredItems?: unknown[] }).monitoredItems?.length ?? 0;
      this.log.trace({ count }, "notifications received");
    });
    await this.exclusive(() => this.monitorAll());
  }

  /** Start, reload and the namespace re-check change the monitored items one at a time. */
  private serial: Promise<unknown> = Promise.resolve();
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.serial.then(fn, fn);
    this.serial = run.catch(() => {});
    return run;
  }

  private async monitorAll(): Promise<void> {
    this.namespaceArray = await readNamespaces(this.session!);
    this.failed.clear();
    this.slots.clear();
    await this.monitor(this.points);
    const ok = this.points.length - this.failed.size;
    this.log.info({ monitored: ok, failed: this.failed.size }, "monitored items created");
  }

  /** Create monitored items for these points, grouped by monitoring settings, chunked by the server's limit. */
  private async monitor(points: readonly P[]): Promise<void> {
    const session = this.session!;
    const subscription = this.subscription!;
    const limits = await readOperationLimits(session).catch(() => ({ maxMonitoredItemsPerCall: undefined }));
    // ClientMonitoredItemGroup does not split by the server's limit (BadTooManyOperations): we do.
    const perCall = Math.max(1, Math.min(limits.maxMonitoredItemsPerCall || 1000, 5000));
    const byKey = new Map<string, { slot: Slot<P>; nodeId: NodeId }[]>();
    for (const p of points) {
      let nodeId: NodeId;
      try {
        nodeId = resolveMappedNodeId(p.config.nodeId, this.namespaceArray);
      } catch (err) {
        this.reportFailure(p.config, err instanceof NodeIdError ? err.message : String(err));
        continue;
      }
      const slot: Slot<P> = { point: p };
      this.slots.set(p.config.pointId, slot);
      const key = monitoringKey(p.config);
      const list = byKey.get(key);
      if (list) list.push({ slot, nodeId });
      else byKey.set(key, [{ slot, nodeId }]);
    }
    const handler = this.on.value;
    for (const entries of byKey.values()) {
      const params = monitoringParameters(entries[0]!.slot.point!.config);
      for (let start = 0; start < entries.length; start += perCall) {
        const chunk = entries.slice(start, start + perCall);
        // The handler goes on before the create request: the initial values may arrive in the very
        // next publish response, before an awaited monitorItems() would have returned.
        const group = ClientMonitoredItemGroup.create(subscription, chunk.map((c) => ({ nodeId: c.nodeId, attributeId: AttributeIds.Value })), params, TimestampsToReturn.Both);
        group.on("changed", (_item, dv, i) => {
          const point = chunk[i]!.slot.point;
          if (point) handler(point, toRaw(dv, Date.now()));
        });
        await new Promise<void>((resolve, reject) => {
          group.once("initialized", resolve);
          group.once("terminated", (err) => reject(err ?? new Error("monitored item group terminated")));
        });
        this.groups.push(group);
        group.monitoredItems.forEach((item, i) => {
          const slot = chunk[i]!.slot;
          slot.item = item;
          if (item.statusCode.isNotGood()) this.reportFailure(slot.point!.config, item.statusCode.toString());
        });
      }
    }
    for (const p of points) {
      if (p.config.enumAs !== "label" || this.failed.has(p.config.pointId)) continue;
      const nodeId = resolveMappedNodeId(p.config.nodeId, this.namespaceArray);
      p.enumLabels = await readEnumLabels(session, nodeId).catch(() => undefined);
      if (!p.enumLabels) this.log.warn({ pointId: p.config.pointId, nodeId: p.config.nodeId }, "enumAs: label, but the node's type has no EnumStrings/EnumValues: sending integers");
    }
  }

  /**
   * Raw history of one point over [fromMs, toMs) on the live session (gap fill), page by page.
   * Undefined outcome when there is no session or the node id cannot be resolved.
   */
  async readHistory(config: PointConfig, fromMs: number, toMs: number, valuesPerRead: number, onPage: (values: RawDataValue[]) => void): Promise<HistoryOutcome | undefined> {
    const session = this.session;
    if (!session || this.stopping) return undefined;
    let nodeId: NodeId;
    try {
      nodeId = resolveMappedNodeId(config.nodeId, this.namespaceArray);
    } catch {
      return undefined;
    }
    this.historyLimits ??= await readHistoryLimits(session);
    const [outcome] = await readRawHistory(session, [nodeId], fromMs, toMs, { valuesPerRead, maxNodesPerCall: this.historyLimits.maxNodesPerCall }, (_i, values) => onPage(values));
    return outcome;
  }
  private historyLimits: { maxNodesPerCall: number } | undefined;

  /** The points as of the last start or update. */
  currentPoints(): readonly P[] {
    return this.points;
  }

  /**
   * Hot reload: monitored items of removed points are deleted, added points get new ones, points
   * whose node or monitoring settings changed are re-created, and every other point keeps its
   * item (no gap) with its new settings. Returns what changed.
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
      if (after && slot && after.config.nodeId === before.config.nodeId && monitoringKey(after.config) === monitoringKey(before.config) && after.config.enumAs === before.config.enumAs) {
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
      if (after) {
        recreated.push(id);
        added.push(after);
      } else {
        removed.push(id);
      }
    }
    for (const [id, p] of next) if (!old.has(id)) added.push(p);
    this.points = points;
    if (!this.session || !this.subscription) return { added: [], removed, recreated, retuned };
    for (const item of terminate) await item.terminate().catch(() => {});
    if (added.length) await this.monitor(added);
    return { added: added.map((p) => p.config.pointId).filter((id) => !recreated.includes(id)), removed, recreated, retuned };
  }

  private reportFailure(p: PointConfig, reason: string): void {
    this.failed.set(p.pointId, reason);
    this.log.error({ pointId: p.pointId, nodeId: p.nodeId, line: p.line, reason }, "point not monitored; the other points keep running");
  }

  /** After a server restart the namespace indexes may move: re-resolve nsu= node ids when they did. */
  private async checkNamespaces(): Promise<void> {
    const session = this.session;
    if (!session || this.stopping) return;
    try {
      const current = await readNamespaces(session);
      if (current.join("\n") === this.namespaceArray.join("\n")) return;
      this.log.warn("the server's namespace array changed: re-creating monitored items from the namespace URIs");
      await this.exclusive(async () => {
        for (const g of this.groups.splice(0)) await g.terminate().catch(() => {});
        await this.monitorAll();
      });
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, "could not re-check the namespace array after reconnecting");
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.race([this.subscription?.terminate().catch(() => {}), new Promise((r) => setTimeout(r, 3_000).unref())]);
    await closeQuietly(this.client, this.session);
    this.on.state("stopped");
  }
}

import {
  AttributeIds, ClientMonitoredItemGroup, DataChangeFilter, DataChangeTrigger, DeadbandType, readOperationLimits,
  TimestampsToReturn, type ClientSession, type ClientSubscription, type DataValue, type MonitoringParametersOptions,
  type OPCUAClient, type ReadValueIdOptions,
} from "node-opcua";
import type { Logger } from "pino";
import type { OpcuaConfig, PointConfig } from "../config/types.js";
import type { RawDataValue } from "../pipeline/types.js";
import { NodeIdError, resolveMappedNodeId } from "./nodeid.js";
import { closeQuietly, createClient, openSession, readNamespaces } from "./session.js";

export { OpcuaError } from "./session.js";

export type SourceState = "connecting" | "connected" | "reconnecting" | "stopped";

export interface SourceHandlers {
  /** A value of points[index]. Runs for every notification: keep it cheap. */
  value(index: number, raw: RawDataValue): void;
  state(state: SourceState): void;
  /**
   * The subscription was lost and re-created (server restart, session timeout): changes between
   * `from` (the last notification before the loss) and `to` (recovery) were not seen.
   */
  gap?(from: number, to: number): void;
}

// node-opcua's "null" DateTime is 1601-01-01 (MinDate): it means "not provided".
const MIN_DATE_MS = Date.UTC(1601, 0, 1);
const epochMs = (d: Date | null | undefined): number | null => {
  const t = d ? d.getTime() : Number.NaN;
  return Number.isNaN(t) || t <= MIN_DATE_MS ? null : t;
};

function toRaw(dv: DataValue, receivedAt: number): RawDataValue {
  return {
    dataType: dv.value.dataType,
    arrayType: dv.value.arrayType,
    value: dv.value.value,
    statusCode: dv.statusCode.value,
    sourceTimestamp: epochMs(dv.sourceTimestamp),
    serverTimestamp: epochMs(dv.serverTimestamp),
    receivedAt,
  };
}

function monitoringParameters(p: PointConfig): MonitoringParametersOptions {
  const deadband = p.deadband;
  return {
    samplingInterval: p.samplingIntervalMs,
    queueSize: p.queueSize,
    discardOldest: true,
    filter:
      deadband.kind === "none"
        ? null
        : new DataChangeFilter({
            trigger: DataChangeTrigger.StatusValue,
            deadbandType: deadband.kind === "absolute" ? DeadbandType.Absolute : DeadbandType.Percent,
            deadbandValue: deadband.value,
          }),
  };
}

const settingsKey = (p: PointConfig) => `${p.samplingIntervalMs}|${p.queueSize}|${p.deadband.kind}|${"value" in p.deadband ? p.deadband.value : ""}`;

/**
 * One session, one subscription, the mapped points as monitored items. node-opcua reconnects
 * forever after the first connect and recovers the subscription; we add the first connect's
 * retries, chunking to the server's MaxMonitoredItemsPerCall and per-point error reports.
 */
export class OpcuaSource {
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
  /** Points whose monitored item the server refused: pointId → reason. */
  readonly failed = new Map<string, string>();

  constructor(
    private readonly cfg: OpcuaConfig,
    private readonly points: readonly PointConfig[],
    private readonly stateDir: string,
    private readonly log: Logger,
    private readonly on: SourceHandlers,
  ) {}

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
    await this.monitorAll();
  }

  private async monitorAll(): Promise<void> {
    const session = this.session!;
    const subscription = this.subscription!;
    this.namespaceArray = await readNamespaces(session);
    const limits = await readOperationLimits(session).catch(() => ({ maxMonitoredItemsPerCall: undefined }));
    // ClientMonitoredItemGroup does not split by the server's limit (BadTooManyOperations): we do.
    const perCall = Math.max(1, Math.min(limits.maxMonitoredItemsPerCall || 1000, 5000));

    const bySettings = new Map<string, number[]>();
    this.failed.clear();
    this.points.forEach((p, index) => {
      const key = settingsKey(p);
      const list = bySettings.get(key);
      if (list) list.push(index);
      else bySettings.set(key, [index]);
    });
    for (const indexes of bySettings.values()) {
      const items: { index: number; item: ReadValueIdOptions }[] = [];
      for (const index of indexes) {
        const p = this.points[index]!;
        try {
          items.push({ index, item: { nodeId: resolveMappedNodeId(p.nodeId, this.namespaceArray), attributeId: AttributeIds.Value } });
        } catch (err) {
          this.reportFailure(p, err instanceof NodeIdError ? err.message : String(err));
        }
      }
      const params = monitoringParameters(this.points[indexes[0]!]!);
      for (let start = 0; start < items.length; start += perCall) {
        const chunk = items.slice(start, start + perCall);
        // The handler goes on before the create request: the initial values may arrive in the very
        // next publish response, before an awaited monitorItems() would have returned.
        const group = ClientMonitoredItemGroup.create(subscription, chunk.map((c) => c.item), params, TimestampsToReturn.Both);
        const handler = this.on.value;
        group.on("changed", (_item, dv, i) => handler(chunk[i]!.index, toRaw(dv, Date.now())));
        await new Promise<void>((resolve, reject) => {
          group.once("initialized", resolve);
          group.once("terminated", (err) => reject(err ?? new Error("monitored item group terminated")));
        });
        this.groups.push(group);
        group.monitoredItems.forEach((item, i) => {
          if (item.statusCode.isNotGood()) this.reportFailure(this.points[chunk[i]!.index]!, item.statusCode.toString());
        });
      }
    }
    const ok = this.points.length - this.failed.size;
    this.log.info({ monitored: ok, failed: this.failed.size, perCall }, "monitored items created");
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
      for (const g of this.groups.splice(0)) await g.terminate().catch(() => {});
      await this.monitorAll();
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
